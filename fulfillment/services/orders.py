"""Orders and picking: creating an order (routed at once), starting to pick, completing (units leave the shelf)."""

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone

from inventory.models import Facility, Product
from inventory.services import InventoryBook, inventory_book_lock, levels_ensure
from routing.models import RoutingDecision

from ..errors import InvalidRequest, ItemConflict
from ..locks import lock_items
from ..models import Order, OrderItem, ShippingMethod
from ..validators import moment_problem
from .placement import items_place

Status = OrderItem.Status


@transaction.atomic
def order_create(
    *,
    name: str,
    customer_name: str,
    shipping_method: str,
    ship_to_latitude: float,
    ship_to_longitude: float,
    lines: Sequence[tuple[Product, int]],
    customer_email: str = "",
    ship_to_address: str = "",
    ship_to_city: str = "",
    ship_to_postal_code: str = "",
    pickup_facility: Facility | None = None,
    placed_at=None,
) -> Order:
    """Create an order and route its items at once."""
    if shipping_method not in ShippingMethod.values:
        raise InvalidRequest(f"Unknown shipping method “{shipping_method}”. Choose one of: {', '.join(ShippingMethod.values)}.")
    if not lines:
        raise InvalidRequest("An order needs at least one line.")
    if any(qty < 1 for _, qty in lines):
        raise InvalidRequest("Every line needs a quantity of at least 1.")
    if shipping_method == ShippingMethod.STORE_PICKUP:
        if pickup_facility is None:
            raise InvalidRequest("A store pickup order needs a pickup store.")
        if not pickup_facility.allows_pickup:
            raise InvalidRequest(f"{pickup_facility.name} does not offer store pickup.")
    else:
        pickup_facility = None
    if placed_at is not None and (problem := moment_problem(placed_at)):
        raise InvalidRequest(f"The order date {placed_at:%Y-%m-%d %H:%M} {problem}: it must be between 2000-01-01 and a year from now.")
    if Order.objects.filter(name=name).exists():
        raise InvalidRequest(f"An order named {name} already exists.")
    order = Order.objects.create(
        name=name, customer_name=customer_name, customer_email=customer_email, shipping_method=shipping_method,
        ship_to_address=ship_to_address, ship_to_city=ship_to_city, ship_to_postal_code=ship_to_postal_code,
        ship_to_latitude=ship_to_latitude, ship_to_longitude=ship_to_longitude, pickup_facility=pickup_facility,
        placed_at=placed_at or timezone.now(),
    )
    items = OrderItem.objects.bulk_create(
        [OrderItem(order=order, product=product, quantity=qty, status=Status.UNROUTED) for product, qty in lines]
    )
    for item in items:
        item.order = order
    items_place(items=items, trigger=RoutingDecision.Trigger.ORDER_CREATED)
    return order


@transaction.atomic
def orders_start_picking(*, facility: Facility, order_ids: Iterable[int], user=None) -> int:
    """Move the facility's OPEN items of these orders to IN_PROGRESS. Returns how many orders moved."""
    ids = list(
        OrderItem.objects.filter(facility=facility, status=Status.OPEN, order_id__in=list(order_ids)).values_list("pk", flat=True)
    )
    locked = [i for i in lock_items(ids) if i.facility_id == facility.pk and i.status == Status.OPEN]
    if not locked:
        raise ItemConflict("Nothing to start: those orders have no open items here any more.")
    OrderItem.objects.filter(pk__in=[i.pk for i in locked]).update(status=Status.IN_PROGRESS, status_changed_at=timezone.now())
    return len({i.order_id for i in locked})


@transaction.atomic
def order_complete(*, facility: Facility, order_id: int, user=None) -> Order:
    """Pack/ship the facility's IN_PROGRESS items of an order: COMPLETED, and their units leave the shelf."""
    ids = list(OrderItem.objects.filter(facility=facility, status=Status.IN_PROGRESS, order_id=order_id).values_list("pk", flat=True))
    locked = [i for i in lock_items(ids) if i.facility_id == facility.pk and i.status == Status.IN_PROGRESS]
    if not locked:
        raise ItemConflict("Nothing to complete: this order has no items in progress here any more.")
    levels = levels_ensure(keys={(facility.pk, item.product_id) for item in locked})
    book: InventoryBook = inventory_book_lock(level_ids=levels.values(), user=user)  # only the levels that change
    for item in locked:
        book.fulfil(facility.pk, item.product_id, item.quantity, reference=f"{item.order.name} item {item.pk}")
    book.flush()
    OrderItem.objects.filter(pk__in=[i.pk for i in locked]).update(status=Status.COMPLETED, status_changed_at=timezone.now())
    return locked[0].order
