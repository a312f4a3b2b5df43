"""ReadFrameRows: Parquet or Avro files (local, glob, gs://) to Arrow tables, by row group."""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

import apache_beam as beam
import pyarrow as pa
from apache_beam import coders
from apache_beam.io import fileio
from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms import stats
from transforms.coders import SourceTableCoder
from transforms.core import formats
from transforms.core.memory import use_system_allocator

_LOG = logging.getLogger(__name__)


class SourceTable(NamedTuple):
    """Rows read from one place of one file: the file, the first row's index in it, the rows."""

    source: str
    first_row: int
    table: pa.Table


coders.registry.register_coder(SourceTable, SourceTableCoder)


def match_inputs(pattern: str) -> list[FileMetadata]:
    """The files an --input pattern (comma-separated patterns allowed) names, sorted by path."""
    found: dict[str, FileMetadata] = {}
    for part in [p.strip() for p in pattern.split(",") if p.strip()]:
        for result in FileSystems.match([part]):
            for meta in result.metadata_list:
                found[meta.path] = meta
    return [found[p] for p in sorted(found)]


def check_inputs(pattern: str, input_format: str, max_files: int = 2000) -> dict:
    """Check every matched file's schema against the contract, before the pipeline runs.

    Reads only Parquet footers and Avro headers. Raises InputSchemaError (naming the file and
    the column) or FileNotFoundError. Returns {"files": n, "rows": total or None, "checked": k}.
    """
    files = match_inputs(pattern)
    if not files:
        raise FileNotFoundError(f"--input {pattern!r} matched no files")
    from transforms.core.conform import InputSchemaError, check_schema

    total: int | None = 0
    for meta in files[:max_files]:
        fmt = formats.format_of(meta.path, input_format)
        with FileSystems.open(meta.path, compression_type="uncompressed") as f:
            try:
                schema = formats.read_schema(f, fmt)
                f.seek(0)
                rows = formats.count_rows(f, fmt)
            except Exception as e:  # corrupt, truncated, or another format
                raise InputSchemaError(f"{meta.path}: cannot be read as {fmt}: {e}") from e
            check_schema(schema, meta.path)
        total = None if rows is None or total is None else total + rows
    if len(files) > max_files:
        _LOG.info("Checked the schema of the first %d of %d input files", max_files, len(files))
        total = None
    return {"files": len(files), "rows": total, "checked": min(len(files), max_files)}


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


class _ReadFileFn(beam.DoFn):
    """Yields a file's rows as SourceTables; an unreadable file becomes a dead-letter record."""

    def __init__(self, input_format: str, total_rows: int | None = None):
        self._format = input_format
        self._total_rows = total_rows
        self._rows = Metrics.counter(stats.NAMESPACE, "rows_read")
        self._files = Metrics.counter(stats.NAMESPACE, "files_read")
        self._unreadable = Metrics.counter(stats.NAMESPACE, "files_unreadable")

    def setup(self):
        use_system_allocator()
        self._progress = Progress(self._total_rows)

    def process(self, meta: FileMetadata):
        path = meta.path
        first_row = 0
        try:
            fmt = formats.format_of(path, self._format)
            with FileSystems.open(path, compression_type="uncompressed") as f:
                for table in formats.iter_tables(f, fmt):
                    self._rows.inc(table.num_rows)
                    self._progress.add(table.num_rows)
                    yield stats.output({"rows_read": table.num_rows})
                    yield SourceTable(path, first_row, table)
                    first_row += table.num_rows
        except Exception as e:  # a corrupt or unreadable file must not stop the others
            _LOG.error("Cannot read %s after %d rows: %s", path, first_row, e)
            self._unreadable.inc()
            yield stats.output({"files_unreadable": 1})
            yield beam.pvalue.TaggedOutput(
                stats.DEAD_LETTER,
                stats.file_dead_letter(path, first_row, f"{type(e).__name__}: {e}"),
            )
            return
        self._files.inc()
        yield stats.output({"files_read": 1})


class ReadFrameRows(beam.PTransform):
    """Reads every file an --input pattern matches, as SourceTables (one per row group).

    Outputs: main (SourceTable), `stats.STATS` (counter dicts), `stats.DEAD_LETTER`
    (unreadable files).
    """

    def __init__(self, pattern: str, input_format: str = "auto", total_rows: int | None = None):
        super().__init__()
        self._pattern = pattern
        self._format = input_format
        self._total_rows = total_rows

    def expand(self, pbegin):
        return (
            pbegin
            | "MatchInputs" >> MatchInputs(self._pattern)
            | "ReadFiles"
            >> beam.ParDo(_ReadFileFn(self._format, self._total_rows))
            .with_output_types(SourceTable)
            .with_outputs(stats.STATS, stats.DEAD_LETTER, main="tables")
        )


class MatchInputs(beam.PTransform):
    """The files an --input pattern matches, spread over workers."""

    def __init__(self, pattern: str):
        super().__init__()
        self._patterns = [p.strip() for p in pattern.split(",") if p.strip()]

    def expand(self, pbegin):
        return (
            pbegin
            | "InputPatterns" >> beam.Create(self._patterns)
            | "MatchFiles" >> fileio.MatchAll()
            | "SpreadFiles" >> beam.Reshuffle()
        )
