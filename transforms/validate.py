"""ValidateRows and KeyRows: checked rows, keyed by (data row, feature) as compact chunks."""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from transforms import stats
from transforms.core.config import AnnotationConfig
from transforms.core.convert import Checked, check_table
from transforms.core.keys import split_by_key
from transforms.read import SourceTable


def emit_checked(checked: Checked, counters: stats.CounterSet):
    """A checked table as step outputs: counts, dead letters, then the valid rows (if any)."""
    if checked.counts:
        counters.inc(checked.counts)
        yield stats.output(checked.counts)
    for line in checked.dead_letters:
        yield beam.pvalue.TaggedOutput(stats.DEAD_LETTER, line)
    if checked.valid is not None:
        yield checked.valid


class _ValidateFn(beam.DoFn):
    """Conforms, validates and filters a SourceTable; never raises on bad rows."""

    def __init__(self, config: AnnotationConfig):
        self._config = config
        self._counters = stats.CounterSet()

    def process(self, element: SourceTable):
        checked = check_table(element.table, element.source, element.first_row, self._config)
        yield from emit_checked(checked, self._counters)


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
    """Buffers a bundle's validated tables up to `max_buffered_rows`, then splits them by key.

    One chunk per key per buffer-full (rather than per row group) means far fewer state
    appends and coder calls downstream; the cap bounds the memory a large bundle can hold.
    """

    def __init__(self, max_buffered_rows: int = 250_000):
        self._max_rows = max_buffered_rows

    def start_bundle(self):
        self._tables: list[pa.Table] = []
        self._rows = 0

    def process(self, table: pa.Table):
        self._tables.append(table)
        self._rows += table.num_rows
        if self._rows >= self._max_rows:
            yield from self._flush()

    def finish_bundle(self):
        for element in self._flush():
            yield WindowedValue(element, MIN_TIMESTAMP, [GlobalWindow()])

    def _flush(self):
        tables, self._tables, self._rows = self._tables, [], 0
        if tables:
            yield from split_by_key(tables[0] if len(tables) == 1 else pa.concat_tables(tables))


class KeyRows(beam.PTransform):
    """Validated tables to (key, chunk); key: (data row field, data row, feature field, feature)."""

    def expand(self, tables):
        return tables | "SplitByKey" >> beam.ParDo(_KeyRowsFn()).with_output_types(
            tuple[tuple[str, str, str, str], pa.Table]
        )
