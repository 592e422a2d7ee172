"""Django admin: every model is there, changelists are constant-query, history is read-only, actions call the services."""

import itertools
from functools import partial

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from fulfillment.models import (
    BulkRejection,
    FacilityMembership,
    ParkedItemPolicy,
    OrderItem,
    Rejection,
    RejectionPolicy,
    RejectionReason,
)
from fulfillment.services import facility_reject_all, item_reject, order_create
from inventory.models import FacilityGroup, InventoryAdjustment, InventoryLevel
from inventory.services import inventory_receive
from routing.models import FacilityDailyLoad, RoutingDecision, RoutingRule
from tests.factories import FacilityFactory, FacilityGroupFactory, ProductFactory, UserFactory
from tests.support import assert_inventory_invariant, qoh_atp
from tests.support import place as place_order

pytestmark = pytest.mark.django_db

BROOKLYN = (40.6843, -73.9772)
MANHATTAN = (40.7359, -73.9906)
STAMFORD = (41.0534, -73.5387)
_names = itertools.count(1)
place = partial(place_order, at=BROOKLYN, customer_name="Ada Lovelace", customer_email="ada@example.com")


@pytest.fixture
def stores():
    brooklyn = FacilityFactory(code="BROOKLYN", name="Brooklyn", latitude=BROOKLYN[0], longitude=BROOKLYN[1])
    manhattan = FacilityFactory(code="MANHATTAN", name="Manhattan", latitude=MANHATTAN[0], longitude=MANHATTAN[1])
    stamford = FacilityFactory(code="STAMFORD", name="Stamford", latitude=STAMFORD[0], longitude=STAMFORD[1])
    return brooklyn, manhattan, stamford


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


# ---------------------------------------------------------------------------------------------------------------------
# Every model, constant-query changelists


def grow(stores, n: int) -> None:
    """Add n of everything each changelist lists, through the services where they exist."""
    brooklyn, manhattan, _ = stores
    for _ in range(n):
        k = next(_names)
        product = ProductFactory()
        inventory_receive(facility=brooklyn, product=product, quantity=5)
        inventory_receive(facility=manhattan, product=product, quantity=5)
        for _ in range(3):
            place(product)
        item = OrderItem.objects.filter(product=product, facility=brooklyn, status="OPEN").first()
        item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED")
        place(ProductFactory())  # parked: no stock anywhere
        pickup = place(product, method="STORE_PICKUP", pickup=brooklyn)  # rejected: a pickup choice and its email
        item_reject(facility=brooklyn, item_id=pickup.pk, reason_code="DAMAGED")
        facility = FacilityFactory(code=f"EXTRA{k}", latitude=42.0, longitude=-75.0)
        RejectionPolicy.objects.create(facility=facility, allow_partial_order_rejection=False)
        group = FacilityGroupFactory()
        group.facilities.add(brooklyn, facility)
        RoutingRule.objects.create(name=f"Rule {k}", sequence=100 + k, facility_group=group, shipping_methods=["EXPRESS"])
        ParkedItemPolicy.objects.create(facility_group=group, cancel_after_days=k)
        FacilityMembership.objects.create(user=UserFactory(), facility=brooklyn)
        RejectionReason.objects.create(code=f"CUSTOM{k}", label=f"Custom {k}", inventory_effect="NONE", sequence=200 + k)
        FacilityDailyLoad.objects.create(facility=facility, day=f"2026-11-{k % 28 + 1:02d}", routed_lines=k)
        bulk = BulkRejection.objects.create(facility=manhattan, from_status="OPEN", reason=RejectionReason.objects.get(code="INACTIVE_STORE"))
        facility_reject_all(facility=manhattan, from_status="OPEN", reason_code="INACTIVE_STORE", bulk_rejection=bulk)


