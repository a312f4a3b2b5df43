"""The report as Python functions: render a data row's PNG, or list its lanes."""

from __future__ import annotations

from timeline import files
from timeline.drawing import DEFAULT_WIDTH, draw
from timeline.layout import MAX_LANES
from timeline.loading import load_timeline
from timeline.model import LaneSummary, Timeline, summarize
from timeline.text import safe_name


def default_png_path(timeline: Timeline) -> str:
    """`<output_dir>/timeline-<safe data row>.png`."""
    return files.join(timeline.output_dir, f"timeline-{safe_name(timeline.data_row)}.png")


def timeline_lanes(
    output_dir: str,
    data_row: str | None = None,
    input_pattern: str | None = None,
    frame_base: int | None = None,
) -> LaneSummary:
    """The lanes `render_timeline` draws (all of them, before the cap) and their max errors."""
    return summarize(load_timeline(output_dir, data_row, input_pattern, frame_base))


def render_timeline(
    output_dir: str,
    data_row: str | None = None,
    input_pattern: str | None = None,
    frame_base: int | None = None,
    png_path: str | None = None,
    width_px: int = DEFAULT_WIDTH,
    *,
    max_lanes: int = MAX_LANES,
    input_format: str = "auto",
) -> str:
    """Render one data row's timeline as a PNG; returns its path.

    The default path is `default_png_path`. Raises DataRowNotFoundError (listing some data
    rows that exist) or ReportError.
    """
    timeline = load_timeline(
        output_dir, data_row, input_pattern, frame_base, input_format=input_format
    )
    png_path = png_path or default_png_path(timeline)
    draw(timeline, png_path, width_px, max_lanes=max_lanes)
    return png_path
