"""VideoState, the stateful step of BuildVideos: one data row's rows and `Video` value, its
completion and expiry timers.

It only loads state, asks `lifecycle` and the completion rule what to do, writes state and
timers back, and hands a build to `video_builds`. Rows may come in any order and more than once
(a file read again): `lifecycle.arrive` decides what each one does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import apache_beam as beam
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
from transforms.coders import ArrowTableCoder
from transforms.core.completion import MAX_WAIT, CompletionRule
from transforms.core.config import AnnotationConfig
from transforms.counters import CounterSet
from transforms.streaming import lifecycle
from transforms.streaming.records import DataRow
from transforms.streaming.video_builds import build_outputs, counted, late_row_outputs
from transforms.streaming.video_keys import VideoRows, is_marker

_KEY_CODER = coders.TupleCoder([coders.StrUtf8Coder()] * 4)


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
                yield from late_row_outputs(key, chunk, source, marker, self._counters)
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
        yield from build_outputs(
            data_row, reason, video, after, chunks, self._config, self._shards, self._counters
        )

    def _count(self, counts: dict) -> beam.pvalue.TaggedOutput:
        return counted(self._counters, counts)
