"""BuildAnnotations: per-key state holds a key's chunks until they are complete, then the core
builds the key's NDJSON lines.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
import pyarrow as pa
from apache_beam import coders
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, TimerSpec, on_timer

from transforms import outputs
from transforms.coders import ArrowTableCoder, FragmentCoder
from transforms.core.annotate import annotate_key
from transforms.core.annotations import KeyAnnotations
from transforms.core.config import AnnotationConfig
from transforms.core.fragments import Fragment, fragment
from transforms.core.keys import Key, key_columns
from transforms.counters import CounterSet

coders.registry.register_coder(Fragment, FragmentCoder)


def route_annotations(annotations: KeyAnnotations, counters: CounterSet) -> Iterator:
    """A key's annotations as step outputs: counts, dead letters, then its Fragment."""
    lines = annotations.lines
    main = fragment(annotations.key, lines, annotations.tracks) if lines else None
    yield from outputs.route(annotations, counters, main)


def annotate_or_report(
    key: Key, chunks: list[pa.Table], config: AnnotationConfig, counters: CounterSet
) -> Iterator:
    """The outputs of building one key: its annotations, or, should the core fail on it, an
    `internal_error` dead letter for its rows (the other keys go on)."""
    try:
        annotations = annotate_key(key, chunks, config)
    except Exception as e:
        rows = sum(chunk.num_rows for chunk in chunks)
        yield from outputs.internal_error(e, rows, {"key": key_columns(key)}, counters)
        return
    yield from route_annotations(annotations, counters)


class _AnnotateKeyFn(beam.DoFn):
    """The stateful step: one key's chunks in bag state, built when the key is complete.

    `process` only appends a chunk and arms the flush timer; `_flush` is the one place a key
    is built and its state cleared, whatever fired it (in batch the end of the window: every
    row has been read; the streaming pipeline adds other triggers that call the same flush).
    Chunks may arrive in any order and a retried bundle may add one twice only if the runner
    commits it twice, which runners do not: state and outputs commit together.
    """

    CHUNKS = BagStateSpec("chunks", ArrowTableCoder())
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)

    def __init__(self, config: AnnotationConfig):
        self._config = config
        self._counters = CounterSet()

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
    def on_end_of_window(self, key=beam.DoFn.KeyParam, chunks=beam.DoFn.StateParam(CHUNKS)):
        yield from self._flush(key, chunks)

    def _flush(self, key: Key, chunks) -> Iterator:
        """Build `key` from every chunk in state, then clear the state."""
        tables = list(chunks.read())
        chunks.clear()
        if tables:
            yield from annotate_or_report(key, tables, self._config, self._counters)


@beam.typehints.with_input_types(tuple[Key, pa.Table])
@beam.typehints.with_output_types(Fragment)
class BuildAnnotations(beam.PTransform):
    """(key, chunk) pairs to one Fragment per key, with group-level rejections and counts.

    Outputs: `fragments` (Fragment), `dead_letter`, `stats`.
    """

    def __init__(self, config: AnnotationConfig):
        super().__init__()
        self._config = config

    def expand(self, keyed):
        return keyed | "AnnotateKeys" >> beam.ParDo(_AnnotateKeyFn(self._config)).with_output_types(
            Fragment
        ).with_outputs(outputs.STATS, outputs.DEAD_LETTER, main="fragments")
