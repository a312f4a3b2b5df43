"""The memory and CPU of a whole process tree (a program and its workers), sampled from /proc."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

TREE_SAMPLE_SECONDS = 0.1


@dataclass
class TreeSample:
    """What TreeSampler saw of a process and its descendants."""

    peak_rss_kib: int = 0  # the largest sum, over the tree, of the processes' RSS
    peak_procs: int = 0  # the most processes alive in the tree at once
    cpu_s: float = 0.0  # user + system, the last value seen of each process, summed
    samples: int = 0


class TreeSampler:
    """Samples a process tree from /proc every `interval` seconds, in a thread.

    Each sample sums the RSS (/proc/PID/stat) of the root and of every descendant (found by
    parent pid), so worker processes count; shared pages are counted once per process. Peaks
    shorter than the interval can be missed: for one process, rusage's ru_maxrss is exact.
    """

    def __init__(self, pid: int, interval: float = TREE_SAMPLE_SECONDS) -> None:
        """Sample the tree rooted at `pid` (once started, as a context manager)."""
        self.pid = pid
        self.interval = interval
        self.result = TreeSample()
        self._cpu_ticks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
        self._ticks = os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> TreeSampler:
        """Start sampling in a thread."""
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> None:
        """Take one sample: the tree's summed RSS, its process count and its CPU time."""
        stats = _proc_stats()
        if self.pid not in stats:
            return
        tree = _descendants(self.pid, stats)
        rss_kib = sum(stats[pid][1] for pid in tree) * self._page_kib
        for pid in tree:
            self._cpu_ticks[pid] = stats[pid][2]
        r = self.result
        r.peak_rss_kib = max(r.peak_rss_kib, rss_kib)
        r.peak_procs = max(r.peak_procs, len(tree))
        r.cpu_s = sum(self._cpu_ticks.values()) / self._ticks
        r.samples += 1


def _proc_stats() -> dict[int, tuple[int, int, int]]:
    """Every process's (parent pid, RSS pages, CPU ticks), from /proc/PID/stat."""
    stats: dict[int, tuple[int, int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue  # gone meanwhile
        fields = raw[raw.rindex(b")") + 2 :].split()  # after "pid (comm) "
        stats[int(entry.name)] = (
            int(fields[1]),
            int(fields[21]),
            int(fields[11]) + int(fields[12]),
        )
    return stats


def _descendants(root: int, stats: dict[int, tuple[int, int, int]]) -> list[int]:
    """`root` and every process below it (by parent pid)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree
