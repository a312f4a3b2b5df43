"""Reading ahead: the next tables of a file read on a thread while the caller works on the last.

Parquet's decoding runs in Arrow's C++ without the GIL, so a row group read on another thread
overlaps the Python that checks, keys and packs the one before; `read_ahead` keeps up to
`depth` items read ahead of the caller, in order. Measured on keyframer at 5M rows (2 cores,
four alternating runs each, depth 3, with a first version of this): 10-second clips
6.88-7.31 -> 6.21-6.75 s, 1-minute videos 5.90-6.20 -> 5.50-5.73 s, long videos 5.90-6.86 ->
5.46-6.28 s; the main thread's wait for the next row group 0.6 s -> 0.02 s (0.17-0.20 s at
depth 1, 0.10 s at 2). The same read ahead made the Beam-free floor slower (5.34-5.59 ->
5.56-5.67 s), so the floor reads in turn.

What it costs: the tables read ahead, held decoded (bounded by a count and a weight, rows for
the reader), and a thread per file being read.
"""

from __future__ import annotations

import collections
import concurrent.futures
import math
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


def read_ahead(
    items: Iterator[T],
    depth: int,
    weight: Callable[[T], float] = lambda _: 0.0,
    budget: float = math.inf,
) -> Iterator[T]:
    """`items` in order; from the second on, each read on a worker thread before the caller
    asks for it: up to `depth` items ahead, and no more once the items read ahead weigh
    `budget` (an item still being read counted as the last one read weighed), but always one,
    so a file of large row groups is read one row group ahead (the first item is read on the
    caller's thread: its weight is known before any is read ahead). `depth` < 1: every item
    read on the caller's thread, as asked.

    An exception raised reading an item is raised here, after every item before it; closing
    this generator early waits for the item being read, then closes `items` (the file it reads
    can then be closed safely).
    """
    first = next(items, _END)
    if first is _END:
        return
    if depth < 1:
        yield first
        yield from items
        return
    last = weight(first)  # what the last item read weighed

    def weight_of(future: concurrent.futures.Future) -> float:
        if not future.done():  # being read: as the last one
            return last
        if future.exception() is not None or future.result() is _END:
            return 0.0
        return weight(future.result())

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="keyframer-read") as pool:
        # One worker: the reads run one after another, in order.
        pending: collections.deque[concurrent.futures.Future] = collections.deque()

        def fill() -> None:
            while len(pending) < depth and (not pending or sum(map(weight_of, pending)) < budget):
                pending.append(pool.submit(next, items, _END))

        try:
            item = first
            while item is not _END:
                fill()  # the next ones are read while the caller works on this one
                yield item
                item = pending.popleft().result()
                if item is not _END:
                    last = weight(item)
        finally:
            for future in pending:
                future.cancel()
            concurrent.futures.wait(pending)
            close = getattr(items, "close", None)
            if close is not None:
                close()
