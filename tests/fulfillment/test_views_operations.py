"""The operations team's parked-items page: who may see it, what it shows, its filters, Route again (one and all),
bad input, and a query count that does not grow with the number of parked items."""

import html
import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from fulfillment.models import OrderItem
from fulfillment.services import item_reject
from inventory.services import inventory_receive
from routing.models import RoutingDecision, RoutingRule
from tests.factories import FacilityFactory, MembershipFactory, OperationsUserFactory, OrderItemFactory, ProductFactory, UserFactory, order_placed

pytestmark = pytest.mark.django_db

URL = "/operations/parked/"
ROUTE_URL = "/operations/parked/route/"
HX = {"HTTP_HX_REQUEST": "true"}
HX_LIST = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "parked-list"}


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def rows(response) -> list[str]:
    """The ids of the parked items listed, in page order."""
    return re.findall(r'<tr id="parked-(\d+)"', response.content.decode())


class World:
    """Brooklyn (a pickup store) and Manhattan; a tee and a mug; parked items of every kind."""

    def __init__(self):
        self.brooklyn = FacilityFactory(code="BROOKLYN", name="Brooklyn", latitude=40.6782, longitude=-73.9442,
                                        timezone="America/New_York")
        self.manhattan = FacilityFactory(code="MANHATTAN", name="Manhattan", latitude=40.7549, longitude=-73.9840)
        self.tee = ProductFactory(sku="TEE-RED-M", name="Red tee M")
        self.mug = ProductFactory(sku="MUG-BLUE", name="Blue mug")

    def no_stock(self, product, qty=1, method="STANDARD") -> OrderItem:
        order = order_placed(lines=[(product, qty)], near=self.brooklyn, shipping_method=method)
        item = order.items.get()
        assert item.status == OrderItem.Status.UNROUTED
        return item

    def pickup_rejected(self) -> OrderItem:
        inventory_receive(facility=self.brooklyn, product=self.mug, quantity=1)
        order = order_placed(lines=[(self.mug, 1)], near=self.manhattan, shipping_method="STORE_PICKUP",
                             pickup_facility=self.brooklyn)
        item = order.items.get()
        item_reject(facility=self.brooklyn, item_id=item.pk, reason_code="DAMAGED")
        item.refresh_from_db()
        assert item.status == OrderItem.Status.UNROUTED
        return item

    def no_rule(self) -> OrderItem:
        RoutingRule.objects.filter(name__startswith="Same day").update(is_active=False)
        item = self.no_stock(self.tee, method="SAME_DAY")
        RoutingRule.objects.update(is_active=True)
        return item

    def other(self) -> OrderItem:
        return OrderItemFactory(product=self.mug, facility=None, status=OrderItem.Status.UNROUTED, parked_reason="")


@pytest.fixture
def world():
    return World()


@pytest.fixture
def staff(client):
    client.force_login(OperationsUserFactory(username="ops"))
    return client


@pytest.fixture
def associate(client, world):
    user = UserFactory(username="bk_associate")
    MembershipFactory(user=user, facility=world.brooklyn)
    client.force_login(user)
    return client


# -- access ----------------------------------------------------------------------------------------------------------
def test_anonymous_is_sent_to_the_login_page(client, world):
    world.no_stock(world.tee)
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "next=/operations/parked/" in response["Location"]
    hx = client.get(URL, **HX_LIST)
    assert hx.status_code == 200 and hx["HX-Redirect"].startswith(reverse("login"))
    post = client.post(ROUTE_URL, {"scope": "all"})
    assert post.status_code == 302 and post["Location"].startswith(reverse("login"))


def test_an_associate_cannot_see_or_route(associate, world):
    item = world.no_stock(world.tee)
    inventory_receive(facility=world.manhattan, product=world.tee, quantity=5)
    response = associate.get(URL)
    assert response.status_code == 403
    assert "for the operations team" in text(response)
    assert "TEE-RED-M" not in text(response)
    response = associate.post(ROUTE_URL, {"item_id": item.pk})
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.status == OrderItem.Status.UNROUTED


