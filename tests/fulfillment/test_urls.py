"""Every URL of the project: who may open it (a role matrix), and a bounded fuzz that no request answers 5xx.

The URLs come from the resolver itself (the app's and the admin's), so a new page is covered the day it is added.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from fulfillment.models import BulkRejection, FacilityMembership, OrderItem, RejectionReason
from inventory.services import inventory_receive
from tests.factories import (
    FacilityFactory,
    MembershipFactory,
    OperationsUserFactory,
    ProductFactory,
    UserFactory,
    order_placed,
)

pytestmark = pytest.mark.django_db

PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def url_patterns(patterns=None, prefix: str = ""):
    """(route, name) for every URL pattern, admin included; regex patterns as their pattern text."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name


ALL_PATTERNS = sorted(set(url_patterns()))
APP_PATTERNS = [(route, name) for route, name in ALL_PATTERNS if not route.startswith("admin/")]
ADMIN_PATTERNS = [(route, name) for route, name in ALL_PATTERNS if route.startswith("admin/")]


@dataclass
class World:
    brooklyn: object
    manhattan: object
    order: object
    item: object
    other_order: object
    other_item: object
    bulk: BulkRejection
    parked: OrderItem
    users: dict


@pytest.fixture
def world() -> World:
    brooklyn = FacilityFactory(code="BROOKLYN", name="Brooklyn", latitude=40.6782, longitude=-73.9442)
    manhattan = FacilityFactory(code="MANHATTAN", name="Manhattan", latitude=40.7549, longitude=-73.9840)
    tee, mug = ProductFactory(sku="TEE-RED-M"), ProductFactory(sku="MUG-BLUE")
    inventory_receive(facility=brooklyn, product=tee, quantity=10)
    inventory_receive(facility=manhattan, product=tee, quantity=10)
    order = order_placed(lines=[(tee, 1)], near=brooklyn)
    other_order = order_placed(lines=[(tee, 1)], near=manhattan)
    parked = order_placed(lines=[(mug, 1)], near=brooklyn).items.get()  # no stock anywhere
    associate, manager = UserFactory(username="bk_associate"), UserFactory(username="bk_manager")
    MembershipFactory(user=associate, facility=brooklyn)
    MembershipFactory(user=manager, facility=brooklyn, role=FacilityMembership.Role.MANAGER)
    bulk = BulkRejection.objects.create(
        facility=brooklyn, from_status="OPEN", reason=RejectionReason.objects.get(code="INACTIVE_STORE"), requested_by=manager
    )
    users = {
        "anonymous": None,
        "associate": associate,
        "manager": manager,
        "staff without permission": UserFactory(username="staff_plain", is_staff=True),
        "staff with permission": OperationsUserFactory(username="staff_ops"),
        "superuser": UserFactory(username="root", is_staff=True, is_superuser=True),
    }
    return World(
        brooklyn=brooklyn, manhattan=manhattan, order=order, item=order.items.get(), other_order=other_order,
        other_item=other_order.items.get(), bulk=bulk, parked=parked, users=users,
    )


def admin_model_pk(name: str) -> str:
    """The pk of some row of the admin page's model ('fulfillment_order_change' -> an Order's pk), else '1'."""
    for model in admin.site._registry:
        if name and name.startswith(f"{model._meta.app_label}_{model._meta.model_name}_"):
            row = model._default_manager.order_by("pk").first()
            return str(row.pk) if row else "1"
    return "1"


