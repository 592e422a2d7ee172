"""The customer's pickup choice: one email per rejected pickup item (sent on commit), the signed link (forged, replayed,
expired), the three choices and exactly what each changes, and the order page / admin listing the emails."""

import re
import time

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.urls import reverse

from fulfillment.models import Notification, OrderItem, PickupChoice
from fulfillment.pickup_links import pickup_choice_token
from fulfillment.services import facility_reject_all, item_reject
from inventory.models import Facility, InventoryAdjustment, InventoryLevel
from inventory.services import inventory_receive
from routing.engine import PARKED_PICKUP_REJECTED
from tests.factories import FacilityFactory, MembershipFactory, ProductFactory, UserFactory, order_placed
from tests.support import assert_inventory_invariant

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+/pickup-choice/[^/\s]+/")


class World:
    def __init__(self):
        self.brooklyn = FacilityFactory(code="BROOKLYN", name="Brooklyn", latitude=40.6843, longitude=-73.9772)
        self.manhattan = FacilityFactory(code="MANHATTAN", name="Manhattan", latitude=40.7359, longitude=-73.9906)
        self.queens = FacilityFactory(code="QUEENS", name="Queens", latitude=40.7282, longitude=-73.7949)
        self.hoboken = FacilityFactory(code="HOBOKEN", name="Hoboken", latitude=40.7440, longitude=-74.0324)
        self.edison = FacilityFactory(code="EDISON", name="Edison DC", kind=Facility.Kind.WAREHOUSE, latitude=40.5187,
                                      longitude=-74.4121, allows_pickup=False)
        self.hoodie = ProductFactory(sku="HOOD-GRY-L", name="Fleece hoodie")
        for facility, qty in ((self.brooklyn, 3), (self.manhattan, 4), (self.queens, 2), (self.edison, 50)):
            inventory_receive(facility=facility, product=self.hoodie, quantity=qty)
        # Hoboken has 1: not enough for a line of 2

        inventory_receive(facility=self.hoboken, product=self.hoodie, quantity=1)

    def pickup_order(self, qty=2, email="katherine@example.com", name=None):
        return order_placed(
            name=name, customer_name="Katherine Johnson", customer_email=email, shipping_method="STORE_PICKUP",
            pickup_facility=self.brooklyn, near=self.brooklyn, lines=[(self.hoodie, qty)],
        )

    def reject_pickup(self, capture, qty=2, reason="NOT_IN_STOCK", **kwargs):
        order = self.pickup_order(qty=qty, **kwargs)
        item = order.items.get()
        with capture(execute=True):
            item_reject(facility=self.brooklyn, item_id=item.pk, reason_code=reason)
        item.refresh_from_db()
        return item


@pytest.fixture
def world():
    return World()


def atp(facility, product):
    return InventoryLevel.objects.get(facility=facility, product=product).available_to_promise


def link_path(message) -> str:
    url = LINK.search(message.body).group(0)
    assert url.startswith(settings.SITE_URL)
    return url[len(settings.SITE_URL):]


# -- the email ---------------------------------------------------------------------------------------------------------


def test_rejected_pickup_item_parks_and_emails_the_customer_a_link(world, django_capture_on_commit_callbacks):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    assert item.status == OrderItem.Status.UNROUTED and item.parked_reason == PARKED_PICKUP_REJECTED
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["katherine@example.com"]
    assert "Brooklyn cannot have 2 × Fleece hoodie" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and link_path(message) in html
    notification = Notification.objects.get()
    assert (notification.kind, notification.status, notification.order_id) == ("PICKUP_REJECTED", "SENT", item.order_id)
    assert notification.sent_at is not None and notification.attempts == 1
    choice = PickupChoice.objects.get()
    assert choice.order_item_id == item.pk and choice.is_waiting
    assert_inventory_invariant()


def test_no_email_for_a_shipped_item(world, django_capture_on_commit_callbacks):
    order = order_placed(near=world.brooklyn, lines=[(world.hoodie, 1)])
    item = order.items.get()
    with django_capture_on_commit_callbacks(execute=True):
        item_reject(facility=item.facility, item_id=item.pk, reason_code="NOT_IN_STOCK")
    assert mail.outbox == [] and not Notification.objects.exists() and not PickupChoice.objects.exists()
    assert_inventory_invariant()


