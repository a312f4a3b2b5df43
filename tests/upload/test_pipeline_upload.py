"""The upload sink in the pipeline and `keyframer upload`, against the loopback server."""

from __future__ import annotations

import glob
import json
import logging
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from pipeline.cli import main as keyframer
from pipeline.manifest import read_manifest
from tests.labelbox_server import FaultPlan
from tests.upload.conftest import API_KEY

pytestmark = pytest.mark.pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(ROOT, "samples", "sample.parquet")
FAST = [
    "--upload_poll_seconds",
    "0.005",
    "--upload_poll_max_seconds",
    "0.02",
    "--upload_request_timeout_seconds",
    "2",
    "--max_requests_per_minute",
    "600000",
]


def _args(server, out, *extra) -> list[str]:
    return [
        "--input",
        SAMPLE,
        "--output",
        str(out),
        "--frame_base",
        "1",
        "--runner",
        "FnApiRunner",
        "--batch_max_lines",
        "4",
        "--upload",
        "mal",
        "--project_id",
        "proj-1",
        "--labelbox_endpoint",
        server.graphql_url,
        *FAST,
        *extra,
    ]


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("LABELBOX_API_KEY", API_KEY)


def _batch_files(out) -> list[str]:
    return sorted(glob.glob(os.path.join(str(out), "batch-*.ndjson")))


def test_a_run_uploads_every_batch_once_and_records_it(make_server, key_env, tmp_path, capsys):
    server = make_server(faults=FaultPlan(rate=0.3, seed=3, retry_after="0.01"))
    out = tmp_path / "out"
    assert keyframer(_args(server, out)) == 0
    manifest = read_manifest(str(out))
    files = _batch_files(out)
    upload = manifest["upload"]
    assert upload["batches"]["imported"] == len(files) > 1
    assert upload["annotations"]["accepted"] == manifest["counts"]["lines"]
    assert manifest["counts"]["upload_batches_imported"] == len(files)
    assert not server.names_created_twice() and not server.contents_imported_twice()
    assert sum(server.judged.values()) == manifest["counts"]["lines"]
    assert "annotations accepted" in capsys.readouterr().out
    # The same job again, into a fresh output: nothing imported again.
    created = len(server.created)
    assert keyframer(_args(server, tmp_path / "again")) == 0
    again = read_manifest(str(tmp_path / "again"))["upload"]
    assert again["batches"]["skipped"] == len(files) and len(server.created) == created


@pytest.mark.parametrize("feature", ["bbox_video", "person"])  # one track; tracks "1" and "2"
def test_rejected_lines_are_reported_with_their_errors(make_server, key_env, tmp_path, feature):
    server = make_server(reject_substring=feature)  # a feature of the sample
    out = tmp_path / "out"
    assert keyframer(_args(server, out)) == 0  # lines rejected, batches still imported
    upload = read_manifest(str(out))["upload"]
    with open(os.path.join(str(out), "upload_report", "rejected-lines.ndjson")) as f:
        rejected = [json.loads(line) for line in f]
    assert rejected and len(rejected) == upload["annotations"]["rejected"]
    for record in rejected:
        assert record["feature"] == {"name": feature}
        assert record["errors"] and record["dataRow"]
        assert json.loads(record["line"])["uuid"] == record["uuid"]
    # Joined back to the track each line is (the NDJSON line itself names none).
    sample = pq.read_table(SAMPLE).to_pylist()
    tracks = {r["track_id"] or "" for r in sample if r["feature_name"] == feature}
    assert {r["context"]["track"] for r in rejected} == tracks


def test_a_failed_import_fails_the_run_and_upload_resumes_it(make_server, key_env, tmp_path):
    failing = {"on": True}
    server = make_server(fail_import=lambda name, content: failing["on"])
    out = tmp_path / "out"
    assert keyframer(_args(server, out)) == 1
    assert read_manifest(str(out))["upload"]["batches"]["failed"] == len(_batch_files(out))
    failing["on"] = False
    upload_args = ["upload", "--output", str(out), "--upload", "mal", "--project_id", "proj-1"]
    upload_args += ["--labelbox_endpoint", server.graphql_url, *FAST]
    assert keyframer(upload_args) == 0
    upload = read_manifest(str(out))["upload"]
    assert upload["batches"]["imported"] == len(_batch_files(out))
    assert all(r["attempt"] == 1 for r in upload["results"])  # a new attempt name, once


def test_no_api_key_is_refused_at_launch(make_server, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("LABELBOX_API_KEY", raising=False)
    server = make_server()
    assert keyframer(_args(server, tmp_path / "out")) == 2
    assert "LABELBOX_API_KEY" in capsys.readouterr().err
    assert not server.requests


def test_the_api_key_never_appears_in_logs_or_outputs(make_server, key_env, tmp_path, caplog):
    server = make_server(faults=FaultPlan(rate=0.3, seed=5, retry_after="0.01"))
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "out"
    keyframer(_args(server, out))
    assert API_KEY not in caplog.text
    for path in glob.glob(os.path.join(str(out), "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                assert API_KEY.encode() not in f.read(), path


def test_an_upload_killed_midway_resumes_without_duplicates(make_server, key_env, tmp_path):
    server = make_server(polls_before_done=1, latency_seconds=0.05)
    out = tmp_path / "out"
    convert = _args(server, out)
    convert[convert.index("--upload") + 1] = "none"
    assert keyframer(convert) == 0
    files = _batch_files(out)
    upload_args = ["upload", "--output", str(out), "--upload", "mal", "--project_id", "proj-1"]
    upload_args += ["--labelbox_endpoint", server.graphql_url, "--upload_concurrency", "1", *FAST]
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", *upload_args], env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while len(server.created) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 1 <= len(server.created) < len(files), "the kill must land mid-way"
    assert keyframer(upload_args) == 0
    upload = read_manifest(str(out))["upload"]
    assert upload["batches"]["imported"] + upload["batches"]["skipped"] == len(files)
    assert upload["batches"]["skipped"] >= 1
    assert not server.names_created_twice() and not server.contents_imported_twice()
    assert len(server.created) == len(files)
