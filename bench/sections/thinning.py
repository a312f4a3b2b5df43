"""Keyframe thinning: keyframer end to end with --keyframe_tolerance against none, and
bench/thinning_bench.py's bbox scenarios (thinning alone, in this process)."""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
from dataclasses import dataclass

from bench.harness.children import ROOT
from bench.harness.progress import Progress
from bench.harness.results import Result
from bench.harness.sizes import size_label
from bench.harness.tables import format_table
from bench.sections.context import data_for
from bench.sections.variants import run_variants

THINNING_TOLERANCES = (None, "iou:0.9", "px:2")
THINNING_SCENARIOS = ("bbox:iou:0.9", "bbox:px:2")  # bench/thinning_bench.py's ids
THINNING_FRAMES, THINNING_SEED, THINNING_GREEDY = 1800, 0, 10


@dataclass
class ThinningReport:
    """keyframer's runs by tolerance and thinning_bench's scenario results."""

    rows: int
    runs: dict[str | None, Result]  # by tolerance (None: no thinning)
    scenarios: list  # bench.thinning_bench.ScenarioResult
    tracks: int
    compile_seconds: float | None  # the kernels' first call in a child (None: numpy search)


_WARM_UP = (
    "from transforms.core.thinning import compiled; "
    "print(compiled.warm_up() if compiled.AVAILABLE else -1)"
)


