"""Small text helpers shared by the admin, the imports and the management commands."""

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
