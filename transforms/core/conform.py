"""Conform an input file's columns to the contract's canonical types.

Users' inference jobs write whatever their dataframe library produced: int32 frames, float32
coordinates, integer track ids, dictionary-encoded strings. Those are accepted and converted here;
a type that cannot mean what the contract says (a float frame, a string coordinate) is refused
with a message naming the column, its type and the file, before any row is processed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core import columns as c


class InputSchemaError(ValueError):
    """An input file does not follow the input contract (docs/input-contract.md)."""


_STRING_COLUMNS = {
    c.GLOBAL_KEY,
    c.DATA_ROW_ID,
    c.FEATURE_NAME,
    c.FEATURE_SCHEMA_ID,
    c.KIND,
    c.ANSWER,
    c.CLASSIFICATIONS,
}
_INTEGER_COLUMNS = {c.FRAME, c.SEGMENT_INDEX}
_FLOAT_COLUMNS = {
    c.BBOX_TOP,
    c.BBOX_LEFT,
    c.BBOX_HEIGHT,
    c.BBOX_WIDTH,
    c.POINT_X,
    c.POINT_Y,
    c.CONFIDENCE,
}


def _unwrap(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _is_string(t: pa.DataType) -> bool:
    t = _unwrap(t)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def _is_line(t: pa.DataType) -> bool:
    if not (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t)):
        return False
    point = t.value_type
    if not pa.types.is_struct(point):
        return False
    names = {point.field(i).name: point.field(i).type for i in range(point.num_fields)}
    return {"x", "y"} <= names.keys() and _is_number(names["x"]) and _is_number(names["y"])


def column_problem(name: str, t: pa.DataType) -> str | None:
    """Why a column of this type cannot be read as the contract's column, or None if it can."""
    if pa.types.is_null(t):
        return None  # an all-null column: fine for any optional column
    if name in _STRING_COLUMNS:
        ok = _is_string(t)
        want = "a string"
    elif name == c.TRACK_ID:
        ok = _is_string(t) or pa.types.is_integer(_unwrap(t))
        want = "a string or an integer"
    elif name in _INTEGER_COLUMNS:
        ok = pa.types.is_integer(t)
        want = "an integer (int64, or a narrower integer)"
    elif name in _FLOAT_COLUMNS:
        ok = _is_number(t)
        want = "a number (double, float or integer)"
    elif name == c.LINE:
        ok = _is_line(t)
        want = "a list of struct {x: double, y: double}"
    elif name == c.EVENT_TIME:
        ok = pa.types.is_timestamp(t) or _is_number(t)
        want = "a timestamp, or a number of seconds since the Unix epoch"
    else:
        return None  # extra columns are ignored
    if ok:
        return None
    hint = ""
    if name in _INTEGER_COLUMNS and pa.types.is_floating(t):
        hint = (
            " (pandas turns integer columns with missing values into floats: write them with"
            " the nullable 'Int64' dtype)"
        )
    return f"column '{name}' has type {t}, expected {want}{hint}"


def check_schema(schema: pa.Schema, source: str) -> None:
    """Raise InputSchemaError if a file with this schema cannot be read as the contract says."""
    names = set(schema.names)
    problems = []
    for required in c.REQUIRED_COLUMNS:
        if required not in names:
            problems.append(f"required column '{required}' is missing")
    for group, what in ((c.DATA_ROW_COLUMNS, "data row"), (c.FEATURE_COLUMNS, "feature")):
        if not names & set(group):
            problems.append(
                f"no {what} column: one of {', '.join(repr(g) for g in group)} is required"
            )
    for field in schema:
        problem = column_problem(field.name, field.type)
        if problem:
            problems.append(problem)
    if problems:
        raise InputSchemaError(f"{source}: " + "; ".join(problems))


def to_float64(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Numbers as float64; float32 (and float16) through their shortest decimal text.

    A model writing float32 means 123.45678, whose float32 value widens to 123.45677947998047:
    going through the text keeps the short form in the NDJSON (a change far below float32's own
    precision)."""
    if pa.types.is_float32(arr.type) or pa.types.is_float16(arr.type):
        return pc.cast(pc.cast(arr, pa.string()), pa.float64())
    return pc.cast(arr, pa.float64())


def _cast_line(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Any list of struct {x, y (numbers), ...} as list<struct<x: double, y: double>>."""
    if arr.type.equals(c.LINE_TYPE):
        return arr
    if isinstance(arr, pa.ChunkedArray):
        return pa.chunked_array([_cast_line(ch) for ch in arr.chunks], type=c.LINE_TYPE)
    if not pa.types.is_list(arr.type):
        arr = arr.cast(pa.list_(arr.type.value_type))
    # Rebuild from zero-based offsets and the referenced points only: slices of list arrays
    # carry offsets into a larger child array.
    offsets = arr.offsets.to_numpy(zero_copy_only=False).astype(np.int32)
    points = arr.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    struct = pa.StructArray.from_arrays(
        [to_float64(points.field("x")), to_float64(points.field("y"))],
        fields=list(c.POINT_TYPE),
        mask=points.is_null() if points.null_count else None,
    )
    return pa.ListArray.from_arrays(
        pa.array(offsets - offsets[0]), struct, mask=arr.is_null() if arr.null_count else None
    )


def conform(batch: pa.RecordBatch | pa.Table, source: str) -> pa.Table:
    """Return the batch with exactly the canonical columns (docs/input-contract.md), cast.

    Missing optional columns come back all-null; extra columns are dropped. Integer track ids
    become their decimal strings. Raises InputSchemaError for an incompatible type.
    """
    check_schema(batch.schema, source)
    n = batch.num_rows
    present = set(batch.schema.names)
    arrays = []
    for field in c.SCHEMA:
        if field.name not in present:
            arrays.append(pa.nulls(n, field.type))
            continue
        arr = batch.column(field.name)
        if field.name == c.LINE and not pa.types.is_null(arr.type):
            arr = _cast_line(arr)
        elif not arr.type.equals(field.type):
            if pa.types.is_dictionary(arr.type):
                arr = arr.cast(arr.type.value_type)
            # A safe cast: an overflowing integer raises.
            arr = to_float64(arr) if field.name in _FLOAT_COLUMNS else arr.cast(field.type)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=c.SCHEMA)
