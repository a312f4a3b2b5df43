"""One key's rows as numpy columns, read straight from its compact chunks.

A key's chunks (keys.compact) hold text dictionary-encoded and leave out all-null columns.
The builders need a few columns as numbers or codes; reading them chunk by chunk from the
dictionary indices costs a handful of numpy calls, where rebuilding the canonical table
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


def _parts(src: _Source, name: str) -> list[pa.Array | int] | None:
    """Every chunk's arrays of a column, a chunk that lacks it (all null) as its row count;
    None if no chunk has it."""
    if len(src.chunks) == 1:  # the usual case
        return src.chunks[0].column(name).chunks if name in src.names[0] else None
    out: list[pa.Array | int] = []
    found = False
    for ch, names in zip(src.chunks, src.names, strict=True):
        if name in names:
            out.extend(ch.column(name).chunks)
            found = True
        else:
            out.append(ch.num_rows)
    return out if found else None


def _arrays(src: _Source, name: str) -> list[pa.Array] | None:
    """Every chunk's arrays of a column (all-null where a chunk lacks it); None if none has it."""
    parts = _parts(src, name)
    if parts is None:
        return None
    return [pa.nulls(p, _TYPES[name]) if isinstance(p, int) else p for p in parts]


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    if len(parts) == 1:
        return np.asarray(parts[0], dtype=dtype)
    return np.concatenate([np.asarray(p, dtype=dtype) for p in parts])


def _dictionary_codes(arrays: list[pa.Array | int]) -> tuple[np.ndarray, list[str]]:
    """(code per row, -1 where null; distinct values in order of first dictionary entry).
    An int in `arrays` stands for that many null rows."""
    if len(arrays) > 1:
        unified = _unified_codes(arrays)
        if unified is not None:
            return unified
    names: list[str] = []
    index: dict[str, int] = {}
    parts = []
    # Chunks split from one table share its dictionary: map each dictionary once.
    remaps: dict[tuple, np.ndarray] = {}
    for given in arrays:
        if isinstance(given, int) or given.null_count == len(given):
            parts.append(np.full(given if isinstance(given, int) else len(given), -1, np.int64))
            continue
        if pa.types.is_dictionary(given.type):
            arr, ident = given, _identity(given.dictionary)
        else:  # encoded here: its buffers are freed with it, so its address is not cached
            arr, ident = pc.dictionary_encode(given), None
        remap = remaps.get(ident) if ident is not None else None
        if remap is None:
            local = arr.dictionary.to_pylist()
            remap = np.full(len(local) + 1, -1, dtype=np.int64)  # the last: a null index
            for i, name in enumerate(local):
                if name not in index:
                    index[name] = len(names)
                    names.append(name)
                remap[i] = index[name]
            if ident is not None:
                remaps[ident] = remap
        indices = arr.indices
        if indices.null_count:
            indices = indices.fill_null(-1)
        parts.append(remap[indices.to_numpy(zero_copy_only=False)])
    return _concat(parts, np.int64), names


def _unified_codes(arrays: list[pa.Array | int]) -> tuple[np.ndarray, list[str]] | None:
    """`_dictionary_codes` of many dictionary-encoded chunks of one type in a few Arrow calls
    (one dictionary unified in C++ rather than a lookup per chunk: ~6 µs less a chunk, and a
    pass of short clips reads thousands); None if the chunks' types differ."""
    present = [a for a in arrays if not isinstance(a, int)]
    if not present:
        return None
    kind = present[0].type
    if not pa.types.is_dictionary(kind) or any(a.type != kind for a in present):
        return None
    chunked = pa.chunked_array([pa.nulls(a, kind) if isinstance(a, int) else a for a in arrays])
    whole = pa.concat_arrays(chunked.unify_dictionaries().chunks)
    indices = whole.indices
    if indices.null_count:
        indices = indices.fill_null(-1)
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, whole.dictionary.to_pylist()


def _identity(array: pa.Array) -> tuple:
    """What tells a live array's contents from another's: its type, offset, length and the
    addresses of its buffers (Arrow memory is immutable, and the chunks' dictionaries stay
    alive for the whole call, so no address is reused meanwhile)."""
    buffers = tuple(None if b is None else (b.address, b.size) for b in array.buffers())
    return (str(array.type), array.offset, len(array), buffers)


class _Source:
    """A key's chunks and what has been read from them."""

    def __init__(self, chunks: list[pa.Table]):
        self.chunks = [ch for ch in chunks if ch.num_rows]
        self.names = [set(ch.schema.names) for ch in self.chunks]
        self.rows = sum(ch.num_rows for ch in self.chunks)
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
            parts = _parts(src, name)
            if parts is None:
                return np.full(src.rows, np.nan)
            return _concat(
                [
                    np.full(p, np.nan) if isinstance(p, int) else p.to_numpy(zero_copy_only=False)
                    for p in parts
                ],
                np.float64,
            )

        return self._pick(src.read("floats", name, read))

    def ints(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """An integer column as (int64 values, 0 where null; null mask)."""
        src = self._source

        def read() -> tuple[np.ndarray, np.ndarray]:
            parts = _parts(src, name)
            if parts is None:
                return np.zeros(src.rows, np.int64), np.ones(src.rows, bool)
            values, nulls = [], []
            for a in parts:
                if isinstance(a, int):  # a chunk without the column
                    nulls.append(np.ones(a, dtype=bool))
                    values.append(np.zeros(a, dtype=np.int64))
                elif a.null_count:
                    nulls.append(a.is_null().to_numpy(zero_copy_only=False))
                    values.append(a.fill_null(0).to_numpy(zero_copy_only=False))
                else:
                    nulls.append(np.zeros(len(a), dtype=bool))
                    values.append(a.to_numpy(zero_copy_only=False))
            return _concat(values, np.int64), _concat(nulls, bool)

        values, nulls = src.read("ints", name, read)
        return self._pick(values), self._pick(nulls)

    def codes(self, name: str, null_as: str | None = None) -> tuple[np.ndarray, list[str]]:
        """A text column as (code per row; its distinct values), codes in sorted value order
        so that output order never depends on row order. Nulls are -1, or the value
        `null_as` when given."""
        src = self._source

        def read() -> tuple[np.ndarray, list[str]]:
            parts = _parts(src, name)
            if parts is None:
                codes, names = np.full(src.rows, -1, dtype=np.int64), []
            else:
                codes, names = _dictionary_codes(parts)
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
            arrays = _arrays(src, name)
            canonical = _TYPES[name]
            if arrays is None:
                return pa.nulls(src.rows, canonical)
            arrays = [a if a.type == canonical else a.cast(canonical) for a in arrays]
            return arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)

        arr = src.read("column", name, read)
        return arr if self._positions is None else arr.take(pa.array(self._positions))

    def all_null(self, name: str) -> bool:
        """Whether the column is null on every row of the key."""
        src = self._source
        return not any(
            name in names and ch.column(name).null_count < ch.num_rows
            for ch, names in zip(src.chunks, src.names, strict=True)
        )

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
