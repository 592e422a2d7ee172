"""Reads of the customer's pickup-choice page."""

from dataclasses import dataclass

from inventory import effects

from ..models import OrderItem, Rejection


# --- The customer's pickup choice and the parked-item lifecycle (issue #11). -------------------------------------

def pickup_choice_for_page(choice_id: int):
    """The choice with its item, order, product and the store that rejected it (None when it does not exist)."""
    from ..models import PickupChoice

    return (
        PickupChoice.objects.filter(pk=choice_id)
        .select_related(
            "order_item__order__pickup_facility", "order_item__product", "order_item__pickup_facility",
            "rejection__facility", "chosen_facility",
        )
        .first()
    )


@dataclass(frozen=True)
class PickupStoreOption:
    facility: object
    distance_km: float
    routable: int


def pickup_stores_for(item: OrderItem) -> list[PickupStoreOption]:
    """The pickup stores that can take the whole line now (routable ATP >= quantity, never one that rejected the
    item), nearest to the customer's address first. Two queries. The routing re-checks when the customer chooses."""
    from inventory.models import Facility, InventoryLevel
    from routing.engine import distance_km

    from ..models import Rejection

    rejected_at = set(
        Rejection.objects.filter(order_item_id__in=[pk for pk in (item.pk, item.split_from_id) if pk]).values_list(
            "facility_id", flat=True
        )
    )
    levels = (
        InventoryLevel.objects.filter(
            product_id=item.product_id, available_to_promise__gte=item.quantity, facility__kind=Facility.Kind.STORE,
            facility__is_active=True, facility__allows_pickup=True, facility__allows_routing=True,
        )
        .exclude(facility_id__in=rejected_at)
        .select_related("facility")
    )
    order = item.order
    options = []
    for level in levels:
        held_back = effects.held_back(
            level_safety_stock=level.safety_stock, facility_safety_stock=level.facility.safety_stock
        )
        routable = effects.routable(available_to_promise=level.available_to_promise, held_back=held_back)
        if routable >= item.quantity:
            f = level.facility
            options.append(PickupStoreOption(f, distance_km(order.ship_to_latitude, order.ship_to_longitude, f.latitude, f.longitude), routable))
    return sorted(options, key=lambda o: (o.distance_km, o.facility.code))
