"""The scaling study (`--scaling`): keyframer and the floor while varying one thing at a time
around 1m rows / 200 videos / 5 tracks: rows (1m, 5m, 20m, and 20m per-video with
--complete_per_file), videos (50, 200, 800), tracks (2, 5, 10), and segment length (the same
data with --max_gap_frames 50, which merges the occlusion-split segments)."""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.datasets.cache import PER_VIDEO, SINGLE, TRACKS, VIDEOS
from bench.harness.compare import compare_outputs
from bench.harness.programs import FLOOR, KEYFRAMER, floor_argv, run_program
from bench.harness.progress import Progress, load_note
from bench.harness.results import Result
from bench.harness.sizes import size_label
from bench.sections.context import data_for

# Beyond this estimated peak RSS, the scaling section does not run the floor (which holds every
# keyed row in memory) at a larger size.
FLOOR_RSS_LIMIT_MIB = 4096

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
    """One variant's results (the floor's None where it did not run)."""

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


def _floor_decision(
    label: str, v: Variant, done: dict[Variant, ScalingPoint], progress: Progress
) -> tuple[bool, str]:
    """(run the floor?, why not): not on per-video files, nor where its memory would be
    over FLOOR_RSS_LIMIT_MIB."""
    if v.per_file:
        return False, ""
    estimate = _floor_rss_estimate(v, done)
    if estimate is None or estimate <= FLOOR_RSS_LIMIT_MIB:
        return True, ""
    note = (
        f"floor not run at {label}: its peak RSS would be ~{estimate:,.0f} MiB "
        f"(extrapolated), over {FLOOR_RSS_LIMIT_MIB:,} MiB"
    )
    progress(note)
    return False, note


@dataclass
class _Scaling:
    """The state of a scaling run: the points done, and keyframer outputs kept for per-file."""

    args: argparse.Namespace
    progress: Progress
    refs: set[Variant]
    done: dict[Variant, ScalingPoint]
    kept: dict[Variant, Path]

    def run_once(self, label: str, v: Variant, data: Path, kf: Result, fl: Result | None, i: int):
        """One run of keyframer (and the floor), outputs compared and cleaned up."""
        args, progress = self.args, self.progress
        tag = f"scaling-{size_label(v.rows)}-{v.videos}v-{v.tracks}t-gap{v.max_gap}" + (
            "-per-video" if v.per_file else ""
        )
        extra = ["--max_gap_frames", str(v.max_gap)] if v.max_gap != 1 else []
        extra += ["--complete_per_file"] if v.per_file else []
        suffix = f" #{i + 1}" if args.repeat > 1 else ""
        out_kf = args.out_dir / f"{tag}-keyframer"
        name = f"scaling {label}: keyframer{suffix}"
        kf.runs.append(
            run_program(KEYFRAMER, data, v.rows, out_kf, extra=extra, name=name, progress=progress)
        )
        outputs = {"keyframer": out_kf}
        if fl is not None:
            out_fl = args.out_dir / f"{tag}-floor"
            argv = floor_argv(data, out_fl, v.max_gap) if v.max_gap != 1 else None
            name = f"scaling {label}: floor{suffix}"
            fl.runs.append(
                run_program(FLOOR, data, v.rows, out_fl, argv=argv, name=name, progress=progress)
            )
            outputs["floor"] = out_fl
        if v.per_file and v.single in self.kept:
            outputs = {"keyframer single file": self.kept[v.single], **outputs}
        if len(outputs) > 1:
            files = compare_outputs(outputs)
            progress(f"scaling {label}: outputs identical ({files} batch files)")
        for who, out in outputs.items():
            if who == "keyframer" and v in self.refs and i == args.repeat - 1:
                self.kept[v] = out
            elif not args.keep_outputs and out not in self.kept.values():
                shutil.rmtree(out, ignore_errors=True)

    def point(self, label: str, v: Variant) -> ScalingPoint:
        """Measure one variant `args.repeat` times."""
        layout = PER_VIDEO if v.per_file else SINGLE
        data, shape = data_for(
            self.args, v.rows, videos=v.videos, tracks=v.tracks, layout=layout,
            progress=self.progress,
        )  # fmt: skip
        run_floor, floor_note = _floor_decision(label, v, self.done, self.progress)
        kf = Result(size_label(v.rows))
        fl = Result(size_label(v.rows)) if run_floor else None
        for i in range(self.args.repeat):
            self.run_once(label, v, data, kf, fl, i)
        return ScalingPoint(v, kf, fl, shape, floor_note)


def bench_scaling(args: argparse.Namespace, progress: Progress) -> list[tuple[str, ScalingPoint]]:
    """Run every variant of scaling_plan once (`args.repeat` times), outputs checked."""
    plan = scaling_plan(args.per_file_ok)
    refs = {v.single for _, v in plan if v.per_file}  # keep their keyframer output
    state = _Scaling(args, progress, refs, {}, {})
    progress(f"scaling: {len({v for _, v in plan})} points; {load_note()}")
    try:
        for label, v in plan:
            if v not in state.done:
                state.done[v] = state.point(label, v)
    finally:
        if not args.keep_outputs:
            for out in state.kept.values():
                shutil.rmtree(out, ignore_errors=True)
    return [(label, state.done[v]) for label, v in plan]
