"""Stream the rejections CSV of the whole chain over the last N days to /dev/null; report rows/s and peak memory.

    DATABASE_URL=... python tests/performance/csv_probe.py 90
"""

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillment.settings")

import django  # noqa: E402

django.setup()

from django.http import QueryDict  # noqa: E402
from django.utils import timezone  # noqa: E402

from fulfillment.reports.csv import csv_response  # noqa: E402
from fulfillment.reports.filters import RejectionFilter  # noqa: E402
from inventory.models import Facility  # noqa: E402
from tests.performance.memory_probe import _peak_kib  # noqa: E402


def main() -> None:
    days = int(sys.argv[1])
    today = timezone.now().date()
    data = QueryDict(mutable=True)
    data.update({"date_from": (today - timedelta(days=days - 1)).isoformat(), "date_to": today.isoformat()})
    before = _peak_kib()
    started = time.monotonic()
    filterset = RejectionFilter(data, facilities=list(Facility.objects.order_by("code")))
    assert filterset.is_valid(), filterset.errors
    lines, size = 0, 0
    with open(os.devnull, "wb") as sink:
        for chunk in csv_response(filterset.qs, "x.csv").streaming_content:
            sink.write(chunk)
            lines += 1
            size += len(chunk)
    elapsed = time.monotonic() - started
    print(json.dumps({"rows": lines - 1, "bytes": size, "seconds": elapsed, "peak_mib": _peak_kib() / 1024,
                      "before_mib": before / 1024}))


if __name__ == "__main__":
    main()
