"""gs:// input and output through a GCS-protocol server on loopback (tests/gcs.py)."""

from __future__ import annotations

import json

import pytest

from tests.pipeline.conftest import output_lines, run_keyframer

pytestmark = [pytest.mark.pipeline, pytest.mark.gcs]


def test_gcs_input_and_output(tmp_path, gcs_emulator, gcs_bucket, sample_paths):
    src = f"gs://{gcs_bucket}/inference/run-1/sample.parquet"
    gcs_emulator.upload_file(sample_paths["parquet"], src)
    gcs_emulator.upload_file(sample_paths["avro"], f"gs://{gcs_bucket}/inference/run-1/s.avro")
    out = f"gs://{gcs_bucket}/predictions/run-1"

    manifest = run_keyframer(f"gs://{gcs_bucket}/inference/run-1/*.parquet", out)

    local = str(tmp_path / "local")
    run_keyframer(sample_paths["parquet"], local)
    names = gcs_emulator.list_objects(out + "/")
    batch_files = sorted(n for n in names if "/batch-" in n)
    assert batch_files, names
    remote = []
    for name in batch_files:
        remote.extend(gcs_emulator.read_bytes(name).splitlines())
    assert sorted(remote) == sorted(output_lines(local))
    # The manifest, written through Beam, read back through an independent client.
    stored = json.loads(gcs_emulator.read_bytes(f"{out}/manifest.json"))
    assert stored["reconciled"] and stored["counts"] == manifest["counts"]
    assert [f["path"] for f in stored["files"]] == batch_files
    dead = [n for n in names if "/dead_letter/" in n]
    assert dead and sum(len(gcs_emulator.read_bytes(n).splitlines()) for n in dead) == 3
    # The staging directory is gone once the manifest is written.
    assert not [n for n in names if ".keyframer-tmp-" in n]


def test_gcs_glob_matching_nothing_fails_fast(gcs_emulator, gcs_bucket, tmp_path):
    with pytest.raises(FileNotFoundError, match="matched no files"):
        run_keyframer(f"gs://{gcs_bucket}/nothing/*.parquet", str(tmp_path / "o"))
