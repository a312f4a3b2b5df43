"""Checking one table of rows as read: conform types, validate rows, filter by confidence.

The ValidateRows step, the per-file reader, the benchmark floor and the report all check rows
with `check_rows`, so a row is accepted or rejected the same way everywhere.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core import columns as c
from transforms.core import filters
from transforms.core.config import AnnotationConfig
from transforms.core.conform import InputSchemaError, conform
from transforms.core.validation import CheckedRows, validate


def check_rows(raw: pa.Table, source: str, first_row: int, config: AnnotationConfig) -> CheckedRows:
    """Conform, validate and filter one table of rows read from `source` (its first row is row
    `first_row` of the file).

    Never raises for bad rows; a table whose types the contract cannot accept (a file the
    pre-run check did not see) has all its rows rejected as `incompatible_schema`.
    """
    try:
        table = conform(raw, source)
    except (InputSchemaError, pa.ArrowInvalid) as e:
        checked = CheckedRows(None)
        checked.rejections.add(np.arange(raw.num_rows), "incompatible_schema", str(e))
        return _with_records(checked, raw, source, first_row)
    checked = validate(table, config.frame_base)
    _with_records(checked, table, source, first_row)
    valid, checked.markers = split_markers(checked.valid)
    if checked.markers is not None:
        checked.counts["markers"] = checked.markers.num_rows
    valid, filtered = filters.by_confidence(valid, config.min_confidence)
    if filtered:
        checked.counts["rows_filtered"] = filtered
    checked.valid = valid if valid.num_rows else None
    return checked


def split_markers(valid: pa.Table) -> tuple[pa.Table, pa.Table | None]:
    """(annotation rows, `video_end` marker rows or None): markers build no annotation."""
    is_marker = pc.equal(valid.column(c.KIND), c.VIDEO_END)
    if not pc.any(is_marker).as_py():
        return valid, None
    return valid.filter(pc.invert(is_marker)), valid.filter(is_marker)


def _with_records(checked: CheckedRows, table: pa.Table, source: str, first_row: int):
    checked.counts.update(checked.rejections.counts())
    checked.dead_letters = checked.rejections.dead_letters(table, source, first_row)
    return checked
