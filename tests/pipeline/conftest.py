"""Pipeline-test helpers: run keyframer in-process and read what it wrote."""

from __future__ import annotations

import glob
import json
import os

import pytest

from pipeline.run import run

SAMPLE_PARQUET = os.path.join(os.path.dirname(__file__), "..", "..", "samples", "sample.parquet")
SAMPLE_AVRO = os.path.join(os.path.dirname(__file__), "..", "..", "samples", "sample.avro")


def run_keyframer(input_path: str, output: str, *extra: str, runner: str = "FnApiRunner"):
    """Run the pipeline; returns the manifest."""
    _, manifest = run(
        ["--input", input_path, "--output", output, "--frame_base", "1", "--runner", runner, *extra]
    )
    return manifest


def output_lines(output: str) -> list[bytes]:
    lines = []
    for path in sorted(glob.glob(os.path.join(output, "batch-*.ndjson"))):
        with open(path, "rb") as f:
            lines.extend(f.read().splitlines())
    return lines


def dead_letters(output: str) -> list[dict]:
    records = []
    for path in sorted(glob.glob(os.path.join(output, "dead_letter", "*.ndjson"))):
        with open(path, "rb") as f:
            records.extend(json.loads(line) for line in f.read().splitlines())
    return records


@pytest.fixture
def sample_paths():
    return {"parquet": os.path.abspath(SAMPLE_PARQUET), "avro": os.path.abspath(SAMPLE_AVRO)}
