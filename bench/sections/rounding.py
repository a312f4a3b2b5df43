"""Coordinate rounding: keyframer end to end on full-precision 1-minute videos, exact against
--coordinate_decimals N: what it saves in NDJSON bytes and in time."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from bench.datasets.presets import SHAPES
from bench.harness.progress import Progress
from bench.harness.results import Result
from bench.harness.sizes import size_label
from bench.harness.tables import format_table
from bench.sections.context import data_for_spec
from bench.sections.variants import run_variants

ROUNDING_SHAPE = "minute"  # the shape whose coordinates have every digit
ROUNDING_DECIMALS = (None, 3, 2, 0)  # None: exact (the default)


@dataclass
class RoundingReport:
    rows: int
    runs: dict[int | None, Result]  # by --coordinate_decimals (None: off)


def bench_rounding(args: argparse.Namespace, progress: Progress) -> RoundingReport:
    """keyframer at each of ROUNDING_DECIMALS, interleaved, `args.repeat` times."""
    rows = args.rounding_size
    spec = SHAPES[ROUNDING_SHAPE].spec(rows)
    data, _ = data_for_spec(args, spec, progress)
    rounded = ", ".join(str(d) for d in ROUNDING_DECIMALS[1:])
    progress(f"rounding at {size_label(rows)}: keyframer exact and with {rounded} decimals")
    variants = {
        d: ("(exact)", [])
        if d is None
        else (f"--coordinate_decimals {d}", ["--coordinate_decimals", str(d)])
        for d in ROUNDING_DECIMALS
    }
    return RoundingReport(rows, run_variants(args, data, rows, "rounding", variants, progress))


def report_rounding(r: RoundingReport, args: argparse.Namespace) -> str:
    """NDJSON bytes and time of each rounding against exact coordinates."""
    exact = r.runs[None]
    rows = []
    for decimals, run in r.runs.items():
        c = run.counts
        rows.append(
            [
                "exact" if decimals is None else str(decimals),
                f"{c.get('lines', 0):,}",
                f"{c.get('bytes', 0):,}",
                f"{c['bytes'] / exact.counts['bytes']:.3f}" if exact.counts.get("bytes") else "-",
                run.wall_cell(),
                f"{run.cpu_s:.2f}",
                f"{run.wall_s / exact.wall_s:.2f}x",
                f"{run.cpu_s / exact.cpu_s:.2f}x" if exact.cpu_s else "-",
                f"{run.rss_mib:,.0f}",
            ]
        )
    headers = ["decimals", "lines", "NDJSON bytes", "bytes this/exact", "wall s", "CPU s",
               "wall vs exact", "CPU vs exact", "peak RSS MiB"]  # fmt: skip
    first = (
        f"Coordinate rounding, keyframer end to end on {size_label(r.rows)} rows of the "
        f"{ROUNDING_SHAPE} shape (full-precision float64 coordinates; medians of {args.repeat}): "
        f"--coordinate_decimals N against exact output; lines and bytes from each run's manifest:"
    )
    return "\n".join([first, format_table(headers, rows)])
