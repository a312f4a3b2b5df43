"""All of one key's rows to its NDJSON lines: the entry point of the core.

`annotate_key` is what the stateful DoFn calls once a key's rows are complete, and what the
per-file reader and the Beam-free floor call directly; it is deterministic in its input rows,
whatever their order or the way they were chunked.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from transforms.core import columns as c
from transforms.core.annotations import KeyAnnotations
from transforms.core.config import AnnotationConfig
from transforms.core.frame_ranges import build_frame_ranges
from transforms.core.global_classifications import build_global
from transforms.core.key_columns import KeyColumns
from transforms.core.keys import Key, complete, key_columns
from transforms.core.objects import build_objects


def _dominant(labels: list[str], counts: list[int], preference: list[str]) -> str:
    """The label with the most rows; ties go to the earlier label in `preference`."""
    return max(zip(labels, counts, strict=True), key=lambda lc: (lc[1], -preference.index(lc[0])))[
        0
    ]


def build_annotations(key: Key, table: pa.Table, config: AnnotationConfig) -> KeyAnnotations:
    """Build every NDJSON line of one (data row, feature) from all of its validated rows.

    `table` holds the key's rows (chunk columns: see keys.compact), in any order. Rows that
    cannot be used together (two kinds under one feature, a track's segment_index going
    backwards) are reported in the result's rejections, never dropped silently.
    """
    return _build(key, KeyColumns([table]), config)


def _build(key: Key, cols: KeyColumns, config: AnnotationConfig) -> KeyAnnotations:
    """build_annotations of a key's rows read as columns."""
    annotations = KeyAnnotations(key)
    if cols.num_rows == 0:
        return annotations
    codes, kinds = cols.codes(c.KIND)
    # A chunk's dictionary can hold kinds of other keys' rows: only those present count.
    counts = np.bincount(codes, minlength=len(kinds)).tolist()
    present = [(k, n) for k, n in zip(kinds, counts, strict=True) if n]
    kind = _dominant([k for k, _ in present], [n for _, n in present], list(c.KINDS))
    is_kind = codes == kinds.index(kind)
    if not is_kind.all():
        annotations.reject(np.flatnonzero(~is_kind), "kind_conflict")

    positions = np.flatnonzero(is_kind)
    if kind in (c.RADIO, c.CHECKLIST):
        has_frame = ~cols.ints(c.FRAME)[1][positions]
        n_frame = int(has_frame.sum())
        if 0 < n_frame < len(positions):
            frame_scope = n_frame >= len(positions) - n_frame
            annotations.reject(positions[has_frame != frame_scope], "scope_conflict")
            positions = positions[has_frame == frame_scope]
            has_frame = has_frame[has_frame == frame_scope]
        frame_based = bool(has_frame.any())
    else:
        frame_based = kind in c.OBJECT_KINDS

    rows = cols.subset(positions)
    if kind in c.OBJECT_KINDS:
        build_objects(key, kind, rows, positions, config, annotations)
    elif frame_based:
        build_frame_ranges(key, kind, rows, positions, config, annotations)
    else:
        build_global(key, kind, rows, config, annotations)
    return annotations


def annotate_key(key: Key, chunks: list[pa.Table], config: AnnotationConfig) -> KeyAnnotations:
    """Build one key's annotations from all of its chunks (in any order), with the dead-letter
    records of the rows it rejected."""
    cols = KeyColumns(chunks)
    annotations = _build(key, cols, config)
    if len(annotations.rejections):
        annotations.dead_letters = rejected_records(key, cols.table(), annotations)
    return annotations


def rejected_records(key: Key, table: pa.Table, annotations: KeyAnnotations) -> list[bytes]:
    """Dead-letter lines for the rows `build_annotations` rejected (key columns restored)."""
    if not len(annotations.rejections):
        return []
    return annotations.rejections.dead_letters(complete(table), extra_columns=key_columns(key))
