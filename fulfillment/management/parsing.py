"""Bad command-line arguments exit with status 1 (argparse's default is 2), like every other error of our commands."""

from django.core.management.base import CommandParser


class ExitOneParser(CommandParser):
    def exit(self, status=0, message=None):
        super().exit(1 if status == 2 else status, message)


class ExitOneOnBadArguments:
    """Mixin for a BaseCommand: its parser reports bad arguments (unknown option, missing value) with exit status 1."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = ExitOneParser
        return parser
