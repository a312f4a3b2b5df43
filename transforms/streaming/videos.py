"""BuildVideos: rows keyed by data row into per-video state, each video built when the
completion rule says it is complete, rebuilt on late rows, its state then expired.

The data row is the state's key (a video completes as a whole); its features are built inside
the flush by `annotate_video`, exactly as batch builds them, so the same rows give the same
lines and uuids in either mode. The DoFn only loads state, asks `lifecycle` and the completion
rule what to do, and writes state and timers back.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterator

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam import coders
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Timestamp

from transforms import outputs
from transforms.coders import ArrowTableCoder, SizedPickleCoder
from transforms.core import columns as c
from transforms.core.checking import check_rows
from transforms.core.completion import MAX_WAIT, CompletionRule
from transforms.core.config import AnnotationConfig
from transforms.core.conversion import annotate_video
from transforms.core.counts import merge
from transforms.core.deadletter import dead_letter_lines
from transforms.core.fragments import fragment
from transforms.core.keys import Key, complete, key_columns, split_by_key
from transforms.counters import CounterSet
from transforms.read import SourceTable
from transforms.streaming import lifecycle
from transforms.streaming.records import DataRow, FlushedVideo

_LOG = logging.getLogger(__name__)

# Rows of one data row from one file: (feature key, source file, compact chunk). A marker is
# (data row field, data row, "", "") with an empty chunk: real feature fields are never empty.
VideoRows = tuple[Key, str, pa.Table]
LATE_ROW = "late_row"
LATE_ROW_DETAIL = (
    "the video was built and its rows dropped (allowed lateness over) before this row came"
)


class FlushedVideoCoder(SizedPickleCoder):
    """FlushedVideo: pickled; sized by its lines."""

    def estimate_size(self, value) -> int:
        return value.bytes + 256


coders.registry.register_coder(FlushedVideo, FlushedVideoCoder)

_KEY_CODER = coders.TupleCoder([coders.StrUtf8Coder()] * 4)
_EMPTY = pa.table({})


def marker_key(data_row: DataRow) -> Key:
    return (data_row[0], data_row[1], "", "")


def is_marker(key: Key) -> bool:
    return not key[2]


def marker_data_rows(markers: pa.Table) -> list[DataRow]:
    """The data rows that `video_end` marker rows close (each once, in order)."""
    out: dict[DataRow, None] = {}
    gks = markers.column(c.GLOBAL_KEY).to_pylist()
    ids = markers.column(c.DATA_ROW_ID).to_pylist()
    for gk, dr in zip(gks, ids, strict=True):
        if gk:
            out[(c.DATA_ROW_FIELD[c.GLOBAL_KEY], gk)] = None
        elif dr:
            out[(c.DATA_ROW_FIELD[c.DATA_ROW_ID], dr)] = None
    return list(out)


def shard_of(data_row: DataRow, shards: int) -> int:
    """The batcher shard of a data row: stable across workers and runs."""
    return zlib.crc32(f"{data_row[0]}\x00{data_row[1]}".encode()) % shards


class _KeyByVideoFn(beam.DoFn):
    """Checks a SourceTable (`check_rows`, as ValidateRows does) and keys what passes by data
    row: a (feature key, file, compact chunk) per feature, and a marker per `video_end` data
    row. Dead letters and counts as in batch; never raises."""

    def __init__(self, config: AnnotationConfig):
        self._config = config
        self._counters = CounterSet()

    def process(self, element: SourceTable) -> Iterator:
        try:
            checked = check_rows(element.table, element.source, element.first_row, self._config)
            keyed = list(split_by_key(checked.valid)) if checked.valid is not None else []
            markers = marker_data_rows(checked.markers) if checked.markers is not None else []
        except Exception as e:
            where = {"source": {"file": element.source, "row": element.first_row}}
            yield from outputs.internal_error(e, element.table.num_rows, where, self._counters)
            return
        yield from outputs.route(checked, self._counters)
        for key, chunk in keyed:
            yield (key[0], key[1]), (key, element.source, chunk)
        for data_row in markers:
            yield data_row, (marker_key(data_row), element.source, _EMPTY)


class _VideoStateFn(beam.DoFn):
    """One data row's state: its rows (bag of (feature key, chunk)) and a small `Video` value;
    timers COMPLETE (event time: marker or idle gap), MAX_WAIT (processing time), KEEP_ROWS
    and FORGET (event time: the allowed lateness, then the late_row horizon).

    `_flush` is the one place a video is built, whatever fired it; it clears the video's
    completion timers and arms its expiry. Gauge-like counters (`state.*`, incremented and
    decremented) say what state is held, so a test or a dashboard sees it return to zero.
    """

    ROWS = BagStateSpec("rows", coders.TupleCoder([_KEY_CODER, ArrowTableCoder()]))
    VIDEO = ReadModifyWriteStateSpec("video", coders.PickleCoder())
    COMPLETE = TimerSpec("complete", TimeDomain.WATERMARK)
    MAX_WAIT = TimerSpec("max_wait", TimeDomain.REAL_TIME)
    KEEP_ROWS = TimerSpec("keep_rows", TimeDomain.WATERMARK)
    FORGET = TimerSpec("forget", TimeDomain.WATERMARK)

    def __init__(self, config: AnnotationConfig, rule: CompletionRule, shards: int):
        self._config = config
        self._rule = rule
        self._shards = shards
        self._counters = CounterSet()

    def process(
        self,
        element: tuple[DataRow, VideoRows],
        timestamp=beam.DoFn.TimestampParam,
        rows=beam.DoFn.StateParam(ROWS),
        video_state=beam.DoFn.StateParam(VIDEO),
        complete_timer=beam.DoFn.TimerParam(COMPLETE),
        max_wait_timer=beam.DoFn.TimerParam(MAX_WAIT),
        keep_timer=beam.DoFn.TimerParam(KEEP_ROWS),
        forget_timer=beam.DoFn.TimerParam(FORGET),
    ) -> Iterator:
        data_row, (key, source, chunk) = element
        try:
            marker = is_marker(key)
            n = 0 if marker else chunk.num_rows
            before = video_state.read()
            video, what = lifecycle.arrive(
                before,
                event_time=float(timestamp),
                now=time.time(),
                rows=n,
                marker=marker,
                source=source,
            )
            if what == lifecycle.LATE:
                yield from self._late(key, chunk, source, marker)
                return
            if not marker:
                rows.add((key, chunk))
            video_state.write(video)
            deadline = lifecycle.completion_deadline(video.progress, self._rule)
            complete_timer.set(
                Timestamp(deadline) if deadline is not None else GlobalWindow().max_timestamp()
            )
            counts = {"state.rows_held": n}
            if what in (lifecycle.NEW, lifecycle.REOPENED):
                counts["state.videos_open"] = 1
                wait = self._rule.max_wait_deadline(video.progress.first_seen)
                if wait is not None:
                    max_wait_timer.set(Timestamp(wait))
            if what == lifecycle.NEW:
                counts["videos_opened"] = 1
            if what == lifecycle.REOPENED:
                keep_timer.clear()
                forget_timer.clear()
                counts.update({"state.videos_kept": -1, "videos_reopened": 1})
            if what == lifecycle.REOPENED or (before is not None and before.builds):
                counts["late_rows"] = max(n, 1)
            yield self._count(counts)
        except Exception as e:
            rows_lost = 0 if is_marker(key) else chunk.num_rows
            where = {"data_row": {data_row[0]: data_row[1]}, "source": {"file": source}}
            yield from outputs.internal_error(e, rows_lost, where, self._counters)

    def _late(self, key: Key, chunk: pa.Table, source: str, marker: bool) -> Iterator:
        """Rows of a video built and expired: each to the dead letter as late_row."""
        if marker:
            table = pa.table({c.KIND: [c.VIDEO_END]})
            extra = key_columns((key[0], key[1], "name", ""))
            extra.pop(c.FEATURE_NAME, None)
        else:
            table, extra = complete(chunk), key_columns(key)
        n = table.num_rows
        lines = dead_letter_lines(
            table, np.arange(n), [LATE_ROW] * n, [LATE_ROW_DETAIL] * n, source, None, extra
        )
        yield self._count({f"rejected.{LATE_ROW}": n, "late_rows": n})
        for line in lines:
            yield beam.pvalue.TaggedOutput(outputs.DEAD_LETTER, line)

    @on_timer(COMPLETE)
    def on_complete(
        self,
        key=beam.DoFn.KeyParam,
        timestamp=beam.DoFn.TimestampParam,
        rows=beam.DoFn.StateParam(ROWS),
        video_state=beam.DoFn.StateParam(VIDEO),
        complete_timer=beam.DoFn.TimerParam(COMPLETE),
        max_wait_timer=beam.DoFn.TimerParam(MAX_WAIT),
        keep_timer=beam.DoFn.TimerParam(KEEP_ROWS),
        forget_timer=beam.DoFn.TimerParam(FORGET),
    ) -> Iterator:
        video = video_state.read()
        if video is None or video.progress is None:
            return
        watermark = float(timestamp)
        reason = lifecycle.flush_reason(video.progress, self._rule, watermark, time.time())
        built_at = max(watermark, video.progress.last_event_time)
        yield from self._flush(
            key,
            reason,
            built_at,
            rows,
            video_state,
            (complete_timer, max_wait_timer),
            keep_timer,
            forget_timer,
        )

    @on_timer(MAX_WAIT)
    def on_max_wait(
        self,
        key=beam.DoFn.KeyParam,
        rows=beam.DoFn.StateParam(ROWS),
        video_state=beam.DoFn.StateParam(VIDEO),
        complete_timer=beam.DoFn.TimerParam(COMPLETE),
        max_wait_timer=beam.DoFn.TimerParam(MAX_WAIT),
        keep_timer=beam.DoFn.TimerParam(KEEP_ROWS),
        forget_timer=beam.DoFn.TimerParam(FORGET),
    ) -> Iterator:
        video = video_state.read()
        if video is None or video.progress is None:
            return
        # No watermark is known here: the build counts from its newest row's arrival.
        built_at = video.progress.last_event_time
        yield from self._flush(
            key,
            MAX_WAIT,
            built_at,
            rows,
            video_state,
            (complete_timer, max_wait_timer),
            keep_timer,
            forget_timer,
        )

    @on_timer(KEEP_ROWS)
    def on_keep_rows_over(
        self,
        rows=beam.DoFn.StateParam(ROWS),
        video_state=beam.DoFn.StateParam(VIDEO),
    ) -> Iterator:
        video = video_state.read()
        if video is None or video.phase != lifecycle.KEPT:
            return
        rows.clear()
        video_state.write(lifecycle.rows_dropped(video))
        yield self._count(
            {
                "state.rows_held": -video.rows,
                "state.videos_kept": -1,
                "state.videos_remembered": 1,
            }
        )

    @on_timer(FORGET)
    def on_forget(
        self,
        rows=beam.DoFn.StateParam(ROWS),
        video_state=beam.DoFn.StateParam(VIDEO),
    ) -> Iterator:
        video = video_state.read()
        if video is None or video.phase == lifecycle.OPEN:
            return
        rows.clear()
        video_state.clear()
        counts = {"videos_forgotten": 1, "state.rows_held": -video.rows}
        counts[
            "state.videos_kept" if video.phase == lifecycle.KEPT else "state.videos_remembered"
        ] = -1
        yield self._count(counts)

    def _flush(
        self,
        data_row: DataRow,
        reason: str,
        built_at: float,
        rows,
        video_state,
        completion_timers,
        keep_timer,
        forget_timer,
    ) -> Iterator:
        """Build the video from every row in state, emit it (keyed by its batcher shard),
        its dead letters and counts; clear its completion timers; keep its rows for the
        allowed lateness, then remember it until the late_row horizon."""
        video = video_state.read()
        chunks = list(rows.read())
        for timer in completion_timers:
            timer.clear()
        keep = self._rule.allowed_lateness_seconds > 0
        after = lifecycle.built(video, built_at, keep)
        if not keep:
            rows.clear()
        video_state.write(after)
        keep_until = self._rule.keep_rows_until(built_at)
        if keep:
            keep_timer.set(Timestamp(keep_until))
        forget_timer.set(Timestamp(self._rule.remember_until(built_at)))
        state = {"state.videos_open": -1}
        if keep:
            state["state.videos_kept"] = 1
        else:
            state.update({"state.rows_held": -video.rows, "state.videos_remembered": 1})
        yield self._count(state)
        yield from self._build(data_row, reason, video, after, chunks)

    def _count(self, counts: dict) -> beam.pvalue.TaggedOutput:
        """Counts as Metrics and on the stats output (timestamped: the `state.*` deltas summed
        up to an event time say what state was held then)."""
        self._counters.inc(counts)
        return outputs.counts_output(counts)

    def _build(self, data_row, reason, video, after, chunks) -> Iterator:
        try:
            built = annotate_video(chunks, self._config)
        except Exception as e:
            where = {"data_row": {data_row[0]: data_row[1]}}
            yield from outputs.internal_error(e, video.rows, where, self._counters)
            return
        fragments, counts = [], {}
        for key_built in built:
            merge(counts, key_built.counts)
            yield from outputs.route(key_built, self._counters)
            if key_built.lines:
                fragments.append(fragment(key_built.key, key_built.lines))
        flushed = {f"videos_flushed.{reason}": 1}
        if after.builds > 1:
            flushed["videos_rebuilt"] = 1
        yield self._count(flushed)
        result = FlushedVideo(
            data_row,
            tuple(fragments),
            video.rows,
            reason,
            after.builds,
            video.progress.last_event_time,
            video.last_source,
            time.time(),
            counts,
        )
        if fragments:
            yield shard_of(data_row, self._shards), result
        else:
            _LOG.info(
                "video %s=%s built (%s, build %d) from %d rows: no lines",
                data_row[0],
                data_row[1],
                reason,
                after.builds,
                video.rows,
            )


@beam.typehints.with_input_types(SourceTable)
@beam.typehints.with_output_types(tuple[int, FlushedVideo])
class BuildVideos(beam.PTransform):
    """SourceTables (timestamped with their file's arrival) to one FlushedVideo per build of
    a data row, keyed by its batcher shard.

    Outputs: `videos` ((shard, FlushedVideo)), `dead_letter`, `stats`.
    """

    def __init__(self, config: AnnotationConfig, rule: CompletionRule, shards: int = 4):
        super().__init__()
        self._config = config
        self._rule = rule
        self._shards = shards

    def expand(self, tables):
        keyed = tables | "KeyByVideo" >> beam.ParDo(_KeyByVideoFn(self._config)).with_output_types(
            tuple[tuple[str, str], tuple[tuple[str, str, str, str], str, pa.Table]]
        ).with_outputs(outputs.STATS, outputs.DEAD_LETTER, main="rows")
        built = keyed.rows | "VideoState" >> beam.ParDo(
            _VideoStateFn(self._config, self._rule, self._shards)
        ).with_output_types(tuple[int, FlushedVideo]).with_outputs(
            outputs.STATS, outputs.DEAD_LETTER, main="videos"
        )
        dead = (
            keyed[outputs.DEAD_LETTER],
            built[outputs.DEAD_LETTER],
        ) | "MergeVideoDeadLetters" >> beam.Flatten()
        stats = (keyed[outputs.STATS], built[outputs.STATS]) | "MergeVideoStats" >> beam.Flatten()
        return {"videos": built.videos, outputs.DEAD_LETTER: dead, outputs.STATS: stats}
