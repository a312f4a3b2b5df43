"""The whole conversion in memory: tables of rows in, every key's annotations and dead letters
out. The same steps as the pipeline (`check_rows`, `split_by_key`, `annotate_keys`), for the
per-file reader, the Beam-free benchmark floor, tests and small inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import pyarrow as pa

from transforms.core.annotations import KeyAnnotations
from transforms.core.checking import check_rows
from transforms.core.config import AnnotationConfig
from transforms.core.counts import merge
from transforms.core.keys import Key, split_by_key
from transforms.core.multi_key import annotate_keys, batches


class KeyedRows:
    """Validated rows gathered per key, as the compact chunks the state of a key would hold."""

    def __init__(self) -> None:
        self.chunks: dict[Key, list[pa.Table]] = {}
        self.rows = 0

    def add(self, valid: pa.Table) -> None:
        for key, chunk in split_by_key(valid):
            self.chunks.setdefault(key, []).append(chunk)
        self.rows += valid.num_rows

    def annotate(self, config: AnnotationConfig) -> Iterator[KeyAnnotations]:
        """Annotate every key (sorted), a batch of keys at a time (`annotate_keys`),
        releasing each batch's chunks as it goes."""
        for run in batches((key, self.chunks.pop(key)) for key in sorted(self.chunks)):
            yield from annotate_keys(run, config)
        self.rows = 0


def annotate_video(
    chunks: Iterable[tuple[Key, pa.Table]], config: AnnotationConfig
) -> list[KeyAnnotations]:
    """Every feature of one data row from its (key, chunk) pairs in any order: what a
    streaming flush builds, feature by feature exactly as batch does."""
    keyed = KeyedRows()
    for key, chunk in chunks:
        keyed.chunks.setdefault(key, []).append(chunk)
        keyed.rows += chunk.num_rows
    return list(keyed.annotate(config))


class Conversion(NamedTuple):
    """What converting some tables produced: per-key annotations, dead letters, counts."""

    results: list[KeyAnnotations]
    dead_letters: list[bytes]
    counts: dict[str, float]


def convert_tables(
    tables: Iterable[tuple[str, int, pa.Table]], config: AnnotationConfig
) -> Conversion:
    """Convert (source, first_row, table) triples in memory."""
    counts: dict[str, float] = {}
    dead: list[bytes] = []
    keyed = KeyedRows()
    for source, first_row, raw in tables:
        merge(counts, {"rows_read": raw.num_rows})
        checked = check_rows(raw, source, first_row, config)
        merge(counts, checked.counts)
        dead.extend(checked.dead_letters)
        if checked.valid is not None:
            keyed.add(checked.valid)
    results = []
    for result in keyed.annotate(config):
        merge(counts, result.counts)
        dead.extend(result.dead_letters)
        results.append(result)
    return Conversion(results, dead, counts)
