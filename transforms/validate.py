"""ValidateRows and KeyRows: checked rows, keyed by bucket of data rows as packed VideoChunks."""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa

from transforms import outputs
from transforms.buffering import WindowedBuffers, in_window
from transforms.core.checking import check_rows
from transforms.core.config import AnnotationConfig
from transforms.core.video_chunks import pack, split_by_bucket
from transforms.counters import CounterSet
from transforms.read import SourceTable


class _ValidateFn(beam.DoFn):
    """Conforms, validates and filters a SourceTable; never raises on bad rows."""

    def __init__(self, config: AnnotationConfig):
        self._config = config
        self._counters = CounterSet()

    def process(self, element: SourceTable):
        try:
            checked = check_rows(element.table, element.source, element.first_row, self._config)
        except Exception as e:
            where = {"source": {"file": element.source, "row": element.first_row}}
            yield from outputs.internal_error(e, element.table.num_rows, where, self._counters)
            return
        yield from outputs.route(checked, self._counters, checked.valid)


@beam.typehints.with_input_types(SourceTable)
@beam.typehints.with_output_types(pa.Table)
class ValidateRows(beam.PTransform):
    """Checks every row against the input contract; filters rows under --min_confidence.

    Outputs: `valid` (validated tables), `dead_letter` (one record per rejected row, with its
    reason), `stats` (rejections by reason, rows filtered).
    """

    def __init__(self, config: AnnotationConfig):
        super().__init__()
        self._config = config

    def expand(self, tables):
        return tables | "Validate" >> beam.ParDo(_ValidateFn(self._config)).with_output_types(
            pa.Table
        ).with_outputs(outputs.STATS, outputs.DEAD_LETTER, main="valid")


class _KeyRowsFn(beam.DoFn):
    """Buffers a bundle's validated tables up to `max_buffered_rows` per window, then splits
    them by bucket of data rows.

    One packed VideoChunk per bucket per buffer-full (rather than per row group, per video
    or per feature) means far fewer elements, state appends and coder calls downstream; the
    cap bounds the memory a large bundle can hold.
    """

    def __init__(self, buckets: int, max_buffered_rows: int = 250_000):
        self._buckets = buckets
        self._max_rows = max_buffered_rows

    def start_bundle(self):
        self._buffers: WindowedBuffers[pa.Table] = WindowedBuffers(
            self._max_rows, lambda t: t.num_rows
        )

    def process(self, table: pa.Table, window=beam.DoFn.WindowParam):
        full = self._buffers.add(window, table)
        if full:
            for keyed in _split(full, self._buckets):
                yield in_window(keyed, window)

    def finish_bundle(self):
        for window, tables in self._buffers.drain():
            for keyed in _split(tables, self._buckets):
                yield in_window(keyed, window)


def _split(tables: list[pa.Table], buckets: int):
    if tables:
        valid = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        for bucket, chunk in split_by_bucket(valid, buckets):
            yield bucket, pack(chunk)


@beam.typehints.with_input_types(pa.Table)
@beam.typehints.with_output_types(tuple[int, bytes])
class KeyRows(beam.PTransform):
    """Validated tables to (bucket, packed VideoChunk), a data row's rows always in the same
    of `buckets` buckets (`video_chunks.bucket_of`). `video_chunks.unpack` reads a packed
    chunk."""

    def __init__(self, buckets: int):
        super().__init__()
        self._buckets = buckets

    def expand(self, tables):
        return tables | "SplitByKey" >> beam.ParDo(_KeyRowsFn(self._buckets)).with_output_types(
            tuple[int, bytes]
        )
