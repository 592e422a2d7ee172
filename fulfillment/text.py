"""The words the admin, the imports, the commands and the pages use: one formatter per service summary, and the
parsing rules for numbers and text typed into files or on command lines."""

import re

ASCII_INTEGER = re.compile(r"[+-]?[0-9]+")
MAX_INT32 = 2**31 - 1  # the largest quantity or count a database integer column holds
# C0 control characters except tab (NUL, backspace, escape, ... and line breaks inside a field), and DEL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def parse_ascii_integer(value: str) -> int | None:
    """``int(value)`` for ASCII digits only (with an optional sign); None for anything else.

    Python's ``int()`` also reads other scripts' digits ("١٢" is 12) and underscores ("1_000"); a number typed into a
    file or on a command line must be plain digits 0-9.
    """
    value = value.strip()
    if not ASCII_INTEGER.fullmatch(value):
        return None
    return int(value)


def first_control_character(value: str) -> str | None:
    """The first control character in ``value`` as ``U+0000``, or None."""
    match = CONTROL_CHARACTERS.search(value)
    return f"U+{ord(match.group()):04X}" if match else None


def format_counts(counts: dict[str, int]) -> str:
    """Per-facility counts, biggest first: {"QUEENS": 1, "MANHATTAN": 2} -> "MANHATTAN 2, QUEENS 1"."""
    return ", ".join(f"{code} {n}" for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def route_summary_text(summary, *, scope: str = "") -> str:
    """What routing parked items did (a RouteSummary):
    'Routed 3 of 4 parked item(s) (MANHATTAN 2, QUEENS 1); still parked: 1.'"""
    considered = summary.routed + summary.parked
    counts = f" ({format_counts(summary.rerouted)})" if summary.rerouted else ""
    return f"Routed {summary.routed} of {considered} parked item(s){scope}{counts}; still parked: {summary.parked}."


def items_reject_summary_text(summary, *, reason_label: str) -> str:
    """What rejecting selected items did (an ItemsRejectSummary), e.g.
    'Rejected 2 item(s) as “Damaged” and 1 more by the facility's rejection policy. Re-routed: 2 (QUEENS 2); parked: 1.'"""
    message = f"Rejected {summary.rejected} item(s) as “{reason_label}”"
    if summary.collateral:
        message += f" and {summary.collateral} more by the facility's rejection policy"
    counts = f" ({format_counts(summary.rerouted)})" if summary.rerouted else ""
    return f"{message}. Re-routed: {sum(summary.rerouted.values())}{counts}; parked: {summary.parked}."
