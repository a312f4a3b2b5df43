"""What VideoState emits: a video's build (its FlushedVideo keyed by its batcher shard, its
dead letters and counts) and the late_row dead letters of rows that came after it expired.

The build is `annotate_video`, exactly as batch builds a video, so the same rows give the same
lines and uuids in either mode.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterator, Sequence

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam import coders

from transforms import outputs
from transforms.coders import SizedPickleCoder
from transforms.core import columns as c
from transforms.core.config import AnnotationConfig
from transforms.core.conversion import annotate_video
from transforms.core.counts import merge
from transforms.core.deadletter import dead_letter_lines
from transforms.core.fragments import fragment
from transforms.core.keys import Key, complete, key_columns
from transforms.counters import CounterSet
from transforms.streaming import lifecycle
from transforms.streaming.records import DataRow, FlushedVideo

_LOG = logging.getLogger(__name__)

LATE_ROW = "late_row"
LATE_ROW_DETAIL = (
    "the video was built and its rows dropped (allowed lateness over) before this row came"
)


class FlushedVideoCoder(SizedPickleCoder):
    """FlushedVideo: pickled; sized by its lines."""

    def estimate_size(self, value) -> int:
        return value.bytes + 256


coders.registry.register_coder(FlushedVideo, FlushedVideoCoder)


def shard_of(data_row: DataRow, shards: int) -> int:
    """The batcher shard of a data row: stable across workers and runs."""
    return zlib.crc32(f"{data_row[0]}\x00{data_row[1]}".encode()) % shards


def counted(counters: CounterSet, counts: dict) -> beam.pvalue.TaggedOutput:
    """Counts as Metrics and on the stats output (timestamped: the `state.*` deltas summed
    up to an event time say what state was held then)."""
    counters.inc(counts)
    return outputs.counts_output(counts)


def late_row_outputs(
    key: Key, chunk: pa.Table, source: str, marker: bool, counters: CounterSet
) -> Iterator:
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
    yield counted(counters, {f"rejected.{LATE_ROW}": n, "late_rows": n})
    for line in lines:
        yield beam.pvalue.TaggedOutput(outputs.DEAD_LETTER, line)


def build_outputs(
    data_row: DataRow,
    reason: str,
    video: lifecycle.Video,
    after: lifecycle.Video,
    chunks: Sequence[tuple[Key, pa.Table]],
    config: AnnotationConfig,
    shards: int,
    counters: CounterSet,
) -> Iterator:
    """Build the video from its rows (`video`: its state before the build, `after`: after)
    and emit it keyed by its batcher shard (not when it has no lines), its dead letters and
    counts. A build that raises becomes an internal_error of all its rows."""
    try:
        built = annotate_video(chunks, config)
    except Exception as e:
        where = {"data_row": {data_row[0]: data_row[1]}}
        yield from outputs.internal_error(e, video.rows, where, counters)
        return
    fragments, counts = [], {}
    for key_built in built:
        merge(counts, key_built.counts)
        yield from outputs.route(key_built, counters)
        if key_built.lines:
            fragments.append(fragment(key_built.key, key_built.lines, key_built.tracks))
    flushed = {f"videos_flushed.{reason}": 1}
    if after.builds > 1:
        flushed["videos_rebuilt"] = 1
    yield counted(counters, flushed)
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
        yield shard_of(data_row, shards), result
    else:
        _LOG.info(
            "video %s=%s built (%s, build %d) from %d rows: no lines",
            data_row[0],
            data_row[1],
            reason,
            after.builds,
            video.rows,
        )
