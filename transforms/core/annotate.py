"""All of one key's rows to its NDJSON lines: the entry point of the core.

`annotate_key` is what the stateful DoFn calls once a key's rows are complete, and what the
per-file reader and the Beam-free floor call directly; it is deterministic in its input rows,
whatever their order or the way they were chunked.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core import columns as c
from transforms.core.annotations import KeyAnnotations
from transforms.core.config import AnnotationConfig
from transforms.core.frame_ranges import build_frame_ranges
from transforms.core.global_classifications import build_global
from transforms.core.keys import Key, complete, concat_chunks, key_columns
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
    table = complete(table)
    annotations = KeyAnnotations(key)
    if table.num_rows == 0:
        return annotations
    kind_col = table.column(c.KIND).combine_chunks()
    counts = pc.value_counts(kind_col).to_pylist()
    kinds = [x["values"] for x in counts]
    kind = _dominant(kinds, [x["counts"] for x in counts], list(c.KINDS))
    is_kind = np.asarray(pc.equal(kind_col, kind).to_numpy(zero_copy_only=False), dtype=bool)
    if not is_kind.all():
        annotations.reject(np.flatnonzero(~is_kind), "kind_conflict")

    positions = np.flatnonzero(is_kind)
    if kind in (c.RADIO, c.CHECKLIST):
        has_frame = np.asarray(
            table.column(c.FRAME).combine_chunks().is_valid().to_numpy(zero_copy_only=False),
            dtype=bool,
        )[positions]
        n_frame = int(has_frame.sum())
        if 0 < n_frame < len(positions):
            frame_scope = n_frame >= len(positions) - n_frame
            annotations.reject(positions[has_frame != frame_scope], "scope_conflict")
            positions = positions[has_frame == frame_scope]
            has_frame = has_frame[has_frame == frame_scope]
        frame_based = bool(has_frame.any())
    else:
        frame_based = kind in c.OBJECT_KINDS

    rows = table.take(pa.array(positions)) if len(positions) < table.num_rows else table
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
    table = concat_chunks(chunks)
    annotations = build_annotations(key, table, config)
    annotations.dead_letters = rejected_records(key, table, annotations)
    return annotations


def rejected_records(key: Key, table: pa.Table, annotations: KeyAnnotations) -> list[bytes]:
    """Dead-letter lines for the rows `build_annotations` rejected (key columns restored)."""
    if not len(annotations.rejections):
        return []
    return annotations.rejections.dead_letters(complete(table), extra_columns=key_columns(key))
