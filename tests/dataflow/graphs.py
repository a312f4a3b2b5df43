"""The Dataflow job graphs keyframer builds, and their checked-in step names.

A streaming job is updated in place (`--update`) only if the new graph's step names match the
running job's, so renaming a step must be a deliberate act: tests/dataflow/test_dry_run.py
compares every graph here with `step_names_<graph>.txt`. After renaming steps on purpose:

    .venv/bin/python -m tests.dataflow.graphs          # rewrite every step_names_*.txt

To add a graph, add its extra flags to GRAPHS and run the command above once: the test picks
it up.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROJECT = "demo-project"  # a valid-looking id: an invalid one makes Beam call the real service
REGION = "us-central1"
BUCKET = "kf-dataflow-graphs"
SAMPLE = REPO / "samples" / "sample.parquet"
NOTIFICATIONS = f"projects/{PROJECT}/subscriptions/keyframer-preds"
SECRET = f"projects/{PROJECT}/secrets/labelbox-key/versions/1"

# Graph name -> keyframer flags that select it (on top of dataflow_args).
GRAPHS: dict[str, list[str]] = {
    "batch": [],
    "batch_per_file": ["--complete_per_file"],
    "batch_ledger": ["--ledger", "auto"],  # a dry run previews the claim: nothing is stored
    "batch_upload": ["--upload", "mal", "--project_id", "p", "--labelbox_api_key_secret", SECRET],
    "streaming": ["--streaming", "--input_notifications", NOTIFICATIONS],
    "streaming_watch": ["--streaming"],
    "streaming_upload": [
        "--streaming",
        "--input_notifications",
        NOTIFICATIONS,
        "--upload",
        "model_run",
        "--model_run_id",
        "m",
        "--labelbox_api_key_secret",
        SECRET,
    ],
}


def names_file(graph: str) -> Path:
    """Where a graph's step names are checked in."""
    return HERE / f"step_names_{graph}.txt"


def dataflow_args(bucket: str, *extra: str) -> list[str]:
    """A DataflowRunner command line over the sample in `bucket`, with --setup_file."""
    return [
        "--input",
        f"gs://{bucket}/in/*.parquet",
        "--output",
        f"gs://{bucket}/out",
        "--frame_base",
        "1",
        "--runner",
        "DataflowRunner",
        "--project",
        PROJECT,
        "--region",
        REGION,
        "--temp_location",
        f"gs://{bucket}/tmp",
        "--staging_location",
        f"gs://{bucket}/staging",
        "--sdk_location",
        "container",
        "--setup_file",
        str(REPO / "setup.py"),
        *extra,
    ]


def dry_run(bucket: str, graph: str):
    """Build `graph` as a Dataflow job without submitting it; returns Beam's result."""
    from pipeline.run import run

    result, manifest = run([*dataflow_args(bucket, *GRAPHS[graph]), "--dry_run=True"], wait=False)
    assert manifest is None
    return result


def step_names(result) -> list[str]:
    """The job's transform names, without Beam's synthesized root (`ref_AppliedPTransform_*`)."""
    from pipeline.submit import step_names as all_names

    return [n for n in all_names(result) if not n.startswith("ref_AppliedPTransform_")]


def render(names: list[str]) -> str:
    header = (
        "# Step names of the Dataflow job (see tests/dataflow/graphs.py). Regenerate after a\n"
        "# deliberate rename: .venv/bin/python -m tests.dataflow.graphs\n"
    )
    return header + "".join(n + "\n" for n in names)


def read_names(graph: str) -> list[str]:
    """The checked-in names of `graph` (empty if the file does not exist)."""
    path = names_file(graph)
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def main() -> int:
    """Rebuild every graph against a GCS-protocol server on loopback; rewrite the name files."""
    os.chdir(REPO)
    from tests.gcs import emulator_environment, run_gcs_emulator

    with run_gcs_emulator() as emulator, emulator_environment(emulator.env):
        emulator.make_bucket(BUCKET)
        emulator.upload_file(SAMPLE, f"gs://{BUCKET}/in/sample.parquet")
        for graph in GRAPHS:
            names = step_names(dry_run(BUCKET, graph))
            names_file(graph).write_text(render(names))
            print(f"wrote {names_file(graph)} ({len(names)} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
