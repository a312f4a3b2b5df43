"""The whole conversion as plain functions: a table of rows in, dead letters and lines out.

The Beam DoFns call these same functions (ValidateRows: `check_table`; BuildAnnotations:
`annotate_key`), and so do the per-file mode and the Beam-free benchmark floor, so every path
produces the same bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from transforms.core import filters
from transforms.core.annotate import build_annotations, rejected_records
from transforms.core.config import AnnotationConfig
from transforms.core.conform import InputSchemaError, conform
from transforms.core.deadletter import dead_letter_lines
from transforms.core.keys import Key, concat_chunks, split_by_key
from transforms.core.validation import validate


@dataclass
class Checked:
    """One table of input rows after conforming, validating and confidence filtering."""

    valid: pa.Table | None
    dead_letters: list[bytes]
    counts: dict[str, int]


def check_table(raw: pa.Table, source: str, first_row: int, config: AnnotationConfig) -> Checked:
    """Conform, validate and filter one table of rows as read from `source`.

    Never raises for bad rows; a table whose types the contract cannot accept (a file the
    pre-run check did not see) has all its rows rejected as `incompatible_schema`.
    """
    try:
        table = conform(raw, source)
    except (InputSchemaError, pa.ArrowInvalid) as e:
        n = raw.num_rows
        lines = dead_letter_lines(
            raw, range(n), ["incompatible_schema"] * n, [str(e)] * n, source, first_row
        )
        return Checked(None, lines, {"rejected.incompatible_schema": n})
    result = validate(table, config.frame_base)
    counts: dict[str, int] = dict(Counter(f"rejected.{r}" for r in result.reasons))
    dead = dead_letter_lines(
        table, result.rejected_rows, result.reasons, result.details, source, first_row
    )
    valid, filtered = filters.by_confidence(result.valid, config.min_confidence)
    if filtered:
        counts["rows_filtered"] = filtered
    return Checked(valid if valid.num_rows else None, dead, counts)


@dataclass
class KeyResult:
    """One key's output: its NDJSON lines, its group-level dead letters, its counts."""

    key: Key
    lines: list[bytes]
    dead_letters: list[bytes]
    counts: dict[str, float] = field(default_factory=dict)


def annotate_key(key: Key, chunks: list[pa.Table], config: AnnotationConfig) -> KeyResult:
    """Build one key's annotations from all of its chunks (in any order)."""
    table = concat_chunks(chunks)
    outcome = build_annotations(key, table, config)
    _, reasons = outcome.rejections()
    counts: dict[str, float] = dict(outcome.counters)
    counts.update(outcome.errors)
    for reason, n in Counter(reasons).items():
        counts[f"rejected.{reason}"] = n
    return KeyResult(key, outcome.lines, rejected_records(key, table, outcome), counts)


class KeyedChunks:
    """Validated rows gathered per key, as the compact chunks the state of a key would hold."""

    def __init__(self) -> None:
        self.chunks: dict[Key, list[pa.Table]] = {}
        self.rows = 0

    def add(self, valid: pa.Table) -> None:
        for key, chunk in split_by_key(valid):
            self.chunks.setdefault(key, []).append(chunk)
        self.rows += valid.num_rows

    def annotate(self, config: AnnotationConfig) -> Iterator[KeyResult]:
        """Annotate every key (sorted), releasing each key's chunks as it goes."""
        for key in sorted(self.chunks):
            yield annotate_key(key, self.chunks.pop(key), config)
        self.rows = 0


def convert_tables(
    tables: Iterable[tuple[str, int, pa.Table]], config: AnnotationConfig
) -> tuple[list[KeyResult], list[bytes], dict[str, float]]:
    """Convert (source, first_row, table) triples in memory: (key results, dead letters, counts).

    For tests, the benchmark floor and small inputs; the pipeline does the same at scale.
    """
    from transforms.core.counts import merge

    counts: dict[str, float] = {}
    dead: list[bytes] = []
    keyed = KeyedChunks()
    for source, first_row, raw in tables:
        merge(counts, {"rows_read": raw.num_rows})
        checked = check_table(raw, source, first_row, config)
        merge(counts, checked.counts)
        dead.extend(checked.dead_letters)
        if checked.valid is not None:
            keyed.add(checked.valid)
    results = []
    for result in keyed.annotate(config):
        merge(counts, result.counts)
        dead.extend(result.dead_letters)
        results.append(result)
    return results, dead, counts
