"""Management commands: seed_demo, reject_orders and route_orders — thin over the services, strict about arguments."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from fulfillment.management.commands.reject_orders import Command as RejectOrdersCommand
from fulfillment.models import FacilityMembership, Order, OrderItem, Rejection
from fulfillment.services import item_reject, order_create, orders_start_picking
from inventory.models import Facility, InventoryAdjustment, InventoryLevel, Product
from inventory.services import inventory_receive
from routing.models import RoutingDecision
from tests.support import assert_inventory_invariant
from tests.factories import FacilityFactory, ProductFactory, UserFactory
from tests.support import assert_inventory_invariant, run_command

pytestmark = pytest.mark.django_db

BROOKLYN = (40.6843, -73.9772)
MANHATTAN = (40.7359, -73.9906)
QUEENS = (40.7644, -73.9235)




def snapshot() -> dict:
    """Everything a command could change."""
    return {
        "items": sorted(OrderItem.objects.values_list("pk", "status", "facility_id", "quantity")),
        "levels": sorted(InventoryLevel.objects.values_list("pk", "quantity_on_hand", "available_to_promise")),
        "ledger": InventoryAdjustment.objects.count(),
        "rejections": Rejection.objects.count(),
        "decisions": RoutingDecision.objects.count(),
        "facilities": sorted(Facility.objects.values_list("pk", "allows_routing")),
        "orders": Order.objects.count(),
    }


@pytest.fixture
def stores():
    return (
        FacilityFactory(code="BROOKLYN", latitude=BROOKLYN[0], longitude=BROOKLYN[1]),
        FacilityFactory(code="MANHATTAN", latitude=MANHATTAN[0], longitude=MANHATTAN[1]),
        FacilityFactory(code="QUEENS", latitude=QUEENS[0], longitude=QUEENS[1]),
    )


def place(name, lines, at=BROOKLYN):
    return order_create(
        name=name, customer_name="Ada", shipping_method="STANDARD", ship_to_latitude=at[0], ship_to_longitude=at[1],
        lines=lines,
    )


@pytest.fixture
def brooklyn_orders(stores):
    """Three open orders at BROOKLYN (4 items): 2 items can move to MANHATTAN, 1 to QUEENS, 1 parks."""
    brooklyn, manhattan, queens = stores
    shirt, mug, lamp = ProductFactory(sku="SHIRT"), ProductFactory(sku="MUG"), ProductFactory(sku="LAMP")
    for product in (shirt, mug, lamp):
        inventory_receive(facility=brooklyn, product=product, quantity=10)
    inventory_receive(facility=manhattan, product=shirt, quantity=5)
    inventory_receive(facility=queens, product=mug, quantity=5)
    orders = [
        place("#1001", [(shirt, 1), (mug, 1)]),
        place("#1002", [(shirt, 2)]),
        place("#1003", [(lamp, 1)]),
    ]
    assert set(OrderItem.objects.values_list("facility__code", flat=True)) == {"BROOKLYN"}
    return orders


# ---------------------------------------------------------------------------------------------------------------------
# reject_orders


def test_reject_orders_rejects_reroutes_and_parks(stores, brooklyn_orders):
    brooklyn, manhattan, queens = stores
    UserFactory(username="mgr")

    out = run_command("reject_orders", "--facility", "BROOKLYN", "--status", "open", "--reason", "DAMAGED", "--user", "mgr")

    assert "Rejected 4 open item(s) in 3 order(s) at BROOKLYN as DAMAGED (Damaged)." in out
    assert "Re-routed: 3 (MANHATTAN 2, QUEENS 1)" in out
    assert "Parked (no facility can take them): 1" in out
    assert not OrderItem.objects.filter(facility=brooklyn).exists()
    assert OrderItem.objects.filter(status="UNROUTED", product__sku="LAMP").count() == 1
    assert Rejection.objects.filter(facility=brooklyn, reason__code="DAMAGED", rejected_by__username="mgr").count() == 4
    # DAMAGED: QOH unchanged, ATP -= qty after the release
    assert InventoryLevel.objects.get(facility=brooklyn, product__sku="SHIRT").available_to_promise == 7
    assert InventoryLevel.objects.get(facility=brooklyn, product__sku="SHIRT").quantity_on_hand == 10
    assert_inventory_invariant()


def test_reject_orders_on_200_in_progress_items_reroutes_what_it_can_and_parks_the_rest(stores, monkeypatch):
    """Issue #2 acceptance: every rejection has its Rejection, ledger rows and RoutingDecision (over several batches)."""
    from fulfillment.services import batches

    monkeypatch.setattr(batches, "BATCH_SIZE", 64)
    brooklyn, manhattan, _ = stores
    movable, stuck = ProductFactory(sku="MOVABLE"), ProductFactory(sku="STUCK")
    inventory_receive(facility=brooklyn, product=movable, quantity=150)
    inventory_receive(facility=brooklyn, product=stuck, quantity=50)
    inventory_receive(facility=manhattan, product=movable, quantity=150)
    orders = [place(f"#2{n:03d}", [(movable if n < 150 else stuck, 1)]) for n in range(200)]
    orders_start_picking(facility=brooklyn, order_ids=[o.pk for o in orders])
    assert OrderItem.objects.filter(facility=brooklyn, status="IN_PROGRESS").count() == 200

    out = run_command("reject_orders", "--facility", "BROOKLYN", "--status", "in_progress", "--reason", "MISMATCH")

    assert "Rejected 200 in-progress item(s) in 200 order(s) at BROOKLYN as MISMATCH" in out
    assert "Re-routed: 150 (MANHATTAN 150)" in out
    assert "Parked (no facility can take them): 50" in out
    assert Rejection.objects.filter(facility=brooklyn).count() == 200
    assert RoutingDecision.objects.filter(trigger="REJECTION").count() == 200
    assert RoutingDecision.objects.filter(trigger="REJECTION", outcome="UNROUTED").count() == 50
    rejection_rows = InventoryAdjustment.objects.filter(kind="REJECTION", reason="MISMATCH", level__facility=brooklyn)
    release_rows = InventoryAdjustment.objects.filter(kind="RELEASE", reason="MISMATCH", level__facility=brooklyn)
    assert rejection_rows.count() == 200 and release_rows.count() == 200
    # MISMATCH: each unit leaves the shelf at Brooklyn
    assert InventoryLevel.objects.get(facility=brooklyn, product=movable).quantity_on_hand == 0
    assert InventoryLevel.objects.get(facility=brooklyn, product=stuck).quantity_on_hand == 0
    assert InventoryLevel.objects.get(facility=manhattan, product=movable).available_to_promise == 0
    assert_inventory_invariant()