def concrete_url(route: str, name: str | None, world: World, value: str | None = None) -> str:
    """A URL for the pattern: real ids (or ``value`` in every parameter when given)."""
    if route.startswith("admin/^"):  # the app index: admin/^(?P<app_label>auth|...)/$
        return "/admin/fulfillment/" if value is None else f"/admin/{quote(value, safe='')}/"
    if route.endswith("(?P<url>.*)$"):  # the admin's catch-all
        return "/admin/no-such-page/" if value is None else f"/admin/{quote(value, safe='')}"
    ids = {"order_id": world.order.pk, "item_id": world.item.pk, "bulk_id": world.bulk.pk}

    def fill(match: re.Match) -> str:
        if value is not None:
            return quote(value, safe="")
        parameter = match.group("name")
        if parameter in ids:
            return str(ids[parameter])
        if parameter == "content_type_id":
            from django.contrib.contenttypes.models import ContentType

            return str(ContentType.objects.get_for_model(OrderItem).pk)
        if parameter == "object_id" and route.startswith("admin/r/"):
            return str(world.item.pk)
        return admin_model_pk(name or "")

    return "/" + PARAMETER.sub(fill, route)


def client_for(user) -> Client:
    client = Client(REMOTE_ADDR="10.9.8.7")
    client.raise_request_exception = False
    if user is not None:
        client.force_login(user)
    return client


# ---------------------------------------------------------------------------------------------------------------------
# The access matrix: role x every URL (GET). "login": sent to the login page; "403": refused with a message.

ROLES = ["anonymous", "associate", "manager", "staff without permission", "staff with permission", "superuser"]
LOGIN, ADMIN_LOGIN, OK, FORBIDDEN, NOT_ALLOWED, TO_DASHBOARD, TO_ORDERS, TO_ADMIN = (
    "login", "admin login", "200", "403", "405", "to dashboard", "to orders", "to admin",
)
NO_STORE = {"staff without permission": TO_ADMIN, "staff with permission": TO_ADMIN, "superuser": TO_ADMIN}
STORE_PAGE = {"anonymous": LOGIN, "associate": OK, "manager": OK, **NO_STORE}
POST_ONLY = {role: NOT_ALLOWED for role in ROLES}
APP_MATRIX = {
    "login": {"anonymous": OK, **{role: TO_DASHBOARD for role in ROLES[1:]}},  # already logged in
    "logout": POST_ONLY,
    "dashboard": {"anonymous": LOGIN, "associate": TO_ORDERS, "manager": TO_ORDERS, **NO_STORE},
    "facility-switch": POST_ONLY,
    "orders-open": STORE_PAGE,
    "orders-in-progress": STORE_PAGE,
    "orders-completed": STORE_PAGE,
    "reject-all-open": {**STORE_PAGE, "associate": FORBIDDEN},
    "reject-all-in-progress": {**STORE_PAGE, "associate": FORBIDDEN},
    "orders-start-picking": POST_ONLY,
    "order-detail": STORE_PAGE,
    "order-complete": POST_ONLY,
    "item-report": STORE_PAGE,
    "item-report-preview": STORE_PAGE,
    "bulk-rejection": STORE_PAGE,
    "operations-parked": {
        "anonymous": LOGIN, "associate": FORBIDDEN, "manager": FORBIDDEN, "staff without permission": FORBIDDEN,
        "staff with permission": OK, "superuser": OK,
    },
    "operations-parked-route": POST_ONLY,
    "bulk-rejection-retry": POST_ONLY,
    "healthz": {role: OK for role in ROLES},  # for load balancers: no login, no data
    "pickup-choice": {role: "400" for role in ROLES},  # public; only a signed link opens it (this one is not)
    # reports: managers (their stores) and staff (every store); associates are refused
    **{
        name: {"anonymous": LOGIN, "associate": FORBIDDEN, **{role: OK for role in ROLES[2:]}}
        for name in ("reports-rejections", "reports-rejection-rows", "reports-rejections-csv")
    },
}


def outcome(response) -> str:
    location = response.get("Location", "")
    if response.status_code == 302:
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
        if location.startswith("/login/"):
            return LOGIN
        if location == "/":
            return TO_DASHBOARD
        if location == "/orders/open/":
            return TO_ORDERS
        if location == "/admin/":
            return TO_ADMIN
        return f"302 {location}"
    return str(response.status_code)


