"""Template context every page needs without a query of its own."""

from fulfillment.models import FacilityMembership


def navigation(request):
    """``show_reports``: the header's Reports link, for staff and for managers (memberships already loaded)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show_reports": False}
    memberships = getattr(request, "memberships", None) or []
    return {"show_reports": user.is_staff or any(m.role == FacilityMembership.Role.MANAGER for m in memberships)}