ADMIN_MODELS = [
    ("inventory", "facility"), ("inventory", "facilitygroup"), ("inventory", "product"), ("inventory", "inventorylevel"),
    ("inventory", "inventoryadjustment"), ("routing", "routingrule"), ("routing", "routingdecision"),
    ("routing", "facilitydailyload"), ("fulfillment", "order"), ("fulfillment", "orderitem"),
    ("fulfillment", "rejectionreason"), ("fulfillment", "rejection"), ("fulfillment", "rejectionpolicy"),
    ("fulfillment", "bulkrejection"), ("fulfillment", "facilitymembership"), ("fulfillment", "parkeditempolicy"),
    ("fulfillment", "pickupchoice"), ("fulfillment", "notification"), ("fulfillment", "routedunitsdaily"),
]


# Internal rows no person edits or reads: the routing configuration's version stamp (written by database triggers).
INTERNAL_MODELS = {("routing", "routingconfigversion")}


def test_every_model_of_the_three_apps_has_an_admin():
    models = [
        m for label in ("inventory", "routing", "fulfillment") for m in apps.get_app_config(label).get_models()
        if (m._meta.app_label, m._meta.model_name) not in INTERNAL_MODELS
    ]
    assert {(m._meta.app_label, m._meta.model_name) for m in models} == set(ADMIN_MODELS)
    missing = [m.__name__ for m in models if m not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("app_label, model_name", ADMIN_MODELS)
def test_changelist_loads_with_constant_queries(admin_client, stores, django_assert_max_num_queries, app_label, model_name):
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    grow(stores, 1)
    with CaptureQueriesContext(connection) as small:
        response = admin_client.get(url)
    assert response.status_code == 200
    rows_small = len(response.context["cl"].result_list)

    grow(stores, 4)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) > rows_small  # the page really shows more rows


@pytest.mark.parametrize("app_label, model_name", ADMIN_MODELS)
def test_change_page_loads(admin_client, stores, app_label, model_name):
    grow(stores, 1)
    model = apps.get_model(app_label, model_name)
    obj = model.objects.order_by("pk").last()
    response = admin_client.get(change_url(obj))
    assert response.status_code == 200


def test_changelist_search_and_filters_work(admin_client, stores):
    grow(stores, 1)
    order = OrderItem.objects.select_related("order").first().order
    response = admin_client.get(changelist(OrderItem), {"q": order.name, "status__exact": "OPEN"})
    assert response.status_code == 200
    assert all(i.order_id == order.pk and i.status == "OPEN" for i in response.context["cl"].result_list)


# ---------------------------------------------------------------------------------------------------------------------
# Read-only history


@pytest.mark.parametrize("model", [InventoryAdjustment, Rejection, RoutingDecision, BulkRejection, OrderItem])
def test_history_admins_refuse_add_change_delete(admin_client, stores, model):
    grow(stores, 1)
    obj = model.objects.order_by("pk").first()
    opts = model._meta
    model_admin = admin.site._registry[model]
    request = admin_client.get(changelist(model)).wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)

    assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
    assert admin_client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    before = model.objects.filter(pk=obj.pk).values().get()
    admin_client.post(change_url(obj), {"quantity": 99, "atp_delta": 99, "summary": "edited", "state": "DONE"})
    assert model.objects.filter(pk=obj.pk).values().get() == before


def test_inventory_level_quantities_cannot_be_edited_directly(admin_client, stores):
    brooklyn = stores[0]
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=7)
    level = InventoryLevel.objects.get(facility=brooklyn, product=product)

    response = admin_client.post(change_url(level), {"quantity_on_hand": 100, "available_to_promise": 100, "safety_stock": 2})

    assert response.status_code == 302
    level.refresh_from_db()
    assert (level.quantity_on_hand, level.available_to_promise, level.safety_stock) == (7, 7, 2)
    assert_inventory_invariant()


# ---------------------------------------------------------------------------------------------------------------------
# Order item actions


REASON_TABLE = [
    ("NOT_IN_STOCK", (0, 0)),
    ("MISMATCH", (9, 9)),
    ("DAMAGED", (10, 9)),
    ("WORN_DISPLAY", (10, 9)),
    ("INACTIVE_STORE", (10, 10)),
]


