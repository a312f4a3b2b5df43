"""The scaling study's table."""

from __future__ import annotations

from bench.datasets.cache import TRACKS, VIDEOS, frames_per_video
from bench.harness.results import cpu_ratio
from bench.harness.sizes import size_label
from bench.harness.tables import format_table
from bench.sections.scaling import LONG_SEGMENTS_MAX_GAP, SCALING_BASE_ROWS, ScalingPoint


def _row(label: str, p: ScalingPoint) -> list[str]:
    kf, fl, c = p.keyframer, p.floor, p.keyframer.counts
    frames = frames_per_video(p.shape)
    return [
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
        cpu_ratio(fl, kf) if fl else "-",
    ]


def report_scaling(points: list[tuple[str, ScalingPoint]]) -> str:
    """The scaling table, one row per variant, and notes on runs skipped."""
    rows = [_row(label, p) for label, p in points]
    notes = list(dict.fromkeys(p.floor_note for _, p in points if p.floor_note))
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
