"""The report's command line: `keyframer report` (also `python -m timeline`).

Only argparse is imported here; the loading and drawing modules (and with them pyarrow,
matplotlib and Beam) when the command runs, so `--help` is fast.
"""

from __future__ import annotations

import argparse
import sys

# The defaults of timeline.drawing.DEFAULT_WIDTH / MIN_WIDTH and timeline.layout.MAX_LANES,
# repeated so --help imports nothing heavy (a test keeps them equal).
DEFAULT_WIDTH = 1600
MIN_WIDTH = 800
MAX_LANES = 60

DESCRIPTION = """\
Render a timeline PNG of one data row of a keyframer output directory: what it will put
into Labelbox. One lane per object track (segments as bars, keyframes as ticks, a dot where
a keyframe carries nested classifications) and per frame-classification answer (its frame
ranges); global classifications listed under the lanes. With --input, every track gets a
lane of its reconstruction error: the editor's interpolation between the keyframes against
every input frame, with the run's keyframe tolerance dashed.

Paths may be local or anything Beam's FileSystems reads (gs://)."""


def build_parser(prog: str = "keyframer report") -> argparse.ArgumentParser:
    """The command's arguments, each explained in --help."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--output",
        required=True,
        help="the output directory of a keyframer run (its --output): manifest.json and "
        "batch-*.ndjson files",
    )
    parser.add_argument(
        "--data_row",
        help="the data row to draw, a global key or a data row id "
        "(default: the data row of the output's first line)",
    )
    parser.add_argument(
        "--input",
        help="the rows the output was made from (a glob; comma-separated globs allowed), to "
        "draw each track's reconstruction error",
    )
    parser.add_argument(
        "--input_format",
        default="auto",
        choices=("auto", "parquet", "avro"),
        help="the format of --input (default: auto, from the file extensions)",
    )
    parser.add_argument(
        "--frame_base",
        type=int,
        choices=(0, 1),
        help="the number of the first frame in --input (default: the run's, from "
        "manifest.json; required with --input when there is no manifest)",
    )
    parser.add_argument(
        "--png", help="where to write the PNG (default: <output>/timeline-<data row>.png)"
    )
    parser.add_argument(
        "--width",
        type=int,
        default=DEFAULT_WIDTH,
        help=f"the PNG's width in pixels, at least {MIN_WIDTH} (default: {DEFAULT_WIDTH}); "
        "the height follows from the lanes",
    )
    parser.add_argument(
        "--max_lanes",
        type=int,
        default=MAX_LANES,
        help=f"draw at most this many lanes (default: {MAX_LANES}); the rest are counted in a "
        "note, and are in the output all the same",
    )
    return parser


def _print_summary(png: str, width: int, height: int, timeline) -> None:
    from timeline.model import summarize

    summary = summarize(timeline)
    print(f"{png} ({width}x{height} px): {summary.data_row}, {len(summary.lanes)} lanes")
    for label in summary.lanes:
        errors = summary.max_errors.get(label)
        extra = ""
        if errors:
            extra = "  max " + ", ".join(
                f"1-IoU {v:.4f}" if m == "iou" else f"{v:.2f} px" for m, v in errors.items()
            )
        print(f"  {label}{extra}")
    for text in summary.globals + [f"note: {n}" for n in summary.notes]:
        print(f"  {text}")


def main(argv: list[str] | None = None, *, prog: str = "keyframer report") -> int:
    """Run the command: 0 with the PNG path and the lanes printed, 2 on a report error (the
    reason on stderr)."""
    args = build_parser(prog).parse_args(argv)
    from timeline.drawing import draw
    from timeline.errors import ReportError
    from timeline.loading import load_timeline
    from timeline.render import default_png_path

    try:
        timeline = load_timeline(
            args.output, args.data_row, args.input, args.frame_base, input_format=args.input_format
        )
        png = args.png or default_png_path(timeline)
        width, height = draw(timeline, png, args.width, max_lanes=args.max_lanes)
    except ReportError as e:
        print(f"keyframer report: {e}", file=sys.stderr)
        return 2
    _print_summary(png, width, height, timeline)
    return 0
