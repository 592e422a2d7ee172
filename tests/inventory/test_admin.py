"""Admin date filters beyond the calendar are bad filters (the list reloads with a notice), never a 500."""

import pytest
from django.contrib import admin
from django.urls import reverse

from inventory.admin import DateHierarchyGuardMixin

pytestmark = pytest.mark.django_db

DATED = sorted(
    (model._meta.app_label, model._meta.model_name, model_admin.date_hierarchy)
    for model, model_admin in admin.site._registry.items()
    if model_admin.date_hierarchy
)
HOSTILE = [
    {"__year": "99999999999999999999"},
    {"__year": "2026", "__month": "99999999999999999999"},
    {"__year": "2026", "__month": "1", "__day": "99999999999999999"},
    {"__year": "9999"},
    {"__year": "9999", "__month": "12"},
    {"__year": "9999", "__month": "12", "__day": "31"},
    {"__year": "0"},
    {"__year": "-1"},
    {"__year": "2026", "__month": "2", "__day": "30"},
    {"__gte": "99999999-01-01"},
    {"__lt": "9999-12-31 23:59:59.999999999"},
]


def test_every_dated_admin_is_guarded():
    assert DATED, "no admin has a date_hierarchy any more: drop this test"
    for model, model_admin in admin.site._registry.items():
        if model_admin.date_hierarchy:
            assert isinstance(model_admin, DateHierarchyGuardMixin), model


@pytest.mark.parametrize("app_label,model_name,field", DATED)
def test_a_date_beyond_the_calendar_is_a_bad_filter_not_a_500(admin_client, app_label, model_name, field):
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    for params in HOSTILE:
        query = {f"{field}{suffix}": value for suffix, value in params.items()}
        response = admin_client.get(url, query)
        assert response.status_code in (200, 302), (query, response.status_code)
        if response.status_code == 302:
            assert response["Location"].endswith("?e=1")  # Django's "bad lookup" notice
    assert admin_client.get(url, {f"{field}__year": "2026"}).status_code == 200


FACILITY_FORM = {
    "code": "QUEENS", "kind": "STORE", "latitude": "40.7", "longitude": "-73.8", "timezone": "America/New_York",
    "is_active": "on", "allows_routing": "on", "priority": "100", "safety_stock": "0", "waiting_amber_minutes": "120",
    "waiting_red_minutes": "240",
}


@pytest.mark.parametrize("name", ["Queens\r\nBcc: everyone@example.com", "Queens\nWest", "Queens\x1b[2J"])
def test_a_facility_name_with_a_line_break_is_refused_where_it_enters(admin_client, name):
    """A store name with CR/LF saved, and every pickup email of that store then failed."""
    from inventory.models import Facility

    response = admin_client.post(reverse("admin:inventory_facility_add"), {**FACILITY_FORM, "name": name})

    assert response.status_code == 200
    assert "Names are one line of text" in response.content.decode()
    assert not Facility.objects.exists()


def test_a_product_name_with_a_line_break_is_refused(admin_client):
    from inventory.models import Product

    response = admin_client.post(reverse("admin:inventory_product_add"), {"sku": "TEE", "name": "Tee\r\nshirt"})

    assert response.status_code == 200 and "Names are one line of text" in response.content.decode()
    assert not Product.objects.exists()
