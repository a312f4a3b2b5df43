"""Annotation keys: (data row, feature), and splitting validated rows into per-key chunks.

A key is a tuple of four strings, `(data_row_field, data_row, feature_field, feature)`, with the
fields spelled as in the NDJSON (`globalKey`/`id`, `name`/`schemaId`). Plain strings keep the
Beam key coder deterministic; the fields keep a global key and a data row id that happen to be
equal from being taken for one another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core import columns as c
from transforms.core.column_values import null_mask, one_array, present

Key = tuple[str, str, str, str]

# Columns stored per key: the key columns are constant within a chunk and are dropped.
CHUNK_COLUMNS = tuple(n for n in c.COLUMNS if n not in c.KEY_COLUMNS)
CHUNK_SCHEMA = pa.schema([c.SCHEMA.field(n) for n in CHUNK_COLUMNS])


def _coalesce(table: pa.Table, first: str, second: str) -> tuple[pa.Array, np.ndarray]:
    """(the first present of two string columns, whether it was the first)."""
    a, b = one_array(table.column(first)), one_array(table.column(second))
    is_first = present(a)
    if is_first.all():
        return a, is_first
    return one_array(pc.if_else(pa.array(is_first), a, b)), is_first


# Low-cardinality text columns are held dictionary-encoded with the narrowest index type.
_DICTIONARY_COLUMNS = (c.KIND, c.TRACK_ID, c.ANSWER, c.CLASSIFICATIONS)


def _narrow_dictionary(col: pa.ChunkedArray) -> pa.Array:
    encoded = pc.dictionary_encode(col.combine_chunks())
    size = len(encoded.dictionary)
    index_type = pa.int8() if size < 2**7 else pa.int16() if size < 2**15 else pa.int32()
    return pa.DictionaryArray.from_arrays(encoded.indices.cast(index_type), encoded.dictionary)


def compact(table: pa.Table) -> pa.Table:
    """What a key's state needs to hold: no key columns, no all-null columns, repeated text
    dictionary-encoded, frames as int32 (validated to fit). About 30% smaller than the rows
    as read, and the state of every key lives until the input is read."""
    names = set(table.schema.names)
    keep = [n for n in CHUNK_COLUMNS if n in names and table.column(n).null_count < table.num_rows]
    arrays, fields = [], []
    for name in keep:
        col = table.column(name)
        if name in _DICTIONARY_COLUMNS and not pa.types.is_dictionary(col.type):
            col = _narrow_dictionary(col)
        elif name == c.FRAME and col.type == pa.int64():
            col = col.cast(pa.int32())
        arrays.append(col)
        fields.append(pa.field(name, col.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def complete(table: pa.Table) -> pa.Table:
    """Undo `compact`: every chunk column present with its canonical type, all-null where
    absent."""
    if table.schema.equals(CHUNK_SCHEMA):
        return table
    n = table.num_rows
    names = table.schema.names
    arrays = []
    for f in CHUNK_SCHEMA:
        if f.name not in names:
            arrays.append(pa.nulls(n, f.type))
            continue
        col = table.column(f.name)
        arrays.append(col if col.type == f.type else col.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=CHUNK_SCHEMA)


class KeyRun(NamedTuple):
    """One key's rows in a keyed body: rows `start`..`end`, and its all-null columns."""

    key: Key
    start: int
    end: int
    dropped: tuple[str, ...]


