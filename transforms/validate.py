"""ValidateRows and KeyRows: checked rows, keyed by (data row, feature) as compact chunks."""

from __future__ import annotations

from collections import Counter

import apache_beam as beam
import pyarrow as pa
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from transforms import stats
from transforms.core import filters
from transforms.core.conform import InputSchemaError, conform
from transforms.core.deadletter import dead_letter_lines
from transforms.core.keys import Key, split_by_key
from transforms.core.validation import validate
from transforms.read import SourceTable


class _ValidateFn(beam.DoFn):
    """Conforms and validates a SourceTable; never raises on bad rows."""

    def __init__(self, frame_base: int):
        self._frame_base = frame_base
        self._counters = stats.CounterSet()

    def process(self, element: SourceTable):
        source, first_row, raw = element
        try:
            table = conform(raw, source)
        except (InputSchemaError, pa.ArrowInvalid) as e:
            # Only reached for files the pre-run check did not see: reject the rows, loudly.
            n = raw.num_rows
            counts = {"rejected.incompatible_schema": n}
            self._counters.inc(counts)
            yield stats.output(counts)
            for line in dead_letter_lines(
                raw, range(n), ["incompatible_schema"] * n, [str(e)] * n, source, first_row
            ):
                yield beam.pvalue.TaggedOutput(stats.DEAD_LETTER, line)
            return
        result = validate(table, self._frame_base)
        counts = Counter(f"rejected.{r}" for r in result.reasons)
        self._counters.inc(counts)
        if counts:
            yield stats.output(counts)
        for line in dead_letter_lines(
            table, result.rejected_rows, result.reasons, result.details, source, first_row
        ):
            yield beam.pvalue.TaggedOutput(stats.DEAD_LETTER, line)
        if result.valid.num_rows:
            yield result.valid


class ValidateRows(beam.PTransform):
    """Checks every row against the input contract.

    Outputs: main (validated tables), `stats.DEAD_LETTER` (one record per rejected row, with
    its reason), `stats.STATS`.
    """

    def __init__(self, frame_base: int):
        super().__init__()
        self._frame_base = frame_base

    def expand(self, tables):
        return tables | "Validate" >> beam.ParDo(_ValidateFn(self._frame_base)).with_outputs(
            stats.STATS, stats.DEAD_LETTER, main="valid"
        )


class _KeyRowsFn(beam.DoFn):
    """Splits validated tables by key, merging a bundle's chunks of a key before emitting.

    Fewer, larger chunks mean fewer state appends and coder calls downstream; the buffer is
    flushed at `max_buffered_rows` so a large bundle cannot hold much memory.
    """

    def __init__(self, min_confidence: dict[str, float], max_buffered_rows: int = 1_000_000):
        self._min_confidence = min_confidence
        self._max_rows = max_buffered_rows
        self._counters = stats.CounterSet()

    def start_bundle(self):
        self._buffer: dict[Key, list[pa.Table]] = {}
        self._rows = 0

    def process(self, table: pa.Table):
        table, filtered = filters.by_confidence(table, self._min_confidence)
        if filtered:
            self._counters.inc({"rows_filtered": filtered})
            yield stats.output({"rows_filtered": filtered})
        for key, chunk in split_by_key(table):
            self._buffer.setdefault(key, []).append(chunk)
        self._rows += table.num_rows
        if self._rows >= self._max_rows:
            yield from self._flush(windowed=False)

    def finish_bundle(self):
        yield from self._flush(windowed=True)

    def _flush(self, windowed: bool):
        buffer, self._buffer, self._rows = self._buffer, {}, 0
        for key in sorted(buffer):
            chunks = buffer[key]
            chunk = chunks[0] if len(chunks) == 1 else pa.concat_tables(
                chunks, promote_options="default"
            )
            element = (key, chunk)
            if windowed:
                yield WindowedValue(element, MIN_TIMESTAMP, [GlobalWindow()])
            else:
                yield element


class KeyRows(beam.PTransform):
    """Validated tables to (key, chunk): key = (data row field, data row, feature field, feature).

    Rows under a --min_confidence threshold are filtered here (counted, not dead-lettered).
    """

    def __init__(self, min_confidence: dict[str, float] | None = None):
        super().__init__()
        self._min_confidence = min_confidence or {}

    def expand(self, tables):
        return tables | "SplitByKey" >> beam.ParDo(
            _KeyRowsFn(self._min_confidence)
        ).with_outputs(stats.STATS, main="chunks")
