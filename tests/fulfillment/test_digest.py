"""`send_digest`: what the operations digest says (text and HTML), bad arguments, dry run, one per recipient and day."""

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from fulfillment.models import Notification, ParkedItemPolicy
from fulfillment.services import item_reject
from fulfillment.services.parked import parked_items_cancel_stale
from inventory.services import inventory_receive
from tests.factories import FacilityFactory, ProductFactory, order_placed
from tests.support import assert_inventory_invariant

pytestmark = pytest.mark.django_db


@pytest.fixture
def day_of_work(django_capture_on_commit_callbacks):
    """Today: Brooklyn rejects a pickup item (waiting for the customer) and a shipped one (parked); one old parked
    item is cancelled."""
    brooklyn = FacilityFactory(code="BROOKLYN", name="Brooklyn", latitude=40.6843, longitude=-73.9772)
    mug, tee, old = ProductFactory(sku="MUG-CER-12"), ProductFactory(sku="TEE-ORG-M"), ProductFactory(sku="OLD-1")
    for product in (mug, tee, old):
        inventory_receive(facility=brooklyn, product=product, quantity=2)
    pickup = order_placed(near=brooklyn, lines=[(mug, 1)], shipping_method="STORE_PICKUP", pickup_facility=brooklyn).items.get()
    shipped = order_placed(near=brooklyn, lines=[(tee, 1)]).items.get()
    stale = order_placed(near=brooklyn, lines=[(old, 1)]).items.get()
    with django_capture_on_commit_callbacks(execute=True):
        item_reject(facility=brooklyn, item_id=pickup.pk, reason_code="DAMAGED")
        item_reject(facility=brooklyn, item_id=shipped.pk, reason_code="NOT_IN_STOCK")
        item_reject(facility=brooklyn, item_id=stale.pk, reason_code="NOT_IN_STOCK")
        type(stale).objects.filter(pk=stale.pk).update(parked_since=timezone.now() - dt.timedelta(days=9))
        ParkedItemPolicy.objects.create(cancel_after_days=5)
        assert len(parked_items_cancel_stale()) == 1
    mail.outbox.clear()
    return timezone.now().date()


def digest(*args, today=None) -> str:
    out = StringIO()
    call_command("send_digest", *args, stdout=out)
    return out.getvalue()


def test_the_digest_reports_the_day_in_text_and_html(day_of_work, django_capture_on_commit_callbacks, monkeypatch):
    tomorrow = day_of_work + dt.timedelta(days=1)
    monkeypatch.setattr("django.utils.timezone.now", lambda: dt.datetime.combine(tomorrow, dt.time(6), tzinfo=dt.UTC))
    with django_capture_on_commit_callbacks(execute=True):
        out = digest("--to", "ops@example.com", "--to", "lead@example.com")  # default: yesterday
    assert f"Digest for {day_of_work}: 3 rejected, 2 parked, 1 waiting for the customer, 1 cancelled." in out
    assert sorted(m.to[0] for m in mail.outbox) == ["lead@example.com", "ops@example.com"]
    message = mail.outbox[0]
    assert "Brooklyn — Not in stock: 2" in message.body and "Brooklyn — Damaged: 1" in message.body
    assert "TEE-ORG-M" in message.body and "MUG-CER-12: asked" in message.body
    assert "OLD-1: Cancelled: parked 9 days" in message.body
    html = message.alternatives[0][0]
    assert "<td>Brooklyn</td><td>Not in stock</td><td>2</td>" in html and "Items cancelled on" in html


def test_a_repeat_run_sends_nothing_twice(day_of_work, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        digest("--to", "ops@example.com", "--date", str(day_of_work - dt.timedelta(days=1)))
        out = digest("--to", "ops@example.com", "--to", "new@example.com", "--date", str(day_of_work - dt.timedelta(days=1)))
    assert "Already sent for" in out and "ops@example.com" in out.split("Already sent")[1]
    assert [m.to[0] for m in mail.outbox] == ["ops@example.com", "new@example.com"]
    assert "0 rejected" in mail.outbox[0].subject


def test_dry_run_sends_nothing(day_of_work, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        out = digest("--to", "ops@example.com", "--date", str(day_of_work - dt.timedelta(days=1)), "--dry-run")
    assert "Would send to: ops@example.com" in out
    assert mail.outbox == [] and not Notification.objects.filter(kind="DIGEST").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--to", "ops@example.com", "--date", "2026-13-01"], "is not a date: use YYYY-MM-DD"),
        (["--to", "ops@example.com", "--date", "yesterday"], "is not a date"),
        (["--to", "not-an-email"], "Not an email address: not-an-email"),
        ([], "No recipients"),
        (["--to", "ops@example.com", "--date", "2999-01-01"], "is not over yet"),
    ],
)
def test_bad_arguments_get_a_clear_message_and_change_nothing(day_of_work, args, message, django_capture_on_commit_callbacks):
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError, match=message):
        digest(*args)
    assert Notification.objects.count() == before and mail.outbox == []
    assert_inventory_invariant()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["send_digest", "--date", "31/12/2026", "--to", "a@example.com"], "is not a date"),
        (["send_digest", "--bogus"], "unrecognized arguments: --bogus"),
        (["send_digest", "--to"], "expected one argument"),
        (["cancel_stale_parked", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_exit_1_from_the_shell(tmp_path, argv, message):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "manage.py", *argv], capture_output=True, text=True, cwd=root,
                            env={"SQLITE_PATH": str(tmp_path / "empty.sqlite3"), "PATH": ""})
    assert result.returncode == 1 and message in result.stderr
