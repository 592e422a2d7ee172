"""Run one management command and report this process's peak memory (VmHWM, else ru_maxrss) as JSON on the last line.

    DATABASE_URL=... python tests/performance/memory_probe.py route_orders [args...]
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


def main() -> None:
    before_kib = _peak_kib()
    started = time.monotonic()
    call_command(*sys.argv[1:])
    elapsed = time.monotonic() - started
    print(json.dumps({"peak_mib": _peak_kib() / 1024, "before_mib": before_kib / 1024, "seconds": elapsed}))


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
