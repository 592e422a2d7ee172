"""What every command of the project shares: bad arguments exit with status 1 and a message, argparse's own included.

Django's parser exits with status 2 (argparse's default) on a missing or unknown argument, while the README promises 1
for every bad argument. ``BaseCommand`` here turns every parser error into a ``CommandError`` (status 1, the message
and the usage on stderr), and the argument types below refuse empty values and non-ASCII digits at parse time.
"""

from __future__ import annotations

import argparse
import math
import sys

from django.core.management.base import BaseCommand as DjangoBaseCommand
from django.core.management.base import CommandError

from fulfillment.text import MAX_INT32, first_control_character, parse_ascii_integer


def non_empty(value: str) -> str:
    """An option value that must say something: ``--facility ""`` is an error, not "every facility"."""
    value = value.strip()
    if not value:
        raise argparse.ArgumentTypeError("must not be empty")
    if character := first_control_character(value):
        raise argparse.ArgumentTypeError(f"contains the control character {character}")
    return value


def whole_number(minimum: int = 0, maximum: int = MAX_INT32):
    """An argparse type: a whole number in ASCII digits between ``minimum`` and ``maximum``."""

    def parse(value: str) -> int:
        number = parse_ascii_integer(value)
        if number is None:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number (digits 0-9)")
        if not minimum <= number <= maximum:
            raise argparse.ArgumentTypeError(f"{number} is out of range ({minimum} to {maximum})")
        return number

    parse.__name__ = "whole number"
    return parse


def seconds(minimum: float, maximum: float):
    """An argparse type: a number of seconds in ASCII (``0.5``, ``2``) between ``minimum`` and ``maximum``; not NaN,
    not infinite, not negative unless the range says so."""

    def parse(value: str) -> float:
        text = value.strip()
        if not text.isascii() or not all(c.isdigit() or c == "." for c in text) or text.count(".") > 1 or text in ("", "."):
            raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds (digits 0-9, e.g. 0.5 or 2)")
        number = float(text)
        if not math.isfinite(number) or not minimum <= number <= maximum:
            raise argparse.ArgumentTypeError(f"{text} is out of range ({minimum:g} to {maximum:g} seconds)")
        return number

    parse.__name__ = "seconds"
    return parse


class BaseCommand(DjangoBaseCommand):
    """A management command whose bad arguments (argparse's errors included) exit with status 1 and a message."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message: str):
            raise CommandError(f"{message}\n{parser.format_usage().rstrip()}", returncode=1)

        parser.error = error
        return parser

    def run_from_argv(self, argv):
        try:
            super().run_from_argv(argv)
        except CommandError as exc:  # raised while parsing: errors of handle() are reported by Django itself
            if "--traceback" in argv:
                raise
            self.stderr.write(f"CommandError: {exc}")
            sys.exit(exc.returncode)
