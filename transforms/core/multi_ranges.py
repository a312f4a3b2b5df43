"""frame_ranges.build_frame_ranges of many frame radio or checklist keys in one pass.

The keys' rows are sorted together on a packed (key, answer, frame) code and segmented at
once; only the ranges (a few per key) are then turned into lines key by key. Keys with a
frame seen twice (a winner to pick) or a rejected answer are left out, for `annotate_key`.
"""

from __future__ import annotations

import numpy as np

from transforms.core import columns as c
from transforms.core.annotations import KeyAnnotations
from transforms.core.config import AnnotationConfig
from transforms.core.frame_ranges import write_ranges
from transforms.core.key_columns import KeyColumns
from transforms.core.keys import Key
from transforms.core.segments import changed, pack, segment
from transforms.core.smoothing import Range


def build_ranges(
    keys: list[Key],
    kind: str,
    cols: KeyColumns,
    row_key: np.ndarray,
    config: AnnotationConfig,
) -> dict[int, KeyAnnotations]:
    """The annotations (by index in `keys`) of the frame-based keys of `kind` in `cols`
    (each row's key: `row_key`) that this pass builds."""
    answer, names = cols.codes(c.ANSWER)
    frame = cols.ints(c.FRAME)[0]
    answers = max(len(names), 1)
    if not len(frame) or frame.min() < 0 or len(keys) * answers >= 2**31 or answer.min() < 0:
        return {}
    # A radio has one answer per frame; a checklist one row per (answer, frame).
    group = row_key if kind == c.RADIO else row_key * answers + answer
    packed = pack(group, frame)
    by_frame = np.argsort(packed, kind="stable")
    left_out = np.zeros(len(keys), dtype=bool)
    left_out[row_key[by_frame[~changed(packed[by_frame], True)]]] = True
    breaks = None
    if kind == c.RADIO:
        # One answer per frame: a range never spans a frame where another answer was given.
        turn = np.zeros(len(frame), dtype=np.int64)
        turn[by_frame] = np.cumsum(changed(row_key[by_frame] * answers + answer[by_frame], True))
    # Rows by (key, answer, frame): a checklist's rows are already in that order.
    group = row_key * answers + answer
    by_answer = by_frame if kind != c.RADIO else np.argsort(pack(group, frame), kind="stable")
    if kind == c.RADIO:
        breaks = changed(turn[by_answer], False)
    seg_val, seg_null = cols.ints(c.SEGMENT_INDEX)
    w = by_answer
    seg = segment(group[w], frame[w], seg_val[w], seg_null[w], config.max_gap_frames, breaks)
    left_out[np.concatenate([seg.bad_mixed, seg.bad_decreasing]) // answers] = True
    good = ~left_out[row_key[w]]
    rows, starts = w[good], seg.starts[good]
    if not len(rows):
        return {}
    frames = frame[rows] + config.frame_offset
    seg_starts = np.flatnonzero(starts)
    seg_ends = np.concatenate([seg_starts[1:], [len(rows)]]) - 1
    range_group = group[rows][seg_starts]
    range_key = (range_group // answers).tolist()
    range_answer = (range_group % answers).tolist()
    range_start, range_end = frames[seg_starts].tolist(), frames[seg_ends].tolist()
    key_rows = np.bincount(row_key[rows], minlength=len(keys)).tolist()
    per_key: dict[int, list[Range]] = {}
    for k, s, e, a in zip(range_key, range_start, range_end, range_answer, strict=True):
        per_key.setdefault(k, []).append(Range(s, e, a))
    return {
        k: _lines(keys[k], kind, ranges, names, key_rows[k], config)
        for k, ranges in per_key.items()
    }


def _lines(
    key: Key,
    kind: str,
    ranges: list[Range],
    names: list[str],
    rows_used: int,
    config: AnnotationConfig,
) -> KeyAnnotations:
    """One key's annotations from its ranges (sorted by answer, then start), as
    build_frame_ranges writes them."""
    annotations = KeyAnnotations(key)
    annotations.count("rows_used", rows_used)
    write_ranges(annotations, key, kind, ranges, names, config)
    return annotations