def test_reject_orders_in_progress_only_named_orders(stores, brooklyn_orders):
    brooklyn = stores[0]
    orders_start_picking(facility=brooklyn, order_ids=[o.pk for o in brooklyn_orders])

    out = run_command("reject_orders", "--facility", "brooklyn", "--status", "IN_PROGRESS", "--reason", "not_in_stock", "--order", "#1002")

    assert "Rejected 1 in-progress item(s) in 1 order(s) at BROOKLYN as NOT_IN_STOCK" in out
    assert set(OrderItem.objects.filter(order__name="#1002").values_list("facility__code", "status")) == {("MANHATTAN", "OPEN")}
    assert OrderItem.objects.filter(facility=brooklyn, status="IN_PROGRESS").count() == 3
    level = InventoryLevel.objects.get(facility=brooklyn, product__sku="SHIRT")
    assert (level.quantity_on_hand, level.available_to_promise) == (0, 0)  # NOT_IN_STOCK zeroes the store


def test_reject_orders_dry_run_prints_the_same_numbers_and_changes_nothing(stores, brooklyn_orders):
    before = snapshot()
    args = ("reject_orders", "--facility", "BROOKLYN", "--status", "open", "--reason", "INACTIVE_STORE")

    dry = run_command(*args, "--dry-run", "--stop-routing")

    assert snapshot() == before
    assert dry.startswith("DRY RUN - nothing was changed. Would reject 4 open item(s) in 3 order(s) at BROOKLYN")
    real = run_command(*args)
    assert snapshot() != before
    numbers = lambda text: [line.strip() for line in text.splitlines()[1:3]]  # noqa: E731
    assert numbers(dry) == numbers(real) == ["Re-routed: 3 (MANHATTAN 2, QUEENS 1)", "Parked (no facility can take them): 1"]


