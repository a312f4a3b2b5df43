"""Measurements of programs, and their medians over repeated runs."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness.tree import TreeSample


@dataclass
class Measurement:
    """One run of one program: wall time and the child's peak RSS.

    counts: keyframer's manifest.json "counts" (None for the other programs).
    tree: the process tree's sampled figures, when asked for (run_program(tree=True)).
    """

    program: str
    rows: int
    wall_s: float
    maxrss_kib: int
    cpu_s: float
    output: Path
    log: Path
    counts: dict | None = None
    tree: TreeSample | None = None

    @property
    def rows_per_s(self) -> float:
        """Rows per second of wall time."""
        return self.rows / self.wall_s if self.wall_s > 0 else math.inf

    @property
    def rss_mib(self) -> float:
        """Peak RSS in MiB."""
        return self.maxrss_kib / 1024


@dataclass
class Result:
    """All runs of one program at one size (medians are reported)."""

    label: str
    runs: list[Measurement] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows per run."""
        return self.runs[0].rows

    @property
    def wall_s(self) -> float:
        """Median wall seconds."""
        return statistics.median(m.wall_s for m in self.runs)

    @property
    def rows_per_s(self) -> float:
        """Rows per second of median wall time."""
        return self.rows / self.wall_s

    @property
    def rss_mib(self) -> float:
        """Median peak RSS, MiB."""
        return statistics.median(m.rss_mib for m in self.runs)

    @property
    def cpu_s(self) -> float:
        """Median CPU seconds (user + system)."""
        return statistics.median(m.cpu_s for m in self.runs)

    @property
    def counts(self) -> dict:
        """The last run's manifest counts (the same in every run), or {}."""
        return self.runs[-1].counts or {}

    @property
    def tree_rss_mib(self) -> float:
        """Median peak summed RSS of the process tree, MiB."""
        return statistics.median(m.tree.peak_rss_kib / 1024 for m in self.runs if m.tree)

    @property
    def tree_cpu_s(self) -> float:
        """Median CPU seconds of the process tree (samples)."""
        return statistics.median(m.tree.cpu_s for m in self.runs if m.tree)

    @property
    def tree_procs(self) -> int:
        """The most processes seen at once."""
        return max(m.tree.peak_procs for m in self.runs if m.tree)

    def wall_cell(self) -> str:
        """The median wall time, with the range when there were several runs."""
        spread = ""
        if len(self.runs) > 1:
            walls = [m.wall_s for m in self.runs]
            spread = f" ({min(walls):.1f}-{max(walls):.1f})"
        return f"{self.wall_s:.2f}{spread}"

    def cells(self) -> list[str]:
        """Table cells: rows, rows/s, wall s, CPU s, peak RSS MiB."""
        return [
            f"{self.rows:,}",
            f"{self.rows_per_s:,.0f}",
            self.wall_cell(),
            f"{self.cpu_s:.2f}",
            f"{self.rss_mib:,.0f}",
        ]


def ratio(a: Result | None, b: Result | None) -> str:
    """a's throughput over b's (by wall time)."""
    return f"{a.rows_per_s / b.rows_per_s:.2f}x" if a and b else "-"


def round_ratios(a: Result, b: Result) -> list[float]:
    """a's throughput over b's in each round: the i-th run of one against the i-th of the other
    (`run_rounds` runs every program on every data set once a round; two programs on one data
    set one after the other), so a minute in which the VM is slow falls on both sides of a
    ratio rather than on one median."""
    return [
        (ra.rows / ra.wall_s) / (rb.rows / rb.wall_s)
        for ra, rb in zip(a.runs, b.runs, strict=True)
        if ra.wall_s > 0 and rb.wall_s > 0
    ]


def round_ratio(a: Result | None, b: Result | None) -> str:
    """`round_ratios` as a cell: their median, with their range when there were several."""
    ratios = round_ratios(a, b) if a and b else []
    if not ratios:
        return "-"
    spread = f" ({min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else ""
    return f"{statistics.median(ratios):.2f}x{spread}"


def cpu_ratio(a: Result | None, b: Result | None) -> str:
    """The same by CPU time (b's CPU seconds over a's): less sensitive to a busy machine."""
    return f"{b.cpu_s / a.cpu_s:.2f}x" if a and b and a.cpu_s > 0 else "-"
