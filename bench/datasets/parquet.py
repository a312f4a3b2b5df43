"""Parquet output: one file of fixed-size row groups, streamed from per-video tables."""

from __future__ import annotations

import os
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from bench.datasets.constants import DEFAULT_ROW_GROUP_ROWS
from transforms.core import columns as cols


class ParquetRowGroupWriter:
    """Write tables to one Parquet file in row groups of exactly ``row_group_rows`` rows.

    Tables are buffered until a whole row group is available, so per-video tables do not make
    per-video row groups; the last row group holds the remainder.
    """

    def __init__(
        self, path: str | os.PathLike[str], row_group_rows: int, compression: str = "snappy"
    ) -> None:
        """Open ``path`` for writing with the canonical schema."""
        self._writer = pq.ParquetWriter(str(path), cols.SCHEMA, compression=compression)
        self._row_group_rows = row_group_rows
        self._buffer: list[pa.Table] = []
        self._buffered = 0

    def write(self, table: pa.Table) -> None:
        """Add rows; write every complete row group."""
        self._buffer.append(table)
        self._buffered += table.num_rows
        if self._buffered < self._row_group_rows:
            return
        pending = pa.concat_tables(self._buffer)
        start = 0
        while pending.num_rows - start >= self._row_group_rows:
            chunk = pending.slice(start, self._row_group_rows).combine_chunks()
            self._writer.write_table(chunk, row_group_size=self._row_group_rows)
            start += self._row_group_rows
        rest = pending.slice(start)
        self._buffer = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows

    def close(self) -> None:
        """Write the last, partial row group and close the file."""
        if self._buffered:
            self._writer.write_table(
                pa.concat_tables(self._buffer).combine_chunks(), row_group_size=self._row_group_rows
            )
        self._buffer, self._buffered = [], 0
        self._writer.close()


def write_parquet(
    tables: Iterable[pa.Table],
    path: str | os.PathLike[str],
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    compression: str = "snappy",
) -> int:
    """Stream ``tables`` into one Parquet file; return the number of rows written."""
    writer = ParquetRowGroupWriter(path, row_group_rows, compression)
    written = 0
    try:
        for table in tables:
            writer.write(table)
            written += table.num_rows
    finally:
        writer.close()
    return written
