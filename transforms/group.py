"""BuildAnnotations: per-key state holds a key's chunks until they are complete, then the core
builds the key's NDJSON lines.

The DoFn is thin on purpose: it appends chunks to bag state, and when its flush timer fires it
reads them, calls `build_annotations`, and clears the state. In batch the timer is the end of
the window (every row has been read); the streaming pipeline reuses the same DoFn with another
flush trigger.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
import pyarrow as pa
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, TimerSpec, on_timer

from transforms import stats
from transforms.coders import ArrowTableCoder
from transforms.core.annotate import build_annotations, rejected_records
from transforms.core.config import AnnotationConfig
from transforms.core.keys import Key


class Fragment(NamedTuple):
    """All NDJSON lines of one key: `data` is the lines, each ending in a newline."""

    key: Key
    data: bytes
    line_ends: tuple[int, ...]  # byte offset just past each line's newline


def fragment(key: Key, lines: list[bytes]) -> Fragment:
    ends, total = [], 0
    for line in lines:
        total += len(line) + 1
        ends.append(total)
    return Fragment(key, b"\n".join(lines) + b"\n", tuple(ends))


def annotate_key(key: Key, tables: list[pa.Table], config: AnnotationConfig, counters):
    """Build a key's annotations from its chunks; yields the Fragment and tagged outputs."""
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
    outcome = build_annotations(key, table, config)
    rejected_rows, reasons = outcome.rejections()
    counts = dict(outcome.counters)
    counts.update(outcome.errors)
    for r in reasons:
        counts[f"rejected.{r}"] = counts.get(f"rejected.{r}", 0) + 1
    counters.inc(counts)
    yield stats.output(counts)
    for line in rejected_records(key, table, outcome):
        yield beam.pvalue.TaggedOutput(stats.DEAD_LETTER, line)
    if outcome.lines:
        yield fragment(key, outcome.lines)


class _AnnotateKeyFn(beam.DoFn):
    CHUNKS = BagStateSpec("chunks", ArrowTableCoder())
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)

    def __init__(self, config: AnnotationConfig):
        self._config = config
        self._counters = stats.CounterSet()

    def process(
        self,
        element: tuple[Key, pa.Table],
        window=beam.DoFn.WindowParam,
        chunks=beam.DoFn.StateParam(CHUNKS),
        flush=beam.DoFn.TimerParam(FLUSH),
    ):
        _, chunk = element
        chunks.add(chunk)
        flush.set(window.max_timestamp())

    @on_timer(FLUSH)
    def on_flush(self, key=beam.DoFn.KeyParam, chunks=beam.DoFn.StateParam(CHUNKS)):
        tables = list(chunks.read())
        chunks.clear()
        if tables:
            yield from annotate_key(key, tables, self._config, self._counters)


class BuildAnnotations(beam.PTransform):
    """(key, chunk) pairs to one Fragment per key, with group-level rejections and counts.

    Outputs: main (Fragment), `stats.DEAD_LETTER`, `stats.STATS`.
    """

    def __init__(self, config: AnnotationConfig):
        super().__init__()
        self._config = config

    def expand(self, keyed):
        return (
            keyed
            | "TypeKeys" >> beam.Map(lambda kv: kv).with_output_types(
                tuple[tuple[str, str, str, str], pa.Table]
            )
            | "AnnotateKeys"
            >> beam.ParDo(_AnnotateKeyFn(self._config)).with_outputs(
                stats.STATS, stats.DEAD_LETTER, main="fragments"
            )
        )
