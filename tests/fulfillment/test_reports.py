"""The rejections report: figures against hand-computed values, breakdowns, trend, scope, filters, drill-down, CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from fulfillment.models import FacilityMembership, OrderItem, Rejection, RejectionPolicy, RoutedUnitsDaily
from fulfillment.reports.csv import neutralise
from fulfillment.services import facility_reject_all, item_reject, order_complete, orders_start_picking
from inventory.services import inventory_receive
from tests.factories import FacilityFactory, MembershipFactory, ProductFactory, UserFactory, order_placed

pytestmark = pytest.mark.django_db

REPORT = "/reports/rejections/"
ROWS = "/reports/rejections/rows/"
CSV = "/reports/rejections.csv"


class World:
    """Two stores, Astoria (A) and Bronx (B); orders ship near A, so A is chosen first and B second.

    What happens (units routed in brackets):
    1. #1 tee x3 -> A [A 3]; 1 of the 3 rejected at A as Damaged (a partial line) -> B [B 1].
    2. #2 mug x1 (Express) -> A [A 1]; rejected Not in stock -> B [B 1].
    3. #3 socks x2 near B -> B [B 2]; picked and completed at B (2 units completed).
    4. #4 cap x1 -> A [A 1] (only A stocks caps); rejected Mismatch by the manager -> parked.
    5. A's policy keeps orders together; #5 tee + socks -> A [A 2]; the tee rejected Worn display -> B [B 1], the socks
       rejected with it (collateral, REJ_AVOID_ORD_SPLIT) -> B [B 1].
    6. The rest of #1 (2 tees) completed at A (2 units completed).
    7. Reject All of B's open items (Store cannot fulfil): 4 items, each rejected at A before -> all parked.
    Routed: A 7, B 6 = 13 units. Rejected: A 5 items / 5 units (4 re-routed, 1 parked), B 4 / 4 (parked) = 9.
    """

    def __init__(self):
        self.a = FacilityFactory(code="ASTORIA", name="Astoria", latitude=40.7644, longitude=-73.9235)
        self.b = FacilityFactory(code="BRONX", name="Bronx", latitude=40.8448, longitude=-73.8648)
        self.tee = ProductFactory(sku="TEE-1", name="Tee", upc="111")
        self.mug = ProductFactory(sku="MUG-1", name="Mug", upc="222")
        self.socks = ProductFactory(sku="SOCK-1", name="Socks", upc="333")
        self.cap = ProductFactory(sku="CAP-1", name="Cap", upc="444")
        for facility in (self.a, self.b):
            for product in (self.tee, self.mug, self.socks):
                inventory_receive(facility=facility, product=product, quantity=10)
        inventory_receive(facility=self.a, product=self.cap, quantity=5)
        self.associate = UserFactory(username="a_associate")
        self.manager = UserFactory(username="a_manager")
        self.b_manager = UserFactory(username="b_manager")
        self.staff = UserFactory(username="ops", is_staff=True)
        MembershipFactory(user=self.associate, facility=self.a)
        MembershipFactory(user=self.manager, facility=self.a, role=FacilityMembership.Role.MANAGER)
        MembershipFactory(user=self.b_manager, facility=self.b, role=FacilityMembership.Role.MANAGER)

        near_a = (self.a.latitude, self.a.longitude)
        self.o1 = order_placed(lines=[(self.tee, 3)], near=near_a, name="#1")
        self.reject(self.o1, self.tee, "DAMAGED", quantity=1)
        self.o2 = order_placed(lines=[(self.mug, 1)], near=near_a, name="#2", shipping_method="EXPRESS")
        self.reject(self.o2, self.mug, "NOT_IN_STOCK")
        self.o3 = order_placed(lines=[(self.socks, 2)], near=self.b, name="#3")
        orders_start_picking(facility=self.b, order_ids=[self.o3.pk])
        order_complete(facility=self.b, order_id=self.o3.pk)
        self.o4 = order_placed(lines=[(self.cap, 1)], near=near_a, name="#4")
        self.reject(self.o4, self.cap, "MISMATCH", user=self.manager)
        RejectionPolicy.objects.create(facility=self.a, allow_partial_order_rejection=False)
        self.o5 = order_placed(lines=[(self.tee, 1), (self.socks, 1)], near=near_a, name="#5")
        self.reject(self.o5, self.tee, "WORN_DISPLAY")
        orders_start_picking(facility=self.a, order_ids=[self.o1.pk])
        order_complete(facility=self.a, order_id=self.o1.pk)
        facility_reject_all(facility=self.b, from_status="OPEN", reason_code="INACTIVE_STORE", user=self.b_manager)

    def reject(self, order, product, code, *, quantity=None, user=None):
        item = OrderItem.objects.get(order=order, product=product, facility=self.a)
        return item_reject(facility=self.a, item_id=item.pk, reason_code=code, quantity=quantity, user=user or self.associate)

    def client(self, user) -> Client:
        client = Client()
        client.force_login(user)
        return client


@pytest.fixture
def world():
    return World()


def figures(response):
    return response.context["head"]


def test_the_world_is_what_the_docstring_says(world):
    assert Rejection.objects.count() == 9
    assert Rejection.objects.filter(facility=world.a).count() == 5
    assert Rejection.objects.filter(facility=world.b, comment="Reject All", routed_to__isnull=True).count() == 4
    assert Rejection.objects.filter(caused_by__isnull=False).count() == 1
    assert OrderItem.objects.filter(status="UNROUTED").count() == 5
    routed = {f: 0 for f in (world.a.pk, world.b.pk)}
    for row in RoutedUnitsDaily.objects.all():
        routed[row.facility_id] += row.units
    assert routed == {world.a.pk: 7, world.b.pk: 6}
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()


def test_headline_figures_for_the_chain(world):
    response = world.client(world.staff).get(REPORT)
    assert response.status_code == 200
    head = figures(response)
    assert (head.items, head.units, head.units_routed, head.units_completed) == (9, 9, 13, 4)
    assert head.rejection_rate == pytest.approx(9 / 13)
    assert head.fill_rate == pytest.approx(4 / 13)
    assert (head.rerouted_items, head.parked_items) == (4, 5)
    assert head.rerouted_share == pytest.approx(4 / 9)
    html = response.content.decode()
    assert "69.2%" in html and "30.8%" in html  # rejection rate, fill rate


def test_breakdowns(world):
    context = world.client(world.staff).get(REPORT).context
    reasons = [(r["reason__code"], r["items"], r["units"]) for r in context["reasons"]]
    assert reasons == [
        ("INACTIVE_STORE", 4, 4), ("DAMAGED", 1, 1), ("MISMATCH", 1, 1), ("NOT_IN_STOCK", 1, 1),
        ("REJ_AVOID_ORD_SPLIT", 1, 1), ("WORN_DISPLAY", 1, 1),
    ]
    assert context["reasons"][0]["share"] == pytest.approx(4 / 9)
    stores = [(s["facility"].code, s["units"], s["units_routed"], s["above_chain"]) for s in context["stores"]]
    assert stores == [("ASTORIA", 5, 7, True), ("BRONX", 4, 6, False)]  # 71.4 % and 66.7 % against 69.2 %
    products = {p["order_item__product__sku"]: p["units"] for p in context["products"]}
    assert products == {"TEE-1": 4, "SOCK-1": 2, "MUG-1": 2, "CAP-1": 1}
    associates = {a["rejected_by__username"]: a["units"] for a in context["associates"]}
    assert associates == {"a_associate": 4, "a_manager": 1, "b_manager": 4}
    # each breakdown row narrows the report
    damaged = next(r for r in context["reasons"] if r["reason__code"] == "DAMAGED")
    narrowed = world.client(world.staff).get(damaged["url"])
    assert figures(narrowed).items == 1 and figures(narrowed).units_routed == 13


def test_filters_combine_and_narrow_the_denominators(world):
    client = world.client(world.staff)
    tee = figures(client.get(REPORT, {"product": "tee"}))
    assert (tee.units, tee.units_routed, tee.units_completed) == (4, 6, 2)  # routed: A 3 + 1, B 1 + 1
    express = figures(client.get(REPORT, {"shipping_method": "EXPRESS"}))
    assert (express.units, express.units_routed) == (2, 2)
    a_tee = figures(client.get(REPORT, {"product": "TEE-1", "store": world.a.pk}))
    assert (a_tee.items, a_tee.units_routed, a_tee.units_completed) == (2, 4, 2)
    a_tee_damaged = figures(client.get(REPORT, {"product": "111", "store": world.a.pk, "reason": Rejection.objects.get(reason__code="DAMAGED").reason_id}))
    assert a_tee_damaged.items == 1
    nothing = figures(client.get(REPORT, {"product": "no such thing"}))
    assert (nothing.items, nothing.units_routed, nothing.rejection_rate) == (0, 0, None)


def test_dates_are_local_and_a_period_without_rejections_is_empty(world):
    client = world.client(world.staff)
    today = timezone.now().astimezone(timezone.get_default_timezone()).date()
    old = figures(client.get(REPORT, {"date_from": "2020-01-01", "date_to": "2020-01-31"}))
    assert (old.items, old.units_routed) == (0, 0)
    # a rejection at 23:30 New York time on a day belongs to that day, although it is the next day in UTC
    rejection = Rejection.objects.filter(facility=world.a).first()
    Rejection.objects.filter(pk=rejection.pk).update(created_at=timezone.datetime(2024, 3, 4, 4, 30, tzinfo=timezone.UTC))
    on_the_3rd = figures(client.get(REPORT, {"date_from": "2024-03-03", "date_to": "2024-03-03"}))
    on_the_4th = figures(client.get(REPORT, {"date_from": "2024-03-04", "date_to": "2024-03-04"}))
    assert (on_the_3rd.items, on_the_4th.items) == (1, 0)
    assert today  # the default period (last 28 days) still holds the other 8
    assert figures(client.get(REPORT)).items == 8


def test_median_time_from_routing_to_rejection(world):
    start = timezone.now() - timedelta(hours=3)
    Rejection.objects.update(routed_at=start)  # what the service records is checked in test_services_reports
    Rejection.objects.filter(pk=Rejection.objects.order_by("pk").first().pk).update(routed_at=None)  # unknown: left out
    for minutes, pk in zip([999, 20, 30, 40, 50, 60, 70, 80, 90], Rejection.objects.order_by("pk").values_list("pk", flat=True)):
        Rejection.objects.filter(pk=pk).update(created_at=start + timedelta(minutes=minutes))
    response = world.client(world.staff).get(REPORT)
    assert figures(response).median_seconds == pytest.approx(55 * 60)  # median of 20, 30, ..., 90
    assert "55 min" in response.content.decode()


def test_trend_by_day_and_by_week(world):
    client = world.client(world.staff)
    response = client.get(REPORT)
    assert response.context["granularity"] == "day"
    points = response.context["points"]
    assert len(points) == 28 and sum(p.units for p in points) == 9 and sum(p.units_routed for p in points) == 13
    assert points[-1].rate == pytest.approx(9 / 13)
    html = response.content.decode()
    assert "<svg" in html and "Trend as a table" in html and "style=" not in html and "<script>" not in html
    today = points[-1].start
    weekly = client.get(REPORT, {"date_from": (today - timedelta(days=89)).isoformat(), "date_to": today.isoformat()})
    assert weekly.context["granularity"] == "week"
    assert sum(p.units for p in weekly.context["points"]) == 9
    lines = client.get(REPORT, {"lines": "reason"})
    assert len(lines.context["chart"].reason_lines) == 6


def test_manager_sees_only_their_stores_even_by_url_tampering(world):
    client = world.client(world.manager)
    response = client.get(REPORT)
    assert (figures(response).items, figures(response).units_routed) == (5, 7)
    assert [s["facility"].code for s in response.context["stores"]] == ["ASTORIA"]
    assert "Bronx" not in response.content.decode()
    tampered = client.get(REPORT, {"store": world.b.pk})
    assert tampered.status_code == 400 and "Select a valid choice" in tampered.content.decode()
    assert client.get(ROWS, {"store": world.b.pk}).status_code == 400
    assert client.get(CSV, {"store": world.b.pk}).status_code == 400
    rows = client.get(ROWS)
    assert {r.facility_id for r in rows.context["rows"]} == {world.a.pk}
    body = b"".join(client.get(CSV).streaming_content).decode()
    assert {row["store_code"] for row in csv.DictReader(io.StringIO(body))} == {"ASTORIA"}


def test_associates_get_403_and_no_link(world):
    client = world.client(world.associate)
    for url in (REPORT, ROWS, CSV):
        assert client.get(url).status_code == 403
    assert "Reports" not in client.get("/orders/open/").content.decode()
    assert ">Reports<" in world.client(world.manager).get("/orders/open/").content.decode()
    assert Client().get(REPORT).status_code == 302


def test_bad_input_gets_a_message_not_a_500(world):
    client = world.client(world.staff)
    for params in ({"date_from": "yesterday"}, {"date_from": "2024-02-02", "date_to": "2024-02-01"},
                   {"date_from": "2000-01-01", "date_to": "2024-01-01"}, {"reason": "abc"}, {"shipping_method": "BOAT"},
                   {"product": "x" * 200}, {"associate": "x"}, {"associate": "1.5"}, {"associate": "9" * 25},
                   {"store": "9" * 25}, {"reason": "9" * 25}, {"date_to": "2024-13-45"}):
        response = client.get(REPORT, params)
        assert response.status_code == 400, params
        assert "fix the filters" in response.content.decode()


def test_drill_down_links_to_the_order_at_the_rejecting_store(world):
    client = world.client(world.manager)
    response = client.get(ROWS, {"reason": Rejection.objects.get(reason__code="MISMATCH").reason_id})
    [row] = response.context["rows"]
    assert row.order_item.order == world.o4
    assert row.order_url == f"/orders/{world.o4.pk}/?store={world.a.pk}"
    detail = client.get(row.order_url)
    assert detail.status_code == 200 and "#4" in detail.content.decode()
    staff_rows = world.client(world.staff).get(ROWS).context["rows"]
    assert staff_rows[0].order_url.startswith("/admin/fulfillment/order/")


def test_csv_equals_the_drill_down_and_the_headline(world):
    client = world.client(world.staff)
    for params in ({}, {"store": world.a.pk}, {"product": "tee"}, {"shipping_method": "EXPRESS"}):
        response = client.get(CSV, params)
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        body = b"".join(response.streaming_content).decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(body)))
        head = figures(client.get(REPORT, params))
        drill = client.get(ROWS, params).context["page_obj"].paginator.object_list
        assert len(rows) == head.items
        assert {int(r["rejection_id"]) for r in rows} == set(drill.values_list("pk", flat=True))
    row = next(r for r in csv.DictReader(io.StringIO(b"".join(client.get(CSV).streaming_content).decode())) if r["order"] == "#4")
    assert row["outcome"] == "parked" and row["reason_code"] == "MISMATCH" and row["rejected_by"] == "a_manager"
    assert timezone.datetime.fromisoformat(row["rejected_at"]).utcoffset() is not None  # ISO 8601 with the offset


def test_formula_cells_are_neutralised(world):
    Rejection.objects.filter(pk=Rejection.objects.order_by("pk").first().pk).update(comment='=HYPERLINK("http://x","y")')
    body = b"".join(world.client(world.staff).get(CSV).streaming_content).decode()
    assert "'=HYPERLINK" in body
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(dangerous) == "'" + dangerous
    assert neutralise("Tee") == "Tee" and neutralise(3) == 3


def test_report_queries_are_constant(world, django_assert_max_num_queries):
    client = world.client(world.staff)
    client.get(REPORT)
    with django_assert_max_num_queries(17):  # session, user, memberships, scope, 11 figures, 2 form choices
        client.get(REPORT)
    for n in range(6):  # more orders, rejections, stores and reasons
        order = order_placed(lines=[(world.tee, 1)], near=(world.a.latitude, world.a.longitude), name=f"#x{n}")
        item = order.items.get()
        if item.facility_id:
            item_reject(facility=item.facility, item_id=item.pk, reason_code="DAMAGED", user=world.associate)
    with django_assert_max_num_queries(17):  # session, user, memberships, scope, 11 figures, 2 form choices
        client.get(REPORT)
    with django_assert_max_num_queries(10):
        client.get(ROWS)
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()


def test_drill_down_pages_swap_in_place_with_htmx(world):
    from fulfillment.views import reports as report_views

    client = world.client(world.staff)
    original = report_views.ROWS_PER_PAGE
    report_views.ROWS_PER_PAGE = 4
    try:
        full = client.get(ROWS)
        assert full.context["page_obj"].paginator.num_pages == 3
        assert 'hx-target="#drill-down"' in full.content.decode()
        fragment = client.get(ROWS, {"page": 3}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="drill-down")
        html = fragment.content.decode()
        assert html.lstrip().startswith('<section id="drill-down"') and "<html" not in html
        assert len(fragment.context["rows"]) == 1 and "Page 3 of 3" in html
    finally:
        report_views.ROWS_PER_PAGE = original


def test_dates_outside_the_sane_window_get_a_message_not_a_500(world):
    """date_to=0001-01-01 made the default From (90 days earlier) overflow: a 500."""
    client = world.client(world.staff)
    for params in ({"date_to": "0001-01-01"}, {"date_from": "0001-01-01", "date_to": "0001-01-02"},
                   {"date_from": "1999-12-31", "date_to": "2000-01-05"}, {"date_to": "9999-12-31"}):
        response = client.get(REPORT, params)
        assert response.status_code == 400, params
        assert "fix the filters" in response.content.decode()
