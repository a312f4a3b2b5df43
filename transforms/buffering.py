"""Per-window buffers for DoFns that gather a bundle's elements before emitting them.

KeyRows, the line stager and the dead-letter stager gather elements across a bundle to
write fewer, larger pieces. A bundle may hold elements of several windows (in streaming it
usually does), so each window has its own buffer, and what a buffer emits goes to its own
window, stamped with the window's end, as Beam's own `_WindowAwareBatchingDoFn` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from apache_beam.transforms.window import BoundedWindow
from apache_beam.utils.windowed_value import WindowedValue

T = TypeVar("T")


class WindowedBuffers(Generic[T]):
    """Items buffered per window, flushed when a window's buffer reaches `limit` (in the
    units `size` measures) and at the end of the bundle."""

    def __init__(self, limit: int, size: Callable[[T], int]):
        self._limit = limit
        self._size = size
        self._items: dict[BoundedWindow, list[T]] = {}
        self._sizes: dict[BoundedWindow, int] = {}

    def add(self, window: BoundedWindow, item: T) -> list[T] | None:
        """Buffer `item`; return the window's items when its buffer is full (else None)."""
        items = self._items.setdefault(window, [])
        items.append(item)
        self._sizes[window] = self._sizes.get(window, 0) + self._size(item)
        if self._sizes[window] >= self._limit:
            return self.take(window)
        return None

    def take(self, window: BoundedWindow) -> list[T]:
        self._sizes.pop(window, None)
        return self._items.pop(window, [])

    def drain(self) -> Iterator[tuple[BoundedWindow, list[T]]]:
        """Every window's remaining items (at the end of a bundle)."""
        for window in list(self._items):
            yield window, self.take(window)


def in_window(value: object, window: BoundedWindow) -> WindowedValue:
    """`value` as an output of `window`, at the window's end."""
    return WindowedValue(value, window.max_timestamp(), (window,))