def test_reject_action_asks_for_an_active_associate_reason(admin_client, stores):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=10)
    item = place(product)
    RejectionReason.objects.filter(code="WORN_DISPLAY").update(is_active=False)

    response = admin_client.post(
        changelist(OrderItem), {"action": "reject_selected", "_selected_action": [item.pk], "index": 0}
    )

    assert response.status_code == 200
    reasons = [label for _value, label in response.context["form"].fields["reason"].choices]
    assert any("Damaged" in label for label in reasons)
    assert not any("Worn display" in label for label in reasons)  # inactive
    assert not any("REJ_AVOID_ORD_SPLIT" in label or "REJ_CASCADE_BY_PROD" in label for label in reasons)  # system
    assert item.order.name in response.content.decode()
    item.refresh_from_db()
    assert item.status == "OPEN" and not Rejection.objects.exists()  # asking changes nothing


@pytest.mark.parametrize("code, expected", REASON_TABLE)
def test_reject_action_applies_the_reason_table_and_reports(admin_client, stores, code, expected):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=10)
    inventory_receive(facility=manhattan, product=product, quantity=5)
    item = place(product)
    assert qoh_atp(brooklyn, product) == (10, 9)
    reason = RejectionReason.objects.get(code=code)

    response = admin_client.post(
        changelist(OrderItem),
        {"action": "reject_selected", "_selected_action": [item.pk], "apply": "Reject", "reason": reason.pk, "comment": "shelf check"},
        follow=True,
    )

    assert response.status_code == 200
    assert qoh_atp(brooklyn, product) == expected
    assert qoh_atp(manhattan, product) == (5, 4)
    item.refresh_from_db()
    assert item.facility == manhattan and item.status == "OPEN"
    rejection = Rejection.objects.get(order_item=item)
    assert (rejection.facility, rejection.reason.code, rejection.comment, rejection.routed_to) == (brooklyn, code, "shelf check", manhattan)
    assert rejection.rejected_by.username == "admin"
    (message,) = messages_of(response)
    assert f"Rejected 1 item(s) as “{reason.label}”" in message
    assert "Re-routed: 1 (MANHATTAN 1); parked: 0." in message
    assert_inventory_invariant()


def test_reject_action_reports_parked_rerouted_and_conflicts(admin_client, stores):
    brooklyn, manhattan, _ = stores
    stocked, scarce = ProductFactory(), ProductFactory()
    inventory_receive(facility=brooklyn, product=stocked, quantity=10)
    inventory_receive(facility=manhattan, product=stocked, quantity=10)
    inventory_receive(facility=brooklyn, product=scarce, quantity=1)
    moves, parks, parked_already = place(stocked), place(scarce), place(ProductFactory())
    assert parked_already.status == "UNROUTED"

    response = admin_client.post(
        changelist(OrderItem),
        {
            "action": "reject_selected", "_selected_action": [moves.pk, parks.pk, parked_already.pk], "apply": "Reject",
            "reason": RejectionReason.objects.get(code="DAMAGED").pk,
        },
        follow=True,
    )

    success, warning = messages_of(response)
    assert "Rejected 2 item(s)" in success and "Re-routed: 1 (MANHATTAN 1); parked: 1." in success
    assert warning.startswith("Skipped 1 item(s): ")
    assert parked_already.order.name in warning and "only open or in-progress items can be rejected" in warning
    parks.refresh_from_db()
    assert parks.status == "UNROUTED"
    assert Rejection.objects.count() == 2


