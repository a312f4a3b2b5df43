"""The picture: a matplotlib Figure of title, lanes, legend and footer, saved as PNG.

A bare Figure renders with Agg and touches no pyplot state or interactive backend; matplotlib
is imported only when drawing.
"""

from __future__ import annotations

import io

from timeline import files
from timeline.error_lane_drawing import draw_error_lane
from timeline.errors import ReportError
from timeline.lane_drawing import (
    ERROR_RED,
    NOTE_BROWN,
    PALETTE,
    Canvas,
    draw_range_lane,
    draw_track_lane,
)
from timeline.layout import (
    MAX_LANES,
    Page,
    Row,
    counts,
    error_scales,
    frame_span,
    layout_rows,
    page_layout,
)
from timeline.model import Timeline
from timeline.text import plural, shorten

DEFAULT_WIDTH = 1600
MIN_WIDTH = 800


def _title(fig, timeline: Timeline, page: Page) -> None:
    """The data row, the counts and the PNG size, then where it all comes from."""
    n = counts(timeline)
    counts_text = (
        f"{plural(n['objects'], 'object')} ({plural(n['segments'], 'segment')}, "
        f"{plural(n['keyframes'], 'keyframe')}) · "
        f"{plural(n['ranges'], 'frame range')} in {plural(n['answers'], 'answer')}"
    )
    globals_text = plural(n["globals"], "global classification")
    size_text = f"PNG {page.width_px}\u00d7{page.height_px} px"
    header = [(timeline.data_row, 14, "bold", "#000000", 0.3)]
    if page.narrow:
        header += [(counts_text, 10, "normal", "#222222", 0.24)]
        header += [(f"{globals_text} · {size_text}", 10, "normal", "#222222", 0.24)]
    else:
        text = f"{counts_text} · {globals_text} · {size_text}"
        header += [(text, 10, "normal", "#222222", 0.24)]
    header += [(d, 8, "normal", "#666666", 0.17) for d in page.details]
    y = 0.1
    for text, size, weight, colour, step in header:
        fig.text(
            0.008,
            1 - y / page.height_in,
            shorten(text, int(page.width_in * (15 if size < 9 else 11))),
            fontsize=size,
            fontweight=weight,
            color=colour,
            va="top",
            ha="left",
        )
        y += step


def _lane_axes(fig, timeline: Timeline, page: Page):
    """The axes the lanes are drawn on: x in Labelbox frames, y in inches from the top."""
    from matplotlib.ticker import MaxNLocator

    ax = fig.add_axes(
        (
            page.left_in / page.width_in,
            1 - (page.header_in + page.axes_in) / page.height_in,
            page.plot_w / page.width_in,
            page.axes_in / page.height_in,
        )
    )
    x0, x1 = frame_span(timeline)
    ax.set_xlim(x0, x1)
    ax.set_ylim(page.axes_in, 0)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=max(int(page.plot_w * 1.4), 4), integer=True))
    ax.tick_params(axis="x", labelsize=8.5, length=3)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    if page.labels_on_top:
        ax.tick_params(axis="x", labeltop=True, top=True)
    ax.set_xlabel(
        f"Labelbox frame (the video's first frame is {timeline.labelbox_frame_base})",
        fontsize=9,
    )
    return ax, x0, x1


def _canvas(fig, timeline: Timeline, page: Page) -> Canvas:
    """The lanes' axes, a colour per feature, and the shared error scales."""
    from matplotlib.transforms import blended_transform_factory

    ax, x0, x1 = _lane_axes(fig, timeline, page)
    features = [t.feature for t in timeline.tracks] + [r.feature for r in timeline.ranges]
    return Canvas(
        ax=ax,
        timeline=timeline,
        x0=x0,
        x1=x1,
        px_per_frame=page.plot_w * page.dpi / max(x1 - x0, 1e-9),
        label_tf=blended_transform_factory(ax.transAxes, ax.transData),
        fig_y_tf=blended_transform_factory(fig.transFigure, ax.transData),
        info_x=1 + 0.12 / page.plot_w,
        info_chars=int((page.right_in - 0.15) * 15.5),
        colour={f: PALETTE[i % len(PALETTE)] for i, f in enumerate(dict.fromkeys(features))},
        scales=error_scales(timeline),
    )


