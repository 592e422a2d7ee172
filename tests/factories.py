"""factory-boy factories shared by every test package."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from fulfillment.models import FacilityMembership, Order, OrderItem, RejectionReason
from inventory.models import Facility, FacilityGroup, InventoryLevel, Product


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pass12345")


class OperationsUserFactory(UserFactory):
    """A staff member of the operations team: may change order items (admin actions, the parked-items page)."""

    is_staff = True

    class Meta:
        skip_postgeneration_save = True

    @factory.post_generation
    def change_orderitem(user, create, extracted, **kwargs):
        if create:
            from django.contrib.auth.models import Permission

            user.user_permissions.add(
                Permission.objects.get(content_type__app_label="fulfillment", codename="change_orderitem")
            )


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"FAC{n:03d}")
    name = factory.LazyAttribute(lambda f: f"Store {f.code}")
    kind = Facility.Kind.STORE
    latitude = 40.7
    longitude = -74.0
    is_active = True
    allows_routing = True
    allows_pickup = True
    priority = 100


class FacilityGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FacilityGroup

    name = factory.Sequence(lambda n: f"Group {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    upc = factory.Sequence(lambda n: f"0{n:011d}")


class InventoryLevelFactory(factory.django.DjangoModelFactory):
    """A level created directly (no ledger rows): use inventory services in tests that check the ledger."""

    class Meta:
        model = InventoryLevel

    facility = factory.SubFactory(FacilityFactory)
    product = factory.SubFactory(ProductFactory)
    quantity_on_hand = 10
    reserved = 0
    unsellable = 0
    available_to_promise = factory.LazyAttribute(lambda lvl: max(0, lvl.quantity_on_hand - lvl.reserved - lvl.unsellable))


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    name = factory.Sequence(lambda n: f"#{10000 + n}")
    customer_name = factory.Sequence(lambda n: f"Customer {n}")
    customer_email = factory.LazyAttribute(lambda o: f"{o.customer_name.lower().replace(' ', '.')}@example.com")
    shipping_method = "STANDARD"
    ship_to_latitude = 40.7
    ship_to_longitude = -74.0
    placed_at = factory.LazyFunction(timezone.now)


class OrderItemFactory(factory.django.DjangoModelFactory):
    """An item placed directly (no reservation): prefer fulfillment services where inventory matters."""

    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    facility = factory.SubFactory(FacilityFactory)
    status = OrderItem.Status.OPEN


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FacilityMembership

    user = factory.SubFactory(UserFactory)
    facility = factory.SubFactory(FacilityFactory)
    role = FacilityMembership.Role.ASSOCIATE


def reason(code: str) -> RejectionReason:
    return RejectionReason.objects.get(code=code)


import itertools  # noqa: E402  (dashboard helpers appended below)

_order_numbers = itertools.count(1)


def order_placed(*, lines, near=None, name=None, customer_name=None, customer_email=None, shipping_method="STANDARD",
                 pickup_facility=None, placed_at=None):
    """An order created through the service (so its items are routed and reserve ATP), shipping to `near` (a facility
    or a (lat, lon) pair); defaults give it a unique name and customer."""
    from fulfillment.services import order_create

    n = next(_order_numbers)
    if near is None:
        lat, lon = 40.7, -74.0
    elif isinstance(near, tuple):
        lat, lon = near
    else:
        lat, lon = near.latitude, near.longitude
    customer_name = customer_name or f"Customer {n}"
    return order_create(
        name=name or f"#{20000 + n}",
        customer_name=customer_name,
        customer_email=customer_email if customer_email is not None else f"{customer_name.lower().replace(' ', '.')}@example.com",
        shipping_method=shipping_method,
        ship_to_latitude=lat,
        ship_to_longitude=lon,
        lines=lines,
        pickup_facility=pickup_facility,
        placed_at=placed_at,
    )

