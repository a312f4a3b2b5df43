"""The upload sink in the local watch mode: each flush's batch files are imported once."""

from __future__ import annotations

import glob
import json
import os

import pytest

from pipeline.watch import Watcher
from tests.upload.conftest import API_KEY
from tests.watch.helpers import FakeClock, Folder, video

pytestmark = pytest.mark.pipeline


def test_each_flush_uploads_its_batches_once(make_server, tmp_path, monkeypatch):
    monkeypatch.setenv("LABELBOX_API_KEY", API_KEY)
    server = make_server()
    folder, clock = Folder(str(tmp_path)), FakeClock()
    flags = ["--video_gap_seconds", "10", "--upload", "mal", "--project_id", "proj-1"]
    flags += ["--labelbox_endpoint", server.graphql_url, "--upload_poll_seconds", "0.005"]
    w = Watcher(folder.settings(*flags), folder.args(*flags), clock=clock)
    w.restore()
    folder.drop("v1.parquet", video("v1", marker=True))
    folder.drop("v2.parquet", video("v2", marker=True))
    assert w.poll() == 2
    folder.drop("v3.parquet", video("v3", marker=True))
    assert w.poll() == 1
    manifests = sorted(glob.glob(os.path.join(folder.output, "flush-*", "manifest.json")))
    assert len(manifests) == 2
    lines = 0
    for path in manifests:
        with open(path) as f:
            manifest = json.load(f)
        upload = manifest["upload"]
        assert upload["batches"]["imported"] == len(manifest["files"])
        assert upload["annotations"]["accepted"] == manifest["counts"]["lines"]
        lines += manifest["counts"]["lines"]
    assert lines > 0 and sum(server.judged.values()) == lines
    assert not server.names_created_twice() and not server.contents_imported_twice()