def test_reject_action_counts_policy_collateral_once(admin_client, stores):
    brooklyn, manhattan, _ = stores
    RejectionPolicy.objects.create(facility=brooklyn, allow_partial_order_rejection=False)
    a, b = ProductFactory(), ProductFactory()
    for product in (a, b):
        inventory_receive(facility=brooklyn, product=product, quantity=5)
        inventory_receive(facility=manhattan, product=product, quantity=5)
    order = order_create(
        name="#TWO", customer_name="Ada", shipping_method="STANDARD", ship_to_latitude=BROOKLYN[0],
        ship_to_longitude=BROOKLYN[1], lines=[(a, 1), (b, 1)],
    )
    ids = list(order.items.values_list("pk", flat=True))

    response = admin_client.post(
        changelist(OrderItem),
        {"action": "reject_selected", "_selected_action": ids, "apply": "Reject", "reason": RejectionReason.objects.get(code="MISMATCH").pk},
        follow=True,
    )

    (message,) = messages_of(response)  # no "skipped" warning for the item the policy already rejected
    assert "Rejected 1 item(s)" in message and "1 more by the facility's rejection policy" in message
    assert "Re-routed: 2 (MANHATTAN 2)" in message
    assert set(order.items.values_list("facility__code", flat=True)) == {"MANHATTAN"}


def test_reject_action_with_an_invalid_reason_changes_nothing(admin_client, stores):
    brooklyn = stores[0]
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=10)
    item = place(product)
    system = RejectionReason.objects.get(code="REJ_AVOID_ORD_SPLIT")

    response = admin_client.post(
        changelist(OrderItem),
        {"action": "reject_selected", "_selected_action": [item.pk], "apply": "Reject", "reason": system.pk},
    )

    assert response.status_code == 200  # the form again, with its error
    assert response.context["form"].errors["reason"]
    assert not Rejection.objects.exists()
    assert qoh_atp(brooklyn, product) == (10, 9)


def test_route_action_routes_parked_items_and_reports(admin_client, stores):
    brooklyn, manhattan, _ = stores
    product, nowhere = ProductFactory(), ProductFactory()
    parked, still_parked = place(product), place(nowhere)
    inventory_receive(facility=manhattan, product=product, quantity=3)  # a receipt without routing
    open_item = place(product)

    response = admin_client.post(
        changelist(OrderItem),
        {"action": "route_selected", "_selected_action": [parked.pk, still_parked.pk, open_item.pk], "index": 0},
        follow=True,
    )

    (message,) = messages_of(response)
    assert message == "Routed 1 of 2 parked item(s) (MANHATTAN 1); still parked: 1. Skipped 1 item(s) that were not parked."
    parked.refresh_from_db()
    assert (parked.status, parked.facility) == ("OPEN", manhattan)
    assert qoh_atp(manhattan, product) == (3, 1)
    assert parked.routing_decisions.filter(trigger="ROUTE_ORDERS", chosen_facility=manhattan).exists()


# ---------------------------------------------------------------------------------------------------------------------
# Inventory level actions go through the ledger


def test_receive_stock_action_writes_the_ledger_and_routes_parked_items(admin_client, stores):
    brooklyn = stores[0]
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=1)
    place(product)
    parked = place(product)
    assert parked.status == "UNROUTED"
    level = InventoryLevel.objects.get(facility=brooklyn, product=product)

    asked = admin_client.post(changelist(InventoryLevel), {"action": "receive_stock", "_selected_action": [level.pk], "index": 0})
    assert asked.status_code == 200 and "Quantity received" in asked.content.decode()
    invalid = admin_client.post(
        changelist(InventoryLevel), {"action": "receive_stock", "_selected_action": [level.pk], "apply": "1", "quantity": 0}
    )
    assert invalid.status_code == 200 and invalid.context["form"].errors
    for hostile in ("١٢", "2147483648", "99999999999999999999999"):  # foreign digits, beyond a database integer
        invalid = admin_client.post(changelist(InventoryLevel), {
            "action": "receive_stock", "_selected_action": [level.pk], "apply": "1", "quantity": hostile,
        })
        assert invalid.status_code == 200 and invalid.context["form"].errors["quantity"], hostile
    assert qoh_atp(brooklyn, product) == (1, 0)
    response = admin_client.post(
        changelist(InventoryLevel), {"action": "receive_stock", "_selected_action": [level.pk], "apply": "1", "quantity": 4},
        follow=True,
    )

    (message,) = messages_of(response)
    assert message == "Received 4 unit(s) at 1 level(s). Routed 1 of 1 parked item(s) (BROOKLYN 1); still parked: 0."
    assert qoh_atp(brooklyn, product) == (5, 3)
    assert level.adjustments.filter(kind="RECEIPT", qoh_delta=4, created_by__username="admin").exists()
    parked.refresh_from_db()
    assert parked.status == "OPEN"
    assert_inventory_invariant()


