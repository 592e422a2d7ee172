"""The small world the service tests share: three stores around a Brooklyn ship-to address, and helpers."""

from fulfillment.models import OrderItem
from fulfillment.services import order_create
from inventory.models import InventoryLevel

# Brooklyn (the ship-to is here), Manhattan ~8 km, Stamford ~55 km
BROOKLYN = (40.6782, -73.9442)
MANHATTAN = (40.7549, -73.9840)
STAMFORD = (41.0534, -73.5387)


def level(facility, product):
    lvl = InventoryLevel.objects.get(facility=facility, product=product)
    return lvl.quantity_on_hand, lvl.available_to_promise


def place(product, qty=1, method="STANDARD", pickup=None, name=None, at=BROOKLYN):
    order = order_create(
        name=name or f"#T{OrderItem.objects.count() + 1}-{product.pk}", customer_name="Ada", shipping_method=method,
        ship_to_latitude=at[0], ship_to_longitude=at[1], lines=[(product, qty)], pickup_facility=pickup,
    )
    return order.items.get()