def test_the_matrix_covers_every_url_of_the_app():
    assert sorted(name for _, name in APP_PATTERNS) == sorted(APP_MATRIX)


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix_for_every_app_url(world, role):
    client = client_for(world.users[role])
    seen = {name: outcome(client.get(concrete_url(route, name, world))) for route, name in APP_PATTERNS}
    assert seen == {name: expected[role] for name, expected in APP_MATRIX.items()}


@pytest.mark.parametrize("role", ROLES[1:])
def test_a_store_never_sees_another_stores_order_or_item(world, role):
    client = client_for(world.users[role])
    for url in (f"/orders/{world.other_order.pk}/", f"/items/{world.other_item.pk}/report/",
                f"/items/{world.other_item.pk}/report/preview/"):
        response = client.get(url)
        assert response.status_code in (404, 302), (url, response.status_code)
        assert "MANHATTAN" not in response.content.decode()


def test_only_the_operations_team_can_route_parked_items(world):
    inventory_receive(facility=world.manhattan, product=world.parked.product, quantity=3)
    for role in ROLES:
        client_for(world.users[role]).post("/operations/parked/route/", {"item_id": world.parked.pk})
        world.parked.refresh_from_db()
        routed = world.parked.status == OrderItem.Status.OPEN
        assert routed == (role in ("staff with permission", "superuser")), role
        if routed:
            break
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()


ADMIN_OPEN_TO_STAFF = {"index", "password_change", "password_change_done", "jsi18n", "autocomplete", "login", "logout"}


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix_for_every_admin_url(world, role):
    """Anonymous users and store staff never reach the admin; staff see only the models they have permissions for."""
    client = client_for(world.users[role])
    unexpected = []
    for route, name in ADMIN_PATTERNS:
        url = concrete_url(route, name, world)
        response = client.get(url)
        seen = outcome(response)
        if response.status_code >= 500:
            unexpected.append((url, seen))
        elif role in ("anonymous", "associate", "manager"):
            if name == "login":
                ok = seen == OK
            elif name == "logout":  # nobody is logged in to the admin: back to its index, which asks for a login
                ok = seen == TO_ADMIN
            else:
                ok = seen == ADMIN_LOGIN
            if not ok:
                unexpected.append((url, seen))
        elif role == "staff without permission" and name and name not in ADMIN_OPEN_TO_STAFF:
            # no model, no app list, no history, no shortcut (a row that does not exist: back to the index, as for anyone)
            if seen not in (FORBIDDEN, "404", TO_ADMIN):
                unexpected.append((url, seen))
        elif role == "staff with permission" and name and name.startswith("fulfillment_orderitem_"):
            allowed = name in ("fulfillment_orderitem_changelist", "fulfillment_orderitem_change",
                               "fulfillment_orderitem_history")
            if (seen == OK) != allowed:
                unexpected.append((url, seen))
        elif role == "staff with permission" and name and name.endswith(("_changelist", "_add", "_delete")):
            if seen != FORBIDDEN:
                unexpected.append((url, seen))
    assert unexpected == [], "\n".join(map(str, unexpected))


# ---------------------------------------------------------------------------------------------------------------------
# Bounded fuzz: every URL pattern x 18 hostile values x GET/POST, spread over four roles -> no response >= 500.
# Every request carries all eighteen values, rotated over the ~60 parameter names the pages and the admin read: nine GETs
# and nine POSTs per pattern give every (parameter, value) pair, the roles rotate so every role meets every pattern, and
# the values also go into the path parameters (half of them per pattern, alternating). About 3,800 requests.

