"""The upload sink in the streaming graph (TestStream, BundleBasedDirectRunner), against the
loopback Labelbox server: each batch file is imported as it is written, once."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from pipeline.cli import main as keyframer
from tests.rows import bbox, radio, write_parquet
from tests.streaming.harness import (
    T0,
    Files,
    Watermark,
    batch_records,
    run_stream,
    streaming_settings,
)
from tests.upload.conftest import API_KEY, fast_settings

pytestmark = pytest.mark.pipeline

MARKER = {"kind": "video_end"}


def _stream(server, tmp_path):
    os.makedirs(tmp_path / "in")
    paths = []
    for i, gk in enumerate(("a.mp4", "b.mp4", "c.mp4")):
        rows = [bbox(f, global_key=gk) for f in range(1, 6)] + [radio("day", global_key=gk)]
        rows.append({**MARKER, "global_key": gk})
        paths.append(write_parquet(rows, str(tmp_path / "in" / f"{i}.parquet")))
    settings = dataclasses.replace(
        streaming_settings(str(tmp_path), gap=600.0, batch_lines=2),
        upload=fast_settings(server, concurrency=2),
    )
    run_stream(
        [Files(T0, (paths[0],)), Files(T0 + 1, tuple(paths[1:])), Watermark(T0 + 30)],
        settings,
    )
    return settings


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("LABELBOX_API_KEY", API_KEY)


def test_each_streamed_batch_is_imported_once_and_its_record_says_so(
    make_server, tmp_path, key_env
):
    server = make_server()
    settings = _stream(server, tmp_path)
    records = batch_records(settings)
    assert len(records) == 3  # a data row's two lines fill a batch of 2 lines
    for record in records:
        with open(record["file"]) as f:
            objects = [json.loads(x)["uuid"] for x in f if '"segments"' in x]
        assert objects and set(objects) <= set(record["tracks"])  # joins statuses to tracks
        upload = record["upload"]
        assert (upload["outcome"], upload["state"]) == ("imported", "FINISHED"), upload
        assert record["upload"]["accepted"] == record["lines"]
    assert len(server.created) == 3
    assert not server.names_created_twice() and not server.contents_imported_twice()
    assert sum(server.judged.values()) == sum(r["lines"] for r in records)


def test_failed_streamed_batches_are_resumed_by_keyframer_upload(make_server, tmp_path, key_env):
    failing = {"on": True}
    server = make_server(fail_import=lambda name, content: failing["on"])
    settings = _stream(server, tmp_path)
    assert {r["upload"]["outcome"] for r in batch_records(settings)} == {"failed"}
    failing["on"] = False
    args = ["upload", "--output", settings.output, "--upload", "mal", "--project_id", "proj-1"]
    args += ["--labelbox_endpoint", server.graphql_url, "--upload_poll_seconds", "0.005"]
    assert keyframer(args) == 0
    records = batch_records(settings)
    assert {(r["upload"]["outcome"], r["upload"]["attempt"]) for r in records} == {("imported", 1)}
    assert not server.names_created_twice() and not server.contents_imported_twice()
