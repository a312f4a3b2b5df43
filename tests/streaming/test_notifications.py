"""Cloud Storage Pub/Sub notifications (TestStream of PubsubMessages, objects on the
GCS-protocol server on loopback) turned into reads of exactly the new matching files, each
once."""

from __future__ import annotations

import json
import os

import pytest
from apache_beam.io.gcp.pubsub import PubsubMessage
from apache_beam.testing import test_stream
from apache_beam.transforms.window import TimestampedValue

from pipeline.settings import RunSettings
from tests.rows import bbox, write_parquet
from tests.streaming.harness import (
    T0,
    batch_core_lines,
    batch_lines,
    run_graph,
    streaming_settings,
)
from transforms.streaming.sources import NotifiedFiles

pytestmark = [pytest.mark.pipeline, pytest.mark.gcs]


def _message(event: str, bucket: str, name: str, attempt: str = "1") -> PubsubMessage:
    attributes = {"eventType": event, "bucketId": bucket, "objectId": name,
                  "payloadFormat": "JSON_API_V1", "objectGeneration": "1"}  # fmt: skip
    payload = {"kind": "storage#object", "bucket": bucket, "name": name, "generation": "1",
               "size": "100", "timeCreated": "2023-11-14T22:13:20.000Z"}  # fmt: skip
    return PubsubMessage(json.dumps(payload).encode(), attributes, message_id=name + attempt)


def test_notifications_read_each_new_matching_object_and_nothing_else(
    tmp_path, gcs_emulator, gcs_bucket
):
    local = {}
    for name, gk in [("in/a.parquet", "a"), ("in/d.parquet", "d"), ("in/sub/b.parquet", "b"),
                     ("in/c.parquet", "c"), ("out/x.parquet", "x")]:  # fmt: skip
        path = str(tmp_path / name.replace("/", "_"))
        write_parquet([bbox(1, global_key=gk), bbox(2, global_key=gk)], path)
        gcs_emulator.upload_file(path, f"gs://{gcs_bucket}/{name}")
        local[name] = path
    base = streaming_settings(str(tmp_path))
    settings = RunSettings(
        input=f"gs://{gcs_bucket}/in/*.parquet",
        output=base.output,
        annotation=base.annotation,
        streaming=base.streaming,
    )
    stream = (
        test_stream.TestStream()
        .add_elements(
            [
                TimestampedValue(_message("OBJECT_FINALIZE", gcs_bucket, "in/a.parquet"), T0),
                TimestampedValue(_message("OBJECT_FINALIZE", gcs_bucket, "in/sub/b.parquet"), T0),
                TimestampedValue(_message("OBJECT_DELETE", gcs_bucket, "in/c.parquet"), T0),
                TimestampedValue(_message("OBJECT_FINALIZE", gcs_bucket, "out/x.parquet"), T0),
                TimestampedValue(_message("OBJECT_FINALIZE", "other-bkt", "in/a.parquet"), T0),
            ]
        )
        .advance_watermark_to(T0 + 5)
        .add_elements(  # delivered again (at least once), with another message id
            [TimestampedValue(_message("OBJECT_FINALIZE", gcs_bucket, "in/a.parquet", "2"), T0 + 5)]
        )
        .advance_watermark_to(T0 + 10)
        .add_elements(
            [TimestampedValue(_message("OBJECT_FINALIZE", gcs_bucket, "in/d.parquet"), T0 + 20)]
        )
        .advance_watermark_to(T0 + 500)
        .advance_processing_time(4e9)  # past the batcher's bound, counted from the wall clock
        .advance_watermark_to_infinity()
    )
    run = run_graph(stream, settings, NotifiedFiles(settings.input))
    assert sorted(batch_lines(settings)) == batch_core_lines(
        [local["in/a.parquet"], local["in/d.parquet"]]
    )
    stats = run.stats()
    assert stats["files_read"] == 2 and stats["rows_read"] == 4
    assert "files_unreadable" not in stats
    assert os.path.isdir(os.path.join(settings.output, "batches"))
