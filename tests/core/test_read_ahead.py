"""read_ahead: items in order, read on a worker thread, never more than asked ahead, errors and
early closing where the caller expects them."""

from __future__ import annotations

import threading
import time

import pytest

from transforms.core.read_ahead import read_ahead


class Source:
    """A generator's items 0..n-1 that records which thread read each and how many were read;
    raises `fail` in place of item `fail_at`."""

    def __init__(self, n: int, fail_at: int | None = None, fail: Exception | None = None):
        self.n, self.fail_at, self.fail = n, fail_at, fail
        self.read = 0
        self.threads: list[str] = []  # the thread that read each item
        self.closed = False

    def __iter__(self):
        try:
            for i in range(self.n):
                self.threads.append(threading.current_thread().name)
                if i == self.fail_at:
                    raise self.fail
                self.read += 1
                yield i
        finally:
            self.closed = True


def _settle(source: Source, expected: int, timeout: float = 5.0) -> int:
    """How many items `source` has read once the worker has had time to reach `expected`."""
    deadline = time.monotonic() + timeout
    while source.read < expected and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.02)  # time for one read too many, were the bound not kept
    return source.read


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_every_item_in_order(depth):
    assert list(read_ahead(iter(Source(50)), depth)) == list(range(50))


def test_the_first_item_on_the_callers_thread_the_rest_on_a_worker():
    caller = threading.current_thread().name
    ahead = Source(5)
    assert list(read_ahead(iter(ahead), 2)) == list(range(5))
    assert ahead.threads[0] == caller
    assert all(name.startswith("keyframer-read") for name in ahead.threads[1:])
    in_turn = Source(5)
    assert list(read_ahead(iter(in_turn), 0)) == list(range(5))
    assert in_turn.threads == [caller] * 5


def test_never_more_than_depth_items_ahead_of_the_caller():
    source = Source(20)
    items = read_ahead(iter(source), 3)
    for i in range(10):
        assert next(items) == i
        # While the caller holds item i, items i+1..i+3 are read and no more.
        assert _settle(source, min(i + 4, 20)) == i + 4
    items.close()


def test_a_budget_stops_reading_ahead_once_the_items_read_ahead_weigh_it():
    source = Source(20)
    # Each item weighs 10; a budget of 25 allows three ahead (10 + 10 < 25, then 30 >= 25).
    items = read_ahead(iter(source), 5, weight=lambda _: 10, budget=25)
    assert next(items) == 0
    assert _settle(source, 4) == 4
    # Items heavier than the budget: one ahead, never more (a file of huge row groups never has
    # `depth` of them decoded at once).
    heavy = Source(20)
    items = read_ahead(iter(heavy), 5, weight=lambda _: 100, budget=25)
    for i in range(5):
        assert next(items) == i
        assert _settle(heavy, i + 2) == i + 2
    items.close()


def test_an_error_is_raised_after_every_item_before_it():
    source = Source(10, fail_at=4, fail=OSError("bad row group"))
    got = []
    with pytest.raises(OSError, match="bad row group"):
        for item in read_ahead(iter(source), 3):
            got.append(item)
    assert got == [0, 1, 2, 3]
    assert source.closed


def test_closing_early_stops_reading_and_closes_the_source():
    source = Source(1000)
    items = read_ahead(iter(source), 3)
    assert next(items) == 0
    items.close()
    assert source.closed
    read = source.read
    time.sleep(0.05)
    assert source.read == read <= 4
    assert not [t for t in threading.enumerate() if t.name.startswith("keyframer-read")]


def test_closing_while_an_item_is_being_read_waits_for_it():
    """The source is closed only once the worker is out of it (a generator cannot be closed
    while it runs, and the file it reads is closed next)."""
    reached, release = threading.Event(), threading.Event()
    closed = []

    def slow():
        try:
            for i in range(10):
                if i == 2:
                    reached.set()
                    release.wait(5)
                yield i
        finally:
            closed.append(threading.current_thread().name)

    items = read_ahead(slow(), 3)
    assert next(items) == 0
    assert reached.wait(5)  # the worker is now held reading item 2
    threading.Timer(0.05, release.set).start()
    items.close()
    assert release.is_set() and closed == [threading.current_thread().name]
