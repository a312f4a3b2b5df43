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

More sections:

- thinning (on by default; `--no-thinning` skips it): keyframer end to end at `--thinning-size`
  with no thinning, `--keyframe_tolerance iou:0.9` and `px:2` (compression, error and NDJSON
  bytes from each run's manifest.json; time against no thinning), and bench/thinning_bench.py's
  bbox iou:0.9 and px:2 scenarios (thinning alone).
- `--scaling` (off by default: minutes): keyframer and the floor while varying one thing at a
  time around 1m rows / 200 videos / 5 tracks: rows (1m, 5m, 20m, and 20m per-video with
  `--complete_per_file`), videos (50, 200, 800), tracks (2, 5, 10), and segment length (the
  same data with `--max_gap_frames 50`, which merges the occlusion-split segments).
- `--modes` (off by default): keyframer at `--modes-size` in-process, multi_threading and
  multi_processing (2 workers), single file and per-video `--complete_per_file`; the peak RSS
  there is the summed RSS of the whole process tree (workers included), sampled every 0.1 s.

    python -m bench.run [--sizes 1m,5m] [--naive-max 1m] [--repeat 1]
                        [--per-file | --no-per-file] [--per-file-sizes 5m,20m]
                        [--thinning | --no-thinning] [--thinning-size 1m] [--thinning-tracks 200]
                        [--scaling] [--modes] [--modes-size 5m] [--quick]

`make bench BENCH_ARGS="--sizes 1m --no-per-file"` runs it with arguments.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
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

# Beyond this estimated peak RSS, the scaling section does not run the floor (which holds every
# keyed row in memory) at a larger size.
FLOOR_RSS_LIMIT_MIB = 4096
TREE_SAMPLE_SECONDS = 0.1

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
        return self.rows / self.wall_s if self.wall_s > 0 else math.inf

    @property
    def rss_mib(self) -> float:
        return self.maxrss_kib / 1024


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
        self.pid = pid
        self.interval = interval
        self.result = TreeSample()
        self._cpu_ticks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
        self._ticks = os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> None:
        stats: dict[int, tuple[int, int, int]] = {}  # pid: (ppid, rss pages, cpu ticks)
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
        if self.pid not in stats:
            return
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in stats.items():
            children.setdefault(ppid, []).append(pid)
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, ()))
        rss_kib = sum(stats[pid][1] for pid in tree) * self._page_kib
        for pid in tree:
            self._cpu_ticks[pid] = stats[pid][2]
        r = self.result
        r.peak_rss_kib = max(r.peak_rss_kib, rss_kib)
        r.peak_procs = max(r.peak_procs, len(tree))
        r.cpu_s = sum(self._cpu_ticks.values()) / self._ticks
        r.samples += 1


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
    time are the child's own (os.wait4's rusage, not this process's cumulative one; the CPU
    time includes that of the child's own children once it has waited for them, the peak RSS
    is the largest single process's).
    Raises ProgramFailedError, with the end of the log, if the child exits with an error.
    """
    wall, rss, cpu, _ = _run_child(name, argv, log, progress)
    return wall, rss, cpu


def _run_child(
    name: str,
    argv: Sequence[str],
    log: Path,
    progress: Progress | None = None,
    *,
    tree: bool = False,
) -> tuple[float, int, float, TreeSample | None]:
    """run_measured, and with `tree` the process tree's samples (TreeSampler) too."""
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
        sampler = TreeSampler(proc.pid) if tree else None
        try:
            if sampler:
                with sampler:
                    _, status, usage = os.wait4(proc.pid, 0)
            else:
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
    sample = sampler.result if sampler else None
    return wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, sample


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


# The floor with keyframer's defaults but for --max_gap_frames (bench/floor.py has no flags
# for the core's options): the same steps as its main().
_FLOOR_WITH_MAX_GAP = """
import glob, os, sys
from bench.floor import convert
from transforms.core.config import AnnotationConfig
from transforms.core.memory import relax_gc, use_system_allocator
data, output, frame_base, max_gap = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
use_system_allocator()
relax_gc()
pattern = os.path.join(data, "*") if os.path.isdir(data) else data
config = AnnotationConfig(frame_base=frame_base, max_gap_frames=max_gap)
counts = convert(sorted(glob.glob(pattern)), output, config)
print(f"floor (max_gap_frames {max_gap}): {counts['rows_read']:,} rows")
"""


