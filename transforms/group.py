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
from apache_beam import coders
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, TimerSpec, on_timer

from transforms import stats
from transforms.coders import ArrowTableCoder, FragmentCoder
from transforms.core.config import AnnotationConfig
from transforms.core.convert import KeyResult, annotate_key
from transforms.core.keys import Key


class Fragment(NamedTuple):
    """All NDJSON lines of one key: `data` is the lines, each ending in a newline."""

    key: Key
    data: bytes
    line_ends: tuple[int, ...]  # byte offset just past each line's newline


coders.registry.register_coder(Fragment, FragmentCoder)


def fragment(key: Key, lines: list[bytes]) -> Fragment:
    ends, total = [], 0
    for line in lines:
        total += len(line) + 1
        ends.append(total)
    return Fragment(key, b"\n".join(lines) + b"\n", tuple(ends))


def emit_key_result(result: KeyResult, counters: stats.CounterSet):
    """A key's result as the outputs of BuildAnnotations: Fragment, dead letters, stats."""
    counters.inc(result.counts)
    yield stats.output(result.counts)
    for line in result.dead_letters:
        yield beam.pvalue.TaggedOutput(stats.DEAD_LETTER, line)
    if result.lines:
        yield fragment(result.key, result.lines)


class _AnnotateKeyFn(beam.DoFn):
    CHUNKS = BagStateSpec("chunks", ArrowTableCoder())
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)

    def __init__(self, config: AnnotationConfig):
        self._config = config
        self._counters = stats.CounterSet()

    def start_bundle(self):
        # Keys whose timer this bundle already set: setting it again is a no-op for the
        # runner but still a timer write per chunk.
        self._armed: set[tuple[Key, object]] = set()

    def process(
        self,
        element: tuple[Key, pa.Table],
        window=beam.DoFn.WindowParam,
        chunks=beam.DoFn.StateParam(CHUNKS),
        flush=beam.DoFn.TimerParam(FLUSH),
    ):
        key, chunk = element
        chunks.add(chunk)
        if (key, window) not in self._armed:
            self._armed.add((key, window))
            flush.set(window.max_timestamp())

    @on_timer(FLUSH)
    def on_flush(self, key=beam.DoFn.KeyParam, chunks=beam.DoFn.StateParam(CHUNKS)):
        tables = list(chunks.read())
        chunks.clear()
        if tables:
            yield from emit_key_result(annotate_key(key, tables, self._config), self._counters)


class BuildAnnotations(beam.PTransform):
    """(key, chunk) pairs to one Fragment per key, with group-level rejections and counts.

    Outputs: main (Fragment), `stats.DEAD_LETTER`, `stats.STATS`.
    """

    def __init__(self, config: AnnotationConfig):
        super().__init__()
        self._config = config

    def expand(self, keyed):
        return keyed | "AnnotateKeys" >> beam.ParDo(_AnnotateKeyFn(self._config)).with_output_types(
            Fragment
        ).with_outputs(stats.STATS, stats.DEAD_LETTER, main="fragments")
