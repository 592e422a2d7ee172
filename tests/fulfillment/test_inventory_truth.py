"""Issue #9, reservations as data: the store's scenario through the pages and the CSV imports, the invariant selector,
`check_inventory`, shortness on the order page, in the admin and in the confirmation text."""

import html
import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from fulfillment.models import OrderItem, RejectionPolicy
from fulfillment.selectors import levels_breaking_inventory_invariant
from inventory.models import InventoryAdjustment, InventoryLevel
from tests.factories import FacilityFactory, MembershipFactory, ProductFactory, UserFactory
from tests.support import assert_inventory_invariant

pytestmark = pytest.mark.django_db
Kind = InventoryAdjustment.Kind


class Hoboken:
    """The issue's store: HOBOKEN (pickup), a product it stocks, an associate working there, CSV files in tmp_path."""

    def __init__(self, client, tmp_path):
        self.store = FacilityFactory(code="HOBOKEN", name="Hoboken", latitude=40.7440, longitude=-74.0324, allows_pickup=True)
        self.product = ProductFactory(sku="BOOT-42", name="Boot 42")
        self.associate = UserFactory(username="hoboken")
        MembershipFactory(user=self.associate, facility=self.store)
        client.force_login(self.associate)
        self.client, self.tmp_path = client, tmp_path

    def run(self, *args) -> str:
        out = io.StringIO()
        call_command(*args, stdout=out, stderr=io.StringIO())
        return out.getvalue()

    def count(self, quantity: int) -> None:
        path = self.tmp_path / f"count-{quantity}.csv"
        path.write_text(f"facility,sku,quantity_on_hand\nHOBOKEN,BOOT-42,{quantity}\n", encoding="utf-8")
        self.run("import_inventory", str(path))

    def pickup_orders(self, *names: str) -> list[OrderItem]:
        path = self.tmp_path / "orders.csv"
        rows = [
            f"{name},Customer {name},{name.lower()}@example.com,STORE_PICKUP,40.7440,-74.0324,HOBOKEN,BOOT-42,1"
            for name in names
        ]
        path.write_text(
            "order_name,customer_name,customer_email,shipping_method,ship_to_latitude,ship_to_longitude,pickup_facility,"
            "sku,quantity\n" + "\n".join(rows) + "\n",
            encoding="utf-8",
        )
        self.run("import_orders", str(path))
        return [OrderItem.objects.get(order__name=name) for name in names]

    def level(self) -> tuple[int, int, int, int]:
        lvl = InventoryLevel.objects.get(facility=self.store, product=self.product)
        return lvl.quantity_on_hand, lvl.reserved, lvl.unsellable, lvl.available_to_promise

    def reject(self, item: OrderItem, reason: str):
        response = self.client.post(reverse("item-report", args=[item.pk]), {"reason": reason, "quantity": 1, "comment": ""})
        assert response.status_code == 302, response.content

    def order_page(self, item: OrderItem) -> str:
        response = self.client.get(reverse("order-detail", args=[item.order_id]))
        assert response.status_code == 200
        return response.content.decode()

    def pick_and_complete(self, item: OrderItem) -> None:
        assert self.client.post(reverse("orders-start-picking"), {"order_ids": [item.order_id]}).status_code == 302
        assert self.client.post(reverse("order-complete", args=[item.order_id])).status_code == 302
        item.refresh_from_db()
        assert item.status == OrderItem.Status.COMPLETED


@pytest.fixture
def hoboken(client, tmp_path):
    return Hoboken(client, tmp_path)


@pytest.mark.parametrize("reason, qoh_before_rejecting", [("NOT_IN_STOCK", 10), ("MISMATCH", 1)])
def test_a_rejection_and_a_count_never_erase_another_items_reservation(hoboken, reason, qoh_before_rejecting):
    hoboken.count(10)
    order_a, order_b = hoboken.pickup_orders("#A1", "#B1")
    assert hoboken.level() == (10, 2, 0, 8)
    if qoh_before_rejecting != 10:  # the MISMATCH variant: only one unit was on the shelf after all
        hoboken.count(qoh_before_rejecting)
        assert hoboken.level() == (1, 2, 0, 0)

    hoboken.reject(order_a, reason)

    assert hoboken.level() == (0, 1, 0, 0)  # B keeps its reserved unit: the level is short
    order_b.refresh_from_db()
    assert (order_b.status, order_b.facility_id) == ("OPEN", hoboken.store.pk)
    page = hoboken.order_page(order_b)
    assert '<span class="badge badge-short">Short</span>' in page
    assert "1 unit reserved for open and in-progress items, 0 on hand (0 unsellable) — 1 missing" in page
    assert_inventory_invariant()

    hoboken.count(10)
    assert hoboken.level() == (10, 1, 0, 9)  # the count set QOH; B's reservation stays
    assert "badge-short" not in hoboken.order_page(order_b)

    hoboken.pick_and_complete(order_b)

    assert hoboken.level() == (9, 0, 0, 9)
    fulfil = InventoryAdjustment.objects.get(kind=Kind.FULFILL)
    assert (fulfil.qoh_delta, fulfil.reserved_delta, fulfil.reference) == (-1, -1, f"#B1 item {order_b.pk}")
    assert not InventoryAdjustment.objects.filter(kind=Kind.FOUND).exists()
    assert_inventory_invariant()


