"""import_inventory / import_orders: whole-file validation with line numbers, all-or-nothing, --dry-run."""


import pytest
from django.core.management import CommandError

from fulfillment.imports import inventory_plan_read, orders_plan_read
from fulfillment.models import Order, OrderItem
from fulfillment.services import order_create
from inventory.models import Facility, InventoryAdjustment, InventoryLevel
from inventory.services import inventory_receive
from routing.models import RoutingDecision
from tests.factories import FacilityFactory, ProductFactory
from tests.support import assert_inventory_invariant, qoh_atp, run_command

pytestmark = pytest.mark.django_db

BROOKLYN = (40.6843, -73.9772)
MANHATTAN = (40.7359, -73.9906)
ORDER_HEADER = (
    "order_name,customer_name,customer_email,shipping_method,ship_to_latitude,ship_to_longitude,pickup_facility,sku,"
    "quantity,placed_at"
)


@pytest.fixture
def world():
    brooklyn = FacilityFactory(code="BROOKLYN", latitude=BROOKLYN[0], longitude=BROOKLYN[1], allows_pickup=True)
    manhattan = FacilityFactory(code="MANHATTAN", latitude=MANHATTAN[0], longitude=MANHATTAN[1], allows_pickup=True)
    FacilityFactory(code="EDISON", kind=Facility.Kind.WAREHOUSE, latitude=40.5187, longitude=-74.4121, allows_pickup=False)
    shirt, mug = ProductFactory(sku="SHIRT"), ProductFactory(sku="MUG")
    inventory_receive(facility=brooklyn, product=shirt, quantity=10)
    inventory_receive(facility=manhattan, product=mug, quantity=4)
    return brooklyn, manhattan, shirt, mug


def write(tmp_path, text: str, name="file.csv"):
    path = tmp_path / name
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return str(path)




def snapshot() -> dict:
    return {
        "levels": sorted(InventoryLevel.objects.values_list("facility_id", "product_id", "quantity_on_hand", "available_to_promise")),
        "ledger": InventoryAdjustment.objects.count(),
        "orders": Order.objects.count(),
        "items": sorted(OrderItem.objects.values_list("pk", "status", "facility_id")),
        "decisions": RoutingDecision.objects.count(),
    }


def errors_of(excinfo) -> list[str]:
    return [line.strip() for line in str(excinfo.value).splitlines()[1:]]


# ---------------------------------------------------------------------------------------------------------------------
# import_inventory


def test_import_inventory_sets_counts_through_the_ledger_and_routes_parked_items(world, tmp_path):
    brooklyn, manhattan, shirt, mug = world
    parked = order_create(
        name="#P1", customer_name="Ada", shipping_method="STANDARD", ship_to_latitude=BROOKLYN[0],
        ship_to_longitude=BROOKLYN[1], lines=[(mug, 5)],
    ).items.get()
    assert parked.status == "UNROUTED"
    path = write(tmp_path, """
facility,sku,quantity_on_hand
BROOKLYN,SHIRT,7
brooklyn,MUG,12
MANHATTAN,MUG,4
""")

    out = run_command("import_inventory", path)

    assert "Changed 2 inventory level(s); 1 already at the counted quantity." in out
    assert "line 2: BROOKLYN SHIRT QOH 10 -> 7" in out and "line 3: BROOKLYN MUG QOH 0 -> 12" in out
    assert "Routed 1 of 1 parked item(s) of these products (BROOKLYN 1); still parked: 0." in out
    assert qoh_atp(brooklyn, shirt) == (7, 7)
    assert qoh_atp(brooklyn, mug) == (12, 7)  # counted 12, then 5 reserved by the parked item
    assert InventoryAdjustment.objects.filter(kind="COUNT").count() == 2
    parked.refresh_from_db()
    assert (parked.status, parked.facility) == ("OPEN", brooklyn)
    assert_inventory_invariant()


