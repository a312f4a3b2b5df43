"""Column values as numpy arrays and canonical text: what the annotation builders read."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import orjson
import pyarrow as pa


def floats(table: pa.Table, name: str) -> np.ndarray:
    """A numeric column as float64, NaN where null."""
    return np.asarray(
        table.column(name).combine_chunks().fill_null(np.nan).to_numpy(zero_copy_only=False),
        dtype=np.float64,
    )


def row_text(table: pa.Table) -> Callable[[np.ndarray], list[str]]:
    """Canonical JSON text of rows, to break exact ties the same way whatever the row order."""

    def text(rows: np.ndarray) -> list[str]:
        picked = table.take(pa.array(rows)).to_pylist()
        return [orjson.dumps(r, option=orjson.OPT_SORT_KEYS).decode() for r in picked]

    return text


def sorted_codes(values: pa.Array) -> tuple[np.ndarray, list[str]]:
    """(code per row, distinct values) with codes in sorted value order, so output order
    never depends on row order."""
    encoded = values.dictionary_encode()
    names = encoded.dictionary.to_pylist()
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return rank[np.asarray(encoded.indices.to_numpy(), dtype=np.int64)], [names[i] for i in order]
