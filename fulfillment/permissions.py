"""Who may see what: the user's facility memberships, the current facility (kept in the session), role checks, and
the access decorators of every page behind a login:

- ``facility_required`` (the associate's pages): sets ``request.membership`` and ``request.facility``, and every
  query of the view is then scoped to ``request.facility``;
- ``reports_required`` (managers and staff): sets ``request.report_scope``;
- ``operations_required`` (the parked-items page): staff allowed to change order items.

Anonymous users go to the login page (an HTMX request gets a client-side redirect instead of a login page swapped
into a fragment); a signed-in user without access gets a 403 page that says why.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django_htmx.http import HttpResponseClientRedirect

from fulfillment.models import FacilityMembership

SESSION_KEY = "facility_id"
MESSAGE_PAGE = "fulfillment/message.html"
ROUTE_PERMISSION = "fulfillment.change_orderitem"  # the same permission as the admin actions on order items
STAFF_ONLY = (
    "The parked items page is for the operations team (staff accounts allowed to change order items). "
    "Ask an administrator for access."
)
MANAGERS_ONLY = "Reports are for store managers and the operations team."


def memberships_for(user) -> list[FacilityMembership]:
    """The user's memberships (facility loaded), in facility code order; empty for anonymous users."""
    if not user.is_authenticated:
        return []
    return list(
        FacilityMembership.objects.filter(user=user, facility__is_active=True)
        .select_related("facility")
        .order_by("facility__code")
    )


def current_membership(request: HttpRequest, memberships: list[FacilityMembership] | None = None):
    """The membership of the facility chosen in the session, else the user's first one (None when there is none)."""
    if memberships is None:
        memberships = memberships_for(request.user)
    if not memberships:
        return None
    chosen = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.facility_id == chosen:
            return membership
    return memberships[0]


def choose_facility(request: HttpRequest, facility_id) -> FacilityMembership | None:
    """Remember the facility for this session if the user is a member there; returns the membership or None."""
    for membership in memberships_for(request.user):
        if str(membership.facility_id) == str(facility_id):
            request.session[SESSION_KEY] = membership.facility_id
            return membership
    return None


def is_manager(membership: FacilityMembership | None) -> bool:
    return membership is not None and membership.role == FacilityMembership.Role.MANAGER


def may_route_parked_items(user) -> bool:
    """Staff with the admin's permission on order items (superusers have every permission)."""
    return user.is_authenticated and user.is_active and user.is_staff and user.has_perm(ROUTE_PERMISSION)


def login_redirect(request: HttpRequest) -> HttpResponse:
    """To the login page, and back here after it (an HTMX request: back to the page the fragment was part of)."""
    if getattr(request, "htmx", False):
        next_url = request.htmx.current_url_abs_path or request.get_full_path()
        return HttpResponseClientRedirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': next_url})}")
    return redirect_to_login(request.get_full_path())


def forbidden(request: HttpRequest, message: str, title: str) -> HttpResponse:
    """403 with a page (an HTMX request: the fragment) that says why."""
    page = f"{MESSAGE_PAGE}#notice" if getattr(request, "htmx", False) and not request.htmx.history_restore_request else MESSAGE_PAGE
    return render(request, page, {"message": message, "title": title}, status=403)


def facility_required(view):
    """Login required + a membership: sets request.memberships, request.membership, request.facility.

    Staff without a membership are sent to the admin with a message; anyone else without one sees a page that says
    so (403).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return login_redirect(request)
        membership = memberships_attach(request)
        if membership is None:
            if request.user.is_staff:
                messages.info(request, "You are not a member of any store, so you have no orders to work. Admin is here.")
                if getattr(request, "htmx", False):
                    return HttpResponseClientRedirect(resolve_url("admin:index"))
                return redirect("admin:index")
            return render(request, "fulfillment/no_facility.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def operations_required(view):
    """Login required + ``may_route_parked_items``, else 403 with a message."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return login_redirect(request)
        if not may_route_parked_items(request.user):
            return forbidden(request, STAFF_ONLY, "Operations team only")
        return view(request, *args, **kwargs)

    return wrapper


def reports_required(view):
    """Login required; ``request.report_scope`` set (never empty), else 403. Header context as on the other pages."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return login_redirect(request)
        memberships_attach(request)
        scope = report_scope(request.user, request.memberships)
        if not scope:
            return forbidden(request, MANAGERS_ONLY, "Managers only")
        request.report_scope = scope
        return view(request, *args, **kwargs)

    return wrapper


def memberships_attach(request: HttpRequest) -> FacilityMembership | None:
    """Set request.memberships, request.membership and request.facility (None when the user works nowhere)."""
    request.memberships = memberships_for(request.user)
    request.membership = current_membership(request, request.memberships)
    request.facility = request.membership.facility if request.membership else None
    return request.membership


def report_scope(user, memberships) -> list:
    """The facilities whose figures the user may see: all for staff, else the stores they manage."""
    from inventory.models import Facility

    if user.is_staff:
        return list(Facility.objects.order_by("code"))
    return [m.facility for m in memberships if m.role == FacilityMembership.Role.MANAGER]

