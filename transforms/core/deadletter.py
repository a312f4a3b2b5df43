"""Dead-letter records: a rejected row, why, and where it came from, as one NDJSON line."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import orjson
import pyarrow as pa


def _json_safe(value: object) -> object:
    # NaN and infinities are why many rows are rejected: keep them visible, as strings.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def _fallback(value: object) -> str:
    # Rows of files with types outside the contract can hold anything (bytes, decimals, ...):
    # a dead letter must still be written, so such values become text.
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "backslashreplace")
    return str(value)


def dead_letter_lines(
    table: pa.Table,
    rows: np.ndarray | Sequence[int],
    reasons: Sequence[str],
    details: Sequence[str],
    source: str | None = None,
    first_row: int | None = None,
    extra_columns: dict[str, str] | None = None,
) -> list[bytes]:
    """One JSON line per rejected row: {"reason", "detail", "source"?, "row"}.

    `row` holds the row's non-null contract columns as read, plus `extra_columns` (the key
    columns of rows that were rejected after grouping, which no longer carry them). `source` is
    {"file", "row"} when the row's place in its file is known (`first_row`: the table's first
    row's index in the file).
    """
    if len(rows) == 0:
        return []
    rows = np.asarray(rows, dtype=np.int64)
    picked = table.take(pa.array(rows)).to_pylist()
    out = []
    for i, row, reason, detail in zip(rows.tolist(), picked, reasons, details, strict=True):
        record_row = {k: _json_safe(v) for k, v in row.items() if v is not None}
        if extra_columns:
            record_row = {**extra_columns, **record_row}
        record: dict[str, object] = {"reason": reason, "detail": detail}
        if source is not None:
            record["source"] = (
                {"file": source, "row": first_row + i}
                if first_row is not None
                else {"file": source}
            )
        record["row"] = record_row
        out.append(orjson.dumps(record, default=_fallback))
    return out


def file_dead_letter(path: str, rows_before: int, detail: str) -> bytes:
    """The record of a file that could not be read from row `rows_before` on."""
    return orjson.dumps(
        {
            "reason": "unreadable_file",
            "detail": detail,
            "source": {"file": path, "row": rows_before},
        }
    )


def internal_error_record(detail: str, rows: int, where: dict[str, object]) -> bytes:
    """The record of `rows` rows that a defect of keyframer's kept from being built: the
    exception, and which key (or file) they belong to, so nothing is lost without a trace."""
    return orjson.dumps(
        {"reason": "internal_error", "detail": detail, "rows": rows, **where}, default=_fallback
    )
