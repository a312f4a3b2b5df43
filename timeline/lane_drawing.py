"""Drawing a lane on the axes: a track's segments and keyframes, an answer's frame ranges;
the colours, and the Canvas every lane draws on (error lanes: error_lane_drawing)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from timeline.layout import Row
from timeline.model import RangeLane, Timeline, TrackLane
from timeline.text import nested_changes, plural, shorten

# One colour per feature, in order of first appearance. Red is kept for errors and tolerances.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
)
ERROR_RED = "#d62728"
NOTE_BROWN = "#8a5a00"


def darker(colour: str, amount: float = 0.45) -> tuple[float, float, float]:
    """`colour` darkened by `amount` (0: unchanged, 1: black)."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return (r * (1 - amount), g * (1 - amount), b * (1 - amount))


@dataclass
class Canvas:
    """The axes of the lanes and what every lane needs to draw on it."""

    ax: object
    timeline: Timeline
    x0: float
    x1: float
    px_per_frame: float
    label_tf: object  # x in axes fraction, y in inches (lane labels, the info column)
    fig_y_tf: object  # x in figure fraction, y in inches (section headers)
    info_x: float  # where the info column starts (axes fraction)
    info_chars: int  # characters of 7.8 pt text in the info column
    colour: dict[str, str]
    scales: dict[str, float]
    ticks: list = field(default_factory=list)
    tick_colours: list = field(default_factory=list)

    def label(self, row: Row, text: str, **style) -> None:
        """A lane's label, right-aligned left of the axes."""
        self.ax.text(-0.008, row.y, text, transform=self.label_tf, ha="right", va="center", **style)

    def info(self, y: float, text: str, fontsize: float, colour: str) -> None:
        """A line of the info column right of the axes."""
        self.ax.text(
            self.info_x,
            y,
            text,
            transform=self.label_tf,
            fontsize=fontsize,
            va="center",
            color=colour,
        )


def _segment_bars(canvas: Canvas, row: Row, t: TrackLane, c: str, bar_h: float) -> None:
    """A bar per segment (alternate shades), a tick per keyframe (collected)."""
    from matplotlib.patches import Rectangle

    dark = darker(c)
    for i, seg in enumerate(t.segments):
        f0, f1 = seg[0]["frame"], seg[-1]["frame"]
        # Inset by a pixel and a half at each end: adjacent segments show a gap.
        inset = 1.5 / canvas.px_per_frame
        span = max(f1 - f0 + 1 - 2 * inset, 1.0 / canvas.px_per_frame)
        canvas.ax.add_patch(
            Rectangle(
                ((f0 + f1) / 2 - span / 2, row.y - bar_h / 2),
                span,
                bar_h,
                facecolor=c,
                alpha=0.55 if i % 2 else 0.3,
                edgecolor=darker(c, 0.25),
                linewidth=0.8,
                zorder=2,
            )
        )
        # Keyframe ticks stand out of the bar, so they never read as segment edges.
        tick_h = bar_h * 0.75
        for k in seg:
            canvas.ticks.append([(k["frame"], row.y - tick_h), (k["frame"], row.y + tick_h)])
            canvas.tick_colours.append(dark)


def _nested_marks(canvas: Canvas, row: Row, t: TrackLane, dark, bar_h: float) -> list[int]:
    """Dots on keyframes with nested classifications, the answers written where they change
    (when there is room); returns those keyframes' frames."""
    with_cls = [k["frame"] for s in t.segments for k in s if k.get("classifications")]
    if not with_cls:
        return with_cls
    canvas.ax.scatter(
        with_cls,
        [row.y] * len(with_cls),
        s=13,
        marker="o",
        facecolor="white",
        edgecolor=dark,
        linewidth=0.9,
        zorder=4,
    )
    free_from = -math.inf  # pixel where the previous label ends
    for f, change in nested_changes(t):
        start = (f - canvas.x0) * canvas.px_per_frame
        if start < free_from:
            continue
        text = shorten(change, 48)
        free_from = start + 4.6 * len(text) + 8
        canvas.ax.text(
            f - 0.4,
            row.y - bar_h / 2 - 0.01,
            text,
            fontsize=6.5,
            va="bottom",
            ha="left",
            color=dark,
            zorder=5,
            bbox={
                "boxstyle": "square,pad=0.08",
                "facecolor": "white",
                "alpha": 0.75,
                "linewidth": 0,
            },
        )
    return with_cls


def draw_track_lane(canvas: Canvas, row: Row) -> None:
    """One track: label, segments, keyframes, nested classifications, and its counts."""
    t: TrackLane = row.item
    c = canvas.colour[t.feature]
    bar_h = row.height * 0.56
    canvas.label(row, shorten(t.label, 46), fontsize=9, color="#111111")
    _segment_bars(canvas, row, t, c, bar_h)
    with_cls = _nested_marks(canvas, row, t, darker(c), bar_h)
    if not t.segments:
        canvas.ax.text(
            (canvas.x0 + canvas.x1) / 2,
            row.y,
            "no segments (empty 'segments' list)",
            fontsize=8,
            ha="center",
            va="center",
            color=ERROR_RED,
            style="italic",
        )
    kind = t.kind if t.kind != "?" else "object"
    info = f"{kind} · {plural(len(t.segments), 'segment')} · {plural(t.keyframes, 'keyframe')}"
    sub = f"uuid {t.uuid[:8]}"
    if t.matched:
        sub += f" · input track_id {t.track_id!r}" if t.track_id else " · no track_id"
    if with_cls:
        sub += f" · {len(with_cls)} with classifications"
    canvas.info(row.y - 0.045, shorten(info, canvas.info_chars), 7.8, "#222222")
    canvas.info(row.y + 0.085, shorten(sub, int(canvas.info_chars * 1.35)), 6.5, "#777777")


def draw_range_lane(canvas: Canvas, row: Row) -> None:
    """One answer of a frame classification: a bar per range, numbered when there is room."""
    from matplotlib.patches import Rectangle

    r: RangeLane = row.item
    c = canvas.colour[r.feature]
    bar_h = row.height * 0.56
    canvas.label(row, shorten(r.label, 46), fontsize=9, color="#111111")
    for s, e in r.ranges:
        canvas.ax.add_patch(
            Rectangle(
                (s - 0.5, row.y - bar_h / 2),
                e - s + 1,
                bar_h,
                facecolor=c,
                alpha=0.75,
                edgecolor=darker(c),
                linewidth=0.8,
                zorder=2,
            )
        )
        text = f"{s}\u2013{e}" if e != s else f"{s}"
        if (e - s + 1) * canvas.px_per_frame > 7 * len(text) + 6:
            canvas.ax.text(
                (s + e) / 2,
                row.y,
                text,
                fontsize=7,
                ha="center",
                va="center",
                color="white",
                fontweight="bold",
                zorder=3,
            )
    frames = sum(e - s + 1 for s, e in r.ranges)
    text = f"{r.kind} · {plural(len(r.ranges), 'range')} · {plural(frames, 'frame')}"
    canvas.info(row.y, text, 7.8, "#222222")
