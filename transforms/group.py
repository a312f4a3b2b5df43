"""BuildAnnotations: per-key state holds a key's chunks until they are complete, then the core
builds the key's NDJSON lines.

Keys are built together: the keys whose timers fire in a bundle are gathered (state read and
cleared as each fires) and built in one `annotate_keys` call per window, when their rows reach
a cap and at the end of the bundle, so a bundle of many small keys shares the core's per-call
cost while the rows held stay bounded.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
import pyarrow as pa
from apache_beam import coders
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, TimerSpec, on_timer

from transforms import outputs
from transforms.buffering import WindowedBuffers, in_window
from transforms.coders import ArrowTableCoder, FragmentCoder
from transforms.core.annotate import annotate_key
from transforms.core.annotations import KeyAnnotations
from transforms.core.config import AnnotationConfig
from transforms.core.fragments import Fragment, fragment
from transforms.core.keys import Key, key_columns
from transforms.core.multi_key import annotate_keys
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


def annotate_many_or_report(
    items: list[tuple[Key, list[pa.Table]]], config: AnnotationConfig, counters: CounterSet
) -> Iterator:
    """`annotate_or_report` of each of `items`, in order, built together (`annotate_keys`).

    Should the batched call fail, every key is built again on its own, so that only a key
    the core fails on is reported as an `internal_error`.
    """
    try:
        built = annotate_keys(items, config)
    except Exception:
        for key, chunks in items:
            yield from annotate_or_report(key, chunks, config, counters)
        return
    for result in built:
        yield from route_annotations(result, counters)


def _windowed(outputs_of_window: Iterator, window) -> Iterator:
    """Outputs (main or tagged) as WindowedValues of `window`, as finish_bundle must yield."""
    for value in outputs_of_window:
        if isinstance(value, beam.pvalue.TaggedOutput):
            yield beam.pvalue.TaggedOutput(value.tag, in_window(value.value, window))
        else:
            yield in_window(value, window)


class _AnnotateKeyFn(beam.DoFn):
    """The stateful step: one key's chunks in bag state, built when the key is complete.

    `process` only appends a chunk and arms the flush timer; `_flush` is the one place a key's
    state is taken and cleared, whatever fired it (in batch the end of the window: every row
    has been read). The taken keys wait in the DoFn, per window, until their rows reach
    `max_buffered_rows` or the bundle ends, and are then built together (`annotate_keys`)
    and emitted in their window. Chunks may arrive in any order and a retried bundle may add
    one twice only if the runner commits it twice, which runners do not: state and outputs
    (those of finish_bundle included) commit together.
    """

    CHUNKS = BagStateSpec("chunks", ArrowTableCoder())
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)

    def __init__(self, config: AnnotationConfig, max_buffered_rows: int = 200_000):
        self._config = config
        self._counters = CounterSet()
        self._max_rows = max_buffered_rows

    def start_bundle(self):
        # Keys whose timer this bundle already set: setting it again is a no-op for the
        # runner but still a timer write per chunk.
        self._armed: set[tuple[Key, object]] = set()
        # Keys whose timers fired, waiting to be built together: (key, chunks) per window.
        self._ready: WindowedBuffers[tuple[Key, list[pa.Table]]] = WindowedBuffers(
            self._max_rows, lambda item: sum(chunk.num_rows for chunk in item[1])
        )

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
    def on_end_of_window(
        self,
        key=beam.DoFn.KeyParam,
        window=beam.DoFn.WindowParam,
        chunks=beam.DoFn.StateParam(CHUNKS),
    ):
        yield from self._flush(key, window, chunks)

    def _flush(self, key: Key, window, chunks) -> Iterator:
        """Take every chunk of `key` from state (clearing it) to be built with the bundle's
        other ready keys; build the window's ready keys once they reach the row cap."""
        tables = list(chunks.read())
        chunks.clear()
        if tables:
            full = self._ready.add(window, (key, tables))
            if full:
                yield from self._build(full, window)

    def _build(self, items: list[tuple[Key, list[pa.Table]]], window) -> Iterator:
        built = annotate_many_or_report(items, self._config, self._counters)
        yield from _windowed(built, window)

    def finish_bundle(self):
        for window, items in self._ready.drain():
            yield from self._build(items, window)


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
