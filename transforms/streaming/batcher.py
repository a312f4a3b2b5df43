"""BatchVideos: flushed videos to batch files, each written once under a content-derived name,
and a record per file; WriteDeadLetterFiles: dead letters written as they come.

The batcher is a second stateful step keyed by a shard number, with plain ParDos after it:
on Beam's local streaming runner a GroupByKey or Reshuffle downstream of a timer-emitting
stateful step loses data (apache/beam#28716), this shape does not.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import apache_beam as beam
from apache_beam import coders
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from transforms import outputs
from transforms.core.batching import BatchLimits
from transforms.counters import CounterSet
from transforms.streaming.records import (
    BatchFile,
    FlushedVideo,
    batch_record,
    dead_letter_file,
    pack_videos,
)
from transforms.streaming.video_builds import FlushedVideoCoder

_LOG = logging.getLogger(__name__)

BATCHES_DIR = "batches"


def write_once(path: str, content: bytes, mime_type: str = "application/octet-stream") -> bool:
    """Write `content` to `path` unless it exists (its name is its content's hash, so an
    existing file already holds it). Returns whether it wrote."""
    if FileSystems.exists(path):
        return False
    with FileSystems.create(path, mime_type=mime_type) as f:
        f.write(content)
    return True


class _BatcherFn(beam.DoFn):
    """Buffers one shard's flushed videos; writes them as batch files when the next would
    pass --batch_max_lines or --batch_max_bytes, when they reach it, --batch_max_seconds
    (processing time) after the first buffered line, or when the watermark reaches the end
    of time (a drained job). Emits one record per written file."""

    VIDEOS = BagStateSpec("videos", FlushedVideoCoder())
    SIZE = ReadModifyWriteStateSpec("size", coders.TupleCoder([coders.VarIntCoder()] * 2))
    MAX_AGE = TimerSpec("max_age", TimeDomain.REAL_TIME)
    DRAIN = TimerSpec("drain", TimeDomain.WATERMARK)

    def __init__(self, output: str, limits: BatchLimits, max_seconds: float):
        self._output = output
        self._limits = limits
        self._max_seconds = max_seconds
        self._counters = CounterSet()

    def process(
        self,
        element: tuple[int, FlushedVideo],
        videos=beam.DoFn.StateParam(VIDEOS),
        size=beam.DoFn.StateParam(SIZE),
        max_age=beam.DoFn.TimerParam(MAX_AGE),
        drain=beam.DoFn.TimerParam(DRAIN),
    ) -> Iterator:
        _, video = element
        lines, nbytes = size.read() or (0, 0)
        limits = self._limits
        if lines and (
            lines + video.lines > limits.max_lines or nbytes + video.bytes > limits.max_bytes
        ):
            trigger = "lines" if lines + video.lines > limits.max_lines else "bytes"
            yield from self._write(videos, size, max_age, drain, trigger)
            lines, nbytes = 0, 0
        if not lines:
            max_age.set(Timestamp(time.time() + self._max_seconds))
            drain.set(GlobalWindow().max_timestamp())
        videos.add(video)
        lines, nbytes = lines + video.lines, nbytes + video.bytes
        size.write((lines, nbytes))
        self._counters.inc({"state.batcher_lines": video.lines})
        if lines >= limits.max_lines or nbytes >= limits.max_bytes:
            trigger = "lines" if lines >= limits.max_lines else "bytes"
            yield from self._write(videos, size, max_age, drain, trigger)

    @on_timer(MAX_AGE)
    def on_max_age(
        self,
        videos=beam.DoFn.StateParam(VIDEOS),
        size=beam.DoFn.StateParam(SIZE),
        max_age=beam.DoFn.TimerParam(MAX_AGE),
        drain=beam.DoFn.TimerParam(DRAIN),
    ) -> Iterator:
        yield from self._write(videos, size, max_age, drain, "max_seconds")

    @on_timer(DRAIN)
    def on_drain(
        self,
        videos=beam.DoFn.StateParam(VIDEOS),
        size=beam.DoFn.StateParam(SIZE),
        max_age=beam.DoFn.TimerParam(MAX_AGE),
        drain=beam.DoFn.TimerParam(DRAIN),
    ) -> Iterator:
        yield from self._write(videos, size, max_age, drain, "drain")

    def _write(self, videos, size, max_age, drain, trigger: str) -> Iterator:
        """Write the buffered videos' files, clear the buffer and its timers. `trigger`: what
        made the batch (lines, bytes, max_seconds, drain), kept in its records."""
        buffered = list(videos.read())
        held = (size.read() or (0, 0))[0]
        videos.clear()
        size.clear()
        max_age.clear()
        drain.clear()
        self._counters.inc({"state.batcher_lines": -held})
        try:
            files = pack_videos(buffered, self._limits)
            for batch in files:
                yield self._write_file(batch, trigger)
        except Exception as e:
            where = {"videos": [{v.data_row[0]: v.data_row[1]} for v in buffered]}
            rows = sum(v.rows for v in buffered)
            yield from outputs.internal_error(e, rows, where, self._counters)

    def _write_file(self, batch: BatchFile, trigger: str) -> dict:
        path = FileSystems.join(self._output, batch.name)
        wrote = write_once(path, batch.content, "application/x-ndjson")
        record = batch_record(path, batch, trigger)
        counts = {"batch_files": 1, "batch_lines": batch.lines}
        if not wrote:
            counts["batch_files_existing"] = 1
        self._counters.inc(counts)
        for v in record["videos"]:
            _LOG.info(
                "video %s: %d rows, %d lines (%s, build %d), %.1f s from its last file to %s",
                json.dumps(v["data_row"]),
                v["rows"],
                v["lines"],
                v["reason"],
                v["build"],
                v["latency_seconds"],
                batch.name,
            )
        return record


class _WriteBatchRecordFn(beam.DoFn):
    """Writes a batch's record to `<output>/batches/<name>.json`; passes the record on."""

    def __init__(self, output: str):
        self._dir = FileSystems.join(output, BATCHES_DIR)
        self._counters = CounterSet()

    def process(self, record: dict) -> Iterator[dict]:
        try:
            name = record["name"].removesuffix(".ndjson") + ".json"
            path = FileSystems.join(self._dir, name)
            with FileSystems.create(path, mime_type="application/json") as f:
                f.write(json.dumps(record, sort_keys=True).encode())
            yield {**record, "record": path}
        except Exception as e:
            yield from outputs.internal_error(e, 0, {"batch": record.get("name")}, self._counters)