def floor_argv(data: Path, output: Path, max_gap_frames: int) -> list[str]:
    """The floor's command line with --max_gap_frames `max_gap_frames` (keyframer's meaning)."""
    argv = [sys.executable, "-c", _FLOOR_WITH_MAX_GAP, str(data), str(output), str(FRAME_BASE)]
    return [*argv, str(max_gap_frames)]


def read_counts(output: Path) -> dict | None:
    """keyframer's manifest.json "counts" in `output` (None without a manifest)."""
    try:
        return json.loads((output / "manifest.json").read_text())["counts"]
    except (OSError, ValueError, KeyError):
        return None


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
    wall, rss, cpu, sample = _run_child(name, argv, log, progress, tree=tree)
    counts = read_counts(output) if program == KEYFRAMER else None
    m = Measurement(program, rows, wall, rss, cpu, output, log, counts, sample)
    if progress:
        tree_note = ""
        if sample:
            tree_note = (
                f"; process tree: peak {sample.peak_rss_kib / 1024:,.0f} MiB summed RSS, "
                f"{sample.peak_procs} processes, {sample.cpu_s:.1f} s CPU sampled"
            )
        progress(
            f"{name}: {wall:.1f} s ({cpu:.1f} s CPU), {m.rows_per_s:,.0f} rows/s, "
            f"peak RSS {m.rss_mib:,.0f} MiB{tree_note}"
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

    @property
    def counts(self) -> dict:
        """The last run's manifest counts (the same in every run), or {}."""
        return self.runs[-1].counts or {}

    @property
    def tree_rss_mib(self) -> float:
        return statistics.median(m.tree.peak_rss_kib / 1024 for m in self.runs if m.tree)

    @property
    def tree_cpu_s(self) -> float:
        return statistics.median(m.tree.cpu_s for m in self.runs if m.tree)

    @property
    def tree_procs(self) -> int:
        return max(m.tree.peak_procs for m in self.runs if m.tree)

    def wall_cell(self) -> str:
        """The median wall time, with the range when there were several runs."""
        spread = ""
        if len(self.runs) > 1:
            walls = [m.wall_s for m in self.runs]
            spread = f" ({min(walls):.1f}-{max(walls):.1f})"
        return f"{self.wall_s:.2f}{spread}"

    def cells(self) -> list[str]:
        return [
            f"{self.rows:,}",
            f"{self.rows_per_s:,.0f}",
            self.wall_cell(),
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
# Thinning: keyframer end to end with --keyframe_tolerance, and bench/thinning_bench.py
# --------------------------------------------------------------------------------------------

THINNING_TOLERANCES = (None, "iou:0.9", "px:2")
THINNING_SCENARIOS = ("bbox:iou:0.9", "bbox:px:2")  # bench/thinning_bench.py's ids
THINNING_FRAMES, THINNING_SEED, THINNING_GREEDY = 1800, 0, 10


@dataclass
class ThinningReport:
    rows: int
    runs: dict[str | None, Result]  # by tolerance (None: no thinning)
    scenarios: list  # bench.thinning_bench.ScenarioResult
    tracks: int


def bench_thinning(args: argparse.Namespace, progress: Progress) -> ThinningReport:
    """keyframer at each of THINNING_TOLERANCES (interleaved, `args.repeat` times), then
    bench/thinning_bench.py's THINNING_SCENARIOS in this process."""
    rows = args.thinning_size
    label = size_label(rows)
    data, _ = _data(args, rows, progress=progress)
    progress(
        f"thinning at {label}: keyframer with no thinning, {', '.join(THINNING_TOLERANCES[1:])}"
    )
    runs = {tol: Result(label) for tol in THINNING_TOLERANCES}
    for i in range(args.repeat):
        for tol in THINNING_TOLERANCES:
            out = args.out_dir / f"{label}-keyframer-thinning-{tol or 'none'}".replace(":", "")
            extra = ["--keyframe_tolerance", tol] if tol else []
            name = f"{label} keyframer --keyframe_tolerance {tol or '(none)'}"
            name += f" #{i + 1}" if args.repeat > 1 else ""
            m = run_program(KEYFRAMER, data, rows, out, extra=extra, name=name, progress=progress)
            if m.counts is None:
                raise ProgramFailedError(f"{name} wrote no manifest.json in {out}")
            runs[tol].runs.append(m)
            if not args.keep_outputs:
                shutil.rmtree(out, ignore_errors=True)

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
    return ThinningReport(rows, runs, results, args.thinning_tracks)


def _max_error(counts: dict) -> str:
    parts = []
    if "max_error_iou" in counts:
        parts.append(f"1-IoU {counts['max_error_iou']:.4f}")
    if "max_error_px" in counts:
        parts.append(f"px {counts['max_error_px']:.3f}")
    return ", ".join(parts) or "-"


def report_thinning(t: ThinningReport, args: argparse.Namespace) -> str:
    none = t.runs[None]
    base_bytes = none.counts.get("bytes", 0)
    rows = []
    for tol, r in t.runs.items():
        c = r.counts
        kf_in, kf_out = c.get("keyframes_in", 0), c.get("keyframes", 0)
        extra_us = (r.cpu_s - none.cpu_s) / kf_in * 1e6 if kf_in else math.nan
        rows.append(
            [
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
        )
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
    bench_rows = []
    for r in t.scenarios:
        bench_rows.append(
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
        )
    bench_headers = ["scenario", "tolerance", "tracks", "keyframes in", "keyframes out",
                     "compression", "max error (limit)", "ms/track mean", "p50", "max",
                     "CPU ms/track", "CPU us/kf", "greedy keeps"]  # fmt: skip
    second = (
        f"Thinning alone (bench/thinning_bench.py, scenarios {', '.join(THINNING_SCENARIOS)}: "
        f"{t.tracks} smooth-with-noise tracks of {THINNING_FRAMES} frames, seed "
        f"{THINNING_SEED}; times per track, wall clock unless CPU; greedy keeps: keyframes kept "
        f"by extend-until-first-failure greedy over ours, first {THINNING_GREEDY} tracks):"
    )
    return "\n".join(
        [
            first,
            format_table(headers, rows),
            "",
            second,
            format_table(bench_headers, bench_rows),
        ]
    )


# --------------------------------------------------------------------------------------------
# Scaling: one thing at a time around 1m rows / 200 videos / 5 tracks
# --------------------------------------------------------------------------------------------

SCALING_BASE_ROWS = 1_000_000
SCALING_ROWS = (1_000_000, 5_000_000, 20_000_000)
SCALING_VIDEOS = (50, 200, 800)
SCALING_TRACKS = (2, 5, 10)
LONG_SEGMENTS_MAX_GAP = 50  # bench/generate.py's occlusion gaps are 2 to 45 frames


@dataclass(frozen=True)
class Variant:
    """One point of the scaling section (keyframer's --max_gap_frames default is 1)."""

    rows: int = SCALING_BASE_ROWS
    videos: int = VIDEOS
    tracks: int = TRACKS
    max_gap: int = 1
    per_file: bool = False

    @property
    def single(self) -> Variant:
        """The same point on the single-file layout."""
        return Variant(self.rows, self.videos, self.tracks, self.max_gap)


def scaling_plan(per_file: bool) -> list[tuple[str, Variant]]:
    """(row label, variant) in run order; the base appears in every group (one run)."""
    base = Variant()
    plan = [(f"rows {size_label(n)}", Variant(rows=n)) for n in SCALING_ROWS]
    if per_file:
        biggest = size_label(SCALING_ROWS[-1])
        plan.append(
            (
                f"rows {biggest} per-video --complete_per_file",
                Variant(rows=SCALING_ROWS[-1], per_file=True),
            )
        )
    plan += [(f"videos {n}", Variant(videos=n)) for n in SCALING_VIDEOS]
    plan += [(f"tracks {n}", Variant(tracks=n)) for n in SCALING_TRACKS]
    plan += [
        ("segments short (--max_gap_frames 1)", base),
        (
            f"segments long (--max_gap_frames {LONG_SEGMENTS_MAX_GAP})",
            Variant(max_gap=LONG_SEGMENTS_MAX_GAP),
        ),
    ]
    return [(label + (" (base)" if v == base else ""), v) for label, v in plan]


@dataclass
class ScalingPoint:
    variant: Variant
    keyframer: Result
    floor: Result | None
    shape: str
    floor_note: str = ""


def _floor_rss_estimate(variant: Variant, done: dict[Variant, ScalingPoint]) -> float | None:
    """The floor's peak RSS at `variant` extrapolated linearly in rows from the two largest
    measured sizes of the same shape; None without two."""
    measured = sorted(
        (p.variant.rows, p.floor.rss_mib)
        for p in done.values()
        if p.floor
        and (p.variant.videos, p.variant.tracks, p.variant.max_gap)
        == (variant.videos, variant.tracks, variant.max_gap)
        and p.variant.rows < variant.rows
    )
    if len(measured) < 2:
        return None
    (r1, m1), (r2, m2) = measured[-2:]
    return m2 + (m2 - m1) / (r2 - r1) * (variant.rows - r2)


def bench_scaling(args: argparse.Namespace, progress: Progress) -> list[tuple[str, ScalingPoint]]:
    """Run every variant of scaling_plan once (`args.repeat` times), outputs checked."""
    plan = scaling_plan(args.per_file_ok)
    refs = {v.single for _, v in plan if v.per_file}  # keep their keyframer output
    done: dict[Variant, ScalingPoint] = {}
    kept: dict[Variant, Path] = {}
    progress(f"scaling: {len({v for _, v in plan})} points; {_load()}")
    try:
        for label, v in plan:
            if v in done:
                continue
            layout = PER_VIDEO if v.per_file else SINGLE
            data, shape = _data(
                args, v.rows, videos=v.videos, tracks=v.tracks, layout=layout, progress=progress
            )
            tag = f"scaling-{size_label(v.rows)}-{v.videos}v-{v.tracks}t-gap{v.max_gap}" + (
                "-per-video" if v.per_file else ""
            )
            extra = ["--max_gap_frames", str(v.max_gap)] if v.max_gap != 1 else []
            extra += ["--complete_per_file"] if v.per_file else []
            floor_note, run_floor = "", not v.per_file
            estimate = _floor_rss_estimate(v, done) if run_floor else None
            if estimate is not None and estimate > FLOOR_RSS_LIMIT_MIB:
                run_floor = False
                floor_note = (
                    f"floor not run at {label}: its peak RSS would be ~{estimate:,.0f} MiB "
                    f"(extrapolated), over {FLOOR_RSS_LIMIT_MIB:,} MiB"
                )
                progress(floor_note)
            kf = Result(size_label(v.rows))
            fl = Result(size_label(v.rows)) if run_floor else None
            for i in range(args.repeat):
                suffix = f" #{i + 1}" if args.repeat > 1 else ""
                out_kf = args.out_dir / f"{tag}-keyframer"
                kf.runs.append(
                    run_program(
                        KEYFRAMER,
                        data,
                        v.rows,
                        out_kf,
                        extra=extra,
                        name=f"scaling {label}: keyframer{suffix}",
                        progress=progress,
                    )
                )
                outputs = {"keyframer": out_kf}
                if fl is not None:
                    out_fl = args.out_dir / f"{tag}-floor"
                    argv = floor_argv(data, out_fl, v.max_gap) if v.max_gap != 1 else None
                    fl.runs.append(
                        run_program(
                            FLOOR,
                            data,
                            v.rows,
                            out_fl,
                            argv=argv,
                            name=f"scaling {label}: floor{suffix}",
                            progress=progress,
                        )
                    )
                    outputs["floor"] = out_fl
                if v.per_file and v.single in kept:
                    outputs = {"keyframer single file": kept[v.single], **outputs}
                if len(outputs) > 1:
                    files = compare_outputs(outputs)
                    progress(f"scaling {label}: outputs identical ({files} batch files)")
                for who, out in outputs.items():
                    if who == "keyframer" and v in refs and i == args.repeat - 1:
                        kept[v] = out
                    elif not args.keep_outputs and out not in kept.values():
                        shutil.rmtree(out, ignore_errors=True)
            done[v] = ScalingPoint(v, kf, fl, shape, floor_note)
    finally:
        if not args.keep_outputs:
            for out in kept.values():
                shutil.rmtree(out, ignore_errors=True)
    return [(label, done[v]) for label, v in plan]


def report_scaling(points: list[tuple[str, ScalingPoint]]) -> str:
    rows, notes = [], []
    for label, p in points:
        kf, fl, c = p.keyframer, p.floor, p.keyframer.counts
        frames = frames_per_video(p.shape)
        rows.append(
            [
                label,
                f"{frames:,.0f}" if frames else "-",
                f"{c.get('objects', 0):,}",
                f"{c.get('segments', 0):,}",
                f"{kf.rows_per_s:,.0f}",
                f"{kf.cpu_s:.2f}",
                f"{kf.cpu_s / kf.rows * 1e6:.2f}",
                f"{kf.rss_mib:,.0f}",
                f"{fl.rows_per_s:,.0f}" if fl else "-",
                f"{fl.cpu_s:.2f}" if fl else "-",
                f"{fl.cpu_s / fl.rows * 1e6:.2f}" if fl else "-",
                f"{fl.rss_mib:,.0f}" if fl else "-",
                _cpu_ratio(fl, kf) if fl else "-",
            ]
        )
        if p.floor_note and p.floor_note not in notes:
            notes.append(p.floor_note)
    headers = ["variant", "frames/video", "tracks", "segments", "kf rows/s", "kf CPU s",
               "kf CPU us/row", "kf RSS MiB", "floor rows/s", "floor CPU s", "floor CPU us/row",
               "floor RSS MiB", "CPU kf/floor"]  # fmt: skip
    first = (
        f"Scaling: one thing varied at a time around {size_label(SCALING_BASE_ROWS)} rows / "
        f"{VIDEOS} videos / {TRACKS} tracks, one Parquet file unless per-video (kf = keyframer, "
        f"floor = bench.floor; rows/s by wall time; CPU = user + system; RSS = peak of the "
        f"process; tracks and segments from keyframer's manifest; the base is one run, shown "
        f"in each group; long segments: the same data, whose 2-45 frame occlusion gaps "
        f"--max_gap_frames {LONG_SEGMENTS_MAX_GAP} bridges, the floor given the same setting):"
    )
    return "\n".join([first, format_table(headers, rows), *notes])


# --------------------------------------------------------------------------------------------
# Runner modes (the whole process tree's memory)
# --------------------------------------------------------------------------------------------

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
    progress(f"modes at {label}: {len(modes)} modes; {_load()}")
    ref = args.out_dir / f"{label}-modes-0"
    try:
        for i in range(args.repeat):
            for k, ((name, layout, extra), (_, result)) in enumerate(
                zip(modes, results, strict=True)
            ):
                data, _ = _data(args, rows, layout=layout, progress=progress)
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


def _data(
    args: argparse.Namespace,
    rows: int,
    *,
    videos: int | None = None,
    tracks: int | None = None,
    layout: str = SINGLE,
    progress: Progress | None = None,
) -> tuple[Path, str]:
    """dataset() with the benchmark's arguments (videos, tracks: --videos, --tracks unless
    given), remembering it for the "Data sets" list."""
    videos = args.videos if videos is None else videos
    tracks = args.tracks if tracks is None else tracks
    args.datasets_used.add((rows, videos, tracks))
    return dataset(
        rows, videos=videos, tracks=tracks, layout=layout, data_dir=args.data_dir, progress=progress
    )


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
    data, shape = _data(args, rows, progress=progress)
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
    per_video, shape = _data(args, rows, layout=PER_VIDEO, progress=progress)
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
        data, _ = _data(args, rows, progress=progress)
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
        "--thinning",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also benchmark keyframe thinning: keyframer with --keyframe_tolerance iou:0.9 "
        "and px:2 against none, and bench/thinning_bench.py's bbox scenarios",
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
        "--scaling",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also vary rows (1m, 5m, 20m), videos (50, 200, 800), tracks (2, 5, 10) and "
        "segment length one at a time, keyframer and floor (takes minutes)",
    )
    p.add_argument(
        "--modes",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also run keyframer in-process, multi_threading and multi_processing (2 workers), "
        "measuring the whole process tree's memory",
    )
    p.add_argument(
        "--modes-size",
        type=parse_size,
        default=parse_size("5m"),
        help="rows for --modes (default 5m)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a fast smoke run: 100k rows, all three programs, per-file at 100k, thinning at "
        "100k with 20 thinning_bench tracks",
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
        args.thinning_size = 100_000
        args.thinning_tracks = 20
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.thinning_tracks < 1:
        p.error("--thinning-tracks must be at least 1")
    args.datasets_used = set()
    args.per_file_ok = False  # set by main once checked
    return args


def report_main(
    main_results: dict[int, dict[str, Result]],
    per_file: list[tuple[Result, Result, str]],
    args: argparse.Namespace,
) -> str:
    """The throughput, ratio and per-file tables."""
    lines = [
        f"Throughput (whole-process wall time, medians of {args.repeat}; CPU = the child's "
        f"user + system time; {args.videos} videos x {args.tracks} tracks, one Parquet file):"
    ]
    headers = ["program", "rows", "rows/s", "wall s", "CPU s", "peak RSS MiB"]
    table = []
    for results in main_results.values():
        for program, result in results.items():
            table.append([f"{result.label} {program}", *result.cells()])
    lines += [format_table(headers, table), ""]
    lines.append(
        "Ratios of throughput (keyframer/naive is the >= 30x target); by wall time, and by "
        "CPU time:"
    )
    lines.append(
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
        lines += [
            "",
            "Per-video-file layout (one Parquet file per video) with --complete_per_file, "
            "against the single file:",
        ]
        rows = []
        for single, pf, _ in per_file:
            rows.append([f"{pf.label} single file", *single.cells()])
            rows.append([f"{pf.label} per-video --complete_per_file", *pf.cells()])
        lines.append(
            format_table(["keyframer", "rows", "rows/s", "wall s", "CPU s", "peak RSS MiB"], rows)
        )
    return "\n".join(lines)


def report_datasets(args: argparse.Namespace) -> str:
    """The generator's summary of every data set used."""
    shapes = []
    for rows, videos, tracks in sorted(args.datasets_used, key=lambda k: (k[1], k[2], k[0])):
        shape = dataset_shape(rows, videos=videos, tracks=tracks, data_dir=args.data_dir)
        note = _shape_note(rows, shape, tracks, videos)
        first = shape.splitlines()[0] if shape else ""
        name = f"{size_label(rows)} ({videos}v x {tracks}t)"
        shapes.append(f"  {name}: {first}" + (f"\n    {note}" if note else ""))
    return "\n".join(["Data sets:", *shapes])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    args.out_dir = args.out_dir.resolve()
    progress = Progress()
    sections = [
        f"thinning at {size_label(args.thinning_size)}" if args.thinning else "",
        "scaling" if args.scaling else "",
        f"modes at {size_label(args.modes_size)}" if args.modes else "",
    ]
    progress(
        f"sizes {', '.join(size_label(n) for n in args.sizes)}; naive up to "
        f"{size_label(args.naive_max)}; per-file "
        f"{', '.join(size_label(n) for n in args.per_file_sizes) if args.per_file else 'off'};"
        f" repeat {args.repeat}; {args.videos} videos x {args.tracks} tracks; "
        f"also: {', '.join(x for x in sections if x) or 'nothing'}; logs in {args.out_dir}"
    )
    progress(_load())
    per_file_skipped = None
    wants_per_file = (args.per_file and args.per_file_sizes) or args.scaling or args.modes
    args.per_file_ok = bool(wants_per_file) and per_file_supported()
    if wants_per_file and not args.per_file_ok:
        per_file_skipped = "keyframer has no --complete_per_file flag yet: per-file runs skipped"
        progress(per_file_skipped)
    if not args.per_file_ok:
        args.per_file = False
    reports: list[str] = []
    try:
        main_results = {n: bench_size(n, args, progress) for n in args.sizes}
        per_file = []
        if args.per_file:
            for n in args.per_file_sizes:
                single = main_results.get(n, {}).get(KEYFRAMER)
                per_file.append(bench_per_file(n, single, args, progress))
        if main_results or per_file:
            reports.append(report_main(main_results, per_file, args))
        if args.thinning:
            reports.append(report_thinning(bench_thinning(args, progress), args))
        if args.scaling:
            reports.append(report_scaling(bench_scaling(args, progress)))
        if args.modes:
            reports.append(report_modes(bench_modes(args, progress), args))
    except (OutputMismatchError, ProgramFailedError) as e:
        for report in reports:
            print()
            print(report)
        print(f"\nBENCHMARK FAILED: {e}", file=sys.stderr, flush=True)
        return 1

    progress(_load())
    for report in reports:
        print()
        print(report)
    if per_file_skipped:
        print()
        print(per_file_skipped)
    if args.datasets_used:
        print()
        print(report_datasets(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
