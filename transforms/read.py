"""ReadFrameRows: Parquet or Avro files (local, glob, gs://) to Arrow tables, by row group."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import NamedTuple

import apache_beam as beam
import pyarrow as pa
from apache_beam import coders
from apache_beam.io import fileio
from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems

from transforms import outputs
from transforms.coders import SourceTableCoder
from transforms.core import formats
from transforms.core.deadletter import file_dead_letter
from transforms.core.memory import use_system_allocator
from transforms.core.read_ahead import read_ahead
from transforms.counters import CounterSet
from transforms.stages import spread_over_workers

_LOG = logging.getLogger(__name__)


class SourceTable(NamedTuple):
    """Rows read from one place of one file: the file, the first row's index in it, the rows."""

    source: str
    first_row: int
    table: pa.Table


coders.registry.register_coder(SourceTable, SourceTableCoder)


def split_patterns(pattern: str) -> list[str]:
    """The patterns of an --input value (several may be separated by commas)."""
    return [p.strip() for p in pattern.split(",") if p.strip()]


class Progress:
    """Logs rows read of the total (from the files' metadata) at most every `every_s` seconds.

    Per worker process: on the in-process local runner that is the whole run.
    """

    def __init__(self, total_rows: int | None, every_s: float = 5.0):
        self.total = total_rows
        self.every = every_s
        self.rows = 0
        self.started = self.last = time.monotonic()

    def add(self, rows: int) -> None:
        self.rows += rows
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = self.rows / max(now - self.started, 1e-9)
            if self.total:
                _LOG.info(
                    "read %s of %s rows (%.0f%%), %.0f rows/s",
                    f"{self.rows:,}",
                    f"{self.total:,}",
                    100 * self.rows / self.total,
                    rate,
                )
            else:
                _LOG.info("read %s rows, %.0f rows/s", f"{self.rows:,}", rate)


# Parquet row groups read ahead of the one being processed (`read_ahead`; Avro is decoded
# holding the GIL, so it is read in turn): at most 3, and no more once those read ahead hold
# READ_AHEAD_ROWS (a file written with pyarrow's default million-row groups is read one
# ahead).
READ_AHEAD_TABLES = 3
READ_AHEAD_ROWS = 256_000


class FileTables:
    """The rows of one input file as SourceTables (a row group, or 64k Avro rows, each), read
    lazily, Parquet's next `read_ahead` row groups on a thread while the caller works; once
    iterated, `counts` and `dead_letters` say how the reading went.

    A corrupt or truncated file (`formats.READ_ERRORS`) ends the iteration with one
    `unreadable_file` record and the rows read before it kept; any other exception is a defect
    and propagates, for the step to report as `internal_error`.
    """

    def __init__(
        self,
        path: str,
        input_format: str,
        progress: Progress | None = None,
        read_ahead: int = READ_AHEAD_TABLES,
    ):
        self.path = path
        self._format = input_format
        self._progress = progress
        self._read_ahead = read_ahead
        self.rows = 0
        self.counts: dict[str, int] = {}
        self.dead_letters: list[bytes] = []

    def __iter__(self) -> Iterator[SourceTable]:
        try:
            fmt = formats.format_of(self.path, self._format)
            with (
                FileSystems.open(self.path, compression_type="uncompressed") as f,
                contextlib.closing(self._tables(f, fmt)) as tables,
            ):
                for table in tables:
                    if self._progress is not None:
                        self._progress.add(table.num_rows)
                    first_row, self.rows = self.rows, self.rows + table.num_rows
                    self.counts["rows_read"] = self.rows
                    yield SourceTable(self.path, first_row, table)
        except formats.READ_ERRORS as e:  # a bad file must not stop the others
            _LOG.error("Cannot read %s after %d rows: %s", self.path, self.rows, e)
            self.counts["files_unreadable"] = 1
            detail = f"{type(e).__name__}: {e}"
            self.dead_letters = [file_dead_letter(self.path, self.rows, detail)]
            return
        self.counts["files_read"] = 1

    def _tables(self, f, fmt: str) -> Iterator[pa.Table]:
        depth = self._read_ahead if fmt == formats.PARQUET else 0
        tables = formats.iter_tables(f, fmt)
        return read_ahead(tables, depth, lambda t: t.num_rows, READ_AHEAD_ROWS)


class FileReadingFn(beam.DoFn):
    """Base of the DoFns that read input files: the reader's progress log and counters, and
    `read_file`, which yields a file's tables and then its outcome as step outputs."""

    def __init__(self, input_format: str, total_rows: int | None = None):
        self._format = input_format
        self._total_rows = total_rows
        self._counters = CounterSet()

    def setup(self):
        use_system_allocator()
        self._progress = Progress(self._total_rows)

    def file_tables(self, meta: FileMetadata) -> FileTables:
        return FileTables(meta.path, self._format, self._progress)


class _ReadFileFn(FileReadingFn):
    """Yields a file's rows as SourceTables, then its counts (and unreadable-file record)."""

    def process(self, meta: FileMetadata):
        tables = self.file_tables(meta)
        try:
            yield from tables
        except Exception as e:
            # Rows already yielded are counted by what happens to them downstream; the rest
            # of the file is reported, with the exception, as an internal error.
            yield from outputs.route(tables, self._counters)
            yield from outputs.internal_error(e, 0, {"source": {"file": meta.path}}, self._counters)
            return
        yield from outputs.route(tables, self._counters)


@beam.typehints.with_output_types(SourceTable)
class ReadFrameRows(beam.PTransform):
    """Reads every file an --input pattern matches, as SourceTables (one per row group).

    Outputs: `tables` (SourceTable), `stats` (counter dicts), `dead_letter` (unreadable files).
    `spread`: the files are spread over workers to be read.
    """

    def __init__(
        self,
        pattern: str,
        input_format: str = "auto",
        total_rows: int | None = None,
        spread: bool = True,
    ):
        super().__init__()
        self._pattern = pattern
        self._format = input_format
        self._total_rows = total_rows
        self._spread = spread

    def expand(self, pbegin):
        return (
            pbegin
            | "MatchInputs" >> MatchInputs(self._pattern, self._spread)
            | "ReadFiles"
            >> beam.ParDo(_ReadFileFn(self._format, self._total_rows))
            .with_output_types(SourceTable)
            .with_outputs(outputs.STATS, outputs.DEAD_LETTER, main="tables")
        )


@beam.typehints.with_output_types(FileMetadata)
class MatchInputs(beam.PTransform):
    """The files an --input pattern matches (spread over workers if `spread`)."""

    def __init__(self, pattern: str, spread: bool = True):
        super().__init__()
        self._patterns = split_patterns(pattern)
        self._spread = spread

    def expand(self, pbegin):
        files = (
            pbegin
            | "InputPatterns" >> beam.Create(self._patterns)
            | "MatchFiles" >> fileio.MatchAll()
        )
        return spread_over_workers(files, "SpreadFiles", self._spread)
