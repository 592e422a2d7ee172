"""A terminal progress bar for management commands: drawn on stderr when it is a terminal, silent otherwise.

Usage in a command (the services take an optional ``progress(done, total)`` callback)::

    with ProgressBar("Rejecting", stream=self.stderr) as bar:
        summary = services.facility_reject_all(..., progress=bar.update)

``bar.update(done, total)`` may be called as often as wanted: it redraws at most every 0.1 s (and always at 100%).
Output redirected to a file or a pipe (cron, CI, tests) gets no bar at all, only the command's summary.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    def __init__(self, label: str, *, stream: TextIO | None = None, enabled: bool | None = None, min_interval: float = 0.1):
        self.label = label
        stream = stream if stream is not None else sys.stderr
        self.stream = getattr(stream, "_out", stream)  # Django's OutputWrapper would append a newline to every write
        self.enabled = _is_tty(self.stream) if enabled is None else enabled
        self.min_interval = min_interval
        self.started = time.monotonic()
        self._last_draw: float | None = None
        self._drawn = False

    def render(self, done: int, total: int) -> str:
        """The bar's text, e.g. ``Rejecting [#########.....................]  3,000/10,000  30%  1.2 s``."""
        total = max(total, 0)
        fraction = 1.0 if total == 0 else min(1.0, max(0.0, done / total))
        filled = int(round(WIDTH * fraction))
        elapsed = time.monotonic() - self.started
        return (
            f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done:,}/{total:,} {fraction * 100:3.0f}%  {elapsed:.1f} s"
        )

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and self._last_draw is not None and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self.stream.write("\r" + self.render(done, total) + "\033[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
