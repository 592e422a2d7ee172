"""The project's admin site: Django's admin with checks every admin view gets."""

import pytest
from django.contrib import admin

from fulfillment.admin_site import AdminLoginForm, AdminSite
from tests.factories import FacilityFactory

pytestmark = pytest.mark.django_db


def test_the_default_admin_site_is_the_projects():
    assert isinstance(admin.site, AdminSite)
    assert admin.site.login_form is AdminLoginForm


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_empty_to_field_is_a_bad_request_not_a_server_error(admin_client, method):
    facility = FacilityFactory(code="BROOKLYN")
    url = f"/admin/inventory/facility/{facility.pk}/change/"
    response = getattr(admin_client, method)(url + ("?_to_field=" if method == "get" else ""), {"_to_field": ""})
    assert response.status_code == 400
    facility.refresh_from_db()
    assert facility.code == "BROOKLYN"
    assert admin_client.get(url).status_code == 200


ACTION_LISTS = [
    ("/admin/fulfillment/orderitem/", "reject_selected"),
    ("/admin/fulfillment/orderitem/", "route_selected"),
    ("/admin/inventory/inventorylevel/", "receive_stock"),
    ("/admin/inventory/inventorylevel/", "set_counted_quantity"),
    ("/admin/fulfillment/rejection/", "export_csv"),
]


@pytest.mark.parametrize("url,action", ACTION_LISTS)
@pytest.mark.parametrize("selected", ["", "%", "1e10", "\x00", "99999999999999999999", "-1", "١"])
def test_a_bad_selected_action_id_is_a_bad_request_not_a_server_error(admin_client, url, action, selected):
    """68 x 500 in the admin: a non-numeric _selected_action in the actions of the order-item and inventory-level lists."""
    response = admin_client.post(url, {"action": action, "_selected_action": [selected], "index": "0"})
    assert response.status_code == 400, response.content[:300]


@pytest.mark.parametrize(
    "query", ["status__exact=%00", "q=%00", "kind__exact=a%00b", "o=%00", "%00=1"],
)
def test_a_nul_in_a_changelist_filter_is_a_bad_request(admin_client, query):
    for url in ("/admin/fulfillment/orderitem/", "/admin/inventory/facility/"):
        response = admin_client.get(f"{url}?{query}")
        assert response.status_code == 400, (url, query)
    assert admin_client.get("/admin/fulfillment/orderitem/?status__exact=OPEN").status_code == 200
