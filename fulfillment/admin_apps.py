"""``django.contrib.admin`` with the project's admin site (``fulfillment/admin_site.py``) as ``admin.site``.

A module of its own: it is imported while the app registry is being populated, before models can be imported.
"""

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "fulfillment.admin_site.AdminSite"