def test_reject_orders_nothing_to_reject_says_so(stores):
    out = run_command("reject_orders", "--facility", "QUEENS", "--status", "in_progress", "--reason", "MISMATCH")
    assert "Rejected 0 in-progress item(s) in 0 order(s) at QUEENS" in out


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--facility", "NOWHERE", "--status", "open", "--reason", "DAMAGED"],
         "Unknown facility 'NOWHERE'. Valid facilities: BROOKLYN, MANHATTAN, QUEENS."),
        (["--facility", "BROOKLYN", "--status", "closed", "--reason", "DAMAGED"],
         "Unknown status 'closed'. Valid statuses: open, in_progress."),
        (["--facility", "BROOKLYN", "--status", "open", "--reason", "LOST"],
         "Unknown reason 'LOST'. Valid reasons: NOT_IN_STOCK, MISMATCH, DAMAGED, WORN_DISPLAY, INACTIVE_STORE."),
        (["--facility", "BROOKLYN", "--status", "open", "--reason", "REJ_AVOID_ORD_SPLIT"],
         "Unknown reason 'REJ_AVOID_ORD_SPLIT'. Valid reasons: NOT_IN_STOCK, MISMATCH, DAMAGED, WORN_DISPLAY, INACTIVE_STORE."),
        (["--facility", "BROOKLYN", "--status", "open", "--reason", "DAMAGED", "--order", "#1001", "#9999"],
         "Order(s) #9999 have no open items at BROOKLYN. Valid orders: #1001, #1002, #1003."),
        (["--facility", "MANHATTAN", "--status", "open", "--reason", "DAMAGED", "--order", "#1001"],
         "Order(s) #1001 have no open items at MANHATTAN. Valid orders: (none)."),
        (["--facility", "BROOKLYN", "--status", "open", "--reason", "DAMAGED", "--user", "ghost"],
         "Unknown user 'ghost'. Valid users: mgr."),
    ],
    ids=["facility", "status", "reason", "system-reason", "order", "order-elsewhere", "user"],
)
def test_reject_orders_bad_arguments_list_the_valid_choices_and_change_nothing(stores, brooklyn_orders, args, expected):
    UserFactory(username="mgr")
    before = snapshot()

    with pytest.raises(CommandError) as error:
        run_command("reject_orders", *args)

    assert str(error.value) == expected
    assert snapshot() == before


def test_reject_orders_bad_argument_exits_non_zero_on_the_command_line(stores, capsys):
    with pytest.raises(SystemExit) as exit_:
        RejectOrdersCommand().run_from_argv(
            ["manage.py", "reject_orders", "--facility", "NOWHERE", "--status", "open", "--reason", "DAMAGED"]
        )
    assert exit_.value.code == 1
    assert "Valid facilities: BROOKLYN, MANHATTAN, QUEENS." in capsys.readouterr().err


def test_reject_orders_requires_its_arguments(stores):
    with pytest.raises(CommandError, match="--status"):
        run_command("reject_orders", "--facility", "BROOKLYN", "--reason", "DAMAGED")


# ---------------------------------------------------------------------------------------------------------------------
# route_orders


def test_route_orders_routes_parked_items_and_prints_the_summary(stores):
    brooklyn, manhattan, queens = stores
    product, rare = ProductFactory(), ProductFactory()
    first, second, third = (place(f"#20{i}", [(product, 1)]).items.get() for i in range(3))
    never = place("#299", [(rare, 1)]).items.get()
    assert {first.status, second.status, third.status, never.status} == {"UNROUTED"}
    inventory_receive(facility=manhattan, product=product, quantity=2)  # no routing by itself
    inventory_receive(facility=queens, product=product, quantity=1)

    out = run_command("route_orders")

    assert out.splitlines() == ["Routed 3 of 4 parked item(s) (MANHATTAN 2, QUEENS 1); still parked: 1."]
    assert OrderItem.objects.filter(status="OPEN").count() == 3
    assert OrderItem.objects.get(pk=never.pk).status == "UNROUTED"
    assert RoutingDecision.objects.filter(trigger="ROUTE_ORDERS").count() == 4
    assert_inventory_invariant()


