"""Drawing a track's error lane: its reconstruction error per input frame, the tolerance
dashed, the worst frame marked, and what it all amounts to in the info column."""

from __future__ import annotations

import numpy as np

from timeline.lane_drawing import ERROR_RED, NOTE_BROWN, Canvas, darker
from timeline.layout import Row, primary_metric, tolerance_limit
from timeline.model import TrackLane
from timeline.text import plural, shorten


def _curve(canvas: Canvas, row: Row, t: TrackLane, metric: str, values: np.ndarray):
    """The error curve and the tolerance line; returns (the tolerance as an error or None,
    the curve's y per frame)."""
    base, top = row.y + row.height / 2 - 0.07, row.y - row.height / 2 + 0.07
    scale = canvas.scales.get(metric) or 1.0
    scale = scale if scale > 0 else 1.0
    ys = base - np.clip(values / scale, 0, 1.05) * (base - top)
    c = canvas.colour[t.feature]
    ax = canvas.ax
    ax.plot(t.error_frames, ys, color=darker(c), linewidth=1.0, zorder=3)
    ax.fill_between(
        t.error_frames, base, ys, where=np.isfinite(ys), color=c, alpha=0.25, linewidth=0, zorder=2
    )
    tol = canvas.timeline.tolerance_for(t.feature, t.kind)
    if not (tol and tol[0] == metric):
        return None, ys
    limit = tolerance_limit(*tol)
    ly = base - min(limit / scale, 1.05) * (base - top)
    ax.plot(
        [np.nanmin(t.error_frames) - 0.5, np.nanmax(t.error_frames) + 0.5],
        [ly, ly],
        color=ERROR_RED,
        linestyle="--",
        linewidth=0.8,
        zorder=3,
    )
    return limit, ys


def _details(t: TrackLane, metric: str, limit: float | None, over: bool, fmt: str) -> list[str]:
    """The small print under the headline: tolerance, edge error, frames outside segments."""
    detail = []
    if limit is not None:
        detail.append(f"{'OVER the' if over else 'within'} tolerance {fmt.format(limit)}")
    if metric == "iou" and t.error_px is not None and np.isfinite(t.error_px).any():
        detail.append(f"edge error \u2264 {np.nanmax(t.error_px):.1f} px")
    if t.outside_frames:
        detail.append(f"{plural(t.outside_frames, 'input frame')} outside segments")
    return detail


def _worst(
    canvas: Canvas, t: TrackLane, metric: str, values, limit, ys
) -> tuple[str, list[str], bool]:
    """Mark the worst frame; returns (headline, details, whether over the tolerance)."""
    name = "1\u2212IoU" if metric == "iou" else "error"
    worst = int(np.nanargmax(values))
    peak = float(values[worst])
    fmt = "{:.3f}" if metric == "iou" else "{:.1f} px"
    if peak > 1e-9:
        canvas.ax.plot(
            [t.error_frames[worst]],
            [ys[worst]],
            marker="v",
            color=ERROR_RED,
            markersize=4,
            zorder=4,
        )
        text = f"max {name} {fmt.format(peak)} at frame {int(t.error_frames[worst])}"
    else:
        text = f"exact: no error on {plural(int(np.isfinite(values).sum()), 'input frame')}"
    over = limit is not None and peak > limit * (1 + 1e-6) + 1e-9
    detail = _details(t, metric, limit, over, fmt)
    return text, detail, over


def draw_error_lane(canvas: Canvas, row: Row) -> None:
    """The error lane under a track (or why there is none)."""
    t: TrackLane = row.item
    metric = primary_metric(canvas.timeline, t)
    name = "1\u2212IoU" if metric == "iou" else "px"
    canvas.label(row, f"reconstruction error ({name})", fontsize=7, color="#777777", style="italic")
    canvas.ax.axhline(row.y + row.height / 2 - 0.07, color="#cccccc", linewidth=0.5, zorder=1)
    if not t.matched:
        canvas.info(row.y, "no input rows matched this track", 7.5, NOTE_BROWN)
        return
    values = t.error_iou if metric == "iou" else t.error_px
    if values is None or t.error_frames is None or not np.isfinite(values).any():
        canvas.info(row.y, "no input frame inside its segments", 7.5, NOTE_BROWN)
        return
    limit, ys = _curve(canvas, row, t, metric, values)
    text, detail, over = _worst(canvas, t, metric, values, limit, ys)
    headline = shorten(text, int(canvas.info_chars * 1.04))
    canvas.info(row.y - (0.06 if detail else 0), headline, 7.5, ERROR_RED if over else "#222222")
    if detail:
        small = shorten(" · ".join(detail), int(canvas.info_chars * 1.35))
        canvas.info(row.y + 0.085, small, 6.5, "#777777")
