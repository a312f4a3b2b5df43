"""One key's rows as numpy columns, read straight from its compact chunks.

A key's chunks (keys.compact) hold text dictionary-encoded and leave out all-null columns.
The builders need a few columns as numbers or codes. The chunks are gathered into one table
once (one Arrow call; a chunk lacking a column holds nulls there) and each column is then read
from it once, as numbers or as dictionary codes, where rebuilding the canonical table
(keys.complete, a cast per text column) and running Arrow kernels on it cost a fixed ~20 µs a
call per key. The canonical table is still built, but only when a rare path needs whole rows
(tie-breaking by content, dead letters).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core import keys
from transforms.core.column_values import row_text

_TYPES = {f.name: f.type for f in keys.CHUNK_SCHEMA}


def _whole(chunks: list[pa.Table]) -> pa.Table:
    """A key's chunks as one table, its columns chunked as the chunks came (nothing copied),
    a chunk that lacks a column (all null there) holding nulls in it.

    One Arrow call (~10 µs for 80 chunks of one schema, ~3 µs a chunk when schemas differ)
    where reading each column chunk by chunk cost ~1.5 µs a chunk and column, and a pass of
    short clips reads ~80 chunks of each of ~10 columns.
    """
    if len(chunks) == 1:  # the usual case
        return chunks[0]
    schema = chunks[0].schema
    if all(ch.schema == schema for ch in chunks):  # ~10 µs for 80 chunks, promoting ~75
        return pa.concat_tables(chunks)
    try:
        return pa.concat_tables(chunks, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # types no promotion reconciles
        return pa.concat_tables([keys.complete(ch) for ch in chunks])


def _column(src: _Source, name: str) -> pa.ChunkedArray | None:
    """A column of the key's rows; None if no chunk has it."""
    return src.whole.column(name) if name in src.names else None