def test_route_orders_for_one_facility_only_routes_what_it_rejected(stores):
    brooklyn, manhattan, queens = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=1)
    inventory_receive(facility=manhattan, product=product, quantity=1)
    at_brooklyn = place("#301", [(product, 1)]).items.get()
    at_manhattan = place("#302", [(product, 1)], at=MANHATTAN).items.get()
    assert (at_brooklyn.facility, at_manhattan.facility) == (brooklyn, manhattan)
    item_reject(facility=brooklyn, item_id=at_brooklyn.pk, reason_code="NOT_IN_STOCK")
    item_reject(facility=manhattan, item_id=at_manhattan.pk, reason_code="NOT_IN_STOCK")
    assert OrderItem.objects.filter(status="UNROUTED").count() == 2  # each bounced; nowhere else has stock
    inventory_receive(facility=queens, product=product, quantity=5)

    out = run_command("route_orders", "--facility", "BROOKLYN")

    assert "Routed 1 of 1 parked item(s) rejected at or for pickup at BROOKLYN (QUEENS 1); still parked: 0." in out
    assert "Parked items in all (before this run): 2" in out
    assert OrderItem.objects.get(pk=at_brooklyn.pk).facility == queens
    assert OrderItem.objects.get(pk=at_manhattan.pk).status == "UNROUTED"


def test_route_orders_unknown_facility_lists_the_valid_ones(stores):
    before = snapshot()
    with pytest.raises(CommandError, match=r"Unknown facility 'X'\. Valid facilities: BROOKLYN, MANHATTAN, QUEENS\."):
        run_command("route_orders", "--facility", "X")
    assert snapshot() == before


# ---------------------------------------------------------------------------------------------------------------------
# seed_demo


def test_seed_demo_creates_the_promised_data_and_is_idempotent():
    first = run_command("seed_demo")

    stores = Facility.objects.filter(kind="STORE")
    assert stores.count() >= 5 and Facility.objects.filter(kind="WAREHOUSE").count() >= 1
    assert all(40 < f.latitude < 42 and -75 < f.longitude < -73 and f.timezone == "America/New_York" for f in Facility.objects.all())
    assert Product.objects.count() == 50
    assert all(len(p.upc) == 12 and p.upc.isdigit() for p in Product.objects.all())
    assert Order.objects.count() == 200
    assert set(Order.objects.values_list("shipping_method", flat=True)) == {"STANDARD", "EXPRESS", "SAME_DAY", "STORE_PICKUP"}
    assert all(o.pickup_facility.allows_pickup for o in Order.objects.filter(shipping_method="STORE_PICKUP"))
    assert {"OPEN", "IN_PROGRESS", "COMPLETED"} <= set(OrderItem.objects.values_list("status", flat=True))
    for store in stores:  # every store's dashboard has all three tabs filled
        statuses = set(OrderItem.objects.filter(facility=store).values_list("status", flat=True))
        assert {"OPEN", "IN_PROGRESS", "COMPLETED"} <= statuses, store.code
    assert Order.objects.filter(placed_at__lt=Order.objects.latest("placed_at").placed_at).count() == 199  # spread in the past
    assert InventoryAdjustment.objects.filter(kind="RECEIPT").exists()
    assert_inventory_invariant()

    User = get_user_model()
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="admin").check_password("admin1234")
    manager = User.objects.get(username="manager")
    assert manager.check_password("demo1234")
    assert FacilityMembership.objects.filter(user=manager, role="MANAGER", facility__code="BROOKLYN").exists()
    for store in stores:
        assert FacilityMembership.objects.filter(user__username=store.code.lower(), facility=store, role="ASSOCIATE").exists()
    assert "http://127.0.0.1:8000/" in first
    for line in ("admin       admin1234", "manager     demo1234", "brooklyn    demo1234"):
        assert line in first

    before = snapshot()
    users_before = User.objects.count()
    second = run_command("seed_demo")

    assert snapshot() == before
    assert User.objects.count() == users_before
    assert "nothing changed" in second
    login_table = lambda text: text[text.index("username"):]  # noqa: E731
    assert login_table(second) == login_table(first)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bulk_commands_draw_a_progress_bar_on_a_terminal_only(stores, brooklyn_orders):
    terminal, piped = _Terminal(), io.StringIO()
    call_command("reject_orders", "--facility", "BROOKLYN", "--status", "open", "--reason", "DAMAGED", "--dry-run",
                 stdout=io.StringIO(), stderr=terminal)
    assert "Rejecting [" in terminal.getvalue() and "100%" in terminal.getvalue()
    call_command("route_orders", stdout=io.StringIO(), stderr=piped)
    assert piped.getvalue() == ""
    terminal = _Terminal()
    OrderItem.objects.filter(order__name="#1003").update(status="UNROUTED", facility=None)
    call_command("route_orders", stdout=io.StringIO(), stderr=terminal)
    assert "Routing [" in terminal.getvalue()


