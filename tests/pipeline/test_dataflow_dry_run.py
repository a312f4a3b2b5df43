"""The pipeline builds as a Dataflow job (DataflowRunner --dry_run=True), offline.

Dry run translates the graph into a Dataflow job without submitting it: this catches what only
Dataflow's translation refuses (unpicklable DoFns, unsupported transforms, options it cannot
encode). The input check reads the input from the GCS-protocol server on loopback
(tests/gcs.py).
"""

from __future__ import annotations

import pytest

from pipeline.run import run

pytestmark = [pytest.mark.pipeline, pytest.mark.gcs]


def test_dataflow_dry_run_builds_the_job(gcs_emulator, gcs_bucket, sample_paths):
    gcs_emulator.upload_file(sample_paths["parquet"], f"gs://{gcs_bucket}/in/sample.parquet")
    result, manifest = run(
        [
            "--input",
            f"gs://{gcs_bucket}/in/*.parquet",
            "--output",
            f"gs://{gcs_bucket}/out",
            "--frame_base",
            "1",
            "--runner",
            "DataflowRunner",
            "--dry_run=True",
            "--project",
            "demo-project",
            "--region",
            "us-central1",
            "--temp_location",
            f"gs://{gcs_bucket}/tmp",
            "--staging_location",
            f"gs://{gcs_bucket}/staging",
            "--sdk_location",
            "container",
        ],
        wait=False,
    )
    assert manifest is None
    # The job was built (not submitted): its description names keyframer's stateful step and
    # the options it will run with.
    transforms = {t.unique_name for t in result.job.proto_pipeline.components.transforms.values()}
    for step in ("ReadFrameRows", "ValidateRows", "BuildAnnotations/AnnotateKeys", "WriteBatches"):
        assert step in transforms, step
    assert result.job.proto.type_.name == "JOB_TYPE_BATCH"