def test_import_inventory_dry_run_reports_and_writes_nothing(world, tmp_path):
    path = write(tmp_path, "facility,sku,quantity_on_hand\nBROOKLYN,SHIRT,3\nMANHATTAN,SHIRT,6\n")
    before = snapshot()

    out = run_command("import_inventory", path, "--dry-run")

    assert snapshot() == before
    assert out.splitlines() == [
        "DRY RUN - nothing was changed. Would change 2 inventory level(s); 0 already at the counted quantity.",
        "  line 2: BROOKLYN SHIRT QOH 10 -> 3",
        "  line 3: MANHATTAN SHIRT QOH 0 -> 6",
    ]


def test_import_inventory_reports_every_bad_row_with_its_line_and_changes_nothing(world, tmp_path):
    path = write(tmp_path, """
facility,sku,quantity_on_hand
BROOKLYN,SHIRT,3
NOWHERE,SHIRT,3
BROOKLYN,NOPE,3
BROOKLYN,MUG,lots
BROOKLYN,MUG,-1
BROOKLYN,SHIRT,4
BROOKLYN,MUG
,MUG,2
MANHATTAN,MUG,2.5
""")
    before = snapshot()

    with pytest.raises(CommandError) as excinfo:
        run_command("import_inventory", path)

    assert "8 bad row(s); nothing was imported" in str(excinfo.value)
    errors = errors_of(excinfo)
    assert errors == [
        "line 3: unknown facility 'NOWHERE'",
        "line 4: unknown SKU 'NOPE'",
        "line 5: quantity_on_hand 'lots' is not a whole number (digits 0-9)",
        "line 6: quantity_on_hand -1 is negative; BROOKLYN MUG is already counted on line 5",
        "line 7: BROOKLYN SHIRT is already counted on line 2",
        "line 8: has 2 field(s), the header has 3",
        "line 9: facility is empty",
        "line 10: quantity_on_hand '2.5' is not a whole number (digits 0-9)",
    ]
    assert snapshot() == before  # the good row on line 2 was not applied either


@pytest.mark.parametrize(
    "text, message",
    [
        ("facility,sku\nBROOKLYN,SHIRT\n", "line 1: missing column(s) quantity_on_hand"),
        ("", "The file is empty"),
        ("facility,sku,quantity_on_hand\n", "line 2: the file has a header but no rows"),
    ],
    ids=["missing-column", "empty", "header-only"],
)
def test_import_inventory_file_level_errors(world, tmp_path, text, message):
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(CommandError, match="nothing was imported|Nothing was imported") as excinfo:
        run_command("import_inventory", str(path))
    assert message in str(excinfo.value)


def test_import_missing_file_is_a_clear_error(world, tmp_path):
    with pytest.raises(CommandError, match="File not found"):
        run_command("import_inventory", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="File not found"):
        run_command("import_orders", str(tmp_path / "missing.csv"))


def test_inventory_plan_reads_with_constant_queries(world, tmp_path, django_assert_max_num_queries):
    rows = "\n".join(f"BROOKLYN,{sku},{n}" for n, sku in enumerate(["SHIRT", "MUG"] * 1))
    many = "\n".join(f"MANHATTAN,{ProductFactory().sku},{n}" for n in range(30))
    path = write(tmp_path, f"facility,sku,quantity_on_hand\n{rows}\n{many}")
    with django_assert_max_num_queries(3):
        plan = inventory_plan_read(path)
    assert not plan.errors and len(plan.rows) == 32


# ---------------------------------------------------------------------------------------------------------------------
# import_orders


GOOD_ORDERS = f"""
{ORDER_HEADER}
#5001,Ann Lee,ann@example.com,STANDARD,40.6843,-73.9772,,SHIRT,1,2026-11-20T10:00:00Z
#5001,Ann Lee,ann@example.com,STANDARD,40.6843,-73.9772,,MUG,2,2026-11-20T10:00:00Z
#5002,Bo Chen,,STORE_PICKUP,40.7359,-73.9906,MANHATTAN,MUG,1,
#5003,Cy Diaz,cy@example.com,express,40.70,-74.00,,SHIRT,20,2026-11-21 08:30
"""