def test_seed_volume_writes_a_rejection_history_that_the_report_reads():
    from django.core.management import call_command
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from fulfillment.models import Rejection, RoutedUnitsDaily
    from routing.models import RoutingDecision
    from tests.factories import UserFactory

    call_command(
        "seed_volume", facilities=12, products=60, orders=1500, flagship_in_progress=5, flagship_open=10,
        rejections=300, rejection_days=90, stdout=io.StringIO(),
    )
    seeded = Rejection.objects.filter(comment="seed_volume")
    assert seeded.count() == 300
    assert set(seeded.values_list("reason__code", flat=True)) == {
        "NOT_IN_STOCK", "DAMAGED", "MISMATCH", "WORN_DISPLAY", "INACTIVE_STORE", "REJ_AVOID_ORD_SPLIT"
    }
    assert seeded.filter(routed_to__isnull=True).exists() and seeded.filter(routed_to__isnull=False).exists()
    assert RoutingDecision.objects.count() == 600
    staff = UserFactory(username="ops_volume", is_staff=True)
    client = Client()
    client.force_login(staff)
    today = timezone.now().date()
    response = client.get("/reports/rejections/", {"date_from": (today - timedelta(days=95)).isoformat(), "date_to": (today + timedelta(days=1)).isoformat()})
    head = response.context["head"]
    assert head.items == 300 and head.units_routed > head.units > 0 and head.median_seconds is not None
    call_command("seed_volume", delete=True, stdout=io.StringIO())
    assert not Rejection.objects.exists() and not RoutedUnitsDaily.objects.exists()


@pytest.mark.parametrize("option", ["delete", "reset"])
def test_seed_volume_delete_and_reset_take_pickup_choices_and_notifications_along(option):
    """--reset / --delete failed with an IntegrityError once volume items had pickup choices or notifications."""
    from django.core.management import call_command

    from fulfillment.models import Notification, Order, PickupChoice
    from fulfillment.services import item_reject
    from inventory.models import Facility

    args = dict(facilities=3, products=10, orders=300, flagship_in_progress=2, flagship_open=5, rejections=5, rejection_days=30)
    call_command("seed_volume", **args, stdout=io.StringIO())
    # a volume store-pickup order rejected by its pickup store: a PickupChoice and a Notification refer to its item
    from fulfillment.management.commands.seed_volume import volume_orders

    pickup = volume_orders().filter(items__status="OPEN").first()
    item = pickup.items.filter(status="OPEN").first()
    item_reject(facility=item.facility, item_id=item.pk, reason_code="DAMAGED")
    PickupChoice.objects.get_or_create(order_item=item, defaults={"expires_at": item.status_changed_at})
    Notification.objects.create(order=pickup, order_item=item, kind="PICKUP_REJECTED", recipient="v@example.com",
                                subject="x", context={})

    call_command("seed_volume", **({option: True} | (args if option == "reset" else {})), stdout=io.StringIO())

    assert not PickupChoice.objects.filter(order_item=item).exists() and not Notification.objects.filter(order=pickup).exists()
    if option == "delete":
        assert not volume_orders().exists()
    assert_inventory_invariant()


def test_reject_orders_stopped_by_an_error_says_exactly_what_it_saved(stores, monkeypatch):
    """A command never leaves written what it reports as failed: each batch is its own transaction, so an error in the
    third batch leaves the first two saved — and the message says so, with the numbers, instead of a traceback."""
    from django.db import DataError

    from fulfillment.services import batches, reject_all

    monkeypatch.setattr(batches, "BATCH_SIZE", 4)
    brooklyn, manhattan, _ = stores
    tee = ProductFactory(sku="TEE")
    inventory_receive(facility=brooklyn, product=tee, quantity=20)
    for n in range(10):
        place(f"#E{n:02d}", [(tee, 1)])
    real_apply, calls = reject_all.rejections_apply, []

    def failing_third_batch(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise DataError("value too long for type character varying(200)")
        return real_apply(**kwargs)

    monkeypatch.setattr(reject_all, "rejections_apply", failing_third_batch)

    with pytest.raises(CommandError) as excinfo:
        run_command("reject_orders", "--facility", "BROOKLYN", "--status", "open", "--reason", "DAMAGED")

    message = str(excinfo.value)
    assert "after 8 of 10 item(s)" in message and "8 were rejected and saved" in message and "run the command again" in message
    assert Rejection.objects.filter(facility=brooklyn).count() == 8
    assert OrderItem.objects.filter(facility=brooklyn, status="OPEN").count() == 2
    assert_inventory_invariant()
