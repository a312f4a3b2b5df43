"""build_streaming_pipeline: keyframer's streaming graph (issue 9), returning its outputs.

    NewFiles       MatchContinuously(--input) or Cloud Storage notifications (Pub/Sub)
    → ReadNewFiles the batch reader, each SourceTable stamped with its file's arrival
    → BuildVideos  check rows (as batch), key by data row; per-video state and timers; a
                   video is built by the batch core when complete, rebuilt on late rows
    → BatchVideos  a stateful batcher per shard writes batch-<sha256[:20]>.ndjson files once,
                   and a record per file under batches/
    → UploadBatches  with --upload: each batch file to Labelbox as it is written, its record
                   rewritten with the import's outcome
    dead letters of every step → WriteDeadLetterFiles, continuously

On Beam's local streaming runner nothing groups downstream of the stateful steps (a
GroupByKey or Reshuffle there loses data: apache/beam#28716); the graph runs as is on
Dataflow (Runner v2).
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam

from pipeline.settings import RunSettings, StreamingSettings
from transforms import outputs
from transforms.streaming.batcher import BatchVideos, WriteDeadLetterFiles
from transforms.streaming.sources import NewFiles, ReadNewFiles
from transforms.streaming.videos import BuildVideos
from transforms.upload import UploadEachBatch

BATCHER_SHARDS = 4


class StreamingOutputs(NamedTuple):
    """The streaming graph's PCollections: every build of a video ((shard, FlushedVideo)),
    one record per written batch file (dict: file, name, lines, bytes, data_rows, videos,
    counts, upload, record), every dead-letter record, (path, records) per dead-letter file,
    and the counts dicts of every step."""

    videos: beam.PCollection
    batches: beam.PCollection
    dead_letters: beam.PCollection
    dead_letter_files: beam.PCollection
    stats: beam.PCollection


def build_streaming_pipeline(
    p: beam.Pipeline, settings: RunSettings, new_files: beam.PCollection | None = None
) -> StreamingOutputs:
    """Adds keyframer's streaming steps to `p` (a pipeline with --streaming).

    `new_files`: FileMetadata of new files, timestamped with their arrival (tests give a
    TestStream); by default the files come from `NewFiles` (notifications or the watched
    pattern).
    """
    streaming = settings.streaming or StreamingSettings()
    if new_files is None:
        rule = streaming.completion
        new_files = p | "NewFiles" >> NewFiles(
            settings.input,
            streaming.watch_interval_seconds,
            streaming.input_notifications,
            rule.remember_until(0.0),  # a path is remembered as long as a built video is
        )
    read = new_files | "ReadNewFiles" >> ReadNewFiles(settings.input_format)
    built = read.tables | "BuildVideos" >> BuildVideos(
        settings.annotation, streaming.completion, BATCHER_SHARDS
    )
    batched = built["videos"] | "BatchVideos" >> BatchVideos(
        settings.output, settings.batch, streaming.batch_max_seconds
    )
    records = batched["records"]
    if settings.upload is not None:
        records = records | "UploadBatches" >> UploadEachBatch(
            settings.upload, settings.api_key_secret, settings.output
        )
    steps = [read, built, batched]
    dead = tuple(s[outputs.DEAD_LETTER] for s in steps) | "MergeDeadLetters" >> beam.Flatten()
    dead_files = dead | "WriteDeadLetters" >> WriteDeadLetterFiles(settings.dead_letter)
    stats = tuple(s[outputs.STATS] for s in steps) | "MergeStats" >> beam.Flatten()
    return StreamingOutputs(built["videos"], records, dead, dead_files, stats)