def _dictionary_codes(col: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """(code per row, -1 where null; distinct values, in no particular order) of a text
    column: its chunks' dictionaries unified in C++ (or the text encoded there), not looked
    up chunk by chunk."""
    if pa.types.is_dictionary(col.type):
        whole = pa.concat_arrays(col.unify_dictionaries().chunks) if col.num_chunks else None
    else:
        whole = pc.dictionary_encode(col.combine_chunks())
    if whole is None:
        return np.zeros(0, np.int64), []
    indices = whole.indices
    if indices.null_count:
        indices = indices.fill_null(-1)
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, whole.dictionary.to_pylist()


class _Source:
    """A key's chunks and what has been read from them."""

    def __init__(self, chunks: list[pa.Table]):
        self.chunks = [ch for ch in chunks if ch.num_rows]
        self.whole = _whole(self.chunks) if self.chunks else pa.table({})
        self.names = set(self.whole.schema.names)
        self.rows = self.whole.num_rows
        self.cache: dict[tuple[str, str], object] = {}
        self.table: pa.Table | None = None

    def read(self, kind: str, name: str, reader: Callable[[], object]) -> object:
        if (kind, name) not in self.cache:
            self.cache[kind, name] = reader()
        return self.cache[kind, name]


class KeyColumns:
    """The rows of one key (or a subset of them) as numpy columns.

    Each column is read from the chunks once, whatever the number of subsets asking for it.
    """

    def __init__(self, chunks: list[pa.Table], *, _source=None, _positions=None):
        self._source = _source if _source is not None else _Source(chunks)
        self._positions: np.ndarray | None = _positions
        self.num_rows = self._source.rows if _positions is None else len(_positions)

    def subset(self, positions: np.ndarray) -> KeyColumns:
        """These rows restricted to `positions` (rows of the whole key, in that order)."""
        if self._positions is not None:
            positions = self._positions[positions]
        elif len(positions) == self._source.rows:
            return self
        return KeyColumns([], _source=self._source, _positions=positions)

    def _pick(self, values: np.ndarray) -> np.ndarray:
        return values if self._positions is None else values[self._positions]

    def floats(self, name: str) -> np.ndarray:
        """A numeric column as float64, NaN where null."""
        src = self._source

        def read() -> np.ndarray:
            col = _column(src, name)
            if col is None:
                return np.full(src.rows, np.nan)
            return np.asarray(col.to_numpy(), dtype=np.float64)  # nulls: NaN

        return self._pick(src.read("floats", name, read))

    def ints(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """An integer column as (int64 values, 0 where null; null mask)."""
        src = self._source

        def read() -> tuple[np.ndarray, np.ndarray]:
            col = _column(src, name)
            if col is None:
                return np.zeros(src.rows, np.int64), np.ones(src.rows, bool)
            if not col.null_count:
                return np.asarray(col.to_numpy(), dtype=np.int64), np.zeros(src.rows, bool)
            nulls = np.asarray(col.is_null().to_numpy(), dtype=bool)
            return np.asarray(col.fill_null(0).to_numpy(), dtype=np.int64), nulls

        values, nulls = src.read("ints", name, read)
        return self._pick(values), self._pick(nulls)

    def codes(self, name: str, null_as: str | None = None) -> tuple[np.ndarray, list[str]]:
        """A text column as (code per row; its distinct values), codes in sorted value order
        so that output order never depends on row order. Nulls are -1, or the value
        `null_as` when given."""
        src = self._source

        def read() -> tuple[np.ndarray, list[str]]:
            col = _column(src, name)
            if col is None:
                codes, names = np.full(src.rows, -1, dtype=np.int64), []
            else:
                codes, names = _dictionary_codes(col)
            if null_as is not None and (codes < 0).any():
                if null_as not in names:
                    names.append(null_as)
                codes = np.where(codes < 0, names.index(null_as), codes)
            order = sorted(range(len(names)), key=names.__getitem__)
            rank = np.full(len(names) + 1, -1, dtype=np.int64)
            rank[order] = np.arange(len(names))
            return rank[codes], [names[i] for i in order]

        codes, names = src.read("codes", f"{name}\0{null_as}", read)
        return self._pick(codes), names

    def column(self, name: str) -> pa.Array:
        """A column as one Arrow array of its canonical type (for nested values)."""
        src = self._source

        def read() -> pa.Array:
            col = _column(src, name)
            canonical = _TYPES[name]
            if col is None:
                return pa.nulls(src.rows, canonical)
            if col.type != canonical:
                col = col.cast(canonical)
            return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()

        arr = src.read("column", name, read)
        return arr if self._positions is None else arr.take(pa.array(self._positions))

    def all_null(self, name: str) -> bool:
        """Whether the column is null on every row of the key."""
        src = self._source
        col = _column(src, name)
        return col is None or col.null_count == src.rows

    def table(self) -> pa.Table:
        """The canonical table of these rows (keys.complete); built on first use."""
        src = self._source
        if src.table is None:
            src.table = (
                keys.concat_chunks(src.chunks) if src.chunks else keys.complete(pa.table({}))
            )
        table = src.table
        return table if self._positions is None else table.take(pa.array(self._positions))

    def row_text(self) -> Callable[[np.ndarray], list[str]]:
        """column_values.row_text over these rows, building the table only if it is called."""

        def text(rows: np.ndarray) -> list[str]:
            return row_text(self.table())(rows)

        return text


def column_codes(chunks: list[pa.Table], name: str) -> tuple[np.ndarray, list[str]]:
    """`KeyColumns(chunks).codes(name)`, gathering that column alone: for chunks whose
    columns differ (keys of several kinds), where one table of them all (schemas promoted)
    costs ~3 µs a chunk and this column's arrays ~1.4 µs (measured on 170 chunks)."""
    try:
        col = pa.chunked_array([a for ch in chunks for a in ch.column(name).chunks])
    except (KeyError, pa.ArrowInvalid, pa.ArrowTypeError):  # absent somewhere, or types differ
        return KeyColumns(chunks).codes(name)
    return KeyColumns([pa.table({name: col})]).codes(name)
