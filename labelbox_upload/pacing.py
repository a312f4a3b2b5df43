"""Time limits and request pacing shared by every request of an upload job."""

from __future__ import annotations

import threading
import time

from labelbox_upload.errors import DeadlineExceededError


class Deadline:
    """A point in monotonic time; `remaining()` seconds until it."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - time.monotonic()


class Pacer:
    """A token bucket shared by every request of a job: at most `per_minute` a minute on
    average, bursts up to one second's worth."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, deadline: Deadline) -> None:
        """Take one token, waiting for it; DeadlineExceededError if it would come too late."""
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                wait = (1.0 - self._tokens) / self.rate
            if wait > deadline.remaining():
                raise DeadlineExceededError("request pacing would pass the deadline")
            time.sleep(wait)
