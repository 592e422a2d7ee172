"""CSV intake for `import_inventory` and `import_orders`: parse and validate the WHOLE file first (a read).

Each reader returns a plan: what the file would change, and every bad row with its line number and the reason.
The commands apply a plan only when it has no errors, through the services (`inventory_count_set`, `order_create`),
in one transaction. Line numbers are the file's own (the header is line 1).
"""

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import CommandError
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from inventory.models import Facility, InventoryLevel, Product
from inventory.selectors import CodeLookup, code_key, facilities_by_code, products_by_sku

from .models import Order, ShippingMethod
from .validators import moment_problem
from .text import MAX_INT32, first_control_character, parse_ascii_integer

INVENTORY_COLUMNS = ("facility", "sku", "quantity_on_hand")
ORDER_COLUMNS = (
    "order_name", "customer_name", "customer_email", "shipping_method", "ship_to_latitude", "ship_to_longitude",
    "pickup_facility", "sku", "quantity",
)
ORDER_OPTIONAL_COLUMNS = ("placed_at", "ship_to_address", "ship_to_city", "ship_to_postal_code")
# Fields that describe the order (not the line): every row of one order must agree on them.
ORDER_HEADER_FIELDS = (
    "customer_name", "customer_email", "shipping_method", "ship_to_latitude", "ship_to_longitude", "pickup_facility",
    "placed_at", "ship_to_address", "ship_to_city", "ship_to_postal_code",
)
# {column: the longest value its Order field holds}, read from the model
MAX_FIELD_LENGTHS = {
    column: Order._meta.get_field(field).max_length
    for column, field in (
        ("order_name", "name"), ("customer_name", "customer_name"), ("ship_to_address", "ship_to_address"),
        ("ship_to_city", "ship_to_city"), ("ship_to_postal_code", "ship_to_postal_code"),
    )
}


class ImportFileError(Exception):
    """The file as a whole cannot be read (missing, not CSV, wrong header)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class CsvRows:
    rows: list[tuple[int, dict[str, str]]]
    errors: list[RowError]
    ignored_columns: list[str]


def read_csv(source, *, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> CsvRows:
    """Rows as (line number, {column: stripped value}); rows with the wrong number of fields are errors.

    `source` is a path or a text file object. Header names are matched case-insensitively.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImportFileError(f"File not found: {path}")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
        handle = io.StringIO(text, newline="")
    else:
        handle = source
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError(f"line 1: not a valid CSV header ({exc}).") from exc
    if not header or not any(h.strip() for h in header):
        raise ImportFileError(f"The file is empty; line 1 must be the header: {','.join(required)}")
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise ImportFileError(
            f"line 1: missing column(s) {', '.join(missing)}; the header must contain {','.join(required)}"
            + (f" (optional: {','.join(optional)})" if optional else "")
        )
    duplicated = sorted({n for n in names if n and names.count(n) > 1})
    if duplicated:
        raise ImportFileError(f"line 1: column(s) {', '.join(duplicated)} appear more than once")
    ignored = [n for n in names if n not in required and n not in optional]
    rows, errors = [], []
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank line
            if len(values) != len(names):
                errors.append(RowError(line, f"has {len(values)} field(s), the header has {len(names)}"))
                continue
            controls = [
                f"{name or f'column {n}'} contains the control character {character}"
                for n, (name, value) in enumerate(zip(names, values), start=1)
                if (character := first_control_character(value))
            ]
            if controls:  # NUL, escape, line breaks inside a field, ...: never stored, never shown
                errors.append(RowError(line, "; ".join(controls)))
                continue
            rows.append((line, {n: v.strip() for n, v in zip(names, values) if n in required or n in optional}))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, f"not valid CSV ({exc})"))
    return CsvRows(rows=rows, errors=errors, ignored_columns=ignored)