HOSTILE = [
    "",
    "0",
    "-1",
    "2147483648",
    "99999999999999999999999999999",
    "١٢",
    "NaN",
    "a\x00b",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "9999-12-31",
    "x" * 3000,
    # issue 20: dates Python cannot read back once stored, line breaks and names longer than their columns, action ids
    "0001-01-01T00:00:00+14:00",
    "1969-12-31T23:59:59Z",
    "9999-12-31T23:59:59-14:00",
    "Queens\r\nBcc: everyone@example.com",
    "N" * 121,
    "1e10",
]
# Every parameter name a page or the admin reads (forms, filters, paging, ordering, actions, date hierarchies).
PARAMETERS = [
    "q", "page", "kind", "product", "reason", "quantity", "comment", "facility", "order_ids", "item_id", "scope",
    "stop_routing", "next", "username", "password", "status",
    "p", "o", "e", "all", "_to_field", "_popup", "_changelist_filters", "action", "index", "select_across",
    "_selected_action", "app_label", "model_name", "field_name", "term",
    "placed_at__year", "placed_at__month", "placed_at__day", "created_at__year", "created_at__month",
    "created_at__day", "attempt_time__year", "placed_at__gte", "placed_at__lt", "created_at__gte", "id__exact",
    "status__exact", "facility__id__exact", "reason__id__exact", "is_active__exact", "kind__exact", "day",
    "date_from", "date_to", "seen_quantity", "placed_at", "name", "customer_name", "address", "city", "postal_code",
]
FUZZ_ROLES = ["anonymous", "associate", "manager", "superuser"]  # the superuser reaches every view the admin has
# POSTs that would end the session or delete the fuzzing users, not answer the input.
NO_POST = ("logout", "_delete", "password_change")


def _fuzz(world, patterns) -> tuple[list, int]:
    clients = [client_for(world.users[role]) for role in FUZZ_ROLES]
    failures, requests = [], 0

    def check(client, method, url, data):
        nonlocal requests
        requests += 1
        response = getattr(client, method)(url, data)
        if response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            failures.append((method.upper(), url[:120], response.status_code, repr(exc[1])[:200] if exc else ""))

    for p, (route, name) in enumerate(patterns):
        url = concrete_url(route, name, world)
        has_parameters = bool(PARAMETER.search(route)) or "(?P<" in route
        may_post = not (name or "").endswith(NO_POST) and name not in NO_POST
        for k in range(len(HOSTILE) // 2):
            get_data = {param: HOSTILE[(j + k) % len(HOSTILE)] for j, param in enumerate(PARAMETERS)}
            check(clients[(p + k) % 4], "get", url, get_data)
            post_data = {param: HOSTILE[(j + k + len(HOSTILE) // 2) % len(HOSTILE)] for j, param in enumerate(PARAMETERS)}
            if may_post:
                check(clients[(p + k + 1) % 4], "post", url, post_data)
            else:  # the other half of the values by GET
                check(clients[(p + k + 1) % 4], "get", url, post_data)
        if has_parameters:  # half of the values into this pattern's path, the other half into the next pattern's
            for v, value in enumerate(HOSTILE):
                if (v + p) % 2 == 0:
                    check(clients[(p + v) % 4], "get", concrete_url(route, name, world, value=value), {})
    return failures, requests


@pytest.fixture
def quiet_request_log():
    logger = logging.getLogger("django.request")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)  # thousands of expected 4xx warnings
    yield
    logger.setLevel(previous)


def test_fuzz_every_app_url_answers_no_server_error(world, quiet_request_log):
    started = time.monotonic()
    failures, requests = _fuzz(world, APP_PATTERNS)
    print(f"\nfuzz, app: {requests} requests, {len(failures)} responses >= 500")
    assert failures == [], "\n".join(map(str, failures))
    assert requests > 200
    assert time.monotonic() - started < 60  # bounded: a few seconds
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()


def test_fuzz_every_admin_url_answers_no_server_error(world, quiet_request_log):
    started = time.monotonic()
    failures, requests = _fuzz(world, ADMIN_PATTERNS)
    print(f"\nfuzz, admin: {requests} requests, {len(failures)} responses >= 500")
    assert failures == [], "\n".join(map(str, failures))
    assert requests > 2000
    assert time.monotonic() - started < 120  # bounded: about 10 s
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()
