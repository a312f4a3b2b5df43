"""The comparison section's tables: throughput, same-run ratios, shapes, per-key cost."""

from __future__ import annotations

import argparse

from bench.harness.programs import FLOOR, KEYFRAMER, NAIVE
from bench.harness.results import Result, cpu_ratio, ratio, round_ratio
from bench.harness.sizes import size_label
from bench.harness.tables import format_table
from bench.sections.comparison import ShapeRun


def _throughput(runs: list[ShapeRun], args: argparse.Namespace) -> str:
    headers = ["program", "videos", "rows", "rows/s", "wall s", "CPU s", "peak RSS MiB"]
    table = [
        [f"{run.label} {program}", f"{run.spec.videos:,}", *result.cells()]
        for run in runs
        for program, result in run.results.items()
    ]
    first = (
        f"Throughput (whole-process wall time, medians of {args.repeat}; CPU = the child's user "
        f"+ system time; one Parquet file; outputs byte-identical in every run). Shapes:"
    )
    shapes = sorted({run.shape for run in runs}, key=lambda s: args.shapes.index(s.name))
    legend = [f"  {s.name}: {s.description}" for s in shapes]
    return "\n".join([first, *legend, format_table(headers, table)])


def _naive_reference(run: ShapeRun, runs: list[ShapeRun]) -> ShapeRun | None:
    """The largest run of the same shape, no larger than `run`, where naive ran."""
    same = [
        r for r in runs if r.shape == run.shape and r.get(NAIVE) and r.spec.rows <= run.spec.rows
    ]
    return max(same, key=lambda r: r.spec.rows, default=None)


def _per_row_cpu_ratio(a: Result | None, b: Result | None) -> str:
    """b's CPU per row over a's (the runs may be of different sizes)."""
    if not a or not b or a.cpu_s <= 0:
        return "-"
    return f"{(b.cpu_s / b.rows) / (a.cpu_s / a.rows):.2f}x"


def _ratios(runs: list[ShapeRun]) -> str:
    rows = []
    for run in runs:
        kf, ref = run.get(KEYFRAMER), _naive_reference(run, runs)
        naive = ref.get(NAIVE) if ref else None
        rows.append(
            [
                run.label,
                ratio(kf, run.get(FLOOR)),
                round_ratio(kf, run.get(FLOOR)),
                cpu_ratio(kf, run.get(FLOOR)),
                size_label(ref.spec.rows) if ref else "-",
                ratio(kf, naive),
                _per_row_cpu_ratio(kf, naive),
            ]
        )
    headers = ["shape size", "keyframer/floor", "by round", "CPU: keyframer/floor", "naive at",
               "keyframer/naive", "CPU per row: keyframer/naive"]  # fmt: skip
    first = (
        "Same-run ratios of throughput (target at 5M: keyframer/floor >= 0.8x on every shape): "
        "of the medians, and 'by round', the median (range) of each round's ratio, the two "
        "programs run one after the other; keyframer/naive is keyframer's rows/s at this size "
        "over naive's at 'naive at' (its per-row cost is flat):"
    )
    return "\n".join([first, format_table(headers, rows)])


def _shape_ratios(runs: list[ShapeRun]) -> str | None:
    by = {(r.shape.name, r.spec.rows): r for r in runs}
    sizes = sorted({r.spec.rows for r in runs})
    rows = []
    for n in sizes:
        long = by.get(("long", n))
        for name in ("minute", "clip"):
            other = by.get((name, n))
            if long and other:
                rows.append(
                    [
                        f"{name} / long {size_label(n)}",
                        ratio(other.get(FLOOR), long.get(FLOOR)),
                        round_ratio(other.get(FLOOR), long.get(FLOOR)),
                        cpu_ratio(other.get(FLOOR), long.get(FLOOR)),
                        ratio(other.get(KEYFRAMER), long.get(KEYFRAMER)),
                        cpu_ratio(other.get(KEYFRAMER), long.get(KEYFRAMER)),
                    ]
                )
    if not rows:
        return None
    first = (
        "Shapes against long videos, same run (rows/s over rows/s at the same size; by round: "
        "each round's ratio, median (range); CPU: long videos' CPU seconds over the shape's; "
        "target for the floor: >= 0.85x):"
    )
    headers = ["shapes", "floor", "floor by round", "CPU: floor", "keyframer", "CPU: keyframer"]
    return "\n".join([first, format_table(headers, rows)])


def _per_key(per_key: list[ShapeRun]) -> str:
    few, many = per_key[0], per_key[-1]
    added = many.spec.videos - few.spec.videos
    rows = []
    for program in (KEYFRAMER, FLOOR):
        a, b = few.get(program), many.get(program)
        rows.append(
            [
                program,
                f"{a.cpu_s:.2f}",
                f"{b.cpu_s:.2f}",
                f"{b.cpu_s / a.cpu_s:.2f}x" if a.cpu_s else "-",
                f"{(b.cpu_s - a.cpu_s) / added * 1e3:.2f}" if added else "-",
            ]
        )
    headers = ["program", f"CPU s, {few.spec.videos} videos", f"CPU s, {many.spec.videos} videos",
               "CPU ratio", "extra CPU ms per video"]  # fmt: skip
    first = (
        f"Per-key cost: {size_label(few.spec.rows)} rows of the minute shape as "
        f"{few.spec.videos} and as {many.spec.videos} videos (the same rows in more keys: a "
        f"video has ~3 (data row, feature) keys, the scene radio and its features person and "
        f"car; tracks are columns within a key):"
    )
    return "\n".join([first, format_table(headers, rows)])


def report_comparison(
    runs: list[ShapeRun], per_key: list[ShapeRun], args: argparse.Namespace
) -> str:
    """The throughput, ratio, shape and per-key tables."""
    parts = [_throughput(runs, args), "", _ratios(runs)] if runs else []
    shapes = _shape_ratios(runs)
    if shapes:
        parts += ["", shapes]
    if per_key:
        parts += ["", _per_key(per_key)]
    return "\n".join(parts).lstrip("\n")