def test_staff_get_a_link_to_the_parked_queue_and_associates_do_not(client, world):
    staff_member = OperationsUserFactory(username="ops_with_store")
    MembershipFactory(user=staff_member, facility=world.brooklyn)
    client.force_login(staff_member)
    assert f'href="{URL}"' in client.get(reverse("orders-open")).content.decode()
    associate = UserFactory(username="plain_associate")
    MembershipFactory(user=associate, facility=world.brooklyn)
    client.force_login(associate)
    assert f'href="{URL}"' not in client.get(reverse("orders-open")).content.decode()


def test_route_needs_post_and_csrf(world):
    item = world.no_stock(world.tee)
    inventory_receive(facility=world.manhattan, product=world.tee, quantity=5)
    client = Client(enforce_csrf_checks=True)
    client.force_login(OperationsUserFactory(username="ops2"))
    assert client.get(ROUTE_URL).status_code == 405
    assert client.post(ROUTE_URL, {"item_id": item.pk}).status_code == 403
    item.refresh_from_db()
    assert item.status == OrderItem.Status.UNROUTED
    page = client.get(URL)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert client.post(ROUTE_URL, {"item_id": item.pk, "csrfmiddlewaretoken": token}).status_code == 302
    item.refresh_from_db()
    assert item.status == OrderItem.Status.OPEN


# -- what the page shows ---------------------------------------------------------------------------------------------
def test_staff_sees_each_parked_item_and_why(staff, world):
    stuck = world.no_stock(world.tee, qty=3, method="EXPRESS")
    pickup = world.pickup_rejected()
    response = staff.get(URL)
    assert response.status_code == 200
    page = text(response)
    assert rows(response) == [str(stuck.pk), str(pickup.pk)]  # oldest order first
    assert "2 parked items, oldest order first." in page
    # the stuck line: order, product, SKU, quantity, shipping method, reason, never rejected
    row = page[page.index(f'<tr id="parked-{stuck.pk}"'):page.index(f'<tr id="parked-{pickup.pk}"')]
    assert stuck.order.name in row and "Red tee M" in row and "SKU TEE-RED-M" in row
    assert '<td data-label="Qty" class="num">3</td>' in row and "Express" in row
    assert "No facility can take it (stock, distance, limits)" in row
    assert "Parked: no facility can take the whole line under the rules tried" in row
    assert "Never routed" in row
    # the pickup line: pickup queue, the rejection (facility, reason, when), and every facility's reason
    row = page[page.index(f'<tr id="parked-{pickup.pk}"'):]
    assert "Store pickup" in row and "at Brooklyn" in row
    assert "Pickup queue: the pickup store rejected it" in row
    assert "the customer's pickup store rejected it; a person must decide" in row
    assert "Brooklyn: Damaged" in row
    rejected_at = pickup.rejections.get().created_at.astimezone(ZoneInfo("America/New_York"))  # the store's local time
    assert f"{rejected_at.day} {rejected_at:%b, %H:%M} {rejected_at.tzname()}" in row
    assert "rejected this item just now" in row and "not the customer's pickup store" in row
    assert 'aria-label="Route again: ' + pickup.order.name + ', MUG-BLUE"' in row


def test_kind_filter_counts_each_kind(staff, world):
    world.no_stock(world.tee)
    world.no_stock(world.mug)
    world.pickup_rejected()
    world.no_rule()
    world.other()
    page = text(staff.get(URL))
    assert "Any reason (5)" in page
    assert "Pickup queue: the pickup store rejected it (1)" in page
    assert "No facility can take it (stock, distance, limits) (2)" in page
    assert "No routing rule for its shipping method (1)" in page
    assert "Other (1)" in page


@pytest.mark.parametrize("kind", ["pickup", "no_facility", "no_rule", "other"])
def test_filter_by_kind(staff, world, kind):
    items = {
        "no_facility": world.no_stock(world.tee),
        "pickup": world.pickup_rejected(),
        "no_rule": world.no_rule(),
        "other": world.other(),
    }
    response = staff.get(URL, {"kind": kind})
    assert rows(response) == [str(items[kind].pk)]
    assert "1 parked item matching" in text(response)


def test_filter_by_product_sku_or_name(staff, world):
    tee, mug = world.no_stock(world.tee), world.no_stock(world.mug)
    assert rows(staff.get(URL, {"product": "tee-red"})) == [str(tee.pk)]
    assert rows(staff.get(URL, {"product": "Blue MUG"})) == [str(mug.pk)]
    response = staff.get(URL, {"product": "NOPE"})
    assert rows(response) == [] and "No parked items match these filters." in text(response)


