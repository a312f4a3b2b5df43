"""The benchmark: keyframer against the Beam-free floor and the naive Beam pipeline.

For each shape of data (`--shapes`: 1-minute videos, 10-second clips, long videos; see
bench/datasets/presets.py) and each size (`--sizes`), generates a synthetic data set once
(cached in bench/data/ by its name, and regenerated if the generator's code or arguments
changed), runs keyframer end to end, the floor (the same core without Beam) and the naive Beam
pipeline (one element per row; only up to `--naive-max` rows: it is slow) each as a child
process, and measures its wall time, CPU time and peak RSS (the child's own rusage, from
os.wait4). The outputs' batch files must be byte-identical (same names, same bytes): the run
fails loudly if they are not. Timings are printed, never asserted. Then the same-run ratios
(keyframer/floor per shape, keyframer at each size over naive, floor on each shape over long
videos) and the per-key cost check (`--per-key`: the 1-minute shape at `--per-key-rows` as 800
videos and as 50, keyframer and the floor).

More sections (bench/sections/), on long videos of `--videos` x `--tracks`:

- per-file (on by default, at `--per-file-sizes`): the per-video-file layout with keyframer
  `--complete_per_file`, against the single file, for its peak RSS.
- thinning (on by default): keyframer at `--thinning-size` with no thinning,
  `--keyframe_tolerance iou:0.9` and `px:2`, and bench/thinning_bench.py's bbox scenarios.
- rounding (on by default; on the 1-minute shape, whose coordinates have every digit):
  keyframer at `--rounding-size` with exact coordinates and `--coordinate_decimals` 3, 2, 0.
- `--scaling` (off by default: minutes): keyframer and the floor while varying rows, videos,
  tracks and segment length one at a time around 1m rows / 200 videos / 5 tracks.
- `--modes` (off by default): keyframer at `--modes-size` in-process, multi_threading and
  multi_processing (2 workers); memory is the whole process tree's, sampled every 0.1 s.
- upload (on by default): the upload sink against the local Labelbox server with 50 ms added
  to every answer, at concurrency 1 and 8 (bench/upload_bench.py).

    python -m bench.run [--sizes 1m,5m] [--shapes minute,clip,long] [--naive-max 1m]
                        [--per-key | --no-per-key] [--per-key-rows 1m] [--repeat 1]
                        [--per-file | --no-per-file] [--per-file-sizes 5m,20m]
                        [--thinning | --no-thinning] [--thinning-size 1m] [--thinning-tracks 200]
                        [--rounding | --no-rounding] [--rounding-size 1m]
                        [--scaling] [--modes] [--modes-size 5m] [--warm-memory 4] [--quick]

Before measuring, `--warm-memory` GiB are written once (bench/harness/warm.py says why) and
keyframer's own modules are compiled to bytecode, as an installed keyframer has them
(bench/harness/bytecode.py).
`make bench BENCH_ARGS="--sizes 1m --no-per-file"` runs it with arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.datasets.cache import DATA_DIR, TRACKS, VIDEOS
from bench.datasets.presets import SHAPES
from bench.harness.bytecode import compile_sources
from bench.harness.children import ROOT, ProgramFailedError
from bench.harness.compare import OutputMismatchError
from bench.harness.programs import KEYFRAMER
from bench.harness.progress import Progress, load_note
from bench.harness.sizes import parse_size, parse_sizes, size_label
from bench.harness.warm import warm_memory
from bench.sections.comparison import bench_comparison, bench_per_key
from bench.sections.comparison_report import report_comparison
from bench.sections.context import report_datasets, sections_shape
from bench.sections.modes import bench_modes, report_modes
from bench.sections.per_file import bench_per_file, per_file_supported, report_per_file
from bench.sections.rounding import bench_rounding, report_rounding
from bench.sections.scaling import bench_scaling
from bench.sections.scaling_report import report_scaling
from bench.sections.thinning import bench_thinning, report_thinning
from bench.sections.upload import bench_upload, report_upload

OUT_DIR = ROOT / "bench" / "out"


def _parse_shapes(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in SHAPES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown shape(s) {unknown}; known: {', '.join(SHAPES)}")
    return names


def _add_comparison_args(p: argparse.ArgumentParser) -> None:
    """The main comparison's arguments."""
    p.add_argument(
        "--sizes",
        type=parse_sizes,
        default=parse_sizes("1m,5m"),
        help="row counts, comma-separated (default 1m,5m)",
    )
    p.add_argument(
        "--shapes",
        type=_parse_shapes,
        default=list(SHAPES),
        help=f"shapes of data, comma-separated (default {','.join(SHAPES)})",
    )
    p.add_argument(
        "--naive-max",
        type=parse_size,
        default=parse_size("1m"),
        help="run the naive pipeline only at sizes up to this (default 1m)",
    )
    p.add_argument(
        "--per-key",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the per-key cost check: the minute shape as 800 and 50 videos",
    )
    p.add_argument(
        "--per-key-rows",
        type=parse_size,
        default=parse_size("1m"),
        help="rows for --per-key (default 1m)",
    )
    p.add_argument("--repeat", type=int, default=1, help="runs of each program (medians shown)")


