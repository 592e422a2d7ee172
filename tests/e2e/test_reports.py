"""The rejections report in a real browser: a manager filters by a reason, reads the chart and the breakdowns, opens
the drill-down and downloads the CSV; the Today panel updates after a rejection; the README screenshots."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def rejections_at_brooklyn(shop):
    """Five rejections at Brooklyn, three reasons; re-routed (Manhattan or the warehouse), or parked for the store
    pickup order (its pickup store rejected it)."""
    from fulfillment.models import OrderItem
    from fulfillment.services import item_reject

    plan = [(0, shop.mug, "DAMAGED"), (1, shop.hoodie, "DAMAGED"), (2, shop.shoes, "NOT_IN_STOCK"),
            (3, shop.tote, "MISMATCH"), (4, shop.mug, "DAMAGED")]
    for n, product, code in plan:
        item = OrderItem.objects.get(order=shop.orders[n], product=product, facility=shop.brooklyn)
        item_reject(facility=shop.brooklyn, item_id=item.pk, reason_code=code, user=shop.associate)


def test_manager_filters_reads_drills_down_and_downloads(page, new_page, login, shop, live_server):
    rejections_at_brooklyn(shop)
    login(page, "manager")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Rejections", exact=True)).to_be_visible()
    figures = page.locator(".figures")
    expect(figures).to_contain_text("Items rejected")

    page.get_by_label("Reason", exact=True).select_option(label="Damaged")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"reason=\d+"))
    expect(page.locator(".figures dd").first).to_have_text("3")
    expect(page.locator("svg.chart")).to_be_visible()
    expect(page.locator("svg.chart rect.chart-bar")).to_have_count(28)
    by_reason = page.get_by_role("region", name="By reason")
    expect(by_reason).to_contain_text("Damaged")
    expect(page.get_by_role("region", name="By store")).to_contain_text("Brooklyn")
    page.locator("details.chart-table summary").click()
    expect(page.get_by_role("table", name=re.compile("Units rejected and rejection rate by day"))).to_be_visible()
    page.locator("details.chart-table summary").click()
    page.screenshot(path=str(SCREENSHOTS / "reports-desktop.png"), full_page=True)

    phone = new_page(PHONE)
    login(phone, "manager")
    phone.goto(page.url)
    expect(phone.locator("svg.chart")).to_be_visible()
    phone.screenshot(path=str(SCREENSHOTS / "reports-phone.png"), full_page=True)

    page.get_by_role("link", name=re.compile(r"Show the 3 rejections")).click()
    rows = page.get_by_role("region", name="Rejection rows").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Damaged")
    page.screenshot(path=str(SCREENSHOTS / "reports-rows-desktop.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    body = open(download.path(), encoding="utf-8").read()
    table = list(csv.DictReader(io.StringIO(body)))
    assert len(table) == 3 and {r["reason_code"] for r in table} == {"DAMAGED"} and {r["store_code"] for r in table} == {"BROOKLYN"}

    rows.first.get_by_role("link").click()  # the order page, with its rejections and routing decisions
    expect(page.get_by_role("heading", level=1)).to_contain_text("#100")
    expect(page.locator("body")).to_contain_text("rejected at")


def test_today_panel_updates_after_a_rejection_without_a_reload(page, login, shop, live_server):
    from fulfillment.models import OrderItem

    login(page, "manager")
    panel = page.locator("#today-panel")
    expect(panel).to_contain_text("Rejected today")
    rejected = panel.locator("dt", has_text="Rejected today").locator("xpath=following-sibling::dd")
    expect(rejected).to_have_text("0")
    item = OrderItem.objects.get(order=shop.orders[4], product=shop.mug, facility=shop.brooklyn)
    row = page.locator(f"#item-{item.pk}")
    row.get_by_role("button", name="Report an Issue").click()
    expect(row.get_by_label("Reason")).to_be_focused()  # htmx has settled the form (app.js focuses it)
    row.get_by_label("Reason").select_option(label="Damaged")
    row.get_by_role("button", name="Save").click()
    expect(rejected).to_have_text("1")
    expect(panel).to_contain_text("Damaged 1")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    page.screenshot(path=str(SCREENSHOTS / "today-panel-desktop.png"))