def compile_thinning() -> float | None:
    """Compile the thinning kernels into numba's cache (or load them from it) in a child, so no
    timed run pays the one-time compilation; its seconds (None when the search is numpy)."""
    out = subprocess.run(
        [sys.executable, "-c", _WARM_UP], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    seconds = float(out)
    return None if seconds < 0 else seconds


def bench_thinning(args: argparse.Namespace, progress: Progress) -> ThinningReport:
    """keyframer at each of THINNING_TOLERANCES (interleaved, `args.repeat` times), then
    bench/thinning_bench.py's THINNING_SCENARIOS in this process."""
    rows = args.thinning_size
    label = size_label(rows)
    data, _ = data_for(args, rows, progress=progress)
    progress(
        f"thinning at {label}: keyframer with no thinning, {', '.join(THINNING_TOLERANCES[1:])}"
    )
    compile_seconds = compile_thinning()
    if compile_seconds is not None:
        progress(f"thinning kernels compiled or loaded from numba's cache: {compile_seconds:.1f} s")
    variants = {
        tol: (
            f"--keyframe_tolerance {tol or '(none)'}",
            ["--keyframe_tolerance", tol] if tol else [],
        )
        for tol in THINNING_TOLERANCES
    }
    runs = run_variants(args, data, rows, "thinning", variants, progress)

    from bench import thinning_bench

    chosen = thinning_bench.select(
        thinning_bench.scenarios(args.thinning_tracks, THINNING_GREEDY), list(THINNING_SCENARIOS)
    )
    results = []
    for scenario, greedy in chosen:
        progress(f"thinning_bench {scenario.id}: {scenario.tracks} tracks of {THINNING_FRAMES}")
        r = thinning_bench.measure(scenario, THINNING_FRAMES, THINNING_SEED, greedy)
        progress(
            f"thinning_bench {scenario.id}: {r.compression:.1f}x, {r.wall_ms.mean():.1f} ms/track"
        )
        results.append(r)
    return ThinningReport(rows, runs, results, args.thinning_tracks, compile_seconds)


def _max_error(counts: dict) -> str:
    parts = []
    if "max_error_iou" in counts:
        parts.append(f"1-IoU {counts['max_error_iou']:.4f}")
    if "max_error_px" in counts:
        parts.append(f"px {counts['max_error_px']:.3f}")
    return ", ".join(parts) or "-"


def _tolerance_row(tol: str | None, r: Result, none: Result, base_bytes: int) -> list[str]:
    c = r.counts
    kf_in, kf_out = c.get("keyframes_in", 0), c.get("keyframes", 0)
    extra_us = (r.cpu_s - none.cpu_s) / kf_in * 1e6 if kf_in else math.nan
    return [
        tol or "none",
        f"{c.get('segments', 0):,}",
        f"{kf_in:,}",
        f"{kf_out:,}",
        f"{kf_in / kf_out:.2f}x" if kf_out else "-",
        _max_error(c),
        f"{c.get('bytes', 0):,}",
        f"{base_bytes / c['bytes']:.2f}x" if c.get("bytes") else "-",
        r.wall_cell(),
        f"{r.cpu_s:.2f}",
        f"{r.wall_s / none.wall_s:.2f}x",
        f"{r.cpu_s / none.cpu_s:.2f}x" if none.cpu_s else "-",
        "-" if tol is None else f"{extra_us:.1f}",
        f"{r.rss_mib:,.0f}",
    ]


def _end_to_end(t: ThinningReport, args: argparse.Namespace) -> str:
    none = t.runs[None]
    base_bytes = none.counts.get("bytes", 0)
    rows = [_tolerance_row(tol, r, none, base_bytes) for tol, r in t.runs.items()]
    headers = ["tolerance", "segments", "keyframes in", "keyframes out", "compression", "max error",
               "NDJSON bytes", "bytes none/this", "wall s", "CPU s", "wall vs none",
               "CPU vs none", "extra CPU us/kf", "peak RSS MiB"]  # fmt: skip
    first = (
        f"Keyframe thinning, keyframer end to end on {size_label(t.rows)} rows ({args.videos} "
        f"videos x {args.tracks} tracks; medians of {args.repeat}): keyframes, compression, "
        f"largest error and NDJSON bytes from each run's manifest.json; 'vs none' = time over "
        f"the run without thinning; extra CPU us/kf = CPU time added per input keyframe; a segment "
        f"always keeps its first and last keyframes:"
    )
    if t.compile_seconds is None:
        first += "\nSearch: numpy (numba not installed, or KEYFRAMER_THINNING=numpy)."
    else:
        first += (
            f"\nSearch: compiled (numba). Before these runs, a child process compiled the kernels "
            f"or loaded them from numba's cache in {t.compile_seconds:.1f} s (cold: once per "
            f"machine; each run here loads the cache, ~0.5 s)."
        )
    return "\n".join([first, format_table(headers, rows)])


def _alone(t: ThinningReport) -> str:
    rows = [
        [
            r.scenario.name,
            str(r.tolerance),
            f"{r.tracks}",
            f"{r.keyframes_in:,}",
            f"{r.keyframes_out:,}",
            f"{r.compression:.1f}x",
            r.error_text,
            f"{r.wall_ms.mean():.1f}",
            f"{statistics.median(r.wall_ms):.1f}",
            f"{r.wall_ms.max():.1f}",
            f"{r.cpu_ms.mean():.1f}",
            f"{r.cpu_ms.mean() * 1e3 / r.frames:.1f}",
            f"{r.greedy_ratio:.2f}x" if r.greedy_ratio is not None else "-",
        ]
        for r in t.scenarios
    ]
    headers = ["scenario", "tolerance", "tracks", "keyframes in", "keyframes out",
               "compression", "max error (limit)", "ms/track mean", "p50", "max",
               "CPU ms/track", "CPU us/kf", "greedy keeps"]  # fmt: skip
    first = (
        f"Thinning alone (bench/thinning_bench.py, scenarios {', '.join(THINNING_SCENARIOS)}: "
        f"{t.tracks} smooth-with-noise tracks of {THINNING_FRAMES} frames, seed "
        f"{THINNING_SEED}; times per track, wall clock unless CPU; greedy keeps: keyframes kept "
        f"by extend-until-first-failure greedy over ours, first {THINNING_GREEDY} tracks):"
    )
    return "\n".join([first, format_table(headers, rows)])


def report_thinning(t: ThinningReport, args: argparse.Namespace) -> str:
    """The end-to-end thinning table and the thinning-alone table."""
    return "\n".join([_end_to_end(t, args), "", _alone(t)])
