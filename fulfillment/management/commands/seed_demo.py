"""`manage.py seed_demo` — idempotent demo data and logins (SQLite or PostgreSQL).

Six New York-area stores and a New Jersey warehouse at their real coordinates, 50 products with UPCs, inventory received
through the ledger, 200 orders created (and routed) by `order_create` with ship-to addresses around the stores, then moved
along with `orders_start_picking` / `order_complete` so every store has open, in-progress and completed orders.
Random choices come from a fixed seed. Running it again creates nothing and prints the same logins.
"""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from fulfillment import services
from fulfillment.management.base import BaseCommand
from fulfillment.models import FacilityMembership, Order, OrderItem, ShippingMethod
from inventory import services as inventory_services
from inventory.models import Facility, InventoryLevel, Product

SEED = 20261127
ORDER_COUNT = 200
FIRST_ORDER_NUMBER = 10001
DEMO_PASSWORD = "demo1234"
ADMIN_USERNAME, ADMIN_PASSWORD = "admin", "admin1234"
MANAGER_USERNAME = "manager"
MANAGER_FACILITIES = ("BROOKLYN", "MANHATTAN")
REFERENCE = "seed_demo"

# code, name, kind, latitude, longitude, priority, city, postal code, street
FACILITIES = [
    ("BROOKLYN", "Brooklyn – Atlantic Terminal", "STORE", 40.6843, -73.9772, 10, "Brooklyn", "11217", "Atlantic Ave"),
    ("MANHATTAN", "Manhattan – Union Square", "STORE", 40.7359, -73.9906, 20, "New York", "10003", "Broadway"),
    ("QUEENS", "Queens – Astoria", "STORE", 40.7644, -73.9235, 30, "Astoria", "11103", "Steinway St"),
    ("JERSEYCITY", "Jersey City – Newport", "STORE", 40.7270, -74.0345, 40, "Jersey City", "07310", "Washington Blvd"),
    ("HOBOKEN", "Hoboken – Washington Street", "STORE", 40.7440, -74.0290, 50, "Hoboken", "07030", "Washington St"),
    ("STAMFORD", "Stamford – Downtown", "STORE", 41.0534, -73.5387, 60, "Stamford", "06901", "Bedford St"),
    ("EDISON", "Edison NJ Distribution Center", "WAREHOUSE", 40.5187, -74.4121, 90, "Edison", "08837", "Raritan Center Pkwy"),
]
STORE_CODES = [f[0] for f in FACILITIES if f[2] == "STORE"]
# Ship-to neighbourhoods near the warehouse (no store close by): their orders go to EDISON.
WAREHOUSE_AREAS = [
    ("New Brunswick", "08901", "George St", 40.4862, -74.4518),
    ("Princeton", "08540", "Nassau St", 40.3573, -74.6672),
]

