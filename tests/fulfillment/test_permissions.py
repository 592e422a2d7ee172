"""Memberships, the current facility kept in the session, and roles."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.test import RequestFactory

from fulfillment.models import FacilityMembership
from fulfillment.permissions import (
    SESSION_KEY,
    choose_facility,
    current_membership,
    facility_required,
    is_manager,
    memberships_for,
)
from tests.factories import FacilityFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def make_request(user, session=None, htmx=False):
    request = RequestFactory().get("/orders/open/", **({"HTTP_HX_REQUEST": "true"} if htmx else {}))
    request.user = user
    request.session = session if session is not None else SessionStore()
    request._messages = FallbackStorage(request)
    request.htmx = htmx
    return request


@pytest.fixture
def two_stores():
    user = UserFactory()
    first = MembershipFactory(user=user, facility=FacilityFactory(code="AAA"))
    second = MembershipFactory(user=user, facility=FacilityFactory(code="BBB"), role=FacilityMembership.Role.MANAGER)
    return user, first, second


def test_anonymous_user_has_no_memberships():
    assert memberships_for(AnonymousUser()) == []


def test_memberships_are_the_users_own_in_code_order(two_stores):
    user, first, second = two_stores
    MembershipFactory(facility=first.facility)  # someone else at the same store
    assert memberships_for(user) == [first, second]


def test_inactive_facilities_are_left_out(two_stores):
    user, first, second = two_stores
    second.facility.is_active = False
    second.facility.save()
    assert memberships_for(user) == [first]


def test_current_facility_defaults_to_the_first_membership(two_stores):
    user, first, _ = two_stores
    assert current_membership(make_request(user)) == first


def test_current_facility_comes_from_the_session(two_stores):
    user, _, second = two_stores
    request = make_request(user)
    request.session[SESSION_KEY] = second.facility_id
    assert current_membership(request) == second


def test_a_facility_in_the_session_without_membership_is_ignored(two_stores):
    user, first, _ = two_stores
    request = make_request(user)
    request.session[SESSION_KEY] = FacilityFactory(code="ZZZ").pk
    assert current_membership(request) == first


def test_choose_facility_only_among_memberships(two_stores):
    user, _, second = two_stores
    request = make_request(user)
    assert choose_facility(request, FacilityFactory(code="ZZZ").pk) is None
    assert SESSION_KEY not in request.session
    assert choose_facility(request, str(second.facility_id)) == second
    assert request.session[SESSION_KEY] == second.facility_id


def test_is_manager(two_stores):
    _, associate, manager = two_stores
    assert not is_manager(associate)
    assert is_manager(manager)
    assert not is_manager(None)


def test_facility_required_sets_the_scope(two_stores):
    user, first, _ = two_stores
    seen = {}

    @facility_required
    def view(request):
        seen["facility"] = request.facility
        seen["membership"] = request.membership
        return HttpResponse("ok")

    assert view(make_request(user)).status_code == 200
    assert seen == {"facility": first.facility, "membership": first}


def test_facility_required_without_membership():
    @facility_required
    def view(request):  # pragma: no cover - must not run
        raise AssertionError("view ran without a membership")

    assert view(make_request(UserFactory())).status_code == 403
    response = view(make_request(UserFactory(is_staff=True)))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    response = view(make_request(UserFactory(is_staff=True), htmx=True))
    assert response["HX-Redirect"] == "/admin/"
    response = view(make_request(AnonymousUser()))
    assert response.status_code == 302 and response["Location"].startswith("/login/")
