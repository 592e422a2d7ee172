"""Browser tests: Playwright (sync API) driving the system Chromium against pytest-django's live server.

Never `playwright install`: the browser is Debian's /usr/bin/chromium.

Playwright's sync API leaves its asyncio loop marked as *running* in this thread between calls. Django then treats
the test code as async code: ORM calls need DJANGO_ALLOW_ASYNC_UNSAFE (set for the e2e modules only, so the rest of
the suite and its subprocesses keep the check), and database connections come from a separate per-context store.
pytest-django's database set-up and flush must use the thread's own connection (the one that holds the serialized
contents for `serialized_rollback`), so the loop is detached while they run and re-attached for the browser.
"""

import asyncio
import datetime as dt
import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "demo1234"

_detached_loops: list = []


def detach_loop():
    """Unmark Playwright's loop as running: the Django code that follows uses the thread's own connection."""
    loop = asyncio.events._get_running_loop()
    if loop is not None:
        _detached_loops.append(loop)
        asyncio.events._set_running_loop(None)


def reattach_loop():
    """Mark Playwright's loop as running again, before any Playwright call."""
    if _detached_loops:
        loop = _detached_loops.pop()
        _detached_loops.clear()
        if asyncio.events._get_running_loop() is None:
            asyncio.events._set_running_loop(loop)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    detach_loop()  # the database set-up (restoring the serialized contents) comes first
    return (yield)


@pytest.fixture(scope="module", autouse=True)
def allow_async_unsafe():
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(allow_async_unsafe):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        detach_loop()
        yield browser
        reattach_loop()
        browser.close()


@pytest.fixture
def new_page(browser):
    from django.db import connections

    contexts = []

    def make(viewport=DESKTOP):
        reattach_loop()
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    reattach_loop()
    for context in contexts:
        context.close()
    connections.close_all()  # the connections the test code opened while the loop was marked running
    detach_loop()  # the flush that follows uses the thread's own connection


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def login(live_server):
    def log_in(page, username, password=PASSWORD):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/orders/open/")
        return page

    return log_in


class Shop:
    """Brooklyn (where the associate and the manager work), Manhattan ~9 km away, a New Jersey warehouse."""

    def __init__(self):
        from fulfillment.models import FacilityMembership
        from fulfillment.services import orders_start_picking, order_complete
        from inventory.models import Facility
        from inventory.services import inventory_receive
        from tests.factories import FacilityFactory, MembershipFactory, ProductFactory, UserFactory, order_placed

        self.brooklyn = FacilityFactory(
            code="BROOKLYN", name="Brooklyn – Atlantic Terminal", latitude=40.6843, longitude=-73.9772,
            timezone="America/New_York", allows_pickup=True,
        )
        self.manhattan = FacilityFactory(code="MANHATTAN", name="Manhattan – Union Square", latitude=40.7359, longitude=-73.9906)
        self.warehouse = FacilityFactory(
            code="EDISON", name="Edison NJ Distribution Center", kind=Facility.Kind.WAREHOUSE, latitude=40.5187,
            longitude=-74.4121, allows_pickup=False,
        )
        catalogue = [
            ("TEE-ORG-M", "Organic cotton tee, navy, M", "0840012345671"),
            ("HOOD-GRY-L", "Fleece hoodie, heather grey, L", "0840012345688"),
            ("MUG-CER-12", "Ceramic mug 12 oz, sand", "0840012345695"),
            ("SNK-RUN-42", "Trail running shoes, EU 42", "0840012345701"),
            ("BAG-TOTE", "Canvas tote bag", "0840012345718"),
        ]
        self.products = [ProductFactory(sku=sku, name=name, upc=upc) for sku, name, upc in catalogue]
        self.tee, self.hoodie, self.mug, self.shoes, self.tote = self.products
        for facility, qty in ((self.brooklyn, 12), (self.manhattan, 8), (self.warehouse, 200)):
            for product in self.products:
                inventory_receive(facility=facility, product=product, quantity=qty)
        self.associate = UserFactory(username="associate", password=PASSWORD)
        self.manager = UserFactory(username="manager", password=PASSWORD)
        MembershipFactory(user=self.associate, facility=self.brooklyn)
        MembershipFactory(user=self.manager, facility=self.brooklyn, role=FacilityMembership.Role.MANAGER)

        start = dt.datetime(2026, 11, 26, 14, 0, tzinfo=dt.UTC)
        customers = [
            ("Grace Hopper", "STANDARD", [(self.tee, 1), (self.mug, 2)]),
            ("Katherine Johnson", "STORE_PICKUP", [(self.hoodie, 1)]),
            ("Alan Turing", "EXPRESS", [(self.shoes, 1)]),
            ("Ada Lovelace", "SAME_DAY", [(self.tote, 1), (self.tee, 1)]),
            ("Dorothy Vaughan", "STANDARD", [(self.mug, 1)]),
            ("Margaret Hamilton", "STANDARD", [(self.hoodie, 1), (self.tote, 2)]),
            ("Annie Easley", "EXPRESS", [(self.tee, 2)]),
            ("Mary Jackson", "STORE_PICKUP", [(self.shoes, 1)]),
        ]
        self.orders = []
        for n, (customer, method, lines) in enumerate(customers):
            self.orders.append(
                order_placed(
                    name=f"#{10042 + n}", customer_name=customer, customer_email=f"{customer.split()[0].lower()}@example.com",
                    shipping_method=method, pickup_facility=self.brooklyn if method == "STORE_PICKUP" else None,
                    near=self.brooklyn, lines=lines, placed_at=start + dt.timedelta(minutes=47 * n),
                )
            )
        # two orders being picked, one completed
        orders_start_picking(facility=self.brooklyn, order_ids=[self.orders[5].pk, self.orders[6].pk, self.orders[7].pk])
        order_complete(facility=self.brooklyn, order_id=self.orders[7].pk)


@pytest.fixture
def shop(live_server):
    return Shop()
