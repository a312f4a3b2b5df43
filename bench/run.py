"""The benchmark: keyframer against the Beam-free floor and the naive Beam pipeline.

For each size, generates a synthetic data set once (cached in bench/data/ by its name, and
regenerated if the generator's code or arguments changed), runs

- keyframer end to end (`python -m pipeline ... --runner DirectRunner`),
- the floor (`python -m bench.floor`): the same core without Beam,
- the naive Beam pipeline (`python -m bench.naive`): one element per row (only up to
  `--naive-max` rows: it is slow),

each as a child process, and measures its wall time, CPU time and peak RSS (the child's own
rusage, from os.wait4). The three outputs' batch files must be byte-identical (same names,
same bytes): the run fails loudly if they are not. Timings are printed, never asserted.

With `--per-file` (on by default, at `--per-file-sizes`), it also generates the per-video-file
layout (one Parquet file per video) and runs keyframer on it with `--complete_per_file`, to
compare its peak RSS with the single-file layout's at the same size.

    python -m bench.run [--sizes 1m,5m] [--naive-max 1m] [--repeat 1]
                        [--per-file | --no-per-file] [--per-file-sizes 5m,20m] [--quick]

`make bench BENCH_ARGS="--sizes 1m --no-per-file"` runs it with arguments.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "bench" / "data"
OUT_DIR = ROOT / "bench" / "out"

VIDEOS = 200
TRACKS = 5
TARGET_FRAMES = 1800
FRAME_BASE = 0
HEARTBEAT_SECONDS = 30.0
GENERATOR_SOURCES = (ROOT / "bench" / "generate.py", ROOT / "transforms" / "core" / "columns.py")

KEYFRAMER, FLOOR, NAIVE = "keyframer", "floor", "naive"
PROGRAMS = (KEYFRAMER, FLOOR, NAIVE)
SINGLE, PER_VIDEO = "single", "per-video"


class OutputMismatchError(AssertionError):
    """Two programs wrote different batch files for the same input."""


class ProgramFailedError(RuntimeError):
    """A child process exited with an error."""


# --------------------------------------------------------------------------------------------
# Sizes, progress
# --------------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """Rows from `100k`, `1m`, `2.5M`, `20000`."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a row count: {text!r} (examples: 100k, 1m, 20000)")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def parse_sizes(text: str) -> list[int]:
    return [parse_size(part) for part in text.split(",") if part.strip()]


def size_label(rows: int) -> str:
    """`1m`, `100k`, `2500k`, `20001`: short, and distinct for distinct counts."""
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


class Progress:
    """Prints `[elapsed] message` lines (elapsed since the benchmark started), flushed."""

    def __init__(self, quiet: bool = False) -> None:
        self.start = time.perf_counter()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            print(f"[{elapsed:7.1f} s] {message}", flush=True)


