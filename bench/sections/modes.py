"""Runner modes (`--modes`): keyframer in-process, multi_threading and multi_processing (2
workers), single file and per-video --complete_per_file; memory is the whole process tree's
(workers included), sampled every 0.1 s."""

from __future__ import annotations

import argparse
import shutil

from bench.datasets.cache import PER_VIDEO, SINGLE
from bench.harness.compare import compare_outputs
from bench.harness.programs import KEYFRAMER, run_program
from bench.harness.progress import Progress, load_note
from bench.harness.results import Result
from bench.harness.sizes import size_label
from bench.harness.tables import format_table
from bench.harness.tree import TREE_SAMPLE_SECONDS
from bench.sections.context import data_for

_MP = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
_MT = ["--direct_running_mode=multi_threading", "--direct_num_workers=2"]
MODES = (
    ("single file, in-process (default)", SINGLE, []),
    ("single file, multi_threading x2", SINGLE, _MT),
    ("single file, multi_processing x2", SINGLE, _MP),
    ("per-video --complete_per_file, in-process", PER_VIDEO, ["--complete_per_file"]),
    (
        "per-video --complete_per_file, multi_processing x2",
        PER_VIDEO,
        ["--complete_per_file", *_MP],
    ),
)


def bench_modes(args: argparse.Namespace, progress: Progress) -> list[tuple[str, Result]]:
    """keyframer in each of MODES at `args.modes_size`, sampling the process tree; every
    output is checked against the first's."""
    rows = args.modes_size
    label = size_label(rows)
    modes = [m for m in MODES if m[1] == SINGLE or args.per_file_ok]
    results = [(name, Result(label)) for name, _, _ in modes]
    progress(f"modes at {label}: {len(modes)} modes; {load_note()}")
    ref = args.out_dir / f"{label}-modes-0"
    try:
        for i in range(args.repeat):
            for k, ((name, layout, extra), (_, result)) in enumerate(
                zip(modes, results, strict=True)
            ):
                data, _ = data_for(args, rows, layout=layout, progress=progress)
                out = args.out_dir / f"{label}-modes-{k}"
                suffix = f" #{i + 1}" if args.repeat > 1 else ""
                result.runs.append(
                    run_program(
                        KEYFRAMER,
                        data,
                        rows,
                        out,
                        extra=extra,
                        tree=True,
                        name=f"{label} keyframer {name}{suffix}",
                        progress=progress,
                    )
                )
                if k:
                    files = compare_outputs({modes[0][0]: ref, name: out})
                    progress(f"{label} {name}: output identical ({files} batch files)")
                    if not args.keep_outputs:
                        shutil.rmtree(out, ignore_errors=True)
    finally:
        if not args.keep_outputs:
            shutil.rmtree(ref, ignore_errors=True)
    return results


def report_modes(results: list[tuple[str, Result]], args: argparse.Namespace) -> str:
    """The runner-modes table: speed, CPU and the process tree's memory per mode."""
    base = results[0][1]
    rows = [
        [
            name,
            f"{r.rows_per_s:,.0f}",
            r.wall_cell(),
            f"{r.cpu_s:.2f}",
            f"{r.tree_cpu_s:.2f}",
            f"{r.tree_rss_mib:,.0f}",
            f"{r.rss_mib:,.0f}",
            f"{r.tree_procs}",
            f"{base.wall_s / r.wall_s:.2f}x",
            f"{r.cpu_s / base.cpu_s:.2f}x" if base.cpu_s else "-",
        ]
        for name, r in results
    ]
    headers = ["keyframer mode", "rows/s", "wall s", "CPU s", "CPU s (tree samples)",
               "tree peak RSS MiB", "largest process MiB", "processes", "speed vs default",
               "CPU vs default"]  # fmt: skip
    first = (
        f"Runner modes, keyframer on {size_label(args.modes_size)} rows ({args.videos} videos x "
        f"{args.tracks} tracks; medians of {args.repeat}). Memory for EVERY row is the whole "
        f"process tree's: the summed RSS of keyframer and all its descendants (the SDK worker "
        f"processes of multi_processing), sampled from /proc every {TREE_SAMPLE_SECONDS:g} s, "
        f"peak shown (shared pages counted once per process); 'largest process' is rusage's "
        f"ru_maxrss, the largest single process. CPU s: os.wait4's rusage (keyframer plus the "
        f"children it waited for); CPU s (tree samples): the /proc samples summed per process:"
    )
    return "\n".join([first, format_table(headers, rows)])