PRODUCTS = [
    "Organic Cotton Crew Tee – White, M", "Organic Cotton Crew Tee – Black, L", "Slim Stretch Chino – Navy, 32x32",
    "Relaxed Denim Jacket – Indigo, M", "Merino Wool Crewneck – Heather Grey, L", "Quilted Puffer Vest – Olive, M",
    "Linen Button-Down Shirt – Sky Blue, M", "Fleece Quarter-Zip – Charcoal, XL", "Everyday Jogger – Black, S",
    "Rib-Knit Beanie – Oatmeal", "Leather Chelsea Boot – Chestnut, 10", "Canvas Low-Top Sneaker – White, 9",
    "Trail Running Shoe – Slate, 11", "Wool Blend Hiking Sock 3-Pack", "Waxed Canvas Tote – Tan",
    "Packable Rain Shell – Yellow, M", "Stainless Steel Water Bottle 24 oz", "Insulated Travel Mug 16 oz – Sage",
    "Ceramic Pour-Over Coffee Set", "Cast Iron Skillet 10 in", "Bamboo Cutting Board – Large",
    "Linen Napkins Set of 4 – Natural", "Stoneware Dinner Plate Set of 4", "Borosilicate Glass Food Storage Set",
    "Chef's Knife 8 in", "French Press 34 oz", "Percale Sheet Set – Queen, White", "Down Alternative Pillow – Standard",
    "Chunky Knit Throw Blanket – Ivory", "Waffle Weave Bath Towel – Slate", "Soy Wax Candle – Cedar & Sage",
    "Table Lamp with Linen Shade", "Wireless Earbuds – Black", "Bluetooth Speaker – Mini, Blue",
    "USB-C Fast Charger 30W", "Braided USB-C Cable 6 ft", "Portable Power Bank 10000 mAh", "Smart LED Bulb 2-Pack",
    "Noise-Cancelling Headphones – Silver", "Laptop Sleeve 14 in – Charcoal", "Hardcover Notebook – Dot Grid, A5",
    "Gel Ink Pens 12-Pack", "Desk Organizer – Walnut", "Yoga Mat 5 mm – Plum", "Adjustable Dumbbell 25 lb",
    "Resistance Band Set", "Foam Roller 18 in", "Kids' Rain Boots – Red, 12", "Wooden Building Blocks 60-Piece",
    "Plush Teddy Bear 14 in",
]
FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "Mateo", "Isabella", "Lucas", "Mia", "Ethan", "Amelia",
    "Aiden", "Harper", "Jackson", "Priya", "Wei", "Fatima", "Diego", "Chloe", "Omar", "Grace", "Hiro", "Zoe", "Samuel",
]
LAST_NAMES = [
    "Smith", "Johnson", "Garcia", "Martinez", "Brown", "Lee", "Patel", "Nguyen", "Rodriguez", "Kim", "Chen", "Cohen",
    "Williams", "Rivera", "O'Brien", "Rossi", "Kowalski", "Okafor", "Haddad", "Silva", "Murphy", "Santos",
]
# weights of the shipping methods of the demo orders
METHOD_WEIGHTS = [
    (ShippingMethod.STANDARD, 45), (ShippingMethod.EXPRESS, 20), (ShippingMethod.SAME_DAY, 15), (ShippingMethod.STORE_PICKUP, 20),
]


def upc_with_check_digit(first_11: str) -> str:
    digits = [int(d) for d in first_11]
    total = sum(digits[0::2]) * 3 + sum(digits[1::2])
    return first_11 + str((10 - total % 10) % 10)


@dataclass
class Login:
    username: str
    password: str
    role: str
    facilities: str