# --------------------------------------------------------------------------------------------
# Running a child process and measuring it
# --------------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """One run of one program: wall time and the child's peak RSS."""

    program: str
    rows: int
    wall_s: float
    maxrss_kib: int
    cpu_s: float
    output: Path
    log: Path

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s if self.wall_s > 0 else math.inf

    @property
    def rss_mib(self) -> float:
        return self.maxrss_kib / 1024


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_measured(
    name: str, argv: Sequence[str], log: Path, progress: Progress | None = None
) -> tuple[float, int, float]:
    """Run `argv` (cwd: the repository) with its output in `log`.

    Returns (wall seconds, peak RSS KiB, CPU seconds: user + system). The peak RSS and the CPU
    time are the child's own (os.wait4's rusage, not this process's cumulative one).
    Raises ProgramFailedError, with the end of the log, if the child exits with an error.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    done = threading.Event()

    def heartbeat(started: float) -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            if progress:
                progress(f"  ... {name} still running ({time.perf_counter() - started:.0f} s)")

    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        beat = threading.Thread(target=heartbeat, args=(started,), daemon=True)
        beat.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            done.set()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise ProgramFailedError(
            f"{name} failed (exit {proc.returncode}): {' '.join(argv)}\n"
            f"--- end of {log} ---\n{_tail(log)}"
        )
    return wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def program_argv(program: str, data: Path, output: Path, extra: Sequence[str] = ()) -> list[str]:
    """The command line of one of PROGRAMS on a data set (a file or a per-video directory)."""
    py = sys.executable
    if program == KEYFRAMER:
        source = str(data / "*.parquet") if data.is_dir() else str(data)
        return [
            py,
            "-m",
            "pipeline",
            "--input",
            source,
            "--output",
            str(output),
            "--frame_base",
            str(FRAME_BASE),
            "--runner",
            "DirectRunner",
            *extra,
        ]
    if program in (FLOOR, NAIVE):
        return [
            py,
            "-m",
            f"bench.{program}",
            "--input",
            str(data),
            "--output",
            str(output),
            "--frame_base",
            str(FRAME_BASE),
            *extra,
        ]
    raise ValueError(f"unknown program {program!r}")


def run_program(
    program: str,
    data: Path,
    rows: int,
    output: Path,
    *,
    extra: Sequence[str] = (),
    name: str | None = None,
    progress: Progress | None = None,
) -> Measurement:
    """Run one program on `data` into a fresh `output` directory and measure it."""
    name = name or program
    if output.exists():
        shutil.rmtree(output)
    log = output.parent / f"{output.name}.log"
    if progress:
        progress(f"{name}: running")
    wall, rss, cpu = run_measured(name, program_argv(program, data, output, extra), log, progress)
    m = Measurement(program, rows, wall, rss, cpu, output, log)
    if progress:
        progress(
            f"{name}: {wall:.1f} s ({cpu:.1f} s CPU), {m.rows_per_s:,.0f} rows/s, "
            f"peak RSS {m.rss_mib:,.0f} MiB"
        )
    return m


# --------------------------------------------------------------------------------------------
# Data sets
# --------------------------------------------------------------------------------------------


def dataset_name(rows: int, videos: int, tracks: int, layout: str) -> str:
    base = f"{size_label(rows)}-{videos}v-{tracks}t"
    return f"{base}.parquet" if layout == SINGLE else f"{base}-per-video"


def _generator_fingerprint() -> str:
    """A hash of the generator's code: a cached data set from another version is regenerated."""
    digest = hashlib.sha256()
    for path in GENERATOR_SOURCES:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def dataset(
    rows: int,
    *,
    videos: int = VIDEOS,
    tracks: int = TRACKS,
    layout: str = SINGLE,
    data_dir: Path = DATA_DIR,
    progress: Progress | None = None,
) -> tuple[Path, str]:
    """The data set's path, generating it unless cached; and the generator's shape summary.

    A data set is cached by its name, and its `.info` file records the generator's arguments
    and a hash of its code: if either changed, the data set is generated again.
    """
    path = data_dir / dataset_name(rows, videos, tracks, layout)
    info = data_dir / f"{path.name}.info"
    gen_args = ["--rows", str(rows), "--videos", str(videos), "--tracks", str(tracks),
                "--target-frames", str(TARGET_FRAMES), "--frame-base", str(FRAME_BASE),
                "--layout", layout]  # fmt: skip
    stamp = f"generator {_generator_fingerprint()}: {' '.join(gen_args)}"
    cached = path.exists() and info.exists() and info.read_text().split("\n", 1)[0] == stamp
    if not cached:
        data_dir.mkdir(parents=True, exist_ok=True)
        _remove(path)
        _remove(info)
        tmp = data_dir / f".{path.name}.tmp-{os.getpid()}"
        _remove(tmp)
        if progress:
            progress(f"generating {path.name} ({rows:,} rows, {layout} layout)")
        log = data_dir / f".{path.name}.log"
        argv = [sys.executable, "-m", "bench.generate", *gen_args, "--out", str(tmp)]
        run_measured(f"generate {path.name}", argv, log, progress)
        summary = [
            line for line in log.read_text().splitlines() if line.startswith(("videos:", "kinds:"))
        ]
        log.unlink()
        os.rename(tmp, path)
        info.write_text("\n".join([stamp, *summary]) + "\n")
    elif progress:
        progress(f"using cached {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path, dataset_shape(rows, videos=videos, tracks=tracks, layout=layout, data_dir=data_dir)


def dataset_shape(
    rows: int, *, videos: int, tracks: int, layout: str = SINGLE, data_dir: Path = DATA_DIR
) -> str:
    """The generator's summary of a generated data set (videos, rows and frames per video)."""
    info = data_dir / f"{dataset_name(rows, videos, tracks, layout)}.info"
    if not info.exists():
        return "(shape unknown: no .info file)"
    return "\n".join(info.read_text().strip().splitlines()[1:])


def frames_per_video(shape: str) -> float | None:
    m = re.search(r"frames/video: min \d+ mean (\d+)", shape)
    return float(m.group(1)) if m else None


# --------------------------------------------------------------------------------------------
# Output identity
# --------------------------------------------------------------------------------------------


def batch_files(output: Path) -> list[str]:
    return sorted(p.name for p in output.glob("batch-*.ndjson"))


def compare_outputs(outputs: dict[str, Path]) -> int:
    """Check every output directory has the same batch files, byte for byte, as the first.

    Returns the number of batch files; raises OutputMismatchError naming the first difference.
    """
    (ref_name, ref), *others = outputs.items()
    names = batch_files(ref)
    if not names:
        raise OutputMismatchError(f"{ref_name} wrote no batch files in {ref}")
    for name, out in others:
        got = batch_files(out)
        if got != names:
            raise OutputMismatchError(
                f"batch file names differ: {ref_name} ({ref}) has {len(names)} "
                f"[{', '.join(names[:3])}...], {name} ({out}) has {len(got)} "
                f"[{', '.join(got[:3])}...]"
            )
        for file in names:
            if not filecmp.cmp(ref / file, out / file, shallow=False):
                raise OutputMismatchError(
                    f"{file} differs between {ref_name} ({ref / file}, "
                    f"{(ref / file).stat().st_size:,} bytes) and {name} ({out / file}, "
                    f"{(out / file).stat().st_size:,} bytes)"
                )
    return len(names)


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        out = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


@dataclass
class Result:
    """All runs of one program at one size (medians are reported)."""

    label: str
    runs: list[Measurement] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.runs[0].rows

    @property
    def wall_s(self) -> float:
        return statistics.median(m.wall_s for m in self.runs)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s

    @property
    def rss_mib(self) -> float:
        return statistics.median(m.rss_mib for m in self.runs)

    @property
    def cpu_s(self) -> float:
        return statistics.median(m.cpu_s for m in self.runs)

    def cells(self) -> list[str]:
        spread = ""
        if len(self.runs) > 1:
            walls = [m.wall_s for m in self.runs]
            spread = f" ({min(walls):.1f}-{max(walls):.1f})"
        return [
            f"{self.rows:,}",
            f"{self.rows_per_s:,.0f}",
            f"{self.wall_s:.2f}{spread}",
            f"{self.cpu_s:.2f}",
            f"{self.rss_mib:,.0f}",
        ]


def _ratio(a: Result | None, b: Result | None) -> str:
    """a's throughput over b's (by wall time)."""
    return f"{a.rows_per_s / b.rows_per_s:.2f}x" if a and b else "-"


def _cpu_ratio(a: Result | None, b: Result | None) -> str:
    """The same by CPU time (b's CPU seconds over a's): less sensitive to a busy machine."""
    return f"{b.cpu_s / a.cpu_s:.2f}x" if a and b and a.cpu_s > 0 else "-"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


_PER_FILE_CHECK = """
import inspect, sys
from apache_beam.options.pipeline_options import PipelineOptions
from pipeline.build import build_pipeline
from pipeline.options import KeyframerOptions
opts = PipelineOptions(["--complete_per_file"]).view_as(KeyframerOptions)
wired = "complete_per_file" in inspect.signature(build_pipeline).parameters
sys.exit(0 if getattr(opts, "complete_per_file", False) and wired else 1)
"""


def per_file_supported() -> bool:
    """Whether keyframer has --complete_per_file (an option, and build_pipeline takes it).

    (`python -m pipeline --help` lists only the entry point's own flags, not Beam's options.)
    """
    proc = subprocess.run(
        [sys.executable, "-c", _PER_FILE_CHECK], cwd=ROOT, capture_output=True, check=False
    )
    return proc.returncode == 0


def _shape_note(rows: int, shape: str, tracks: int, videos: int) -> str | None:
    frames = frames_per_video(shape)
    if frames is not None and abs(frames - TARGET_FRAMES) > 0.2 * TARGET_FRAMES:
        return (
            f"note: {size_label(rows)} rows as {videos} videos x {tracks} tracks makes videos "
            f"of ~{frames:,.0f} frames, not ~{TARGET_FRAMES:,} ({rows // videos:,} rows per "
            f"video); --tracks N changes that"
        )
    return None


def bench_size(rows: int, args: argparse.Namespace, progress: Progress) -> dict[str, Result]:
    """All programs at one size, `args.repeat` times (interleaved), outputs checked each time."""
    label = size_label(rows)
    data, shape = dataset(
        rows, videos=args.videos, tracks=args.tracks, data_dir=args.data_dir, progress=progress
    )
    progress(f"{label}: {shape.splitlines()[0] if shape else ''}")
    note = _shape_note(rows, shape, args.tracks, args.videos)
    if note:
        progress(note)
    programs = [p for p in PROGRAMS if p != NAIVE or rows <= args.naive_max]
    results = {p: Result(label) for p in programs}
    for i in range(args.repeat):
        outputs = {}
        for program in programs:
            out = args.out_dir / f"{label}-{program}"
            name = f"{label} {program}" + (f" #{i + 1}" if args.repeat > 1 else "")
            m = run_program(program, data, rows, out, name=name, progress=progress)
            results[program].runs.append(m)
            outputs[program] = out
        files = compare_outputs(outputs)
        progress(f"{label}: outputs identical ({' = '.join(outputs)}: {files} batch files)")
        if not args.keep_outputs:
            for program, out in outputs.items():
                if program == KEYFRAMER and args.per_file and rows in args.per_file_sizes:
                    continue  # the per-file run compares its output with this one
                shutil.rmtree(out, ignore_errors=True)
    return results


def bench_per_file(
    rows: int, single: Result | None, args: argparse.Namespace, progress: Progress
) -> tuple[Result, Result, str]:
    """keyframer --complete_per_file on the per-video layout, and on the single file."""
    label = size_label(rows)
    per_video, shape = dataset(
        rows,
        videos=args.videos,
        tracks=args.tracks,
        layout=PER_VIDEO,
        data_dir=args.data_dir,
        progress=progress,
    )
    out_pf = args.out_dir / f"{label}-keyframer-per-file"
    pf = Result(label)
    for i in range(args.repeat):
        suffix = f" #{i + 1}" if args.repeat > 1 else ""
        pf.runs.append(
            run_program(
                KEYFRAMER,
                per_video,
                rows,
                out_pf,
                extra=["--complete_per_file"],
                name=f"{label} keyframer per-video --complete_per_file{suffix}",
                progress=progress,
            )
        )
    out_single = args.out_dir / f"{label}-keyframer"  # kept by bench_size when it ran
    if single is None or not out_single.exists():
        data, _ = dataset(
            rows, videos=args.videos, tracks=args.tracks, data_dir=args.data_dir, progress=progress
        )
        single = Result(label)
        for i in range(args.repeat):
            suffix = f" #{i + 1}" if args.repeat > 1 else ""
            single.runs.append(
                run_program(
                    KEYFRAMER,
                    data,
                    rows,
                    out_single,
                    name=f"{label} keyframer single file{suffix}",
                    progress=progress,
                )
            )
    files = compare_outputs({"keyframer single file": out_single, "per-file": out_pf})
    progress(f"{label}: per-file output identical to the single-file output ({files} batch files)")
    if not args.keep_outputs:
        for out in (out_pf, out_single):
            shutil.rmtree(out, ignore_errors=True)
    return single, pf, shape


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sizes",
        type=parse_sizes,
        default=parse_sizes("1m,5m"),
        help="row counts, comma-separated (default 1m,5m)",
    )
    p.add_argument(
        "--naive-max",
        type=parse_size,
        default=parse_size("1m"),
        help="run the naive pipeline only at sizes up to this (default 1m)",
    )
    p.add_argument("--repeat", type=int, default=1, help="runs of each program (medians shown)")
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
        "--quick",
        action="store_true",
        help="a fast smoke run: 100k rows, all three programs, per-file at 100k",
    )
    p.add_argument("--videos", type=int, default=VIDEOS)
    p.add_argument("--tracks", type=int, default=TRACKS, help="bbox tracks per video")
    p.add_argument("--data-dir", type=Path, default=DATA_DIR)
    p.add_argument("--out-dir", type=Path, default=OUT_DIR)
    p.add_argument(
        "--keep-outputs",
        action="store_true",
        help="keep the batch files written (deleted once compared, by default)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = [100_000]
        args.naive_max = 100_000
        args.per_file_sizes = [100_000]
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    args.out_dir = args.out_dir.resolve()
    progress = Progress()
    progress(
        f"sizes {', '.join(size_label(n) for n in args.sizes)}; naive up to "
        f"{size_label(args.naive_max)}; per-file "
        f"{', '.join(size_label(n) for n in args.per_file_sizes) if args.per_file else 'off'};"
        f" repeat {args.repeat}; {args.videos} videos x {args.tracks} tracks; "
        f"logs in {args.out_dir}"
    )
    progress(_load())
    per_file_skipped = None
    if args.per_file and args.per_file_sizes and not per_file_supported():
        per_file_skipped = "keyframer has no --complete_per_file flag yet: per-file runs skipped"
        progress(per_file_skipped)
        args.per_file = False
    try:
        main_results = {n: bench_size(n, args, progress) for n in args.sizes}
        per_file = []
        if args.per_file:
            for n in args.per_file_sizes:
                single = main_results.get(n, {}).get(KEYFRAMER)
                per_file.append(bench_per_file(n, single, args, progress))
    except (OutputMismatchError, ProgramFailedError) as e:
        print(f"\nBENCHMARK FAILED: {e}", file=sys.stderr, flush=True)
        return 1

    progress(_load())
    print()
    print(
        f"Throughput (whole-process wall time, medians of {args.repeat}; CPU = the child's "
        f"user + system time; {args.videos} videos x {args.tracks} tracks, one Parquet file):"
    )
    headers = ["program", "rows", "rows/s", "wall s", "CPU s", "peak RSS MiB"]
    table = []
    for results in main_results.values():
        for program, result in results.items():
            table.append([f"{result.label} {program}", *result.cells()])
    print(format_table(headers, table))
    print()
    print(
        "Ratios of throughput (keyframer/naive is the >= 30x target); by wall time, and by "
        "CPU time:"
    )
    print(
        format_table(
            [
                "size",
                "keyframer/floor",
                "keyframer/naive",
                "CPU: keyframer/floor",
                "keyframer/naive",
            ],
            [
                [
                    size_label(n),
                    _ratio(r.get(KEYFRAMER), r.get(FLOOR)),
                    _ratio(r.get(KEYFRAMER), r.get(NAIVE)),
                    _cpu_ratio(r.get(KEYFRAMER), r.get(FLOOR)),
                    _cpu_ratio(r.get(KEYFRAMER), r.get(NAIVE)),
                ]
                for n, r in main_results.items()
            ],
        )
    )
    if per_file:
        print()
        print(
            "Per-video-file layout (one Parquet file per video) with --complete_per_file, "
            "against the single file:"
        )
        rows = []
        for single, pf, _ in per_file:
            rows.append([f"{pf.label} single file", *single.cells()])
            rows.append([f"{pf.label} per-video --complete_per_file", *pf.cells()])
        print(
            format_table(["keyframer", "rows", "rows/s", "wall s", "CPU s", "peak RSS MiB"], rows)
        )
    if per_file_skipped:
        print()
        print(per_file_skipped)
    shapes = []
    for n in sorted({*args.sizes, *(args.per_file_sizes if per_file else [])}):
        shape = dataset_shape(n, videos=args.videos, tracks=args.tracks, data_dir=args.data_dir)
        note = _shape_note(n, shape, args.tracks, args.videos)
        first = shape.splitlines()[0] if shape else ""
        shapes.append(f"  {size_label(n)}: {first}" + (f"\n    {note}" if note else ""))
    print()
    print("Data sets:")
    print("\n".join(shapes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