def _product_for(row: dict, products: CodeLookup, problems: list[str]):
    """The row's product by its `sku` column (case-insensitive exact match), or None with the problem noted."""
    if not row["sku"]:
        problems.append("sku is empty")
        return None
    product, problem = products.find(row["sku"])
    if problem:
        problems.append(problem)
    return product


def parse_whole_number(value: str, column: str, *, minimum: int, maximum: int = MAX_INT32) -> tuple[int | None, str | None]:
    """A whole number in ASCII digits within [minimum, maximum] (what the database column holds)."""
    if value == "":
        return None, f"{column} is empty"
    number = parse_ascii_integer(value)
    if number is None:
        return None, f"{column} {value!r} is not a whole number (digits 0-9)"
    if number < minimum:
        if minimum == 0:
            return None, f"{column} {number} is negative"
        return None, f"{column} {number} must be at least {minimum}"
    if number > maximum:
        return None, f"{column} {number} is too large (at most {maximum})"
    return number, None


def parse_coordinate(value: str, column: str, limit: float) -> tuple[float | None, str | None]:
    if value == "":
        return None, f"{column} is empty"
    try:
        if not value.isascii():  # float() also reads other scripts' digits
            raise ValueError(value)
        number = float(value)
    except ValueError:
        return None, f"{column} {value!r} is not a number"
    if not math.isfinite(number) or not -limit <= number <= limit:
        return None, f"{column} {value} is out of range (-{limit:g} to {limit:g})"
    return number, None


def parse_placed_at(value: str) -> tuple[datetime | None, str | None]:
    if value == "":
        return None, None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None, f"placed_at {value!r} is not an ISO date/time (e.g. 2026-11-20T14:30:00+00:00)"
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    now = timezone.now()
    if moment > now:
        return None, f"placed_at {value} is in the future"
    if problem := moment_problem(moment, now=now):  # e.g. 1 BC in UTC: PostgreSQL stores it, Python cannot read it back
        return None, f"placed_at {value} {problem}"
    return moment, None


# --------------------------------------------------------------------------------------------------------------------
# Inventory: facility, sku, quantity_on_hand -> counted quantities


@dataclass
class CountRow:
    line: int
    facility: Facility
    product: Product
    quantity_on_hand: int
    before: int  # QOH now (0 when the level does not exist yet)

    @property
    def changes(self) -> bool:
        return self.before != self.quantity_on_hand