def test_import_orders_creates_and_routes_the_orders(world, tmp_path):
    brooklyn, manhattan, shirt, mug = world
    path = write(tmp_path, GOOD_ORDERS)

    out = run_command("import_orders", path)

    assert out.splitlines() == [
        "Created 3 order(s) with 4 line(s).",
        "  Routed: 3 (MANHATTAN 2, BROOKLYN 1)",
        "  Parked (no facility can take them): 1",
    ]
    ann = Order.objects.get(name="#5001")
    assert (ann.customer_name, ann.shipping_method, ann.placed_at.isoformat()) == ("Ann Lee", "STANDARD", "2026-11-20T10:00:00+00:00")
    assert sorted(ann.items.values_list("product__sku", "quantity", "facility__code")) == [("MUG", 2, "MANHATTAN"), ("SHIRT", 1, "BROOKLYN")]
    pickup = Order.objects.get(name="#5002")
    assert pickup.pickup_facility == manhattan and pickup.items.get().facility == manhattan
    cy = Order.objects.get(name="#5003")
    assert cy.shipping_method == "EXPRESS" and cy.items.get().status == "UNROUTED"  # 20 shirts: nobody has them
    assert RoutingDecision.objects.filter(trigger="ORDER_CREATED").count() == 4
    assert_inventory_invariant()


def test_import_orders_dry_run_reports_and_writes_nothing(world, tmp_path):
    path = write(tmp_path, GOOD_ORDERS)
    before = snapshot()

    out = run_command("import_orders", path, "--dry-run")

    assert snapshot() == before
    assert out.splitlines() == [
        "DRY RUN - nothing was changed. Would create 3 order(s) with 4 line(s):",
        "  #5001 (line 2): Ann Lee, STANDARD, 2 line(s), 3 unit(s)",
        "  #5002 (line 4): Bo Chen, STORE_PICKUP at MANHATTAN, 1 line(s), 1 unit(s)",
        "  #5003 (line 5): Cy Diaz, EXPRESS, 1 line(s), 20 unit(s)",
    ]