def _add_section_args(p: argparse.ArgumentParser) -> None:
    """The other sections' arguments."""
    p.add_argument(
        "--per-file",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also benchmark the per-video-file layout with --complete_per_file",
    )
    p.add_argument(
        "--per-file-sizes",
        type=parse_sizes,
        default=parse_sizes("5m,20m"),
        help="sizes for --per-file (default 5m,20m)",
    )
    p.add_argument(
        "--thinning",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also benchmark keyframe thinning: keyframer with --keyframe_tolerance "
        "iou:0.9 and px:2 against none, and bench/thinning_bench.py's bbox scenarios",
    )
    p.add_argument(
        "--thinning-size",
        type=parse_size,
        default=parse_size("1m"),
        help="rows for the thinning runs (default 1m)",
    )
    p.add_argument(
        "--thinning-tracks",
        type=int,
        default=200,
        help="tracks per bench/thinning_bench.py scenario (default 200)",
    )
    p.add_argument(
        "--rounding",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also benchmark --coordinate_decimals 3, 2 and 0 against exact coordinates, on "
        "the full-precision 1-minute shape",
    )
    p.add_argument(
        "--rounding-size",
        type=parse_size,
        default=parse_size("1m"),
        help="rows for the rounding runs (default 1m)",
    )
    p.add_argument(
        "--scaling",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also vary rows (1m, 5m, 20m), videos (50, 200, 800), tracks (2, 5, 10) "
        "and segment length one at a time, keyframer and floor (takes minutes)",
    )
    p.add_argument(
        "--modes",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also run keyframer in-process, multi_threading and multi_processing "
        "(2 workers), measuring the whole process tree's memory",
    )
    p.add_argument(
        "--upload",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also benchmark the upload sink against the local Labelbox server",
    )
    p.add_argument("--upload-batches", type=int, default=200, help="batches (default 200)")
    p.add_argument("--upload-lines", type=int, default=200, help="lines a batch (default 200)")
    p.add_argument("--upload-latency-ms", type=float, default=50.0, help="added to each answer")
    p.add_argument(
        "--upload-concurrency",
        type=lambda t: [int(x) for x in t.split(",")],
        default=[1, 8],
        help="imports in flight, comma-separated (default 1,8)",
    )
    p.add_argument(
        "--modes-size",
        type=parse_size,
        default=parse_size("5m"),
        help="rows for --modes (default 5m)",
    )


