"""Headers on every page: Content-Security-Policy without inline code, and no-store on pages with orders or customers."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from fulfillment.models import FacilityMembership
from tests.factories import FacilityFactory, MembershipFactory, OperationsUserFactory, UserFactory, order_placed

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture
def store():
    facility = FacilityFactory(code="BROOKLYN", name="Brooklyn", latitude=40.6782, longitude=-73.9442)
    from inventory.services import inventory_receive
    from tests.factories import ProductFactory

    tee = ProductFactory(sku="TEE-RED-M")
    inventory_receive(facility=facility, product=tee, quantity=5)
    order = order_placed(lines=[(tee, 1)], near=facility)
    return facility, order


def directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_login_page_carries_a_strict_content_security_policy(client):
    response = client.get(reverse("login"))
    csp = directives(response)
    assert csp["default-src"] == "default-src 'self'"
    assert csp["script-src"] == "script-src 'self'"
    assert csp["style-src"] == "style-src 'self'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_every_logged_in_page_is_no_store(client, store):
    facility, order = store
    manager = UserFactory(username="bk_manager")
    MembershipFactory(user=manager, facility=facility, role=FacilityMembership.Role.MANAGER)
    client.force_login(manager)
    item = order.items.get()
    for url in (
        reverse("orders-open"), reverse("orders-in-progress"), reverse("orders-completed"),
        reverse("order-detail", args=[order.pk]), reverse("item-report", args=[item.pk]),
        reverse("item-report-preview", args=[item.pk]), reverse("reject-all-open"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], url
        assert "Content-Security-Policy" in response, url
    ops = OperationsUserFactory(username="ops")
    client.force_login(ops)
    for url in (reverse("operations-parked"), reverse("admin:index"), reverse("admin:fulfillment_orderitem_changelist")):
        response = client.get(url)
        assert response.status_code == 200 and "no-store" in response["Cache-Control"], url


def test_static_files_keep_their_caching(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_templates_have_no_inline_scripts_or_styles(template):
    """The policy forbids inline code, so none may be written: scripts and styles live in static/."""
    source = (TEMPLATES / template).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), "inline <script>: move it to static/js/"
    assert not re.search(r"<style\b", source), "inline <style>: move it to static/css/"
    assert not re.search(r"\sstyle\s*=", source), "style attribute: use a class in static/css/app.css"
    assert not re.search(r"\son[a-z]+\s*=", source), "inline event handler: use static/js/app.js"
    assert not re.search(r"\bhx-on", source), "hx-on needs eval, which the policy forbids"


def test_htmx_is_configured_for_the_policy():
    base = (TEMPLATES / "base.html").read_text()
    assert '"includeIndicatorStyles": false' in base  # htmx would inject an inline <style>
    assert '"allowEval": false' in base
