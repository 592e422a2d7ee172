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
