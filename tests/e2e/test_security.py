"""The Content-Security-Policy in a real browser: htmx works under it and nothing is refused."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Recorded by the page itself: every policy violation the browser reports (installed before any page script runs).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || ""));
});
"""


def test_report_an_issue_under_the_policy_reports_no_violation(page, login, shop, live_server):
    from fulfillment.models import Rejection

    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.add_init_script(RECORD_VIOLATIONS)
    response = page.goto(f"{live_server.url}/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
    login(page, "associate")
    assert "no-store" in page.request.get(f"{live_server.url}/orders/open/").headers["cache-control"]

    item = shop.orders[4].items.get()  # Dorothy's mug
    row = page.locator(f"#item-{item.pk}")
    row.get_by_role("button", name="Report an Issue").click()  # htmx GET, swapped in
    expect(row.get_by_label("Reason")).to_be_focused()  # htmx has settled the form (app.js focuses it)
    row.get_by_label("Reason").select_option(label="Damaged")  # htmx preview
    expect(row.locator(".preview-sentence")).to_contain_text("counted as unsellable")
    row.get_by_role("button", name="Save").click()  # htmx POST with out-of-band swaps
    expect(page.locator(f"#item-{item.pk}")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("Manhattan")
    assert Rejection.objects.filter(order_item=item).exists()

    # htmx's own indicator style was not injected (it would be refused), and the busy bar still has its own style.
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    assert page.evaluate("getComputedStyle(document.getElementById('busy')).position") == "fixed"
    violations = page.evaluate("window.__cspViolations")
    refused = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert violations == [] and refused == [], (violations, refused)
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()


def test_the_policy_would_be_reported_if_broken(page, login, shop, live_server):
    """The probe above can fail: an inline style added to the page is refused and reported."""
    page.add_init_script(RECORD_VIOLATIONS)
    login(page, "associate")
    page.evaluate("""() => { const s = document.createElement('style'); s.textContent = 'body{color:red}';
                             document.head.appendChild(s); }""")
    page.wait_for_function("window.__cspViolations.length > 0")
    assert any("style-src" in v for v in page.evaluate("window.__cspViolations"))
