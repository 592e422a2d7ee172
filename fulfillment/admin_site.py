"""The project's admin site: Django's, with request checks every admin view gets.

``settings.INSTALLED_APPS`` names ``fulfillment.admin_site.AdminConfig`` instead of ``django.contrib.admin``, so
``admin.site`` (where every app registers) is this site.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.contrib.admin.options import TO_FIELD_VAR
from django.http import HttpResponseBadRequest


class AdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def checked(request, *args, **kwargs):
            # Django looks up a field named "" for an empty ?_to_field= and fails with a 500 (FieldDoesNotExist).
            if request.GET.get(TO_FIELD_VAR) == "" or request.POST.get(TO_FIELD_VAR) == "":
                return HttpResponseBadRequest(f"{TO_FIELD_VAR} must name a field.", content_type="text/plain")
            return inner(request, *args, **kwargs)

        return checked


class AdminConfig(DjangoAdminConfig):
    """django.contrib.admin with this module's ``AdminSite`` as ``admin.site``."""

    default_site = "fulfillment.admin_site.AdminSite"