def _add_common_args(p: argparse.ArgumentParser) -> None:
    """Shape of the sections' data, directories, --quick."""
    p.add_argument(
        "--quick",
        action="store_true",
        help="a fast smoke run: 100k rows of every shape, all three programs, "
        "per-key at 100k, per-file at 100k, thinning at 100k with 20 "
        "thinning_bench tracks",
    )
    p.add_argument(
        "--warm-memory",
        type=int,
        default=4,
        metavar="GIB",
        help="write every page of this many GiB once before measuring (default 4; 0: off): "
        "a VM's first touch of a page costs more than the work measured (bench/harness/warm.py)",
    )
    p.add_argument("--videos", type=int, default=VIDEOS, help="videos of the long shape")
    p.add_argument("--tracks", type=int, default=TRACKS, help="bbox tracks of the long shape")
    p.add_argument("--data-dir", type=Path, default=DATA_DIR)
    p.add_argument("--out-dir", type=Path, default=OUT_DIR)
    p.add_argument(
        "--keep-outputs",
        action="store_true",
        help="keep the batch files written (deleted once compared, by default)",
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The benchmark's arguments (--quick overrides the sizes)."""
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    _add_comparison_args(p)
    _add_section_args(p)
    _add_common_args(p)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = [100_000]
        args.naive_max = 100_000
        args.per_key_rows = 100_000
        args.per_file_sizes = [100_000]
        args.thinning_size = 100_000
        args.thinning_tracks = 20
        args.rounding_size = 100_000
        args.upload_batches = 20
    if args.warm_memory < 0:
        p.error("--warm-memory must be 0 or more")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.thinning_tracks < 1:
        p.error("--thinning-tracks must be at least 1")
    args.datasets_used = set()
    args.per_file_ok = False  # set by main once checked
    return args


def _announce(args: argparse.Namespace, progress: Progress) -> None:
    sections = [
        f"per-key at {size_label(args.per_key_rows)}" if args.per_key else "",
        f"thinning at {size_label(args.thinning_size)}" if args.thinning else "",
        f"rounding at {size_label(args.rounding_size)}" if args.rounding else "",
        "scaling" if args.scaling else "",
        f"modes at {size_label(args.modes_size)}" if args.modes else "",
        "upload" if args.upload else "",
    ]
    per_file = ", ".join(size_label(n) for n in args.per_file_sizes) if args.per_file else "off"
    progress(
        f"shapes {', '.join(args.shapes)}; sizes {', '.join(size_label(n) for n in args.sizes)}; "
        f"naive up to {size_label(args.naive_max)}; per-file {per_file}; repeat {args.repeat}; "
        f"sections on {args.videos} videos x {args.tracks} tracks; also: "
        f"{', '.join(x for x in sections if x) or 'nothing'}; logs in {args.out_dir}"
    )
    progress(load_note())


def _check_per_file(args: argparse.Namespace, progress: Progress) -> str | None:
    """Whether per-file runs are possible (sets args.per_file_ok); a note if skipped."""
    wants = (args.per_file and args.per_file_sizes) or args.scaling or args.modes
    args.per_file_ok = bool(wants) and per_file_supported()
    if not args.per_file_ok:
        args.per_file = False
    if wants and not args.per_file_ok:
        note = "keyframer has no --complete_per_file flag yet: per-file runs skipped"
        progress(note)
        return note
    return None


def _run_sections(args: argparse.Namespace, progress: Progress, reports: list[str]) -> None:
    """Run every section asked for, appending its report as soon as it is done."""
    runs = bench_comparison(args, progress)
    per_key = bench_per_key(args, progress) if args.per_key else []
    if runs or per_key:
        reports.append(report_comparison(runs, per_key, args))
    if args.per_file:
        long = {r.spec.rows: r for r in runs if r.shape == sections_shape(args)}
        per_file = []
        for n in args.per_file_sizes:
            single = long[n].get(KEYFRAMER) if n in long else None
            per_file.append(bench_per_file(n, single, args, progress))
        reports.append(report_per_file(per_file))
    if args.thinning:
        reports.append(report_thinning(bench_thinning(args, progress), args))
    if args.rounding:
        reports.append(report_rounding(bench_rounding(args, progress), args))
    if args.scaling:
        reports.append(report_scaling(bench_scaling(args, progress)))
    if args.modes:
        reports.append(report_modes(bench_modes(args, progress), args))
    if args.upload:
        reports.append(report_upload(bench_upload(args, progress), args))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print every report; 1 if a program failed or outputs differ."""
    args = parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    args.out_dir = args.out_dir.resolve()
    progress = Progress()
    _announce(args, progress)
    per_file_skipped = _check_per_file(args, progress)
    if args.warm_memory:
        seconds = warm_memory(args.warm_memory)
        progress(f"memory warmed: {args.warm_memory} GiB written once in {seconds:.1f} s")
    progress(f"bytecode of keyframer's modules written in {compile_sources():.1f} s")
    reports: list[str] = []
    try:
        _run_sections(args, progress, reports)
    except (OutputMismatchError, ProgramFailedError) as e:
        for report in reports:
            print(f"\n{report}")
        print(f"\nBENCHMARK FAILED: {e}", file=sys.stderr, flush=True)
        return 1
    progress(load_note())
    for report in reports:
        print(f"\n{report}")
    if per_file_skipped:
        print(f"\n{per_file_skipped}")
    if args.datasets_used:
        print(f"\n{report_datasets(args)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
