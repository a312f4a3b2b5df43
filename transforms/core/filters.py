"""Filtering rows by model confidence (--min_confidence): counted as filtered, not rejected."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core import columns as c

ALL_KINDS = "*"


def parse_min_confidence(values: list[str] | str | None) -> dict[str, float]:
    """`0.5` (every kind) or `bbox=0.6,radio=0.3` (per kind) to {kind or '*': threshold}."""
    if not values:
        return {}
    if isinstance(values, str):
        values = [values]
    out: dict[str, float] = {}
    for item in (p.strip() for v in values for p in v.split(",")):
        if not item:
            continue
        kind, _, number = item.rpartition("=")
        kind = kind.strip() or ALL_KINDS
        if kind != ALL_KINDS and kind not in c.KINDS:
            raise ValueError(f"min_confidence: unknown kind {kind!r} in {item!r}")
        try:
            threshold = float(number)
        except ValueError:
            raise ValueError(f"min_confidence: {number!r} is not a number") from None
        if not 0 <= threshold <= 1:
            raise ValueError(f"min_confidence: {threshold} is not in [0, 1]")
        out[kind] = threshold
    return out


def by_confidence(table: pa.Table, thresholds: dict[str, float]) -> tuple[pa.Table, int]:
    """(rows at or above their kind's threshold, number filtered). Missing confidence = 1."""
    if not thresholds or table.num_rows == 0:
        return table, 0
    kinds = table.column(c.KIND).combine_chunks()
    default = thresholds.get(ALL_KINDS, 0.0)
    limit = np.full(table.num_rows, default)
    for kind, threshold in thresholds.items():
        if kind != ALL_KINDS:
            limit[np.asarray(pc.equal(kinds, kind).to_numpy(zero_copy_only=False), bool)] = (
                threshold
            )
    conf = np.asarray(
        table.column(c.CONFIDENCE).combine_chunks().fill_null(1.0).to_numpy(zero_copy_only=False),
        dtype=np.float64,
    )
    keep = conf >= limit
    dropped = int((~keep).sum())
    return (table.filter(pa.array(keep)) if dropped else table), dropped
