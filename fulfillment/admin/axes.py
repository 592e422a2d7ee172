"""django-axes' admin (failed logins; deleting an access attempt unlocks that login), with the date-filter guard."""

from django.contrib import admin

from inventory.admin import DateHierarchyGuardMixin


def _guard_axes_admin() -> None:
    from axes import admin as axes_admin
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model, model_admin in (
        (AccessAttempt, axes_admin.AccessAttemptAdmin),
        (AccessLog, axes_admin.AccessLogAdmin),
        (AccessFailureLog, axes_admin.AccessFailureLogAdmin),
    ):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
            admin.site.register(model, type(model_admin.__name__, (DateHierarchyGuardMixin, model_admin), {}))


_guard_axes_admin()