def test_bad_filter_is_a_message_not_an_error(staff, world):
    item = world.no_stock(world.tee)
    response = staff.get(URL, {"kind": "<script>", "product": "x" * 500, "page": "-3"})
    assert response.status_code == 200
    assert "That filter is not valid" in text(response)
    assert rows(response) == [str(item.pk)]


def test_htmx_filter_swaps_only_the_list(staff, world):
    tee = world.no_stock(world.tee)
    world.no_stock(world.mug)
    response = staff.get(URL, {"product": "TEE"}, **HX_LIST)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and body.lstrip().startswith('<section id="parked-list"')
    assert rows(response) == [str(tee.pk)]
    assert 'id="messages"' in body and 'hx-swap-oob="true"' in body
    assert "HX-Request" in response["Vary"]


def test_nothing_parked(staff, world):
    assert "Nothing is parked: every item has a facility." in text(staff.get(URL))


def test_paginated(staff, world):
    items = [world.no_stock(world.tee) for _ in range(53)]
    first = staff.get(URL)
    assert len(rows(first)) == 50 and "Page 1 of 2" in text(first)
    second = staff.get(URL, {"page": 2}, **HX_LIST)
    assert rows(second) == [str(i.pk) for i in items[50:]]
    assert staff.get(URL, {"page": 99}).status_code == 200  # past the end: the last page


# -- Route again -----------------------------------------------------------------------------------------------------
def test_route_again_one_item_reports_where_it_went(staff, world):
    item, other = world.no_stock(world.tee), world.no_stock(world.tee)
    inventory_receive(facility=world.manhattan, product=world.tee, quantity=1)  # plain receipt: nothing routed yet
    response = staff.post(ROUTE_URL, {"item_id": item.pk}, **HX)
    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.status, item.facility) == (OrderItem.Status.OPEN, world.manhattan)
    assert RoutingDecision.objects.filter(order_item=item).latest("pk").trigger == RoutingDecision.Trigger.ROUTE_ORDERS
    page = text(response)
    assert "Routed 1 of 1 parked item(s) (MANHATTAN 1); still parked: 0." in page
    assert rows(response) == [str(other.pk)]  # the list without it
    assert 'id="kind-filter" hx-swap-oob="true"' in response.content.decode()
    assert "Any reason (1)" in page


def test_route_again_that_still_finds_nothing(staff, world):
    item = world.no_stock(world.tee)
    response = staff.post(ROUTE_URL, {"item_id": item.pk}, **HX)
    assert "Routed 0 of 1 parked item(s); still parked: 1." in text(response)
    assert rows(response) == [str(item.pk)]


def test_route_again_of_an_item_no_longer_parked(staff, world):
    item = world.no_stock(world.tee)
    inventory_receive(facility=world.manhattan, product=world.tee, quantity=1)
    staff.post(ROUTE_URL, {"item_id": item.pk})
    response = staff.post(ROUTE_URL, {"item_id": item.pk}, **HX)  # a double click
    assert "Nothing to route: those items are no longer parked" in text(response)
    assert staff.post(ROUTE_URL, {"item_id": 999999}, **HX).status_code == 200


def test_route_all_matching_the_filter(staff, world):
    tees = [world.no_stock(world.tee) for _ in range(3)]
    mug = world.no_stock(world.mug)
    pickup = world.pickup_rejected()
    inventory_receive(facility=world.manhattan, product=world.tee, quantity=2)
    inventory_receive(facility=world.brooklyn, product=world.tee, quantity=1)
    inventory_receive(facility=world.manhattan, product=world.mug, quantity=5)
    response = staff.post(ROUTE_URL, {"scope": "all", "kind": "no_facility", "product": "TEE"}, **HX)
    assert "Routed 3 of 3 parked item(s) (MANHATTAN 2, BROOKLYN 1); still parked: 0." in text(response)
    assert {OrderItem.objects.get(pk=t.pk).status for t in tees} == {OrderItem.Status.OPEN}
    assert OrderItem.objects.get(pk=mug.pk).status == OrderItem.Status.UNROUTED  # not in the filter
    assert OrderItem.objects.get(pk=pickup.pk).status == OrderItem.Status.UNROUTED
    assert "No parked items match these filters." in text(response)


