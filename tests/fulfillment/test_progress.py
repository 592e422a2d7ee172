"""The management commands' progress bar: drawn on a terminal, silent when output is redirected."""

import io

from django.core.management.base import OutputWrapper

from fulfillment.progress import ProgressBar


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_silent_when_the_stream_is_not_a_terminal():
    stream = io.StringIO()
    with ProgressBar("Rejecting", stream=stream) as bar:
        bar.update(0, 10)
        bar.update(10, 10)
    assert stream.getvalue() == ""


def test_draws_on_a_terminal_and_ends_the_line():
    stream = FakeTTY()
    with ProgressBar("Rejecting", stream=stream, min_interval=0) as bar:
        bar.update(500, 2000)
        bar.update(2000, 2000)
    out = stream.getvalue()
    assert "Rejecting [" in out and "500/2,000  25%" in out and "2,000/2,000 100%" in out
    assert out.count("\r") == 2 and out.endswith("\n")


def test_redraws_at_most_every_interval_but_always_at_the_end():
    stream = FakeTTY()
    bar = ProgressBar("Routing", stream=stream, min_interval=3600)
    for done in range(0, 1000, 100):
        bar.update(done, 1000)
    bar.update(1000, 1000)
    bar.close()
    assert stream.getvalue().count("\r") == 2  # the first draw and the final 100%


def test_unwraps_djangos_output_wrapper_so_no_newline_is_added_per_draw():
    stream = FakeTTY()
    with ProgressBar("Rejecting", stream=OutputWrapper(stream), min_interval=0) as bar:
        bar.update(1, 4)
    assert stream.getvalue().count("\n") == 1  # only the one close() writes