def keyed_runs(
    valid: pa.Table, data_row_group: Callable[[tuple[str, str]], int] | None = None
) -> tuple[pa.Table, list[KeyRun]]:
    """(the compact rows of a validated table, ordered by key code; each key's run in it),
    the runs sorted by key. A data row's runs are adjacent in the body; with
    `data_row_group` ((data row field, data row) to an int), the body is ordered by group
    first, so a group's data rows are adjacent too."""
    data_row, is_gk = _coalesce(valid, c.GLOBAL_KEY, c.DATA_ROW_ID)
    feature, is_name = _coalesce(valid, c.FEATURE_NAME, c.FEATURE_SCHEMA_ID)
    dr_enc = pc.dictionary_encode(data_row)
    ft_enc = pc.dictionary_encode(feature)
    dr_codes = dr_enc.indices.to_numpy().astype(np.int64) * 2 + is_gk
    ft_codes = ft_enc.indices.to_numpy().astype(np.int64) * 2 + is_name
    combined = dr_codes * (2 * len(ft_enc.dictionary)) + ft_codes
    order = np.argsort(combined, kind="stable")
    dr_values = dr_enc.dictionary.to_pylist()
    ft_values = ft_enc.dictionary.to_pylist()
    if data_row_group is not None:
        # A group per data row code (value, field), then the rows ordered by group, stably.
        group = np.array(
            [
                data_row_group((c.DATA_ROW_FIELD[field], value))
                for value in dr_values
                for field in (c.DATA_ROW_ID, c.GLOBAL_KEY)
            ],
            dtype=np.int64,
        )
        order = order[np.argsort(group[dr_codes[order]], kind="stable")]
    sorted_codes = combined[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(order)]
    body = compact(valid).take(pa.array(order))
    all_null = _all_null_columns(body, starts)
    runs = []
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        code = int(sorted_codes[s])
        drc, ftc = divmod(code, 2 * len(ft_values))
        key = (
            c.DATA_ROW_FIELD[c.GLOBAL_KEY if drc % 2 else c.DATA_ROW_ID],
            dr_values[drc // 2],
            c.FEATURE_FIELD[c.FEATURE_NAME if ftc % 2 else c.FEATURE_SCHEMA_ID],
            ft_values[ftc // 2],
        )
        runs.append(KeyRun(key, s, e, tuple(name for name, per_key in all_null if per_key[i])))
    runs.sort(key=lambda r: r.key)
    return body, runs


def without(table: pa.Table, dropped: tuple[str, ...]) -> pa.Table:
    """`table` without the columns `dropped` (what `compact` does to a key's all-null ones)."""
    if not dropped:
        return table
    try:
        # One call (~2 µs on a key's table, where selecting the rest by name took ~10 µs):
        # 15,000 keys at 5M rows of 10-second clips.
        # Each name once: given one twice, pyarrow (25.0 here) drops the column after it too.
        return table.drop_columns(list(dict.fromkeys(dropped)))
    except KeyError:  # a name the table lacks
        return table.select([n for n in table.column_names if n not in dropped])


def split_by_key(valid: pa.Table) -> Iterator[tuple[Key, pa.Table]]:
    """Yield (key, compact chunk) for each (data row, feature) in a validated table.

    Keys come out sorted, so the same input always yields the same sequence.
    """
    if valid.num_rows == 0:
        return
    body, runs = keyed_runs(valid)
    for run in runs:
        yield run.key, without(body.slice(run.start, run.end - run.start), run.dropped)


def _all_null_columns(body: pa.Table, starts: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(column, bool per key: all null in that key) for the columns with any null, keys being
    the runs of rows that begin at `starts`: one pass per column, not per key."""
    sizes = np.diff(np.append(starts, body.num_rows))
    out = []
    for name, col in zip(body.column_names, body.columns, strict=True):
        if col.null_count:
            nulls = null_mask(col).astype(np.int64)
            out.append((name, np.add.reduceat(nulls, starts) == sizes))
    return out


def data_row_columns(data_row: tuple[str, str]) -> dict[str, str]:
    """The input column a (data row field, data row) pair stands for, with its value."""
    field, value = data_row
    return {next(k for k, v in c.DATA_ROW_FIELD.items() if v == field): value}


def key_columns(key: Key) -> dict[str, str]:
    """The input columns a key stands for (to rebuild a row for the dead letter)."""
    _, _, ft_field, ft = key
    feature_column = next(k for k, v in c.FEATURE_FIELD.items() if v == ft_field)
    return {**data_row_columns(key[:2]), feature_column: ft}


def concat_chunks(chunks: list[pa.Table]) -> pa.Table:
    """A key's chunks as one table of chunk columns (dictionaries decoded, so chunks whose
    dictionaries differ in index width or values concatenate)."""
    if len(chunks) == 1:
        return complete(chunks[0])
    return pa.concat_tables([complete(ch) for ch in chunks])
