"""ValidateRows and KeyRows: checked rows, keyed by (data row, feature) as compact chunks."""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from transforms import stats
from transforms.core.config import AnnotationConfig
from transforms.core.convert import check_table
from transforms.core.keys import Key, compact, concat_chunks, split_by_key
from transforms.read import SourceTable


class _ValidateFn(beam.DoFn):
    """Conforms, validates and filters a SourceTable; never raises on bad rows."""

    def __init__(self, config: AnnotationConfig):
        self._config = config
        self._counters = stats.CounterSet()

    def process(self, element: SourceTable):
        checked = check_table(element.table, element.source, element.first_row, self._config)
        if checked.counts:
            self._counters.inc(checked.counts)
            yield stats.output(checked.counts)
        for line in checked.dead_letters:
            yield beam.pvalue.TaggedOutput(stats.DEAD_LETTER, line)
        if checked.valid is not None:
            yield checked.valid


class ValidateRows(beam.PTransform):
    """Checks every row against the input contract; filters rows under --min_confidence.

    Outputs: main (validated tables), `stats.DEAD_LETTER` (one record per rejected row, with
    its reason), `stats.STATS` (rejections by reason, rows filtered).
    """

    def __init__(self, config: AnnotationConfig):
        super().__init__()
        self._config = config

    def expand(self, tables):
        return tables | "Validate" >> beam.ParDo(_ValidateFn(self._config)).with_output_types(
            pa.Table
        ).with_outputs(stats.STATS, stats.DEAD_LETTER, main="valid")


class _KeyRowsFn(beam.DoFn):
    """Splits validated tables by key, merging a bundle's chunks of a key before emitting.

    Fewer, larger chunks mean fewer state appends and coder calls downstream; the buffer is
    flushed at `max_buffered_rows` so a large bundle cannot hold much memory.
    """

    def __init__(self, max_buffered_rows: int = 500_000):
        self._max_rows = max_buffered_rows

    def start_bundle(self):
        self._buffer: dict[Key, list[pa.Table]] = {}
        self._rows = 0

    def process(self, table: pa.Table):
        for key, chunk in split_by_key(table):
            self._buffer.setdefault(key, []).append(chunk)
        self._rows += table.num_rows
        if self._rows >= self._max_rows:
            yield from self._flush()

    def finish_bundle(self):
        for element in self._flush():
            yield WindowedValue(element, MIN_TIMESTAMP, [GlobalWindow()])

    def _flush(self):
        buffer, self._buffer, self._rows = self._buffer, {}, 0
        for key in sorted(buffer):
            chunks = buffer[key]
            yield key, chunks[0] if len(chunks) == 1 else compact(concat_chunks(chunks))


class KeyRows(beam.PTransform):
    """Validated tables to (key, chunk); key: (data row field, data row, feature field, feature)."""

    def expand(self, tables):
        return tables | "SplitByKey" >> beam.ParDo(_KeyRowsFn()).with_output_types(
            tuple[tuple[str, str, str, str], pa.Table]
        )