def test_completing_more_than_the_count_left_records_the_units_found(hoboken):
    hoboken.count(5)
    (item,) = hoboken.pickup_orders("#C1")
    hoboken.count(0)  # a wrong count: the unit is on the shelf after all
    assert hoboken.level() == (0, 1, 0, 0)

    hoboken.pick_and_complete(item)

    assert hoboken.level() == (0, 0, 0, 0)
    found, fulfil = InventoryAdjustment.objects.filter(kind__in=[Kind.FOUND, Kind.FULFILL]).order_by("pk")
    assert (found.kind, found.qoh_delta, found.reference) == (Kind.FOUND, 1, f"#C1 item {item.pk}")
    assert (fulfil.kind, fulfil.qoh_delta, fulfil.reserved_delta) == (Kind.FULFILL, -1, -1)
    assert_inventory_invariant()


def test_the_preview_states_the_four_numbers_and_what_shortness_means_under_the_policy(hoboken):
    hoboken.count(2)
    order_a, order_b = hoboken.pickup_orders("#A2", "#B2")
    url = reverse("item-report-preview", args=[order_a.pk])
    headers = {"HTTP_HX_REQUEST": "true"}

    body = hoboken.client.get(url, {"reason": "NOT_IN_STOCK", "quantity": 1}, **headers).content.decode()
    body = html.unescape(body)
    assert "on hand 2 -> 0; reserved 2 -> 1; unsellable stays 0; available stays 0" in body
    assert (
        "Other items here hold 1 reserved unit but only 0 sellable units are on hand: this store will be short 1. "
        "Those items stay here and show as short on their orders until stock arrives or they are rejected "
        "(the store's policy does not re-route them)." in body
    )

    RejectionPolicy.objects.update_or_create(facility=None, defaults={"cascade_not_in_stock": True})
    body = hoboken.client.get(url, {"reason": "NOT_IN_STOCK", "quantity": 1}, **headers).content.decode()
    assert "rejects those open items too and re-routes them, so nothing here is left short." in body

    body = html.unescape(hoboken.client.get(url, {"reason": "DAMAGED", "quantity": 1}, **headers).content.decode())
    assert "on hand stays 2; reserved 2 -> 1; unsellable 0 -> 1; available stays 0" in body
    assert "short" not in body  # one sellable unit left for the one reserved


def test_invariant_selector_and_check_inventory_name_every_kind_of_break(hoboken):
    hoboken.count(3)
    (item,) = hoboken.pickup_orders("#D1")
    assert levels_breaking_inventory_invariant() == []
    out = io.StringIO()
    call_command("check_inventory", stdout=out)
    assert "Inventory invariant holds" in out.getvalue()

    # an item moved behind the services' back: its level still holds the reservation
    OrderItem.objects.filter(pk=item.pk).update(status=OrderItem.Status.CANCELLED)
    (level,) = levels_breaking_inventory_invariant()
    assert (level.reserved, level.active_reserved) == (1, 0)

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_inventory", stdout=out, stderr=err)
    assert exit_info.value.code == 1
    text = out.getvalue()
    assert "HOBOKEN BOOT-42: stored QOH 3, reserved 1, unsellable 0, ATP 2" in text
    assert "expected: reserved 0 (active items); ledger QOH 3, reserved 1, unsellable 0, ATP 2" in text
    assert "COUNT      QOH +3 reserved +0 unsellable +0 ATP +3" in text
    assert f"RESERVE    QOH +0 reserved +1 unsellable +0 ATP -1 #D1 item {item.pk}" in text
    assert "active items: none" in text
    assert "Inventory invariant broken: 1 level(s), 0 item(s) without a level." in err.getvalue()

    # the item is back, but the ledger is not: a level changed behind the ledger's back
    OrderItem.objects.filter(pk=item.pk).update(status=OrderItem.Status.OPEN)
    InventoryLevel.objects.filter(pk=level.pk).update(quantity_on_hand=4, available_to_promise=3)
    (level,) = levels_breaking_inventory_invariant()
    assert (level.quantity_on_hand, level.ledger_qoh) == (4, 3)
    with pytest.raises(SystemExit):
        call_command("check_inventory", stdout=io.StringIO(), stderr=io.StringIO())


def test_admin_shows_reserved_unsellable_and_filters_short_levels(client, hoboken):
    hoboken.count(1)
    hoboken.pickup_orders("#E1")
    hoboken.count(0)
    other = InventoryLevel.objects.create(facility=FacilityFactory(code="OTHER"), product=hoboken.product)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:inventory_inventorylevel_changelist")

    def listed(page: str) -> list[str]:
        return re.findall(r'class="field-facility_code"><a href="[^"]*">(\w+)</a>', page)

    short = client.get(url, {"short": "yes"}).content.decode()
    assert listed(short) == ["HOBOKEN"] and '<td class="field-short">short 1</td>' in short
    not_short = client.get(url, {"short": "no"}).content.decode()
    assert listed(not_short) == [other.facility.code]
    for header in ("Reserved", "Unsellable", "Short"):
        assert f">{header}</a>" in short or f">{header}</span>" in short