@beam.typehints.with_input_types(tuple[int, FlushedVideo])
class BatchVideos(beam.PTransform):
    """(shard, FlushedVideo) to batch files `batch-<sha256[:20]>.ndjson` in `output`, and one
    record per file in `output/batches/` (file, lines, bytes, videos, counts, upload state).

    Outputs: `records` (dicts, each with `record`: its own path; the seam for an upload
    step), `dead_letter` and `stats` (internal errors only).
    """

    def __init__(self, output: str, limits: BatchLimits, max_seconds: float):
        super().__init__()
        self._output = output
        self._limits = limits
        self._max_seconds = max_seconds

    def expand(self, videos):
        batches = videos | "Batcher" >> beam.ParDo(
            _BatcherFn(self._output, self._limits, self._max_seconds)
        ).with_output_types(dict).with_outputs(outputs.STATS, outputs.DEAD_LETTER, main="files")
        records = batches.files | "WriteBatchRecords" >> beam.ParDo(
            _WriteBatchRecordFn(self._output)
        ).with_output_types(dict).with_outputs(outputs.STATS, outputs.DEAD_LETTER, main="records")
        dead = (batches[outputs.DEAD_LETTER], records[outputs.DEAD_LETTER]) | (
            "MergeBatchDeadLetters" >> beam.Flatten()
        )
        stats = (batches[outputs.STATS], records[outputs.STATS]) | (
            "MergeBatchStats" >> beam.Flatten()
        )
        return {"records": records.records, outputs.DEAD_LETTER: dead, outputs.STATS: stats}


class _WriteDeadLettersFn(beam.DoFn):
    """Writes each bundle's dead-letter records to `rejected-<sha256[:20]>.ndjson` in the
    dead-letter directory at the end of the bundle; emits (path, records)."""

    def __init__(self, dead_letter_dir: str):
        self._dir = dead_letter_dir

    def start_bundle(self):
        self._lines: list[bytes] = []

    def process(self, line: bytes) -> None:
        self._lines.append(line)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        name, content = dead_letter_file(lines)
        path = FileSystems.join(self._dir, name)
        write_once(path, content, "application/x-ndjson")
        window = GlobalWindow()
        yield WindowedValue((path, len(lines)), window.max_timestamp(), (window,))


@beam.typehints.with_input_types(bytes)
@beam.typehints.with_output_types(tuple[str, int])
class WriteDeadLetterFiles(beam.PTransform):
    """Dead-letter records to files in the dead-letter directory, continuously (a file per
    bundle); returns (path, records) per file."""

    def __init__(self, dead_letter_dir: str):
        super().__init__()
        self._dir = dead_letter_dir

    def expand(self, lines):
        return lines | "WriteDeadLetterFiles" >> beam.ParDo(_WriteDeadLettersFn(self._dir))