def draw_rows(canvas: Canvas, rows: list[Row]) -> None:
    """Every row, top to bottom, then the keyframe ticks in one collection."""
    from matplotlib.collections import LineCollection

    ax = canvas.ax
    for row in rows:
        y0, y1 = row.y - row.height / 2, row.y + row.height / 2
        if row.kind == "header":
            ax.text(
                0.008,
                row.y + 0.02,
                row.label,
                transform=canvas.fig_y_tf,
                fontsize=7.5,
                fontweight="bold",
                color="#555555",
                va="center",
            )
            ax.axhline(y1, color="#bbbbbb", linewidth=0.6, zorder=1)
            continue
        if row.group % 2:
            ax.axhspan(y0, y1, color="#f2f4f7", zorder=0, linewidth=0)
        if row.kind == "track":
            draw_track_lane(canvas, row)
        elif row.kind == "error":
            draw_error_lane(canvas, row)
        elif row.kind == "range":
            draw_range_lane(canvas, row)
    if canvas.ticks:
        ax.add_collection(
            LineCollection(
                canvas.ticks, colors=canvas.tick_colours, linewidths=0.9, zorder=3, alpha=0.9
            )
        )


def _legend_handles(with_errors: bool) -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    grey = "#444444"
    handles = [
        Patch(facecolor="#888888", alpha=0.35, edgecolor=grey, label="segments (alternate shades)"),
        Line2D([], [], color=grey, marker="|", linestyle="none", markersize=9, label="keyframe"),
        Line2D(
            [],
            [],
            color=grey,
            marker="o",
            markerfacecolor="white",
            linestyle="none",
            markersize=5,
            label="keyframe with nested classifications",
        ),
        Patch(facecolor="#888888", alpha=0.75, label="frame range of an answer"),
    ]
    if with_errors:
        handles += [
            Line2D([], [], color=grey, linewidth=1.2, label="reconstruction error"),
            Line2D([], [], color=ERROR_RED, linestyle="--", linewidth=1, label="tolerance"),
        ]
    return handles


def _legend_and_footer(fig, page: Page) -> None:
    """The legend under the x axis, then the globals and notes."""
    handles = _legend_handles(page.with_errors)
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(
            0.008,
            1 - (page.header_in + page.axes_in + page.xaxis_in) / page.height_in,
        ),
        ncol=len(handles) if not page.narrow else 2,
        fontsize=8,
        frameon=False,
        handlelength=1.6,
        columnspacing=1.6,
    )
    y = page.header_in + page.axes_in + page.xaxis_in + page.legend_in + 0.06
    for text in page.footer:
        fig.text(
            0.008,
            1 - y / page.height_in,
            shorten(text, int(page.width_in * 14)),
            fontsize=8.5,
            va="top",
            ha="left",
            color=NOTE_BROWN if text.startswith("note:") else "#222222",
        )
        y += 0.19


def draw(
    timeline: Timeline, png_path: str, width_px: int = DEFAULT_WIDTH, *, max_lanes: int = MAX_LANES
) -> tuple[int, int]:
    """Draw the timeline to `png_path` (local or FileSystems path); returns (width, height)."""
    from matplotlib.figure import Figure

    width_px = int(width_px)
    if width_px < MIN_WIDTH:
        raise ReportError(f"--width must be at least {MIN_WIDTH} pixels, not {width_px}")
    rows, hidden = layout_rows(timeline, max_lanes)
    page = page_layout(timeline, rows, hidden, width_px, max_lanes)
    # A hair above the exact size: the canvas truncates inches * dpi to whole pixels.
    size = ((page.width_px + 1e-6) / page.dpi, (page.height_px + 1e-6) / page.dpi)
    fig = Figure(figsize=size, dpi=page.dpi)
    fig.patch.set_facecolor("white")
    _title(fig, timeline, page)
    draw_rows(_canvas(fig, timeline, page), rows)
    _legend_and_footer(fig, page)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=page.dpi)
    files.write_png(png_path, buf.getvalue())
    return page.width_px, page.height_px
