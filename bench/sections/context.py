"""Data sets for a benchmark run's arguments, remembered for the closing "Data sets" list."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.datasets.cache import SINGLE, DataSpec, dataset, frames_per_video, spec_shape
from bench.datasets.presets import Shape, long_shape
from bench.harness.progress import Progress
from bench.harness.sizes import size_label


def data_for_spec(
    args: argparse.Namespace, spec: DataSpec, progress: Progress | None = None
) -> tuple[Path, str]:
    """The data set `spec` (generated unless cached) and its shape summary; remembered."""
    args.datasets_used.add(spec)
    return dataset(
        spec.rows,
        videos=spec.videos,
        tracks=spec.tracks,
        layout=spec.layout,
        data_dir=args.data_dir,
        progress=progress,
        tracks_max=spec.tracks_max,
        target_frames=spec.target_frames,
        full_precision=spec.full_precision,
    )


def sections_shape(args: argparse.Namespace) -> Shape:
    """The shape the per-file, thinning, scaling and modes sections use: long videos of
    --videos videos x --tracks tracks."""
    return long_shape(args.videos, args.tracks)


def data_for(
    args: argparse.Namespace,
    rows: int,
    *,
    videos: int | None = None,
    tracks: int | None = None,
    layout: str = SINGLE,
    progress: Progress | None = None,
) -> tuple[Path, str]:
    """The sections' data set at `rows` (videos, tracks: --videos, --tracks unless given)."""
    shape = long_shape(
        args.videos if videos is None else videos, args.tracks if tracks is None else tracks
    )
    return data_for_spec(args, shape.spec(rows, layout=layout), progress)


def shape_note(spec: DataSpec, shape: str) -> str | None:
    """A note when the videos came out far from the frames aimed at (rows per video decide)."""
    frames = frames_per_video(shape)
    if frames is not None and abs(frames - spec.target_frames) > 0.2 * spec.target_frames:
        return (
            f"note: {size_label(spec.rows)} rows as {spec.videos} videos makes videos of "
            f"~{frames:,.0f} frames, not ~{spec.target_frames:,} ({spec.rows // spec.videos:,} "
            f"rows per video)"
        )
    return None


def report_datasets(args: argparse.Namespace) -> str:
    """The generator's summary of every data set used."""
    lines = ["Data sets:"]
    for spec in sorted(args.datasets_used, key=lambda s: s.name):
        shape = spec_shape(spec, args.data_dir)
        note = shape_note(spec, shape)
        first = shape.splitlines()[0] if shape else ""
        lines.append(f"  {spec.name}: {first}" + (f"\n    {note}" if note else ""))
    return "\n".join(lines)