def test_import_orders_reports_every_bad_row_with_its_line_and_changes_nothing(world, tmp_path):
    order_create(
        name="#4000", customer_name="Existing", shipping_method="STANDARD", ship_to_latitude=BROOKLYN[0],
        ship_to_longitude=BROOKLYN[1], lines=[(world[2], 1)],
    )
    path = write(tmp_path, f"""
{ORDER_HEADER}
#6001,Ann Lee,ann@example.com,STANDARD,40.68,-73.97,,SHIRT,1,
#6001,Ann Leigh,ann@example.com,STANDARD,40.68,-73.97,,MUG,1,
#6002,Bo Chen,,STORE_PICKUP,40.73,-73.99,,MUG,1,
#6003,Cy,,STORE_PICKUP,40.73,-73.99,EDISON,MUG,1,
#6004,Di,,STORE_PICKUP,40.73,-73.99,ATLANTIS,MUG,1,
#6005,Ed,,STANDARD,40.73,-73.99,BROOKLYN,MUG,1,
#6006,Flo,,TELEPORT,40.73,-73.99,,MUG,1,
#6007,Gus,,STANDARD,north,-73.99,,MUG,1,
#6008,Hal,,STANDARD,91,-181,,MUG,1,
#6009,Ida,,STANDARD,40.73,-73.99,,NOPE,1,
#6010,Jo,,STANDARD,40.73,-73.99,,MUG,0,
#6011,Kai,,STANDARD,40.73,-73.99,,MUG,two,
#4000,Lu,,STANDARD,40.73,-73.99,,MUG,1,
#6013,,bad-email,STANDARD,40.73,-73.99,,MUG,1,
#6014,Mo,,STANDARD,40.73,-73.99,,MUG,1,last tuesday
#6015,Ned,,STANDARD,40.73,-73.99,,MUG,1,2999-01-01T00:00:00Z
,Ola,,STANDARD,40.73,-73.99,,MUG,1,
#6017,Pia,,STANDARD,40.73,-73.99,,MUG
#6018,Quinn,,STANDARD,40.73,-73.99,,MUG,1,
""")
    before = snapshot()

    with pytest.raises(CommandError) as excinfo:
        run_command("import_orders", path)

    assert "17 bad row(s); nothing was imported" in str(excinfo.value)
    assert errors_of(excinfo) == [
        "line 3: customer_name 'Ann Leigh' differs from line 2 ('Ann Lee') of order #6001",
        "line 4: a STORE_PICKUP order needs a pickup_facility",
        "line 5: pickup_facility EDISON does not offer store pickup",
        "line 6: unknown pickup_facility 'ATLANTIS'",
        "line 7: pickup_facility 'BROOKLYN' is only for STORE_PICKUP orders (this one is STANDARD)",
        "line 8: unknown shipping_method 'TELEPORT' (one of STANDARD, EXPRESS, SAME_DAY, STORE_PICKUP)",
        "line 9: ship_to_latitude 'north' is not a number",
        "line 10: ship_to_latitude 91 is out of range (-90 to 90); ship_to_longitude -181 is out of range (-180 to 180)",
        "line 11: unknown SKU 'NOPE'",
        "line 12: quantity 0 must be at least 1",
        "line 13: quantity 'two' is not a whole number (digits 0-9)",
        "line 14: order #4000 already exists",
        "line 15: customer_name is empty; customer_email 'bad-email' is not an email address",
        "line 16: placed_at 'last tuesday' is not an ISO date/time (e.g. 2026-11-20T14:30:00+00:00)",
        "line 17: placed_at 2999-01-01T00:00:00Z is in the future",
        "line 18: order_name is empty",
        "line 19: has 8 field(s), the header has 10",
    ]
    assert snapshot() == before  # rows 2 and 20 are fine, but nothing was created


def test_import_orders_header_may_omit_optional_columns_and_accept_addresses(world, tmp_path):
    path = write(tmp_path, """
order_name,customer_name,customer_email,shipping_method,ship_to_latitude,ship_to_longitude,pickup_facility,sku,quantity,ship_to_address,ship_to_city,ship_to_postal_code,gift_note
#7001,Ann Lee,,SAME_DAY,40.6843,-73.9772,,SHIRT,1,1 Main St,Brooklyn,11201,happy birthday
""")
    out = run_command("import_orders", path)
    assert out.startswith("Created 1 order(s) with 1 line(s).")
    order = Order.objects.get(name="#7001")
    assert (order.ship_to_address, order.ship_to_city, order.ship_to_postal_code) == ("1 Main St", "Brooklyn", "11201")


def test_import_orders_missing_column_names_the_header(world, tmp_path):
    path = write(tmp_path, "order_name,customer_name,sku,quantity\n#1,A,SHIRT,1\n")
    with pytest.raises(CommandError) as excinfo:
        run_command("import_orders", path)
    message = str(excinfo.value)
    assert "line 1: missing column(s) customer_email, shipping_method, ship_to_latitude, ship_to_longitude, pickup_facility" in message
    assert Order.objects.count() == 0


def test_orders_plan_groups_rows_into_orders(world, tmp_path):
    plan = orders_plan_read(write(tmp_path, GOOD_ORDERS))
    assert not plan.errors
    assert [(o.name, o.line, [(line.line, line.product.sku, line.quantity) for line in o.lines]) for o in plan.orders] == [
        ("#5001", 2, [(2, "SHIRT", 1), (3, "MUG", 2)]),
        ("#5002", 4, [(4, "MUG", 1)]),
        ("#5003", 5, [(5, "SHIRT", 20)]),
    ]
    assert plan.line_count == 4


