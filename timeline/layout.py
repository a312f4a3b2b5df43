"""Where everything goes: the lanes drawn (under a cap), their rows, the frame span, the error
scales, and the page's measures in inches. No matplotlib here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from timeline.model import Timeline, TrackLane
from timeline.text import shorten, tolerance_text
from transforms.core.columns import BBOX

MAX_LANES = 60


@dataclass
class Row:
    """One horizontal band of the lanes' axes."""

    kind: str  # header, track, error, range
    label: str
    height: float  # inches
    y: float = 0.0  # centre, inches from the top of the axes
    item: object = None
    group: int = 0  # alternate groups get a shaded band


def layout_rows(timeline: Timeline, max_lanes: int = MAX_LANES) -> tuple[list[Row], int]:
    """(the rows to draw, top to bottom; how many lanes the cap leaves out).

    Over the cap, frame classifications keep up to a quarter of the lanes (they are few and say
    what the video is); tracks take the rest, in file order.
    """
    with_errors = timeline.input_pattern is not None
    n_ranges = len(timeline.ranges)
    if len(timeline.tracks) + n_ranges > max_lanes:
        n_ranges = min(n_ranges, max(max_lanes // 4, max_lanes - len(timeline.tracks)))
    shown_tracks = timeline.tracks[: max(max_lanes - n_ranges, 0)]
    shown_ranges = timeline.ranges[:n_ranges]
    hidden = len(timeline.tracks) + len(timeline.ranges) - len(shown_tracks) - len(shown_ranges)
    rows: list[Row] = []
    groups: dict[str, int] = {}
    if shown_tracks:
        rows.append(Row("header", "OBJECTS (segments, keyframes)", 0.24))
        for t in shown_tracks:
            g = groups.setdefault(t.feature, len(groups))
            rows.append(Row("track", t.label, 0.34, item=t, group=g))
            if with_errors:
                rows.append(Row("error", "", 0.40, item=t, group=g))
    if shown_ranges:
        rows.append(Row("header", "FRAME CLASSIFICATIONS (answer ranges)", 0.24))
        for r in shown_ranges:
            g = groups.setdefault("\0" + r.feature, len(groups))
            rows.append(Row("range", r.label, 0.28, item=r, group=g))
    y = 0.0
    for row in rows:
        row.y = y + row.height / 2
        y += row.height
    return rows, hidden


def frame_span(timeline: Timeline) -> tuple[float, float]:
    """The x axis' limits: every keyframe, range and measured input frame, padded."""
    frames = [k["frame"] for t in timeline.tracks for s in t.segments for k in s]
    frames += [f for r in timeline.ranges for se in r.ranges for f in se]
    for t in timeline.tracks:
        if t.error_frames is not None:
            finite = t.error_frames[np.isfinite(t.error_frames)]
            if len(finite):
                frames += [float(finite.min()), float(finite.max())]
    if not frames:
        base = timeline.labelbox_frame_base
        return base - 0.5, base + 9.5
    lo, hi = min(frames) - 0.5, max(frames) + 0.5
    pad = max((hi - lo) * 0.01, 0.5)
    return lo - pad, hi + pad


def counts(timeline: Timeline) -> dict[str, int]:
    """What the data row holds, for the title."""
    return {
        "objects": len(timeline.tracks),
        "segments": sum(len(t.segments) for t in timeline.tracks),
        "keyframes": sum(t.keyframes for t in timeline.tracks),
        "ranges": sum(len(r.ranges) for r in timeline.ranges),
        "answers": len(timeline.ranges),
        "globals": len(timeline.globals),
    }


def primary_metric(timeline: Timeline, track: TrackLane) -> str:
    """The metric a track's error lane shows: the tolerance's for boxes (IoU by default),
    pixels for points and lines."""
    tol = timeline.tolerance_for(track.feature, track.kind)
    if track.kind != BBOX:
        return "px"
    return tol[0] if tol else "iou"


def tolerance_limit(metric: str, value: float) -> float:
    """A tolerance as an error bound of its metric (iou:0.9 is an error of 0.1)."""
    return 1 - value if metric == "iou" else value


def error_scales(timeline: Timeline) -> dict[str, float]:
    """The top of the error lanes per metric, shared by all lanes so heights compare."""
    scales: dict[str, float] = {}
    for t in timeline.tracks:
        m = primary_metric(timeline, t)
        values = t.error_iou if m == "iou" else t.error_px
        tol = timeline.tolerance_for(t.feature, t.kind)
        top = [float(np.nanmax(values))] if values is not None and np.isfinite(values).any() else []
        if tol and tol[0] == m:
            top.append(tolerance_limit(*tol))
        scales[m] = max([scales.get(m, 0.0), *top])
    return scales


@dataclass
class Page:
    """The picture's measures (inches unless said otherwise)."""

    dpi: float
    width_px: int
    height_px: int
    width_in: float
    height_in: float
    narrow: bool
    with_errors: bool
    labels_on_top: bool  # tall figures repeat the frame numbers above the lanes
    header_in: float  # also the top of the axes
    axes_in: float
    xaxis_in: float
    legend_in: float
    left_in: float
    right_in: float
    plot_w: float
    details: list[str]
    footer: list[str]


def _details(timeline: Timeline, narrow: bool) -> list[str]:
    """The title's small print: where it all comes from."""
    run = (timeline.manifest or {}).get("run_id", "?")
    details = [
        f"{timeline.data_row_field} · output {timeline.output_dir} (run {run})",
        f"keyframe tolerance: {tolerance_text(timeline.tolerance)}",
    ]
    if timeline.input_pattern is not None:
        details += [
            f"error lanes: the editor's interpolation between keyframes vs every input frame of "
            f"{timeline.input_pattern} (frame_base {timeline.frame_base})",
            "boxes: 1\u2212IoU; points and lines: the largest coordinate error in px; "
            "dashed red: the tolerance",
        ]
    if not narrow:  # two details a line
        details = [" · ".join(details[i : i + 2]) for i in range(0, len(details), 2)]
    return details


def _footer(timeline: Timeline, hidden: int, max_lanes: int) -> list[str]:
    """The lines under the legend: globals, then notes."""
    footer = [*timeline.globals]
    if hidden:
        footer.append(
            f"note: {hidden} more lanes not drawn (at most {max_lanes}); "
            "they are in the output all the same"
        )
    footer += [f"note: {n}" for n in timeline.notes]
    if not timeline.tracks and not timeline.ranges:
        footer.append("note: no object and no frame classification in this data row")
    return footer


def page_layout(
    timeline: Timeline, rows: list[Row], hidden: int, width_px: int, max_lanes: int
) -> Page:
    """The page for `rows`: up to 1600 px at 100 dpi (smaller images keep readable text);
    beyond, the same layout at a higher resolution."""
    dpi = max(100.0, width_px / 16.0)
    width_in = width_px / dpi
    narrow = width_in < 13
    with_errors = timeline.input_pattern is not None
    axes_in = max(sum(r.height for r in rows), 0.5)
    labels_on_top = axes_in > 9
    details = _details(timeline, narrow)
    footer = _footer(timeline, hidden, max_lanes)
    header_in = 0.1 + 0.3 + 0.24 * (2 if narrow else 1) + 0.17 * len(details) + 0.12
    if labels_on_top:
        header_in += 0.22
    xaxis_in = 0.55
    legend_in = 0.26 * (1 if not narrow else 2 if not with_errors else 3) + 0.1
    footer_in = 0.08 + 0.19 * len(footer)
    height_px = round((header_in + axes_in + xaxis_in + legend_in + footer_in + 0.1) * dpi)
    longest = max([len(shorten(r.label, 46)) for r in rows] + [12])
    left_in = min(max(0.35 + 0.068 * longest, 1.3), 4.2)
    right_in = 3.1 if not narrow else 2.6
    return Page(
        dpi=dpi,
        width_px=width_px,
        height_px=height_px,
        width_in=width_in,
        height_in=(height_px + 1e-6) / dpi,  # the figure's (see drawing.draw)
        narrow=narrow,
        with_errors=with_errors,
        labels_on_top=labels_on_top,
        header_in=header_in,
        axes_in=axes_in,
        xaxis_in=xaxis_in,
        legend_in=legend_in,
        left_in=left_in,
        right_in=right_in,
        plot_w=max(width_in - left_in - right_in, 1.0),
        details=details,
        footer=footer,
    )
