"""Parked items never wait forever: the policy (global / per facility group), `cancel_stale_parked` (dry run,
idempotent, tells the customer), and the age and cancel date on the parked-items page."""

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import Notification, OrderItem, ParkedItemPolicy, PickupChoice
from fulfillment.services import item_reject, items_route
from inventory.services import inventory_receive
from tests.factories import (
    FacilityFactory, FacilityGroupFactory, OperationsUserFactory, OrderItemFactory, ProductFactory, order_placed,
)
from tests.support import assert_inventory_invariant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    class W:
        brooklyn = FacilityFactory(code="BROOKLYN", name="Brooklyn", latitude=40.6843, longitude=-73.9772)
        stamford = FacilityFactory(code="STAMFORD", name="Stamford", latitude=41.0534, longitude=-73.5387)
        product = ProductFactory(sku="MUG-CER-12", name="Ceramic mug")
    inventory_receive(facility=W.brooklyn, product=W.product, quantity=5)
    inventory_receive(facility=W.stamford, product=W.product, quantity=5)
    return W


def parked_item(world, days_ago: float, *, at=None, email="grace@example.com"):
    """A shipped item rejected at `at` (Brooklyn) with nowhere else to go, parked `days_ago` days ago."""
    at = at or world.brooklyn
    product = ProductFactory()
    inventory_receive(facility=at, product=product, quantity=1)
    item = order_placed(near=at, lines=[(product, 1)], customer_email=email).items.get()
    item_reject(facility=at, item_id=item.pk, reason_code="NOT_IN_STOCK")
    OrderItem.objects.filter(pk=item.pk).update(parked_since=timezone.now() - dt.timedelta(days=days_ago))
    item.refresh_from_db()
    assert item.status == "UNROUTED"
    return item


def run(*args) -> str:
    out = StringIO()
    call_command("cancel_stale_parked", *args, stdout=out)
    return out.getvalue()


def test_off_by_default_nothing_is_cancelled(world):
    item = parked_item(world, days_ago=400)
    assert "off" in run()
    item.refresh_from_db()
    assert item.status == "UNROUTED"


def test_items_over_the_global_limit_are_cancelled_the_customer_told_and_a_repeat_does_nothing(world, django_capture_on_commit_callbacks):
    ParkedItemPolicy.objects.create(cancel_after_days=7)
    old = parked_item(world, days_ago=8)
    young = parked_item(world, days_ago=6)
    with django_capture_on_commit_callbacks(execute=True):
        out = run("--dry-run")
    assert "Would cancel 1 parked item(s)." in out and old.order.name in out and young.order.name not in out
    old.refresh_from_db()
    assert old.status == "UNROUTED" and mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        out = run()
    assert "Cancelled 1 parked item(s)." in out and f"{old.order.name} item {old.pk}" in out and "parked 8 days (limit 7)" in out
    old.refresh_from_db()
    young.refresh_from_db()
    assert (old.status, young.status) == ("CANCELLED", "UNROUTED")
    decision = old.routing_decisions.order_by("-pk").first()
    assert (decision.outcome, decision.trigger) == ("CANCELLED", "PARKED_TOO_LONG") and "8 days" in decision.summary
    assert [m.to for m in mail.outbox] == [["grace@example.com"]] and "was cancelled" in mail.outbox[0].subject
    assert "could not find 1 × " in mail.outbox[0].body

    with django_capture_on_commit_callbacks(execute=True):
        assert "Cancelled 0 parked item(s)." in run()
    assert len(mail.outbox) == 1 and Notification.objects.filter(kind="ITEM_CANCELLED").count() == 1
    assert_inventory_invariant()


def test_a_facility_groups_policy_overrides_the_global_one(world):
    ParkedItemPolicy.objects.create(cancel_after_days=30)
    group = FacilityGroupFactory(name="Connecticut")
    group.facilities.add(world.stamford)
    ParkedItemPolicy.objects.create(facility_group=group, cancel_after_days=3)
    in_group = parked_item(world, days_ago=4, at=world.stamford)
    elsewhere = parked_item(world, days_ago=4)
    run()
    in_group.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (in_group.status, elsewhere.status) == ("CANCELLED", "UNROUTED")


