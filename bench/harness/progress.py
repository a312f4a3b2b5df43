"""Progress lines on stdout, and the machine's load."""

from __future__ import annotations

import os
import time


class Progress:
    """Prints `[elapsed] message` lines (elapsed since the benchmark started), flushed."""

    def __init__(self, quiet: bool = False) -> None:
        """Start the clock; `quiet` prints nothing."""
        self.start = time.perf_counter()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        """Print one line."""
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            print(f"[{elapsed:7.1f} s] {message}", flush=True)


def load_note() -> str:
    """The load averages and CPU count, for the log (a busy machine skews timings)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"
