"""The associate dashboard in a real browser: search, Report an Issue, Reject All, and the README screenshots."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS
from tests.support import qoh_atp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def tab(page, name):
    return page.get_by_role("navigation", name="Orders by status").get_by_role("link", name=name, exact=True)


def tab_count(page, slug):
    return page.locator(f"#tab-count-{slug}")


def test_associate_searches_reports_an_issue_and_sees_the_item_leave(page, login, shop, live_server):
    from fulfillment.models import OrderItem, Rejection

    login(page, "associate")
    expect(tab(page, "Open")).to_have_attribute("aria-current", "page")
    expect(tab_count(page, "open")).to_contain_text("5")
    order = shop.orders[0]  # #10042, Grace Hopper: a tee and two mugs
    mug_item = order.items.get(product=shop.mug)
    assert qoh_atp(shop.brooklyn, shop.mug) == (12, 9)  # two mugs for Grace, one for Dorothy reserved

    # Search as you type: only Grace's order stays, and the URL remembers the search.
    page.get_by_label("Search orders").fill("Hopper")
    cards = page.locator("#order-list article.card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("#10042")
    expect(page).to_have_url(re.compile(r"\?q=Hopper$"))

    # Report an Issue on the mugs: the reason's effect on this store's stock is stated before Save.
    mug_row = page.locator(f"#item-{mug_item.pk}")
    mug_row.get_by_role("button", name="Report an Issue").click()
    reason = mug_row.get_by_label("Reason")
    expect(reason).to_be_focused()
    expect(mug_row.get_by_label("Quantity")).to_have_value("2")
    reason.select_option(label="Damaged")
    expect(mug_row.locator(".preview-sentence")).to_contain_text("on hand stays 12; reserved ")
    expect(mug_row.locator(".preview-sentence")).to_contain_text(
        "unsellable 0 -> 2; available stays 9: 2 units counted as unsellable."
    )
    mug_row.get_by_role("button", name="Save").click()

    # The item leaves without a reload, the counts are unchanged for this order (the tee is still here), a message says where.
    expect(page.locator(f"#item-{mug_item.pk}")).to_have_count(0)
    expect(page.locator(f"#order-{order.pk}")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("Manhattan")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1

    rejection = Rejection.objects.get()
    assert rejection.reason.code == "DAMAGED" and rejection.quantity == 2
    assert qoh_atp(shop.brooklyn, shop.mug) == (12, 9)  # released to 11, two counted unsellable: 9; shelf still 12
    mug_item.refresh_from_db()
    assert mug_item.facility == shop.manhattan and mug_item.status == OrderItem.Status.OPEN

    # Rejecting the last item here removes the whole card and the Open count drops.
    tee_item = order.items.get(product=shop.tee)
    tee_row = page.locator(f"#item-{tee_item.pk}")
    tee_row.get_by_role("button", name="Report an Issue").click()
    expect(tee_row.get_by_label("Reason")).to_be_focused()
    tee_row.get_by_label("Reason").select_option(label="Mismatch")
    expect(tee_row.locator(".preview-sentence")).to_contain_text("1 unit removed from stock")
    tee_row.get_by_label("Reason").select_option(label="Not in stock")
    expect(tee_row.locator(".preview-sentence")).to_contain_text("on hand 12 -> 0; reserved")
    tee_row.get_by_role("button", name="Save").click()
    expect(page.locator(f"#order-{order.pk}")).to_have_count(0)
    expect(tab_count(page, "open")).to_contain_text("4")
    assert qoh_atp(shop.brooklyn, shop.tee) == (0, 0)


def test_conflict_is_shown_inline(page, login, shop):
    from fulfillment.services import item_reject

    login(page, "associate")
    item = shop.orders[4].items.get()  # Dorothy's mug
    row = page.locator(f"#item-{item.pk}")
    row.get_by_role("button", name="Report an Issue").click()
    expect(row.get_by_label("Reason")).to_be_visible()
    item_reject(facility=shop.brooklyn, item_id=item.pk, reason_code="MISMATCH")  # a colleague was faster
    row.get_by_role("button", name="Save").click()
    expect(page.locator(f"#item-{item.pk}")).to_contain_text("no longer open at this store")


def test_manager_rejects_all_and_sees_the_summary(page, login, shop):
    from fulfillment.models import BulkRejection, OrderItem

    login(page, "manager")
    tab(page, "In Progress").click()
    expect(tab(page, "In Progress")).to_have_attribute("aria-current", "page")
    expect(page.locator("#order-list article.card")).to_have_count(2)

    page.get_by_role("button", name="Reject All").click()
    panel = page.locator("#reject-all-panel")
    expect(panel).to_contain_text("This rejects 2 orders with 3 items")
    expect(panel.get_by_label("Reason")).to_have_value("INACTIVE_STORE")
    panel.get_by_label("Stop routing new orders to this store").check()
    panel.get_by_role("button", name="Yes, reject 3 items").click()

    expect(panel).to_contain_text("Reject All finished")
    expect(panel.locator(".summary")).to_contain_text("Rejected3 items")
    expect(panel.locator(".summary")).to_contain_text("Re-routed3 items")
    expect(panel.locator("table")).to_contain_text("Manhattan")
    expect(page.locator("#order-list")).to_contain_text("No in progress orders")
    expect(tab_count(page, "in-progress")).to_contain_text("0")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reject-all-summary-desktop.png"))

    bulk = BulkRejection.objects.get()
    assert bulk.state == "DONE" and bulk.rejected_items == 3
    assert not OrderItem.objects.filter(facility=shop.brooklyn, status="IN_PROGRESS").exists()
    shop.brooklyn.refresh_from_db()
    assert shop.brooklyn.allows_routing is False

    # Usable again without a reload: the confirmation now says there is nothing left.
    page.get_by_role("button", name="Reject All").click()
    expect(panel).to_contain_text("There is nothing to reject")


def test_manager_tries_a_failed_reject_all_again(page, login, shop, live_server):
    """A Reject All that failed after its attempts: the page says so; Try again goes on and shows the summary."""
    from django.utils import timezone

    from fulfillment.models import BulkRejection, OrderItem, RejectionReason

    failed = BulkRejection.objects.create(
        facility=shop.brooklyn, from_status="IN_PROGRESS", reason=RejectionReason.objects.get(code="INACTIVE_STORE"),
        requested_by=shop.manager, state=BulkRejection.State.FAILED, attempts=3, finished_at=timezone.now(),
        error="It stopped 3 times before finishing (its worker was stopped or lost the database).",
    )
    login(page, "manager")
    page.goto(f"{live_server.url}/bulk-rejections/{failed.pk}/")
    panel = page.locator("#reject-all-panel")
    expect(panel).to_contain_text("Reject All failed")
    expect(panel.get_by_role("alert")).to_contain_text("It stopped 3 times")
    panel.get_by_role("button", name="Try again").click()

    expect(panel).to_contain_text("Reject All finished")
    expect(panel.locator(".summary")).to_contain_text("Rejected3 items")
    failed.refresh_from_db()
    assert failed.state == "DONE" and failed.attempts == 1
    assert not OrderItem.objects.filter(facility=shop.brooklyn, status="IN_PROGRESS").exists()
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()


def test_associate_does_not_see_reject_all(page, login, shop, live_server):
    login(page, "associate")
    expect(page.get_by_role("button", name="Report an Issue").first).to_be_visible()
    expect(page.get_by_role("button", name="Reject All")).to_have_count(0)
    tab(page, "In Progress").click()
    expect(tab(page, "In Progress")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("button", name="Reject All")).to_have_count(0)
    # and the server refuses it too
    response = page.request.get(f"{live_server.url}/orders/open/reject-all/")
    assert response.status == 403


def test_keyboard_reaches_search_and_report(page, login, shop):
    login(page, "associate")
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Tab")
    for _ in range(12):
        if page.evaluate("document.activeElement.id") == "search-orders":
            break
        page.keyboard.press("Tab")
    expect(page.get_by_label("Search orders")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    button = page.get_by_role("button", name="Report an Issue").first
    button.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Reason").first).to_be_focused()


@pytest.mark.parametrize("size, viewport", [("phone", PHONE), ("desktop", DESKTOP)])
def test_screenshots(new_page, login, shop, size, viewport):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = new_page(viewport)
    login(page, "manager")
    for name, slug in (("Open", "open"), ("In Progress", "in-progress"), ("Completed", "completed")):
        tab(page, name).click()
        expect(tab(page, name)).to_have_attribute("aria-current", "page")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]  # no sideways scrolling
        page.screenshot(path=str(SCREENSHOTS / f"{slug}-{size}.png"), full_page=True)

    tab(page, "Open").click()
    item = shop.orders[0].items.get(product=shop.tee)
    row = page.locator(f"#item-{item.pk}")
    row.get_by_role("button", name="Report an Issue").click()
    expect(row.get_by_label("Reason")).to_be_focused()
    row.get_by_label("Reason").select_option(label="Damaged")
    expect(row.locator(".preview-sentence")).to_contain_text("counted as unsellable")
    page.evaluate("id => document.getElementById(id).scrollIntoView({block: 'start'})", f"order-{shop.orders[0].pk}")
    page.screenshot(path=str(SCREENSHOTS / f"report-issue-{size}.png"))

    # Save it, then the order's page explains where the item went and why ("Why here?").
    row.get_by_role("button", name="Save").click()
    expect(page.locator(f"#item-{item.pk}")).to_have_count(0)
    page.get_by_role("link", name=shop.orders[0].name).click()
    expect(page.get_by_role("table", name="Why here?").last).to_contain_text("Manhattan")
    page.screenshot(path=str(SCREENSHOTS / f"order-detail-{size}.png"), full_page=True)
    for slug in ("open", "in-progress", "completed", "report-issue", "order-detail"):
        assert (SCREENSHOTS / f"{slug}-{size}.png").stat().st_size > 10_000
