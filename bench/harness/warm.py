"""Touch the machine's memory once before measuring: a virtual machine's first write to a page
costs far more than the work being measured.

Measured on this machine class (a 2-core VM): the first write to memory no process had used
since boot ran at 2.6-2.9 s a GiB, a later one at ~0.15 s a GiB; one 400 MB write once took
20 s. Without a warm-up, one 5M-row run of the floor took 8.6 s cold and 4.75 s warm: first
touches, not the code, set the figure. The guest kernel hands freed pages out again most
recent first, so a child started after the warm-up mostly gets warm pages; but data
generation and the page cache of the files written take pages too, so 4 GiB does not cover
every run (a floor run by hand right after a `make bench` took 8.3 s with 3.4 s of system
time, then 6.1 s with 0.9 s). The warm-up runs in a child process that holds every block until
all are written, then exits and frees them.
"""

from __future__ import annotations

import subprocess
import sys
import time

_TOUCH = """
import sys
blocks = []
for _ in range(int(sys.argv[1])):
    block = bytearray(1 << 30)          # zero pages: not touched yet
    block[::4096] = b"\\x01" * (len(block) // 4096)   # one write a page touches it
    blocks.append(block)
"""


def warm_memory(gib: int) -> float:
    """Write one byte in every page of `gib` GiB in a child process; the seconds it took."""
    start = time.perf_counter()
    if gib > 0:
        subprocess.run([sys.executable, "-c", _TOUCH, str(gib)], check=True)
    return time.perf_counter() - start