class Command(BaseCommand):
    help = "Create demo facilities, products, inventory, 200 orders and demo logins (idempotent)."

    def handle(self, *args, **options):
        rng = random.Random(SEED)
        with transaction.atomic():
            facilities = self._facilities()
            products = self._products()
            received, stocked = self._inventory(rng, facilities, products)
            created = self._orders(rng, facilities, products, stocked)
            moved = self._progress(facilities, created)
            logins = self._users(facilities)
        self._report(received, created, moved, logins)

    # --- data -------------------------------------------------------------------------------------------------------

    def _facilities(self) -> dict[str, Facility]:
        facilities = {}
        for code, name, kind, lat, lng, priority, *_ in FACILITIES:
            facilities[code], _created = Facility.objects.get_or_create(
                code=code,
                defaults=dict(
                    name=name, kind=kind, latitude=lat, longitude=lng, timezone="America/New_York", priority=priority,
                    is_active=True, allows_routing=True, allows_pickup=kind == Facility.Kind.STORE,
                ),
            )
        return facilities

    def _products(self) -> list[Product]:
        products = []
        for n, name in enumerate(PRODUCTS, start=1):
            product, _created = Product.objects.get_or_create(
                sku=f"SF-{1000 + n}", defaults={"name": name, "upc": upc_with_check_digit(f"0{84123:05d}{n:05d}")}
            )
            products.append(product)
        return products

    def _inventory(self, rng, facilities, products) -> tuple[int, dict[str, list[Product]]]:
        """Receive stock (through the ledger) where the level does not exist yet. Some store products are out of stock.

        Returns the receipts made and, per facility code, the products it stocks (the same on every run).
        """
        existing = set(InventoryLevel.objects.values_list("facility_id", "product_id"))
        received = 0
        stocked: dict[str, list[Product]] = {code: [] for code in facilities}
        for code, facility in facilities.items():
            for product in products:
                if facility.kind == Facility.Kind.WAREHOUSE:
                    quantity = rng.randint(40, 120)
                else:
                    quantity = 0 if rng.random() < 0.12 else rng.randint(3, 14)
                if quantity:
                    stocked[code].append(product)
                if quantity and (facility.pk, product.pk) not in existing:
                    inventory_services.inventory_receive(
                        facility=facility, product=product, quantity=quantity, reference=REFERENCE
                    )
                    received += 1
        return received, stocked

    def _order_specs(self, rng, products, stocked):
        """All 200 orders, generated in full every run so the random sequence (and so the data) never depends on what exists."""
        now = timezone.now().replace(second=0, microsecond=0)
        ages = sorted((rng.uniform(0.5, 24 * 10) for _ in range(ORDER_COUNT)), reverse=True)  # hours ago, oldest first
        methods, weights = zip(*METHOD_WEIGHTS)
        for i, age_hours in enumerate(ages):
            if rng.random() < 0.1:
                city, postal, street, lat, lng = rng.choice(WAREHOUSE_AREAS)
                near_store = None
            else:
                near_store = STORE_CODES[i % len(STORE_CODES)]
                row = next(f for f in FACILITIES if f[0] == near_store)
                lat, lng, city, postal, street = row[3], row[4], row[6], row[7], row[8]
            method = rng.choices(methods, weights)[0]
            if method == ShippingMethod.STORE_PICKUP and near_store is None:
                method = ShippingMethod.STANDARD
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            # Pickup orders are for what the pickup store stocks (as a web shop offers pickup); shipped orders for anything.
            pool = stocked[near_store] if method == ShippingMethod.STORE_PICKUP else products
            chosen = rng.sample(pool, rng.choices([1, 2, 3], [55, 30, 15])[0])
            yield dict(
                name=f"#{FIRST_ORDER_NUMBER + i}",
                customer_name=f"{first} {last}",
                customer_email=f"{first}.{last}".lower().replace("'", "") + f"{i % 7 or ''}@example.com",
                shipping_method=method,
                ship_to_latitude=round(lat + rng.uniform(-0.015, 0.015), 5),
                ship_to_longitude=round(lng + rng.uniform(-0.015, 0.015), 5),
                ship_to_address=f"{rng.randint(1, 899)} {street}",
                ship_to_city=city,
                ship_to_postal_code=postal,
                pickup_store=near_store if method == ShippingMethod.STORE_PICKUP else None,
                lines=[(p, rng.choices([1, 2], [80, 20])[0]) for p in chosen],
                placed_at=now - timedelta(hours=age_hours),
            )

    def _orders(self, rng, facilities, products, stocked) -> list[Order]:
        specs = list(self._order_specs(rng, products, stocked))
        existing = set(Order.objects.filter(name__in=[s["name"] for s in specs]).values_list("name", flat=True))
        created = []
        for spec in specs:
            if spec["name"] in existing:
                continue
            pickup_store = spec.pop("pickup_store")
            created.append(
                services.order_create(**spec, pickup_facility=facilities[pickup_store] if pickup_store else None)
            )
        return created

    def _progress(self, facilities, created: list[Order]) -> dict[str, int]:
        """Per facility, the oldest ~35% of its new orders are completed, the next ~30% in progress, the rest stay open."""
        moved = {"IN_PROGRESS": 0, "COMPLETED": 0}
        if not created:
            return moved
        ids = [o.id for o in created]
        by_facility: dict[int, list[int]] = {}
        for order_id, facility_id in (
            OrderItem.objects.filter(order_id__in=ids, status=OrderItem.Status.OPEN)
            .order_by("order__placed_at", "order_id")
            .values_list("order_id", "facility_id")
        ):
            orders = by_facility.setdefault(facility_id, [])
            if order_id not in orders:
                orders.append(order_id)
        by_id = {f.pk: f for f in facilities.values()}
        for facility_id, order_ids in sorted(by_facility.items()):
            facility = by_id[facility_id]
            n = len(order_ids)
            n_completed, n_in_progress = round(n * 0.35), round(n * 0.30)
            if n >= 3:  # every store with a few orders shows all three tabs
                n_completed, n_in_progress = max(1, n_completed), max(1, n_in_progress)
            to_complete = order_ids[:n_completed]
            to_pick = order_ids[: n_completed + n_in_progress]
            if to_pick:
                services.orders_start_picking(facility=facility, order_ids=to_pick)
                moved["IN_PROGRESS"] += len(to_pick) - len(to_complete)
            for order_id in to_complete:
                services.order_complete(facility=facility, order_id=order_id)
                moved["COMPLETED"] += 1
        return moved

    def _users(self, facilities) -> list[Login]:
        User = get_user_model()
        logins = []

        admin, created = User.objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
        )
        if created:
            admin.set_password(ADMIN_PASSWORD)
            admin.save(update_fields=["password"])
        logins.append(Login(ADMIN_USERNAME, ADMIN_PASSWORD, "admin (superuser; Django admin)", "all"))

        manager, created = User.objects.get_or_create(
            username=MANAGER_USERNAME, defaults={"first_name": "Morgan", "last_name": "Manager", "email": "manager@example.com"}
        )
        if created:
            manager.set_password(DEMO_PASSWORD)
            manager.save(update_fields=["password"])
        for code in MANAGER_FACILITIES:
            FacilityMembership.objects.get_or_create(
                user=manager, facility=facilities[code], defaults={"role": FacilityMembership.Role.MANAGER}
            )
        logins.append(Login(MANAGER_USERNAME, DEMO_PASSWORD, "store manager (Reject All)", ", ".join(MANAGER_FACILITIES)))

        for code, facility in facilities.items():
            username = code.lower()
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": facility.name.split(" – ")[0], "email": f"{username}@example.com"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            FacilityMembership.objects.get_or_create(
                user=user, facility=facility, defaults={"role": FacilityMembership.Role.ASSOCIATE}
            )
            kind = "warehouse associate" if facility.kind == Facility.Kind.WAREHOUSE else "store associate"
            logins.append(Login(username, DEMO_PASSWORD, kind, code))
        return logins

    # --- output -----------------------------------------------------------------------------------------------------

    def _report(self, received: int, created: list[Order], moved: dict, logins: list[Login]) -> None:
        w = self.stdout.write
        statuses = dict.fromkeys(OrderItem.Status.values, 0)
        for status in OrderItem.objects.values_list("status", flat=True):
            statuses[status] += 1
        if created:
            w(self.style.SUCCESS(
                f"Demo data created: {len(created)} orders, {received} inventory receipts; "
                f"{moved['IN_PROGRESS']} orders set in progress and {moved['COMPLETED']} completed at their facilities."
            ))
        else:
            w(self.style.SUCCESS("Demo data already present: nothing changed."))
        w(
            f"{Facility.objects.count()} facilities, {Product.objects.count()} products, {Order.objects.count()} orders; items: "
            + ", ".join(f"{OrderItem.Status(s).label.lower()} {n}" for s, n in statuses.items())
        )
        w("")
        w("Open http://127.0.0.1:8000/  (Django admin: http://127.0.0.1:8000/admin/)")
        w("")
        headers = ("username", "password", "role", "facilities")
        rows = [(l.username, l.password, l.role, l.facilities) for l in logins]
        widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
        fmt = "  ".join(f"{{:<{n}}}" for n in widths)
        w(fmt.format(*headers).rstrip())
        w(fmt.format(*("-" * n for n in widths)).rstrip())
        for row in rows:
            w(fmt.format(*row).rstrip())