def test_no_email_when_the_rejecting_transaction_rolls_back(world, django_capture_on_commit_callbacks):
    item = world.pickup_order().items.get()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            item_reject(facility=world.brooklyn, item_id=item.pk, reason_code="NOT_IN_STOCK")
            raise RuntimeError("something later in the same transaction failed")
    assert callbacks == [] and mail.outbox == []
    assert not Notification.objects.exists() and not PickupChoice.objects.exists()
    item.refresh_from_db()
    assert item.status == OrderItem.Status.OPEN
    assert_inventory_invariant()


def test_reject_all_emails_each_pickup_customer_once_and_a_dry_run_none(world, django_capture_on_commit_callbacks):
    world.pickup_order(qty=1, email="one@example.com")
    world.pickup_order(qty=1, email="two@example.com")
    order_placed(near=world.brooklyn, lines=[(world.hoodie, 1)])  # shipped: routed to Brooklyn, no email on rejection
    with django_capture_on_commit_callbacks(execute=True):
        facility_reject_all(facility=world.brooklyn, from_status="OPEN", reason_code="INACTIVE_STORE", dry_run=True)
    assert mail.outbox == [] and not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        facility_reject_all(facility=world.brooklyn, from_status="OPEN", reason_code="INACTIVE_STORE")
    assert sorted(m.to[0] for m in mail.outbox) == ["one@example.com", "two@example.com"]
    assert_inventory_invariant()


def test_with_the_database_task_backend_a_batchs_emails_are_enqueued_in_one_transaction(
    world, django_capture_on_commit_callbacks, settings, monkeypatch
):
    """django-tasks-db stores one task per email: a Reject All batch's tasks commit together (a worker sends them)."""
    from django.db import connection
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    world.pickup_order(qty=1, email="one@example.com")
    world.pickup_order(qty=1, email="two@example.com")
    store, atomic_depths = DatabaseBackend._task_to_db_task, []

    def watched(self, *args, **kwargs):
        atomic_depths.append(len(connection.savepoint_ids))  # the test's own transaction is the outer block
        return store(self, *args, **kwargs)

    monkeypatch.setattr(DatabaseBackend, "_task_to_db_task", watched)
    with django_capture_on_commit_callbacks(execute=True):
        facility_reject_all(facility=world.brooklyn, from_status="OPEN", reason_code="INACTIVE_STORE")
    assert len(atomic_depths) == 2 and all(depth == 1 for depth in atomic_depths)  # both inside one atomic block
    assert mail.outbox == [] and DBTaskResult.objects.filter(task_path__endswith="notification_send").count() == 2
    assert Notification.objects.filter(status=Notification.Status.QUEUED).count() == 2  # stored, for the worker
    assert_inventory_invariant()


def test_a_failed_send_is_recorded_retried_and_never_undoes_the_rejection(world, django_capture_on_commit_callbacks, monkeypatch):
    from django.core.mail import EmailMultiAlternatives

    calls = []

    def broken_send(self, fail_silently=False):
        calls.append(self.to)
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", broken_send)
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    assert len(calls) == settings.NOTIFICATION_SEND_ATTEMPTS
    notification = Notification.objects.get()
    assert notification.status == "FAILED" and notification.attempts == settings.NOTIFICATION_SEND_ATTEMPTS
    assert "SMTP server down" in notification.error
    assert item.status == OrderItem.Status.UNROUTED and item.rejections.count() == 1
    assert_inventory_invariant()


# -- the link ----------------------------------------------------------------------------------------------------------


