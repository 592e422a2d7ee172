"""The project's admin site: Django's, with request checks every admin view gets.

``settings.INSTALLED_APPS`` names ``fulfillment.admin_apps.AdminConfig`` instead of ``django.contrib.admin``, so
``admin.site`` (where every app registers) is this site.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.options import TO_FIELD_VAR
from django.core.validators import MaxLengthValidator
from django.http import HttpResponseBadRequest


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
            return inner(request, *args, **kwargs)

        return checked
