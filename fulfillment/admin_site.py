"""The project's admin site: Django's, with request checks every admin view gets.

``settings.INSTALLED_APPS`` names ``fulfillment.admin_apps.AdminConfig`` instead of ``django.contrib.admin``, so
``admin.site`` (where every app registers) is this site.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import TO_FIELD_VAR
from django.core.validators import MaxLengthValidator
from django.db import models
from django.http import HttpResponseBadRequest

from fulfillment.text import parse_ascii_integer

MAX_ID = 2**63 - 1  # the largest primary key a database integer column holds


def _has_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in value for value in query.getlist(key)) for key in query)


def _bad_selected_ids(view, request) -> bool:
    """An action's ``_selected_action`` that is not a list of this model's ids ('', '%', '1e10', NUL, > 2**63 - 1)."""
    selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
    model = getattr(getattr(view, "__self__", None), "model", None)
    if not selected or model is None or not isinstance(model._meta.pk, (models.AutoField, models.BigAutoField, models.IntegerField)):
        return False
    for value in selected:
        number = parse_ascii_integer(value) if value.strip() == value else None
        if number is None or not 0 < number <= MAX_ID:
            return True
    return False


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's login form with the username's length checked on the server (see ``fulfillment.forms.LoginForm``)."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))


class AdminSite(admin.AdminSite):
    login_form = AdminLoginForm

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def checked(request, *args, **kwargs):
            # Django looks up a field named "" for an empty ?_to_field= and fails with a 500 (FieldDoesNotExist).
            if request.GET.get(TO_FIELD_VAR) == "" or request.POST.get(TO_FIELD_VAR) == "":
                return HttpResponseBadRequest(f"{TO_FIELD_VAR} must name a field.", content_type="text/plain")
            # A NUL in a filter or search (?status__exact=%00) reached the database: PostgreSQL refuses it, a 500.
            if _has_nul(request.GET) or _has_nul(request.POST):
                return HttpResponseBadRequest("A filter or field contains a NUL character.", content_type="text/plain")
            if request.method == "POST" and _bad_selected_ids(view, request):
                return HttpResponseBadRequest(
                    "The selected rows must be given by their ids (whole numbers).", content_type="text/plain"
                )
            return inner(request, *args, **kwargs)

        return checked
