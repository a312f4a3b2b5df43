"""BuildAnnotations: state holds a bucket of videos' chunks until they are complete, then the
core builds the NDJSON lines of each of their (data row, feature) keys.

State is keyed by a bucket of data rows (see `video_chunks`): one element, state append and
timer per bucket per buffer. Keys are built together: the buckets whose timers fire in a
bundle are gathered (state read and cleared as each fires) and their keys built in one
`annotate_keys` call per window, when their rows reach a cap and at the end of the bundle, so
many small keys share the core's per-call cost while the rows held stay bounded.
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
from transforms.coders import FragmentCoder
from transforms.core.annotate import annotate_key
from transforms.core.annotations import KeyAnnotations
from transforms.core.config import AnnotationConfig
from transforms.core.fragments import Fragment, fragment
from transforms.core.keys import Key, data_row_columns, key_columns
from transforms.core.multi_key import annotate_keys
from transforms.core.video_chunks import VideoChunk, unpack, video_items, videos_of
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
    """The outputs `annotate_or_report` gives for each of `items`, built together
    (`annotate_keys`): their counts summed into one stats output, then every dead letter, then
    the Fragments, in order.

    Should the batched call fail, every key is built again on its own, so that only a key
    the core fails on is reported as an `internal_error`.
    """
    try:
        built = annotate_keys(items, config)
    except Exception:
        for key, chunks in items:
            yield from annotate_or_report(key, chunks, config, counters)
        return
    fragments = (fragment(a.key, a.lines, a.tracks) for a in built if a.lines)
    yield from outputs.route_all(built, counters, fragments)


def _windowed(outputs_of_window: Iterator, window) -> Iterator:
    """Outputs (main or tagged) as WindowedValues of `window`, as finish_bundle must yield."""
    for value in outputs_of_window:
        if isinstance(value, beam.pvalue.TaggedOutput):
            yield beam.pvalue.TaggedOutput(value.tag, in_window(value.value, window))
        else:
            yield in_window(value, window)


class _AnnotateKeyFn(beam.DoFn):
    """The stateful step: one bucket's VideoChunks in bag state, its keys built when its
    videos are complete.

    `process` only appends a chunk and arms the flush timer; `_flush` is the one place a
    bucket's state is taken and cleared, whatever fired it (in batch the end of the window:
    every row has been read). The taken chunks wait in the DoFn, per window, until their rows
    reach `max_buffered_rows` or the bundle ends, and are then built together
    (`annotate_keys`) and emitted in their window. Chunks may arrive in any order and a
    retried bundle may add one twice only if the runner commits it twice, which runners do
    not: state and outputs (those of finish_bundle included) commit together.
    """

    CHUNKS = BagStateSpec("chunks", coders.BytesCoder())
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)

    def __init__(self, config: AnnotationConfig, max_buffered_rows: int = 200_000):
        self._config = config
        self._counters = CounterSet()
        self._max_rows = max_buffered_rows

    def start_bundle(self):
        # Buckets whose timer this bundle already set: setting it again is a no-op for the
        # runner but still a timer write per chunk.
        self._armed: set[tuple[int, object]] = set()
        # Chunks of the buckets whose timers fired, waiting to be built together, per window.
        self._ready: WindowedBuffers[list[VideoChunk]] = WindowedBuffers(
            self._max_rows, lambda bucket: sum(chunk.table.num_rows for chunk in bucket)
        )

    def process(
        self,
        element: tuple[int, bytes],
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

    def _flush(self, bucket: int, window, chunks) -> Iterator:
        """Take every chunk of `bucket` from state (clearing it), to be built with the
        bundle's other ready buckets; build the window's ready chunks once they reach the
        row cap."""
        taken = [unpack(packed) for packed in chunks.read()]
        chunks.clear()
        if taken:
            full = self._ready.add(window, taken)
            if full:
                yield from self._build(full, window)

    def _build(self, buckets: list[list[VideoChunk]], window) -> Iterator:
        yield from _windowed(self._outputs([c for bucket in buckets for c in bucket]), window)

    def _outputs(self, chunks: list[VideoChunk]) -> Iterator:
        try:
            items = video_items(chunks)
        except Exception:  # a defect: each video on its own, so that only a failing one is lost
            items = []
            videos: dict[tuple[str, str], list[VideoChunk]] = {}
            for chunk in chunks:
                for data_row, part in videos_of(chunk):
                    videos.setdefault(data_row, []).append(part)
            for data_row, parts in videos.items():
                try:
                    items.extend(video_items(parts))
                except Exception as e:
                    rows = sum(part.table.num_rows for part in parts)
                    where = {"key": data_row_columns(data_row)}
                    yield from outputs.internal_error(e, rows, where, self._counters)
        yield from annotate_many_or_report(items, self._config, self._counters)

    def finish_bundle(self):
        for window, items in self._ready.drain():
            yield from self._build(items, window)


@beam.typehints.with_input_types(tuple[int, bytes])
@beam.typehints.with_output_types(Fragment)
class BuildAnnotations(beam.PTransform):
    """(bucket, packed VideoChunk) pairs to one Fragment per (data row, feature) key, with
    group-level rejections and counts.

    Outputs: `fragments` (Fragment), `dead_letter`, `stats`.
    """

    def __init__(self, config: AnnotationConfig):
        super().__init__()
        self._config = config

    def expand(self, keyed):
        return keyed | "AnnotateKeys" >> beam.ParDo(_AnnotateKeyFn(self._config)).with_output_types(
            Fragment
        ).with_outputs(outputs.STATS, outputs.DEAD_LETTER, main="fragments")
