"""Fixtures of the Dataflow tests: the sample files, and a GCS server that honours preconditions."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.dataflow.gcs_preconditions import run_precondition_emulator
from tests.gcs import GcsEmulator

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "samples")


@pytest.fixture
def sample_paths() -> dict[str, str]:
    return {
        "parquet": os.path.abspath(os.path.join(SAMPLES, "sample.parquet")),
        "avro": os.path.abspath(os.path.join(SAMPLES, "sample.avro")),
    }


@pytest.fixture(scope="session")
def strict_gcs() -> Iterator[GcsEmulator]:
    """A GCS-protocol server on loopback that refuses uploads failing ifGenerationMatch."""
    with run_precondition_emulator() as emulator:
        yield emulator
