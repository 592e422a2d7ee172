"""Run one management command and report this process's peak memory (VmHWM, else ru_maxrss) as JSON on the last line.

    DATABASE_URL=... python tests/performance/memory_probe.py [--batches N] route_orders [args...]

With ``--batches N`` the command is stopped once N batches have committed (after its N-th progress report; the bulk
commands report after every batch): the peak is then that of the first N batches, and the JSON also has the peak after
the 5th batch (``peak_mib_early``), to show whether it still grows while the command runs.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillment.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

EARLY_BATCH = 5


class Enough(Exception):
    """The command has run its N batches."""


def main() -> None:
    args = sys.argv[1:]
    max_batches = None
    if args[:1] == ["--batches"]:
        max_batches, args = int(args[1]), args[2:]
    report = {"before_mib": _peak_kib() / 1024}
    if max_batches is not None:
        _stop_after(max_batches, report)
    started = time.monotonic()
    try:
        call_command(*args)
    except Enough:
        pass
    report.update(peak_mib=_peak_kib() / 1024, seconds=time.monotonic() - started)
    print(json.dumps(report))


def _stop_after(max_batches: int, report: dict) -> None:
    """Count the progress reports (one after each batch) and stop the command at the N-th."""
    from fulfillment.progress import ProgressBar

    update = ProgressBar.update
    calls = 0

    def counted(bar, done, total):
        nonlocal calls
        update(bar, done, total)
        calls += 1
        report.update(batches=calls, done=done, total=total)
        if calls == EARLY_BATCH:
            report["peak_mib_early"] = _peak_kib() / 1024
        if calls >= max_batches:
            raise Enough

    ProgressBar.update = counted


def _peak_kib() -> int:
    """This process's peak resident memory. VmHWM when the kernel has it: ru_maxrss survives exec on Linux, so in a
    child of a big process (pytest) it can report the parent's size instead of ours."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


if __name__ == "__main__":
    main()