def test_routing_again_keeps_the_items_age(world):
    ParkedItemPolicy.objects.create(cancel_after_days=7)
    item = parked_item(world, days_ago=8)
    since = item.parked_since
    assert items_route(item_ids=[item.pk]).parked == 1  # a receipt or Route again that cannot place it
    item.refresh_from_db()
    assert item.parked_since == since
    run()
    item.refresh_from_db()
    assert item.status == "CANCELLED"


def test_a_waiting_pickup_choice_is_closed_when_its_item_is_cancelled(world, client, django_capture_on_commit_callbacks):
    ParkedItemPolicy.objects.create(cancel_after_days=2)
    item = order_placed(near=world.brooklyn, lines=[(world.product, 1)], shipping_method="STORE_PICKUP",
                        pickup_facility=world.brooklyn).items.get()
    with django_capture_on_commit_callbacks(execute=True):
        item_reject(facility=world.brooklyn, item_id=item.pk, reason_code="DAMAGED")
    link = mail.outbox[0].body.split("http://127.0.0.1:8000")[1].split()[0]
    OrderItem.objects.filter(pk=item.pk).update(parked_since=timezone.now() - dt.timedelta(days=3))
    run()
    assert PickupChoice.objects.get().outcome == "AUTO_CANCELLED"
    response = client.get(link)
    assert response.status_code == 410 and "was cancelled" in response.content.decode()


def test_the_parked_page_shows_age_and_cancel_date(world, client):
    ParkedItemPolicy.objects.create(cancel_after_days=10)
    item = parked_item(world, days_ago=3)
    client.force_login(OperationsUserFactory())
    html = client.get(reverse("operations-parked")).content.decode()
    cancel_on = (item.parked_since + dt.timedelta(days=10)).strftime("%-d %b %Y")
    assert "3 days" in html and f"cancelled on <time datetime=\"{(item.parked_since + dt.timedelta(days=10)).isoformat()}\">{cancel_on}</time>" in html
    ParkedItemPolicy.objects.update(cancel_after_days=None)
    assert "never cancelled automatically" in client.get(reverse("operations-parked")).content.decode()


def test_the_parked_page_promises_the_date_the_command_cancels_on(world, client):
    """The page and `cancel_stale_parked` read one cancel date: an item the page says is due is cancelled, one it says
    is not yet due stays, whether it was parked by routing (parked_since) or by hand without a date (status_changed_at)."""
    ParkedItemPolicy.objects.create(cancel_after_days=7)
    group = FacilityGroupFactory(name="Connecticut")
    group.facilities.add(world.stamford)
    ParkedItemPolicy.objects.create(facility_group=group, cancel_after_days=3)
    now = timezone.now()
    items = [
        parked_item(world, days_ago=8),
        parked_item(world, days_ago=6),
        parked_item(world, days_ago=4, at=world.stamford),
        parked_item(world, days_ago=2, at=world.stamford),
    ]
    for days_ago in (10, 5):  # parked by hand (admin, an old import): no parked_since, only the status change
        item = OrderItemFactory(status=OrderItem.Status.UNROUTED, facility=None, order__customer_email="")
        OrderItem.objects.filter(pk=item.pk).update(status_changed_at=now - dt.timedelta(days=days_ago), parked_since=None)
        items.append(item)
    client.force_login(OperationsUserFactory())
    html = client.get(reverse("operations-parked")).content.decode()
    promised = {}
    for item in items:
        row = html.split(f'id="parked-{item.pk}"')[1].split('class="parked-age"')[1].split("</td>", 1)[0]
        stamp = row.split('cancelled on <time datetime="')[1].split('"')[0]
        promised[item.pk] = dt.datetime.fromisoformat(stamp)
    run()
    cancelled = set(OrderItem.objects.filter(status="CANCELLED").values_list("pk", flat=True))
    assert cancelled == {pk for pk, at in promised.items() if at <= timezone.now()}
    assert len(cancelled) == 3  # 8 days (limit 7), 4 days in the group (limit 3), 10 days by hand (limit 7)
    assert_inventory_invariant()