def test_set_counted_quantity_action_from_the_change_form(admin_client, stores):
    brooklyn = stores[0]
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=10)
    place(product, qty=2)
    level = InventoryLevel.objects.get(facility=brooklyn, product=product)

    response = admin_client.post(
        change_url(level),
        {"CHANGE_FORM-action": "set_counted_quantity", "_selected_action": [level.pk], "apply": "1", "quantity": 6},
        follow=True,
    )

    assert response.status_code == 200
    (message,) = messages_of(response)
    assert "Counted quantity set at 1 level(s): BROOKLYN " in message and "10 -> 6" in message
    assert qoh_atp(brooklyn, product) == (6, 4)  # the 2 reserved units stay reserved
    assert level.adjustments.filter(kind="COUNT", qoh_delta=-4).exists()
    assert_inventory_invariant()


# ---------------------------------------------------------------------------------------------------------------------
# Routing admin


def test_routing_decision_shows_why_here_table(admin_client, stores):
    brooklyn, manhattan, stamford = stores
    product = ProductFactory()
    inventory_receive(facility=manhattan, product=product, quantity=5)
    inventory_receive(facility=stamford, product=product, quantity=5)
    item = place(product)
    decision = item.routing_decisions.get()

    page = admin_client.get(change_url(decision)).content.decode()

    assert "Why here?" in page
    table = page[page.index('<table class="why-here">'):]
    table = table[: table.index("</table>")]
    codes = {c["facility"] for c in decision.candidate_rows}
    assert {"BROOKLYN", "MANHATTAN", "STAMFORD"} <= codes
    for candidate in decision.candidate_rows:  # one row per candidate, with its own reason
        assert f"<td>{candidate['facility']}</td>" in table
        assert escape(candidate["reason"]) in table
    chosen_row = table[table.index("<tbody>") + 7:].split("</tr>")[0]
    assert "<td>MANHATTAN</td>" in chosen_row and "<td>Yes</td>" in chosen_row and 'style="font-weight:bold"' in chosen_row


def test_why_here_table_escapes_and_formats_candidates():
    from routing.admin import candidates_table

    decision = RoutingDecision(
        candidates=[
            {"facility": "A", "name": "<b>Alpha</b>", "distance_km": 3.14159, "routable_atp": 2, "chosen": True, "reason": "nearest"},
            {"facility": "B", "name": "Beta", "distance_km": 412, "routable_atp": 0, "chosen": False, "reason": "ATP 0"},
        ]
    )
    html = str(candidates_table(decision))
    assert "&lt;b&gt;Alpha&lt;/b&gt;" in html and "<b>Alpha</b>" not in html
    assert "3.1" in html and "412.0" in html and "ATP 0" in html
    assert html.count("<tr") == 3  # header + 2 candidates
    assert str(candidates_table(RoutingDecision(candidates=[]))) == "No facility was considered."


def test_routing_rule_shipping_methods_are_checkboxes_stored_as_a_list(admin_client):
    rule = RoutingRule.objects.order_by("sequence").first()
    response = admin_client.get(change_url(rule))
    assert 'type="checkbox" name="shipping_methods" value="STORE_PICKUP"' in response.content.decode()

    data = {
        "name": rule.name, "sequence": rule.sequence, "is_active": "on", "shipping_methods": ["SAME_DAY", "STANDARD"],
        "facility_kind": "", "facility_group": "", "max_distance_km": 30, "exclude_rejecting_facilities": "on",
        "sort": "PROXIMITY",
    }
    response = admin_client.post(change_url(rule), data)

    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.shipping_methods == ["STANDARD", "SAME_DAY"] and rule.max_distance_km == 30

    data["shipping_methods"] = ["TELEPORT"]
    response = admin_client.post(change_url(rule), data)
    assert response.status_code == 200 and response.context["adminform"].form.errors["shipping_methods"]


