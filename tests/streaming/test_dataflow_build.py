"""The streaming graph builds as a Dataflow streaming job (Runner v2), offline: a dry run,
against the GCS-protocol server on loopback with placeholder credentials and valid names."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.options import KeyframerOptions, settings_from_options
from pipeline.streaming_build import build_streaming_pipeline

pytestmark = [pytest.mark.pipeline, pytest.mark.gcs]

PROJECT = "demo-project"  # a valid-looking id: an invalid one makes Beam call the real service


@pytest.mark.parametrize("source", ["notifications", "watch"])
def test_the_streaming_graph_builds_as_a_dataflow_streaming_job(gcs_bucket, source):
    argv = [
        "--input", f"gs://{gcs_bucket}/in/**.parquet",
        "--output", f"gs://{gcs_bucket}/out",
        "--frame_base", "1",
        "--runner", "DataflowRunner",
        "--streaming",
        "--dry_run=True",
        "--project", PROJECT,
        "--region", "us-central1",
        "--temp_location", f"gs://{gcs_bucket}/tmp",
        "--sdk_location", "container",
    ]  # fmt: skip
    if source == "notifications":
        argv += ["--input_notifications", f"projects/{PROJECT}/subscriptions/kf-new-files"]
    options = PipelineOptions(argv)
    settings = settings_from_options(options.view_as(KeyframerOptions))
    p = beam.Pipeline(options=options)
    build_streaming_pipeline(p, settings)
    result = p.run()
    assert result.job.proto.type_.name == "JOB_TYPE_STREAMING"
    names = {t.unique_name for t in result.job.proto_pipeline.components.transforms.values()}
    expected = {
        "BuildVideos/VideoState",
        "BatchVideos/Batcher",
        "BatchVideos/WriteBatchRecords",
        "WriteDeadLetters/WriteDeadLetterFiles",
        "ReadNewFiles/ReadFiles",
    }
    expected.add(
        "NewFiles/ReadNotifications" if source == "notifications" else "NewFiles/WatchInput0"
    )
    assert expected <= names
