"""The three programs the benchmark compares, their command lines, and measuring one run.

- keyframer end to end (`python -m pipeline ... --runner DirectRunner`),
- the floor (`python -m bench.floor`): the same core without Beam,
- the naive Beam pipeline (`python -m bench.naive`): one element per row.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.harness.children import run_child
from bench.harness.progress import Progress
from bench.harness.results import Measurement

KEYFRAMER, FLOOR, NAIVE = "keyframer", "floor", "naive"
PROGRAMS = (KEYFRAMER, FLOOR, NAIVE)
FRAME_BASE = 0


def program_argv(program: str, data: Path, output: Path, extra: Sequence[str] = ()) -> list[str]:
    """The command line of one of PROGRAMS on a data set (a file or a per-video directory)."""
    if program == KEYFRAMER:
        source = str(data / "*.parquet") if data.is_dir() else str(data)
        module, runner = "pipeline", ["--runner", "DirectRunner"]
    elif program in (FLOOR, NAIVE):
        source, module, runner = str(data), f"bench.{program}", []
    else:
        raise ValueError(f"unknown program {program!r}")
    return [
        sys.executable,
        "-m",
        module,
        "--input",
        source,
        "--output",
        str(output),
        "--frame_base",
        str(FRAME_BASE),
        *runner,
        *extra,
    ]


def floor_argv(data: Path, output: Path, max_gap_frames: int) -> list[str]:
    """The floor's command line with --max_gap_frames `max_gap_frames` (keyframer's meaning)."""
    return program_argv(FLOOR, data, output, ["--max_gap_frames", str(max_gap_frames)])


def read_counts(output: Path) -> dict | None:
    """keyframer's manifest.json "counts" in `output` (None without a manifest)."""
    try:
        return json.loads((output / "manifest.json").read_text())["counts"]
    except (OSError, ValueError, KeyError):
        return None


def _report(name: str, m: Measurement, progress: Progress) -> None:
    """One progress line with the run's figures."""
    tree_note = ""
    if m.tree:
        tree_note = (
            f"; process tree: peak {m.tree.peak_rss_kib / 1024:,.0f} MiB summed RSS, "
            f"{m.tree.peak_procs} processes, {m.tree.cpu_s:.1f} s CPU sampled"
        )
    progress(
        f"{name}: {m.wall_s:.1f} s ({m.cpu_s:.1f} s CPU), {m.rows_per_s:,.0f} rows/s, "
        f"peak RSS {m.rss_mib:,.0f} MiB{tree_note}"
    )


def run_program(
    program: str,
    data: Path,
    rows: int,
    output: Path,
    *,
    extra: Sequence[str] = (),
    name: str | None = None,
    progress: Progress | None = None,
    argv: Sequence[str] | None = None,
    tree: bool = False,
) -> Measurement:
    """Run one program on `data` into a fresh `output` directory and measure it.

    `argv` replaces the program's usual command line (program_argv); `tree` samples the whole
    process tree's RSS as well (Measurement.tree). keyframer's manifest counts are read.
    """
    name = name or program
    if output.exists():
        shutil.rmtree(output)
    log = output.parent / f"{output.name}.log"
    if progress:
        progress(f"{name}: running")
    argv = list(argv) if argv is not None else program_argv(program, data, output, extra)
    run = run_child(name, argv, log, progress, tree=tree)
    counts = read_counts(output) if program == KEYFRAMER else None
    m = Measurement(
        program, rows, run.wall_s, run.maxrss_kib, run.cpu_s, output, log, counts, run.tree
    )
    if progress:
        _report(name, m, progress)
    return m