def changelist_formset_post(admin_client, model, rows: list[dict]):
    data = {"form-TOTAL_FORMS": len(rows), "form-INITIAL_FORMS": len(rows), "form-MIN_NUM_FORMS": 0, "form-MAX_NUM_FORMS": 1000, "_save": "Save"}
    for i, row in enumerate(rows):
        for key, value in row.items():
            if value is True:
                data[f"form-{i}-{key}"] = "on"
            elif value is not False:
                data[f"form-{i}-{key}"] = value
    return admin_client.post(changelist(model), data)


def test_rules_are_reordered_and_switched_from_the_list(admin_client):
    rules = list(RoutingRule.objects.order_by("sequence", "id"))
    rows = [{"id": r.pk, "sequence": 100 - 10 * i, "is_active": i == 0} for i, r in enumerate(rules)]

    response = changelist_formset_post(admin_client, RoutingRule, rows)

    assert response.status_code == 302
    assert [r.pk for r in RoutingRule.objects.order_by("sequence")] == [r.pk for r in reversed(rules)]
    assert list(RoutingRule.objects.filter(is_active=True).values_list("pk", flat=True)) == [rules[0].pk]


def test_reasons_are_reordered_and_deactivated_from_the_list(admin_client):
    reasons = list(RejectionReason.objects.order_by("sequence", "code"))
    rows = [
        {"id": r.pk, "sequence": 5 if r.code == "INACTIVE_STORE" else r.sequence, "is_active": r.code != "WORN_DISPLAY"}
        for r in reasons
    ]

    response = changelist_formset_post(admin_client, RejectionReason, rows)

    assert response.status_code == 302
    from fulfillment.selectors import active_reasons

    assert [r.code for r in active_reasons()] == ["INACTIVE_STORE", "NOT_IN_STOCK", "MISMATCH", "DAMAGED"]


def test_system_reason_codes_and_global_policy_are_protected(admin_client):
    reason = RejectionReason.objects.get(code="NOT_IN_STOCK")
    model_admin = admin.site._registry[RejectionReason]
    request = admin_client.get(changelist(RejectionReason)).wsgi_request
    assert "code" in model_admin.get_readonly_fields(request, reason)
    assert not model_admin.has_delete_permission(request, reason)
    policy = RejectionPolicy.objects.get(facility__isnull=True)
    assert admin_client.post(reverse("admin:fulfillment_rejectionpolicy_delete", args=[policy.pk]), {"post": "yes"}).status_code == 403
    assert RejectionPolicy.objects.filter(pk=policy.pk).exists()


def test_facility_group_and_membership_admins_use_autocomplete(admin_client, stores):
    group = FacilityGroup.objects.create(name="NYC")
    group.facilities.add(stores[0], stores[1])
    response = admin_client.get(changelist(FacilityGroup))
    assert response.status_code == 200 and response.context["cl"].result_list[0]._facility_count == 2
    assert ">2<" in response.content.decode()
    membership_admin = admin.site._registry[FacilityMembership]
    assert set(membership_admin.autocomplete_fields) == {"user", "facility"}
    response = admin_client.get(reverse("admin:fulfillment_facilitymembership_add"))
    assert response.status_code == 200


def test_rejection_admin_exports_the_selected_rows_as_csv_with_the_reports_exporter(admin_client, stores):
    import csv
    import io

    grow(stores, 2)
    Rejection.objects.filter(pk=Rejection.objects.order_by("pk").first().pk).update(comment="=cmd|' /C calc'!A0")
    chosen = list(Rejection.objects.order_by("pk").values_list("pk", flat=True)[:3])
    response = admin_client.post(changelist(Rejection), {"action": "export_csv", "_selected_action": chosen})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(int(r["rejection_id"]) for r in rows) == chosen
    assert rows[-1]["comment"].startswith("'=cmd")
    assert admin.site._registry[Rejection].date_hierarchy == "created_at"