@dataclass
class InventoryPlan:
    rows: list[CountRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[CountRow]:
        return [r for r in self.rows if r.changes]

    @property
    def unchanged(self) -> list[CountRow]:
        return [r for r in self.rows if not r.changes]


def inventory_plan_read(source) -> InventoryPlan:
    """Validate an inventory count file; every bad row is reported. Queries: constant in the number of rows."""
    csv_rows = read_csv(source, required=INVENTORY_COLUMNS)
    plan = InventoryPlan(errors=list(csv_rows.errors), ignored_columns=csv_rows.ignored_columns)
    facilities = facilities_by_code(row["facility"] for _, row in csv_rows.rows)
    products = products_by_sku(row["sku"] for _, row in csv_rows.rows)
    levels = {}
    if facilities.rows_by_key and products.rows_by_key:
        levels = {
            (lvl.facility_id, lvl.product_id): lvl.quantity_on_hand
            for lvl in InventoryLevel.objects.filter(
                facility__in=[f for rows in facilities.rows_by_key.values() for f in rows],
                product__in=[p for rows in products.rows_by_key.values() for p in rows],
            )
        }
    seen: dict[tuple[int, int], int] = {}
    for line, row in csv_rows.rows:
        problems = []
        facility = product = None
        if not row["facility"]:
            problems.append("facility is empty")
        else:
            facility, problem = facilities.find(row["facility"])
            if problem:
                problems.append(problem)
        product = _product_for(row, products, problems)
        quantity, problem = parse_whole_number(row["quantity_on_hand"], "quantity_on_hand", minimum=0)
        if problem:
            problems.append(problem)
        if facility and product:
            key = (facility.pk, product.pk)
            if key in seen:
                problems.append(f"{facility.code} {product.sku} is already counted on line {seen[key]}")
            else:
                seen[key] = line
        if problems:
            plan.errors.append(RowError(line, "; ".join(problems)))
            continue
        plan.rows.append(CountRow(line, facility, product, quantity, levels.get((facility.pk, product.pk), 0)))
    if not csv_rows.rows and not plan.errors:
        plan.errors.append(RowError(2, "the file has a header but no rows"))
    plan.errors.sort(key=lambda e: e.line)
    return plan


# --------------------------------------------------------------------------------------------------------------------
# Orders: one row per order line -> orders


@dataclass
class OrderLinePlan:
    line: int
    product: Product
    quantity: int


@dataclass
class OrderPlan:
    line: int  # first line of the order
    name: str
    customer_name: str
    customer_email: str
    shipping_method: str
    ship_to_latitude: float
    ship_to_longitude: float
    pickup_facility: Facility | None
    placed_at: datetime | None
    ship_to_address: str = ""
    ship_to_city: str = ""
    ship_to_postal_code: str = ""
    lines: list[OrderLinePlan] = field(default_factory=list)

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    def create_kwargs(self) -> dict:
        return dict(
            name=self.name, customer_name=self.customer_name, customer_email=self.customer_email,
            shipping_method=self.shipping_method, ship_to_latitude=self.ship_to_latitude,
            ship_to_longitude=self.ship_to_longitude, ship_to_address=self.ship_to_address, ship_to_city=self.ship_to_city,
            ship_to_postal_code=self.ship_to_postal_code, pickup_facility=self.pickup_facility,
            lines=[(line.product, line.quantity) for line in self.lines], placed_at=self.placed_at,
        )


@dataclass
class OrdersPlan:
    orders: list[OrderPlan] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def line_count(self) -> int:
        return sum(len(o.lines) for o in self.orders)


def orders_plan_read(source) -> OrdersPlan:
    """Validate an order file (one row per order line) and group its rows into orders; every bad row is reported."""
    csv_rows = read_csv(source, required=ORDER_COLUMNS, optional=ORDER_OPTIONAL_COLUMNS)
    plan = OrdersPlan(errors=list(csv_rows.errors), ignored_columns=csv_rows.ignored_columns)
    rows = [(line, {**dict.fromkeys(ORDER_OPTIONAL_COLUMNS, ""), **row}) for line, row in csv_rows.rows]

    names = {row["order_name"] for _, row in rows if row["order_name"]}
    existing_orders = set(Order.objects.filter(name__in=names).values_list("name", flat=True)) if names else set()
    products = products_by_sku(row["sku"] for _, row in rows)
    facilities = facilities_by_code(row["pickup_facility"] for _, row in rows)
    methods = {m.upper() for m in ShippingMethod.values}

    orders: dict[str, OrderPlan] = {}
    first_rows: dict[str, tuple[int, dict]] = {}
    bad_orders: set[str] = set()
    for line, row in rows:
        problems: list[str] = []
        name = row["order_name"]
        if not name:
            problems.append("order_name is empty")
        elif len(name) > MAX_FIELD_LENGTHS["order_name"]:
            problems.append(f"order_name is longer than {MAX_FIELD_LENGTHS['order_name']} characters")
        elif name in existing_orders:
            problems.append(f"order {name} already exists")

        # Order header: checked on the order's first row; later rows must repeat it exactly.
        if name and name in first_rows:
            first_line, first = first_rows[name]
            for column in ORDER_HEADER_FIELDS:
                if _normalise(column, row[column]) != _normalise(column, first[column]):
                    problems.append(
                        f"{column} {row[column]!r} differs from line {first_line} ({first[column]!r}) of order {name}"
                    )
            header = None
        else:
            header, header_problems = _order_header(row, methods, facilities)
            problems += header_problems

        # The line itself.
        product = _product_for(row, products, problems)
        quantity, problem = parse_whole_number(row["quantity"], "quantity", minimum=1)
        if problem:
            problems.append(problem)

        if name and name not in first_rows:
            first_rows[name] = (line, row)
        if problems:
            plan.errors.append(RowError(line, "; ".join(problems)))
            if name:
                bad_orders.add(name)
            continue
        if header is not None:
            orders[name] = OrderPlan(line=line, name=name, **header)
        if name in orders:
            orders[name].lines.append(OrderLinePlan(line, product, quantity))

    plan.orders = [o for name, o in orders.items() if name not in bad_orders]
    if not rows and not plan.errors:
        plan.errors.append(RowError(2, "the file has a header but no rows"))
    plan.errors.sort(key=lambda e: e.line)
    return plan


def _normalise(column: str, value: str) -> str:
    value = value.strip()
    if column == "pickup_facility":
        return code_key(value)
    if column == "shipping_method":
        return value.upper()
    if column == "customer_email":
        return value.lower()
    if column in ("ship_to_latitude", "ship_to_longitude"):
        try:
            return repr(float(value))
        except ValueError:
            return value
    return value


def _order_header(row: dict, methods: set[str], facilities: CodeLookup) -> tuple[dict, list[str]]:
    problems = []
    customer_name = row["customer_name"]
    if not customer_name:
        problems.append("customer_name is empty")
    email = row["customer_email"]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"customer_email {email!r} is not an email address")
    for column, limit in MAX_FIELD_LENGTHS.items():
        if column != "order_name" and len(row[column]) > limit:
            problems.append(f"{column} is longer than {limit} characters")
    method = row["shipping_method"].upper()
    if not method:
        problems.append(f"shipping_method is empty (one of {', '.join(ShippingMethod.values)})")
    elif method not in methods:
        problems.append(f"unknown shipping_method {row['shipping_method']!r} (one of {', '.join(ShippingMethod.values)})")
    latitude, problem = parse_coordinate(row["ship_to_latitude"], "ship_to_latitude", 90)
    if problem:
        problems.append(problem)
    longitude, problem = parse_coordinate(row["ship_to_longitude"], "ship_to_longitude", 180)
    if problem:
        problems.append(problem)
    pickup = None
    code = row["pickup_facility"]
    if method == ShippingMethod.STORE_PICKUP:
        if not code:
            problems.append("a STORE_PICKUP order needs a pickup_facility")
        else:
            pickup, problem = facilities.find(code)
            if problem:
                problems.append(problem.replace("facility", "pickup_facility", 1))
            elif not (pickup.allows_pickup and pickup.is_active):
                problems.append(f"pickup_facility {pickup.code} does not offer store pickup")
    elif code and method in methods:
        problems.append(f"pickup_facility {code!r} is only for STORE_PICKUP orders (this one is {method})")
    placed_at, problem = parse_placed_at(row["placed_at"])
    if problem:
        problems.append(problem)
    header = dict(
        customer_name=customer_name, customer_email=email, shipping_method=method, ship_to_latitude=latitude,
        ship_to_longitude=longitude, pickup_facility=pickup, placed_at=placed_at, ship_to_address=row["ship_to_address"],
        ship_to_city=row["ship_to_city"], ship_to_postal_code=row["ship_to_postal_code"],
    )
    return header, problems


def plan_or_fail(read, path: str, *, warn):
    """Read and validate a whole import file; every bad row (or an unreadable file) is a CommandError, nothing changes."""
    try:
        plan = read(path)
    except ImportFileError as exc:
        raise CommandError(f"{path}: {exc.message}. Nothing was imported.") from exc
    if plan.ignored_columns:
        warn(f"Ignoring unknown column(s): {', '.join(plan.ignored_columns)}")
    if plan.errors:
        raise CommandError(
            f"{path}: {len(plan.errors)} bad row(s); nothing was imported:\n"
            + "\n".join(f"  {error}" for error in plan.errors)
        )
    return plan