def test_the_page_shows_the_item_and_the_stores_that_can_take_the_whole_line_nearest_first(world, client, django_capture_on_commit_callbacks):
    world.reject_pickup(django_capture_on_commit_callbacks)
    response = client.get(link_path(mail.outbox[0]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 × Fleece hoodie" in html and "Katherine Johnson" in html
    stores = [o.facility.code for o in response.context["stores"]]
    assert stores == ["MANHATTAN", "QUEENS"]  # not Brooklyn (rejected it), Hoboken (1 < 2), Edison (warehouse)
    assert "5.8 km away · 4 in stock" in html
    for name in ("Pick up at another store", "Ship to my address instead", "Cancel this item"):
        assert f">{name}</button>" in html
    assert "<script>" not in html and "style=" not in html


def test_the_page_runs_a_fixed_number_of_queries_however_many_stores(world, client, django_capture_on_commit_callbacks,
                                                                    django_assert_max_num_queries):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    with django_assert_max_num_queries(3):  # the choice with its item, the rejecting stores, the levels with stores
        assert len(client.get(path).context["stores"]) == 2
    for n in range(6):
        store = FacilityFactory(code=f"MORE{n}", latitude=40.7 + n / 100, longitude=-73.95)
        inventory_receive(facility=store, product=world.hoodie, quantity=5)
    with django_assert_max_num_queries(3):
        assert len(client.get(path).context["stores"]) == 8
    assert item.status == "UNROUTED"


def test_a_tampered_link_is_refused_and_changes_nothing(world, client, django_capture_on_commit_callbacks):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    token = path.split("/")[-2]
    other = pickup_choice_token(item.pk + 1000)
    forged = token.split(":")[0].replace("M", "N", 1) + ":" + ":".join(token.split(":")[1:])  # another id, old signature
    for bad in (forged, token[:-2], other.split(":")[0] + ":" + token.split(":", 1)[1], "x", "%s:%s" % (token, "1")):
        url = reverse("pickup-choice", args=[bad])
        response = client.post(url, {"action": "CANCEL"})
        assert response.status_code == 400, bad
        assert "This link is not valid" in response.content.decode()
    item.refresh_from_db()
    assert item.status == OrderItem.Status.UNROUTED and PickupChoice.objects.get().is_waiting


def test_an_expired_link_answers_410(world, client, django_capture_on_commit_callbacks, monkeypatch):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    later = time.time() + settings.PICKUP_CHOICE_LINK_DAYS * 86400 + 60
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    response = client.post(path, {"action": "CANCEL"})
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode() and settings.CUSTOMER_SERVICE_EMAIL in response.content.decode()
    item.refresh_from_db()
    assert item.status == OrderItem.Status.UNROUTED


def test_a_used_link_cannot_be_replayed(world, client, django_capture_on_commit_callbacks):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(path, {"action": "CANCEL"}).status_code == 200
    for response in (client.get(path), client.post(path, {"action": "SHIP", "address": "1 Main St", "city": "NYC", "postal_code": "10001"})):
        assert response.status_code == 410
        assert "already used" in response.content.decode() and "Cancelled by the customer" in response.content.decode()
    item.refresh_from_db()
    assert item.status == OrderItem.Status.CANCELLED


def test_a_newer_rejection_replaces_the_older_link(world, client, django_capture_on_commit_callbacks):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    first = link_path(mail.outbox[0])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(first, {"action": "OTHER_STORE", "facility": world.manhattan.pk})
    item.refresh_from_db()
    assert item.facility == world.manhattan
    with django_capture_on_commit_callbacks(execute=True):
        item_reject(facility=world.manhattan, item_id=item.pk, reason_code="DAMAGED")
    second = link_path(mail.outbox[-1])
    assert second != first and client.get(first).status_code == 410 and client.get(second).status_code == 200


# -- the three choices -------------------------------------------------------------------------------------------------


def test_pick_up_at_another_store_routes_it_there_with_the_customers_choice_as_trigger(world, client, django_capture_on_commit_callbacks):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, {"action": "OTHER_STORE", "facility": world.queens.pk})
    assert response.status_code == 200
    assert "will be ready for pickup at Queens" in response.content.decode()
    item.refresh_from_db()
    assert (item.status, item.facility, item.shipping_method, item.pickup_facility) == ("OPEN", world.queens, "STORE_PICKUP", world.queens)
    assert item.order.pickup_facility == world.brooklyn  # the order keeps its own pickup store
    assert atp(world.queens, world.hoodie) == 0 and atp(world.manhattan, world.hoodie) == 4
    decision = item.routing_decisions.order_by("-pk").first()
    assert (decision.trigger, decision.outcome, decision.chosen_facility) == ("CUSTOMER_CHOICE", "ROUTED", world.queens)
    choice = PickupChoice.objects.get()
    assert (choice.outcome, choice.chosen_facility) == ("OTHER_STORE", world.queens) and choice.used_at
    assert mail.outbox[-1].subject.endswith("your choice is confirmed")
    assert_inventory_invariant()


def test_ship_to_my_address_makes_it_a_shipped_item_routed_by_the_rules(world, client, django_capture_on_commit_callbacks):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    response = client.post(path, {"action": "SHIP", "address": "12 Court St", "city": "Brooklyn", "postal_code": "11201"})
    assert response.status_code == 200 and "will be shipped to your address" in response.content.decode()
    item.refresh_from_db()
    assert (item.status, item.shipping_method, item.pickup_facility_id) == ("OPEN", "STANDARD", None)
    assert item.facility == world.manhattan  # nearest with the whole line; never Brooklyn, which rejected it
    decision = item.routing_decisions.order_by("-pk").first()
    assert decision.trigger == "CUSTOMER_CHOICE" and "Nearest facility" in decision.rule_name
    choice = PickupChoice.objects.get()
    assert (choice.outcome, choice.ship_to_address, choice.ship_to_postal_code) == ("SHIP", "12 Court St", "11201")
    associate = UserFactory()
    MembershipFactory(user=associate, facility=world.manhattan)
    client.force_login(associate)
    assert "ship it to the customer (standard), not pickup" in client.get(reverse("orders-open")).content.decode()
    assert_inventory_invariant()


def test_cancel_this_item_cancels_it_and_touches_no_stock(world, client, django_capture_on_commit_callbacks):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    ledger_rows = InventoryAdjustment.objects.count()
    levels = list(InventoryLevel.objects.order_by("pk").values_list("quantity_on_hand", "available_to_promise"))
    response = client.post(path, {"action": "CANCEL"})
    assert response.status_code == 200 and "is cancelled" in response.content.decode()
    item.refresh_from_db()
    assert (item.status, item.facility_id) == ("CANCELLED", None)
    decision = item.routing_decisions.order_by("-pk").first()
    assert (decision.outcome, decision.trigger, decision.chosen_facility_id) == ("CANCELLED", "CUSTOMER_CHOICE", None)
    assert InventoryAdjustment.objects.count() == ledger_rows  # a parked item holds no reservation: nothing to undo
    assert list(InventoryLevel.objects.order_by("pk").values_list("quantity_on_hand", "available_to_promise")) == levels
    assert_inventory_invariant()


@pytest.mark.parametrize(
    "data, error",
    [
        ({"action": "OTHER_STORE"}, "Choose a store."),
        ({"action": "SHIP", "address": "", "city": "NYC", "postal_code": "10001"}, "Enter your street address."),
        ({"action": "EXPLODE"}, "Choose one of the options below."),
        ({"action": "OTHER_STORE", "facility": "99999999999999999999999"}, "less than or equal"),
    ],
)
def test_bad_input_gets_a_message_and_changes_nothing(world, client, django_capture_on_commit_callbacks, data, error):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    response = client.post(link_path(mail.outbox[0]), data)
    assert response.status_code == 400 and error in response.content.decode()
    item.refresh_from_db()
    assert item.status == "UNROUTED" and PickupChoice.objects.get().is_waiting


def test_a_store_that_cannot_take_it_any_more_gets_a_message_and_the_link_still_works(world, client, django_capture_on_commit_callbacks):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    for facility in (world.hoboken, world.edison):  # 1 unit only; a warehouse (no pickup)
        response = client.post(path, {"action": "OTHER_STORE", "facility": facility.pk})
        assert response.status_code in (400, 409)
    assert "can no longer take the whole line" in client.post(path, {"action": "OTHER_STORE", "facility": world.hoboken.pk}).content.decode()
    item.refresh_from_db()
    assert item.status == "UNROUTED" and not item.routing_decisions.filter(trigger="CUSTOMER_CHOICE").exists()
    assert client.post(path, {"action": "OTHER_STORE", "facility": world.manhattan.pk}).status_code == 200
    assert_inventory_invariant()


def test_an_item_the_store_handled_meanwhile_answers_410(world, client, django_capture_on_commit_callbacks):
    from fulfillment.services import items_route
    from routing.models import RoutingRule

    item = world.reject_pickup(django_capture_on_commit_callbacks, reason="INACTIVE_STORE")
    RoutingRule.objects.update(exclude_rejecting_facilities=False)
    assert items_route(item_ids=[item.pk]).routed == 1  # staff routed it back to Brooklyn
    response = client.post(link_path(mail.outbox[0]), {"action": "CANCEL"})
    assert response.status_code == 410 and "already taken care of" in response.content.decode()
    item.refresh_from_db()
    assert item.status == "OPEN" and item.facility == world.brooklyn
    assert_inventory_invariant()


# -- where staff see it ------------------------------------------------------------------------------------------------


def test_the_order_page_lists_the_emails(world, client, django_capture_on_commit_callbacks):
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    user = UserFactory()
    MembershipFactory(user=user, facility=world.brooklyn)
    client.force_login(user)
    response = client.get(reverse("order-detail", args=[item.order_id]))
    html = response.content.decode()
    assert "Emails to the customer" in html and "katherine@example.com" in html
    assert "Pickup store could not fulfil: customer&#x27;s choice" in html and "Sent" in html


def test_notifications_and_choices_are_read_only_in_admin(world, admin_client, django_capture_on_commit_callbacks):
    world.reject_pickup(django_capture_on_commit_callbacks)
    notification = Notification.objects.get()
    for model, obj in (("notification", notification), ("pickupchoice", PickupChoice.objects.get())):
        assert admin_client.get(reverse(f"admin:fulfillment_{model}_changelist")).status_code == 200
        page = admin_client.get(reverse(f"admin:fulfillment_{model}_change", args=[obj.pk]))
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
        assert admin_client.get(reverse(f"admin:fulfillment_{model}_add")).status_code == 403


# -- side records never block a rejection ----------------------------------------------------------------------------


def test_a_long_store_and_order_name_never_block_the_rejection_the_subject_fits_its_column(world, django_capture_on_commit_callbacks):
    """A 120-character store name and a 32-character order name made the subject longer than its 200-character column:
    the Save answered 500 and the item could not be rejected at all (PostgreSQL)."""
    Facility.objects.filter(pk=world.brooklyn.pk).update(name="B" * 120)
    world.brooklyn.refresh_from_db()
    item = world.reject_pickup(django_capture_on_commit_callbacks, name="#" + "9" * 31)

    assert item.status == OrderItem.Status.UNROUTED
    notification = Notification.objects.get(order_item=item)
    assert len(notification.subject) <= Notification._meta.get_field("subject").max_length
    assert notification.subject.startswith("Order #9999") and notification.subject.endswith("…")
    assert notification.status == Notification.Status.SENT and len(mail.outbox) == 1
    assert_inventory_invariant()


def test_a_line_break_stored_in_a_store_name_never_stops_the_email(world, django_capture_on_commit_callbacks):
    """A store name with CR/LF (saved before names were checked) made every pickup email of that store fail."""
    Facility.objects.filter(pk=world.brooklyn.pk).update(name="Brooklyn\r\nBcc: everyone@example.com")
    world.brooklyn.refresh_from_db()
    item = world.reject_pickup(django_capture_on_commit_callbacks)

    notification = Notification.objects.get(order_item=item)
    assert "\n" not in notification.subject and "\r" not in notification.subject
    assert notification.status == Notification.Status.SENT, notification.error
    assert mail.outbox[0].subject == notification.subject and mail.outbox[0].bcc == []
    assert_inventory_invariant()


def test_a_notification_the_database_refuses_never_undoes_the_rejection(world, django_capture_on_commit_callbacks, monkeypatch):
    """Rule: a side record can never make the business change fail. The rejection stays, the failure is logged."""
    from django.db import DataError
    from django.db.models.query import QuerySet

    real_bulk_create = QuerySet.bulk_create

    def refusing(self, objs, *args, **kwargs):
        if self.model is Notification:
            raise DataError("value too long for type character varying(200)")
        return real_bulk_create(self, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", refusing)
    item = world.reject_pickup(django_capture_on_commit_callbacks)

    assert item.status == OrderItem.Status.UNROUTED and item.facility_id is None
    assert PickupChoice.objects.filter(order_item=item).exists() and not Notification.objects.exists()
    assert_inventory_invariant()


def test_a_store_number_in_other_digits_is_refused_like_everywhere_else(world, client, django_capture_on_commit_callbacks):
    """The pickup form read facility=١ (an Arabic-Indic digit) as store 1; the rest of the app takes ASCII digits only."""
    item = world.reject_pickup(django_capture_on_commit_callbacks)
    arabic = str(world.manhattan.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    response = client.post(link_path(mail.outbox[0]), {"action": "OTHER_STORE", "facility": arabic})
    assert response.status_code == 400 and "digits 0-9" in response.content.decode()
    item.refresh_from_db()
    assert item.status == "UNROUTED" and PickupChoice.objects.get().is_waiting
    assert_inventory_invariant()