# ---------------------------------------------------------------------------------------------------------------------
# hostile values: integer ranges, control characters, non-ASCII digits, case of codes and SKUs


def write_bytes(tmp_path, text: str, name="file.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


@pytest.mark.parametrize("dry_run", [False, True])
def test_import_inventory_refuses_out_of_range_counts_control_characters_and_foreign_digits(world, tmp_path, dry_run):
    path = write_bytes(tmp_path, (
        "facility,sku,quantity_on_hand\n"
        "BROOKLYN,SHIRT,2147483647\n"
        "BROOKLYN,MUG,2147483648\n"
        "MANHATTAN,MUG,99999999999999999999999\n"
        "MANHATTAN,SHIRT,١٢\n"
        "EDISON,SH\x00IRT,1\n"
        "EDISON,MUG,1\x1b[31m\n"
        "EDISON,SHIRT,-1\n"
        "EDISON,SHIRT,1_000\n"
        "\"EDI\nSON\",MUG,3\n"
        "EDISON,MUG,\t4\t\n"
    ))
    before = snapshot()

    with pytest.raises(CommandError) as excinfo:
        run_command("import_inventory", path, *(["--dry-run"] if dry_run else []))

    assert "8 bad row(s); nothing was imported" in str(excinfo.value)
    assert errors_of(excinfo) == [
        "line 3: quantity_on_hand 2147483648 is too large (at most 2147483647)",
        "line 4: quantity_on_hand 99999999999999999999999 is too large (at most 2147483647)",
        "line 5: quantity_on_hand '١٢' is not a whole number (digits 0-9)",
        "line 6: sku contains the control character U+0000",
        "line 7: quantity_on_hand contains the control character U+001B",
        "line 8: quantity_on_hand -1 is negative",
        "line 9: quantity_on_hand '1_000' is not a whole number (digits 0-9); EDISON SHIRT is already counted on line 8",
        "line 11: facility contains the control character U+000A",  # a line break inside a quoted field
    ]
    assert snapshot() == before


@pytest.mark.parametrize("dry_run", [False, True])
def test_import_orders_refuses_out_of_range_quantities_control_characters_and_foreign_digits(world, tmp_path, dry_run):
    path = write_bytes(tmp_path, ORDER_HEADER + "\n" + (
        "#8001,Ann,,STANDARD,40.73,-73.99,,MUG,2147483648,\n"
        "#8002,Bo,,STANDARD,40.73,-73.99,,MUG,١٢,\n"
        "#8003,C\x00y,,STANDARD,40.73,-73.99,,MUG,1,\n"
        "#8004,Di,,STANDARD,٤٠.٧٣,-73.99,,MUG,1,\n"
        "#8005,Ed,,STANDARD,40.73,-73.99,,MUG,0,\n"
        "#8006,Flo,,STANDARD,40.73,-73.99,,MUG,2147483647,\n"
    ))
    before = snapshot()

    with pytest.raises(CommandError) as excinfo:
        run_command("import_orders", path, *(["--dry-run"] if dry_run else []))

    assert errors_of(excinfo) == [
        "line 2: quantity 2147483648 is too large (at most 2147483647)",
        "line 3: quantity '١٢' is not a whole number (digits 0-9)",
        "line 4: customer_name contains the control character U+0000",
        "line 5: ship_to_latitude '٤٠.٧٣' is not a number",
        "line 6: quantity 0 must be at least 1",
    ]
    assert snapshot() == before


def test_the_largest_quantity_a_database_holds_is_accepted(world, tmp_path):
    brooklyn, manhattan, shirt, mug = world
    path = write(tmp_path, """
facility,sku,quantity_on_hand
edison,mug,2147483647
""")
    run_command("import_inventory", path)
    assert InventoryLevel.objects.get(facility__code="EDISON", product=mug).quantity_on_hand == 2147483647
    assert_inventory_invariant()


def test_facility_codes_and_skus_match_regardless_of_case_in_both_imports(world, tmp_path):
    brooklyn, manhattan, shirt, mug = world
    path = write(tmp_path, """
facility,sku,quantity_on_hand
 brooklyn , shirt ,12
Manhattan,Mug,6
""")
    out = run_command("import_inventory", path)
    assert "BROOKLYN SHIRT QOH 10 -> 12" in out and "MANHATTAN MUG QOH 4 -> 6" in out
    orders = write(tmp_path, ORDER_HEADER + """
#9001,Ann,,store_pickup,40.73,-73.99,manhattan,mug,1,
#9001,Ann,,STORE_PICKUP,40.73,-73.99,MANHATTAN,Shirt,1,
""", name="orders.csv")
    run_command("import_orders", orders)
    order = Order.objects.get(name="#9001")
    assert order.pickup_facility == manhattan
    assert sorted(order.items.values_list("product__sku", flat=True)) == ["MUG", "SHIRT"]
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()


def test_a_sku_that_differs_only_in_case_from_two_products_must_be_written_exactly(world, tmp_path):
    ProductFactory(sku="Mug")  # beside MUG
    path = write(tmp_path, """
facility,sku,quantity_on_hand
BROOKLYN,mug,1
BROOKLYN,Mug,2
""")
    with pytest.raises(CommandError) as excinfo:
        run_command("import_inventory", path)
    assert errors_of(excinfo) == [
        "line 2: SKU 'mug' matches several (MUG, Mug) that differ only in case; write it exactly",
    ]


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize(
    "placed_at, problem",
    [
        ("0001-01-01T00:00:00+14:00", "is before 2000-01-01 (UTC)"),  # 1 BC in UTC: PostgreSQL refused it after the write
        ("1999-12-31T23:59:59Z", "is before 2000-01-01 (UTC)"),
        ("9999-12-31T23:59:59-14:00", "is in the future"),  # year 10000 in UTC
    ],
)
def test_import_orders_refuses_dates_outside_the_sane_window_with_the_line_and_writes_nothing(world, tmp_path, dry_run, placed_at, problem):
    path = write(tmp_path, f"""
{ORDER_HEADER}
#7001,Ann Lee,ann@example.com,STANDARD,40.68,-73.97,,SHIRT,1,2026-01-01T00:00:00Z
#7002,Bo Chen,,STANDARD,40.68,-73.97,,SHIRT,1,{placed_at}
""")
    before = snapshot()

    with pytest.raises(CommandError) as excinfo:
        run_command("import_orders", path, *(["--dry-run"] if dry_run else []))

    assert errors_of(excinfo) == [f"line 3: placed_at {placed_at} {problem}"]
    assert snapshot() == before
    assert_inventory_invariant()


def test_import_orders_accepts_the_first_moment_of_the_window(world, tmp_path):
    path = write(tmp_path, f"""
{ORDER_HEADER}
#7003,Ann Lee,ann@example.com,STANDARD,40.68,-73.97,,SHIRT,1,2000-01-01T00:00:00Z
""")
    run_command("import_orders", path)
    assert Order.objects.get(name="#7003").placed_at.isoformat() == "2000-01-01T00:00:00+00:00"
    assert_inventory_invariant()


def test_import_orders_that_fails_while_reporting_leaves_nothing_written(world, tmp_path, monkeypatch):
    """The order used to be committed before the summary was read; the summary's crash then exited 1 with the data
    written. What a command reports as failed is never half-done."""
    from django.db import DataError

    from fulfillment.management.commands import import_orders

    def broken(*args, **kwargs):
        raise DataError("timestamp too small (before year 1)")

    monkeypatch.setattr(import_orders, "format_counts", broken)
    path = write(tmp_path, GOOD_ORDERS)
    before = snapshot()

    with pytest.raises(CommandError, match="Nothing was imported"):
        run_command("import_orders", path)

    assert snapshot() == before
    assert_inventory_invariant()