def test_route_all_leaves_the_pickup_queue_for_a_person(staff, world):
    pickup = world.pickup_rejected()
    inventory_receive(facility=world.manhattan, product=world.mug, quantity=5)
    response = staff.post(ROUTE_URL, {"scope": "all"}, **HX)
    assert "Routed 0 of 1 parked item(s); still parked: 1." in text(response)
    pickup.refresh_from_db()
    assert pickup.status == OrderItem.Status.UNROUTED
    assert pickup.parked_reason.startswith("Parked for the operations team")


def test_route_without_javascript_redirects_back_with_the_filters(staff, world):
    world.no_stock(world.tee)
    inventory_receive(facility=world.manhattan, product=world.tee, quantity=1)
    response = staff.post(ROUTE_URL, {"scope": "all", "kind": "no_facility", "product": "TEE", "page": "2"})
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?kind=no_facility&product=TEE&page=2"
    page = text(staff.get(response["Location"]))
    assert "Routed 1 of 1 parked item(s) (MANHATTAN 1); still parked: 0." in page


@pytest.mark.parametrize(
    "data", [{}, {"item_id": "abc"}, {"item_id": "-1"}, {"item_id": "99999999999999999999"}, {"scope": "everything"}]
)
def test_bad_route_requests_change_nothing_and_say_why(staff, world, data):
    item = world.no_stock(world.tee)
    inventory_receive(facility=world.manhattan, product=world.tee, quantity=1)
    response = staff.post(ROUTE_URL, data, **HX)
    assert response.status_code == 200
    assert 'class="message message-error"' in response.content.decode()
    item.refresh_from_db()
    assert item.status == OrderItem.Status.UNROUTED


def test_route_all_with_an_unreadable_filter_routes_nothing(staff, world):
    tee, mug = world.no_stock(world.tee), world.no_stock(world.mug)
    inventory_receive(facility=world.manhattan, product=world.tee, quantity=5)
    inventory_receive(facility=world.manhattan, product=world.mug, quantity=5)
    response = staff.post(ROUTE_URL, {"scope": "all", "product": "MUG" + "x" * 100, "kind": "nonsense"}, **HX)
    assert "That filter is not valid, so nothing was routed." in text(response)
    assert set(OrderItem.objects.filter(pk__in=[tee.pk, mug.pk]).values_list("status", flat=True)) == {"UNROUTED"}


def test_route_all_with_nothing_matching(staff, world):
    response = staff.post(ROUTE_URL, {"scope": "all", "product": "nothing"}, **HX)
    assert "No parked items match the filter: nothing to route." in text(response)


# -- query counts ----------------------------------------------------------------------------------------------------
def _parked(world, n):
    products = [world.tee, world.mug]
    for i in range(n):
        world.no_stock(products[i % 2])
    world.pickup_rejected()


@pytest.mark.parametrize("n", [5, 50])
def test_page_queries_do_not_grow_with_parked_items(staff, world, django_assert_max_num_queries, n):
    _parked(world, n)
    # session, user, the user's and groups' permissions, count, page, rejections, latest decisions, parked-item
    # policies (+ kind counts on the full page)
    with django_assert_max_num_queries(10):
        response = staff.get(URL)
    assert len(rows(response)) == min(n + 1, 50)
    with django_assert_max_num_queries(9):
        response = staff.get(URL, {"kind": "no_facility", "product": "e"}, **HX_LIST)
    assert response.status_code == 200


@pytest.mark.parametrize("n", [5, 50])
def test_route_all_queries_do_not_grow_with_parked_items(staff, world, django_assert_max_num_queries, n):
    _parked(world, n)
    inventory_receive(facility=world.manhattan, product=world.tee, quantity=100)
    # permissions, one routing batch (with the routed-units roll-up) plus the re-rendered list (with parked-item policies)
    with django_assert_max_num_queries(26):
        response = staff.post(ROUTE_URL, {"scope": "all"}, **HX)
    tees = (n + 1) // 2
    assert f"Routed {tees} of {n + 1} parked item(s) (MANHATTAN {tees}); still parked: {n + 1 - tees}." in text(response)
