"""Report an Issue's Save carries what the associate saw (the line's quantity): a repeat is answered "already done" and
changes nothing, and a losing Save answers with the conflict (409), never the 302 of a success."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from fulfillment.models import OrderItem, Rejection
from inventory.models import InventoryLevel
from tests.conftest import requires_postgres
from tests.factories import FacilityFactory, MembershipFactory, ProductFactory, UserFactory, order_placed
from inventory.services import inventory_receive
from tests.support import assert_inventory_invariant, run_together

HX = {"HTTP_HX_REQUEST": "true"}


class Store:
    def __init__(self):
        self.brooklyn = FacilityFactory(code="BROOKLYN", name="Brooklyn", latitude=40.6782, longitude=-73.9442)
        self.manhattan = FacilityFactory(code="MANHATTAN", name="Manhattan", latitude=40.7549, longitude=-73.9840)
        self.tee = ProductFactory(sku="TEE", name="Tee")
        for facility in (self.brooklyn, self.manhattan):
            inventory_receive(facility=facility, product=self.tee, quantity=20)
        self.associates = [UserFactory(username=f"bk_{n}") for n in range(3)]
        for user in self.associates:
            MembershipFactory(user=user, facility=self.brooklyn)
        self.item = order_placed(lines=[(self.tee, 3)], near=self.brooklyn).items.get()
        assert self.item.facility_id == self.brooklyn.pk

    def client(self, n=0) -> Client:
        client = Client()
        client.force_login(self.associates[n])
        return client

    def rejected_units(self) -> int:
        return sum(Rejection.objects.filter(facility=self.brooklyn).values_list("quantity", flat=True))


def seen_quantity(client, item) -> str:
    """The hidden field of the rendered form: what the associate saw."""
    html = client.get(reverse("item-report", args=[item.pk]), **HX).content.decode()
    return re.search(r'name="seen_quantity" value="(\d+)"', html).group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_a_repeated_partial_save_is_already_done_and_changes_nothing(headers):
    """Three Saves of quantity=1 on a line of 3 rejected 3 units; the form now carries the quantity it showed."""
    store = Store()
    client = store.client()
    form = {"reason": "DAMAGED", "quantity": 1, "seen_quantity": seen_quantity(client, store.item)}
    url = reverse("item-report", args=[store.item.pk])

    first = client.post(url, form, **headers)
    levels = list(InventoryLevel.objects.values_list("pk", "quantity_on_hand", "available_to_promise", "reserved"))
    repeats = [client.post(url, form, **headers) for _ in range(2)]

    assert first.status_code == (200 if headers else 302)
    for response in repeats:
        assert response.status_code == 409
        assert "Already done" in response.content.decode()
    assert store.rejected_units() == 1
    assert OrderItem.objects.get(pk=store.item.pk).quantity == 2
    assert list(InventoryLevel.objects.values_list("pk", "quantity_on_hand", "available_to_promise", "reserved")) == levels
    assert_inventory_invariant()


@pytest.mark.django_db
def test_a_losing_plain_save_of_the_whole_line_answers_409_not_the_302_of_a_success():
    store = Store()
    first, second = store.client(0), store.client(1)
    url = reverse("item-report", args=[store.item.pk])
    first.post(url, {"reason": "DAMAGED", "quantity": 3, "seen_quantity": 3})

    response = second.post(url, {"reason": "MISMATCH", "quantity": 3, "seen_quantity": 3})

    assert response.status_code == 409
    assert "no longer open at this store" in response.content.decode()
    assert store.rejected_units() == 3
    assert_inventory_invariant()


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("associates", [1, 3], ids=["one associate", "three associates"])
def test_simultaneous_partial_saves_reject_one_unit(associates):
    """Three simultaneous Saves of quantity=1 on a line of 3 (one associate triple-clicking, or three associates who all saw 3 units)
    rejected 2-3 units. Now one wins; the others are told it was done already and change nothing."""
    store = Store()
    clients = [store.client(n % associates) for n in range(3)]
    seen = seen_quantity(clients[0], store.item)
    url = reverse("item-report", args=[store.item.pk])

    responses = run_together([
        (lambda c=c: c.post(url, {"reason": "DAMAGED", "quantity": 1, "seen_quantity": seen})) for c in clients
    ])

    assert sorted(r.status_code for r in responses) == [302, 409, 409], responses
    assert store.rejected_units() == 1
    assert OrderItem.objects.get(pk=store.item.pk).quantity == 2
    assert_inventory_invariant()
