"""Frame-based radio and checklist classifications: per-answer inclusive frame ranges.

A radio question whose answer changes over the video keeps every answer, each with its own
ranges, one line per answer (the official SDK keeps only the first answer and drops the rest).
A checklist is one line whose answers each carry their ranges.
"""

from __future__ import annotations

import numpy as np

from transforms.core import columns as c
from transforms.core import ndjson
from transforms.core.annotations import KeyAnnotations
from transforms.core.config import AnnotationConfig
from transforms.core.key_columns import KeyColumns
from transforms.core.keys import Key
from transforms.core.segments import changed, one_row_per_frame, pack, usable_segments
from transforms.core.smoothing import Range, smooth_checklist, smooth_radio


def build_frame_ranges(
    key: Key,
    kind: str,
    cols: KeyColumns,
    positions: np.ndarray,
    config: AnnotationConfig,
    annotations: KeyAnnotations,
) -> None:
    """Append the lines of one frame-based radio or checklist feature to `annotations`."""
    n = cols.num_rows
    answer, names = cols.codes(c.ANSWER)
    frame = cols.ints(c.FRAME)[0]
    confidence = cols.floats(c.CONFIDENCE)
    # A radio has one answer per frame; a checklist one row per (answer, frame).
    group = np.zeros(n, dtype=np.int64) if kind == c.RADIO else answer
    winners, losers = one_row_per_frame(pack(group, frame), confidence, cols.row_text())
    if kind == c.RADIO:
        # One answer per frame: a range never spans a frame where another answer was given,
        # whatever the gap rule or segment_index say. Here `winners` are in frame order.
        turn = np.zeros(n, dtype=np.int64)
        turn[winners] = np.cumsum(changed(answer[winners], True))
    winners = winners[np.lexsort((frame[winners], answer[winners]))]
    breaks = None
    if kind == c.RADIO:
        t = turn[winners]
        breaks = changed(t, False)

    usable = usable_segments(
        cols.ints(c.SEGMENT_INDEX),
        answer,
        frame,
        winners,
        losers,
        positions,
        config.max_gap_frames,
        annotations,
        breaks,
    )
    if usable is None:
        return
    rows, starts, w_answer = usable.rows, usable.starts, usable.group
    frames = frame[rows] + config.frame_offset
    seg_starts = np.flatnonzero(starts)
    seg_ends = np.concatenate([seg_starts[1:], [len(rows)]]) - 1
    range_answer = w_answer[seg_starts]
    range_start, range_end = frames[seg_starts], frames[seg_ends]

    ranges = [
        Range(int(s), int(e), int(a))
        for s, e, a in zip(range_start, range_end, range_answer, strict=True)
    ]
    write_ranges(annotations, key, kind, ranges, names, config)


def write_ranges(
    annotations: KeyAnnotations,
    key: Key,
    kind: str,
    ranges: list[Range],
    names: list[str],
    config: AnnotationConfig,
) -> None:
    """Smooth a key's frame ranges (`--min_range_frames`) and write its lines: one per answer
    for a radio, one line with every answer for a checklist."""
    if config.min_range_frames > 1:
        if kind == c.RADIO:
            ranges, removed = smooth_radio(ranges, config.min_range_frames, config.max_gap_frames)
        else:
            ranges, removed = smooth_checklist(ranges, config.min_range_frames)
        annotations.count("ranges_smoothed", removed)
    annotations.count("frame_ranges", len(ranges))

    field = ndjson.answer_field(config, key).encode()
    answers = []
    for a in sorted({r.answer for r in ranges}):
        mine = [r for r in ranges if r.answer == a]
        frames_json = ndjson.frame_ranges_json([r.start for r in mine], [r.end for r in mine])
        answers.append(
            (
                names[a],
                b'{"%s":%s,"frames":%s}' % (field, ndjson.json_string(names[a]), frames_json),
            )
        )
    if kind == c.RADIO:
        for name, body in answers:
            annotations.line(
                ndjson.line_head(config, key, "answer", name) + b'"answer":' + body + b"}"
            )
    elif answers:
        annotations.line(
            ndjson.line_head(config, key)
            + b'"answer":['
            + b",".join(body for _, body in answers)
            + b"]}"
        )
