"""Every command of the project: a bad argument (argparse's own errors included) exits with status 1 and a message,
empty option values are errors, numbers are ASCII digits — and nothing changes."""

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class

from fulfillment.management.base import BaseCommand
from fulfillment.models import Order, OrderItem, Rejection
from inventory.models import Facility, InventoryAdjustment
from routing.models import RoutingDecision
from tests.factories import FacilityFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PROJECT_APPS = {"fulfillment", "inventory", "routing"}
PROJECT_COMMANDS = sorted(name for name, app in get_commands().items() if app in PROJECT_APPS)

BAD_ARGUMENTS = [
    ("import_inventory", []),
    ("import_inventory", [""]),
    ("import_inventory", ["file.csv", "--reference", ""]),
    ("import_inventory", ["file.csv", "--bogus"]),
    ("import_orders", []),
    ("import_orders", ["  "]),
    ("import_orders", ["a.csv", "b.csv"]),
    ("reject_orders", []),
    ("reject_orders", ["--facility", "BROOKLYN", "--reason", "DAMAGED"]),
    ("reject_orders", ["--facility", "", "--status", "open", "--reason", "DAMAGED"]),
    ("reject_orders", ["--facility", "BROOKLYN", "--status", "", "--reason", "DAMAGED"]),
    ("reject_orders", ["--facility", "BROOKLYN", "--status", "open", "--reason", ""]),
    ("reject_orders", ["--facility", "BROOKLYN", "--status", "open", "--reason", "DAMAGED", "--user", ""]),
    ("reject_orders", ["--facility", "BROOKLYN", "--status", "open", "--reason", "DAMAGED", "--order", ""]),
    ("reject_orders", ["--facility", "BRO\x00OKLYN", "--status", "open", "--reason", "DAMAGED"]),
    ("route_orders", ["--facility", ""]),
    ("route_orders", ["--facility"]),
    ("route_orders", ["--nope"]),
    ("route_orders", ["extra"]),
    ("seed_demo", ["--nope"]),
    ("seed_volume", ["--facilities", "١٢"]),
    ("seed_volume", ["--facilities", "0"]),
    ("seed_volume", ["--orders", "99999999999999999999"]),
    ("seed_volume", ["--products", ""]),
    # accepted silently or a traceback before: every argument is range-checked
    ("run_worker", ["--interval", "-1"]),
    ("run_worker", ["--interval", "nan"]),
    ("run_worker", ["--interval", "1e309"]),
    ("run_worker", ["--interval", "0"]),
    ("run_worker", ["--max-backoff", "-5"]),
    ("run_worker", ["--sweep-every", "nan"]),
    ("run_worker", ["--sweep-every", "١"]),
    ("run_worker", ["--queue-name", ""]),
    ("resume_bulk_rejections", ["--stale-after", "9223372036854775808"]),
    ("resume_bulk_rejections", ["--stale-after", "-5"]),
    ("resume_bulk_rejections", ["--stale-after", "1e3"]),
]


def snapshot() -> tuple:
    return (
        Facility.objects.count(), Order.objects.count(), OrderItem.objects.count(), Rejection.objects.count(),
        InventoryAdjustment.objects.count(), RoutingDecision.objects.count(),
    )


def test_every_project_command_uses_the_base_command():
    assert {"import_inventory", "import_orders", "reject_orders", "route_orders", "seed_demo", "seed_volume"} <= set(
        PROJECT_COMMANDS
    )
    for name in PROJECT_COMMANDS:
        assert isinstance(load_command_class(get_commands()[name], name), BaseCommand), name


@pytest.mark.parametrize("name,args", BAD_ARGUMENTS, ids=[f"{n} {' '.join(map(repr, a))}" for n, a in BAD_ARGUMENTS])
def test_a_bad_argument_exits_1_with_a_message_and_changes_nothing(name, args, capsys):
    FacilityFactory(code="BROOKLYN")
    before = snapshot()
    command = load_command_class(get_commands()[name], name)

    with pytest.raises(SystemExit) as exit_:
        command.run_from_argv(["manage.py", name, *args])

    err = capsys.readouterr().err
    assert exit_.value.code == 1, err
    assert err.startswith("CommandError: ") and f"usage: manage.py {name}" in err
    assert "Traceback" not in err
    assert snapshot() == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["route_orders", "--facility", ""], "argument --facility: must not be empty"),
        (["reject_orders", "--facility", "BROOKLYN", "--reason", "DAMAGED"], "the following arguments are required: --status"),
        (["seed_volume", "--facilities", "١٢"], "argument --facilities: '١٢' is not a whole number (digits 0-9)"),
        (["seed_volume", "--facilities", "10000"], "argument --facilities: 10000 is out of range (1 to 9999)"),
        (["reject_orders", "--facility", "A\x1bB", "--status", "open", "--reason", "DAMAGED"],
         "argument --facility: contains the control character U+001B"),
    ],
)
def test_the_message_says_what_is_wrong(args, message):
    with pytest.raises(CommandError) as error:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    assert message in str(error.value)


def test_help_still_exits_0(capsys):
    command = load_command_class("fulfillment", "route_orders")
    with pytest.raises(SystemExit) as exit_:
        command.run_from_argv(["manage.py", "route_orders", "--help"])
    assert exit_.value.code == 0
    assert "--facility" in capsys.readouterr().out


def test_on_the_real_command_line_a_missing_argument_exits_1():
    result = subprocess.run(
        [sys.executable, "manage.py", "reject_orders", "--facility", "BROOKLYN"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "CommandError: the following arguments are required: --status, --reason" in result.stderr
    assert "Traceback" not in result.stderr
