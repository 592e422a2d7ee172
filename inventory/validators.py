"""Validators for text that people type into names (facility, product, order and customer names, labels).

A name is one line: it ends up in email subjects and headers, CSV cells and page titles, where a CR/LF or another
control character breaks the message (an email with a line break in its subject cannot be sent) or the layout.
"""

import re

from django.core.exceptions import ValidationError

# C0 control characters (tab and line breaks included) and DEL.
NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")


def validate_single_line(value: str) -> None:
    """Refuse line breaks and other control characters in a name."""
    match = NOT_ONE_LINE.search(value or "")
    if match:
        character = match.group()
        what = "a line break" if character in "\r\n" else f"the control character U+{ord(character):04X}"
        raise ValidationError(f"Names are one line of text: this one contains {what}.", code="control_character")


def single_line(value: str, max_length: int) -> str:
    """Text made fit for a one-line column of ``max_length``: control characters become spaces and a longer text is
    cut with an ellipsis. For side records (a notification's subject) built from stored names."""
    text = " ".join(NOT_ONE_LINE.sub(" ", value or "").split())
    return text if len(text) <= max_length else text[: max_length - 1].rstrip() + "…"
