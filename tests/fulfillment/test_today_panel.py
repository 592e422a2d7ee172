"""The Today panel at the top of the Open tab: figures, thresholds, manager vs associate, live after every action."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from fulfillment.models import FacilityMembership, Order, OrderItem
from fulfillment.services import item_reject, order_complete, orders_start_picking
from inventory.services import inventory_receive
from tests.factories import FacilityFactory, MembershipFactory, ProductFactory, UserFactory, order_placed

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "order-list"}


@pytest.fixture
def store():
    store = FacilityFactory(code="QUEENS", name="Queens", latitude=40.72, longitude=-73.79, daily_order_limit=10,
                            waiting_amber_minutes=60, waiting_red_minutes=180)
    other = FacilityFactory(code="WH", name="Warehouse", latitude=40.70, longitude=-74.10)
    tee = ProductFactory(sku="TEE", name="Tee")
    for facility in (store, other):
        inventory_receive(facility=facility, product=tee, quantity=50)
    manager, associate = UserFactory(username="q_manager"), UserFactory(username="q_associate")
    MembershipFactory(user=manager, facility=store, role=FacilityMembership.Role.MANAGER)
    MembershipFactory(user=associate, facility=store)
    orders = [order_placed(lines=[(tee, 1)], near=store, name=f"#Q{n}") for n in range(5)]
    return store, tee, orders, manager, associate


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def panel(html: str) -> str:
    match = re.search(r'<section id="today-panel".*?</section>', html, re.S)
    assert match, "no Today panel"
    return re.sub(r"\s+", " ", match.group(0))


def figure(html: str, label: str) -> str:
    return re.search(rf"<dt>{label}</dt>\s*<dd[^>]*>([^<]*)", panel(html)).group(1).strip()


def test_manager_sees_the_full_panel(store):
    facility, tee, orders, manager, _ = store
    Order.objects.filter(pk=orders[0].pk).update(placed_at=timezone.now() - timedelta(minutes=95))
    item = orders[1].items.get()
    item_reject(facility=facility, item_id=item.pk, reason_code="DAMAGED", user=manager)
    orders_start_picking(facility=facility, order_ids=[orders[2].pk, orders[3].pk])
    order_complete(facility=facility, order_id=orders[3].pk)
    html = client_for(manager).get("/orders/open/").content.decode()
    assert figure(html, "Open orders") == "2"  # #Q0 and #Q4
    assert figure(html, "Orders in progress") == "1"
    assert figure(html, "Oldest waiting") == "1 h 35 min" and 'class="wait-amber"' in panel(html)
    assert figure(html, "Rejected today") == "1"
    assert "Damaged 1" in panel(html)
    assert figure(html, "Picked today") == "1" and figure(html, "Completed today") == "1"
    assert figure(html, "Routing limit used") == "5 of 10 (50%)"  # 5 orders routed here today; the rejected one left


def test_red_after_the_red_threshold_and_ok_when_nothing_waits(store):
    facility, tee, orders, manager, _ = store
    Order.objects.filter(pk=orders[0].pk).update(placed_at=timezone.now() - timedelta(hours=4))
    html = client_for(manager).get("/orders/open/").content.decode()
    assert 'class="wait-red"' in panel(html) and "late: over 180 minutes" in panel(html)
    OrderItem.objects.filter(facility=facility).update(status="IN_PROGRESS")
    html = client_for(manager).get("/orders/open/").content.decode()
    assert figure(html, "Oldest waiting") == "—" and 'class="wait-ok"' in panel(html)


def test_associates_get_the_compact_panel_and_other_tabs_none(store):
    _, _, _, _, associate = store
    html = client_for(associate).get("/orders/open/").content.decode()
    assert figure(html, "Open orders") == "5"
    assert "Picked today" not in panel(html) and "Routing limit used" not in panel(html)
    assert 'id="today-panel"' not in client_for(associate).get("/orders/in-progress/").content.decode()


def test_the_panel_updates_after_a_rejection_and_after_start_picking(store):
    facility, tee, orders, manager, _ = store
    client = client_for(manager)
    item = orders[0].items.get()
    response = client.post(f"/items/{item.pk}/report/", {"reason": "NOT_IN_STOCK", "quantity": 1, "comment": ""}, **HX)
    html = response.content.decode()
    assert 'id="today-panel" class="today" aria-labelledby="today-title" hx-swap-oob="true"' in html
    assert figure(html, "Rejected today") == "1" and figure(html, "Open orders") == "4"
    response = client.post("/orders/start-picking/", {"order_ids": [orders[1].pk]}, **HX)
    html = response.content.decode()
    assert figure(html, "Picked today") == "1" and figure(html, "Orders in progress") == "1"
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()


def test_the_panel_updates_after_reject_all(store, django_capture_on_commit_callbacks):
    _, _, _, manager, _ = store
    client = client_for(manager)
    with django_capture_on_commit_callbacks(execute=True):  # the immediate task backend runs the job on commit
        client.post("/orders/open/reject-all/", {"reason": "INACTIVE_STORE"}, HTTP_HX_REQUEST="true")
    from fulfillment.models import BulkRejection

    bulk = BulkRejection.objects.get()
    assert bulk.state == "DONE"
    html = client.get(f"/bulk-rejections/{bulk.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert figure(html, "Rejected today") == "5" and figure(html, "Open orders") == "0"
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()


def test_the_open_tab_search_and_order_page_survive_any_date_the_database_accepts(store):
    """An imported 1 BC made the store's Open tab, search, order page and every Save answer 500. The database now keeps
    placed_at in [2000-01-01, 2100-01-01); both ends of that range render."""
    from datetime import UTC, datetime

    facility, tee, orders, manager, _ = store
    Order.objects.filter(pk=orders[0].pk).update(placed_at=datetime(2000, 1, 1, tzinfo=UTC))
    Order.objects.filter(pk=orders[1].pk).update(placed_at=datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC))
    client = client_for(manager)
    html = client.get("/orders/open/").content.decode()
    assert figure(html, "Oldest waiting").endswith(" d") or " d " in figure(html, "Oldest waiting")
    assert client.get("/orders/open/", {"q": orders[1].name}).status_code == 200
    for order in orders[:2]:
        assert client.get(f"/orders/{order.pk}/").status_code == 200
    item = orders[1].items.get()
    response = client.post(f"/items/{item.pk}/report/", {"reason": "DAMAGED", "quantity": 1})
    assert response.status_code == 302
    assert OrderItem.objects.get(pk=item.pk).facility_id != facility.pk
