"""The official SDK (labelbox==7.17.0) drives the loopback server: proof that the server, and
so the client tested against it, speaks the SDK's protocol."""

from __future__ import annotations

import json

import pytest

from labelbox_upload import ApiKey, ImportClient
from labelbox_upload.pacing import Deadline
from tests.upload.conftest import API_KEY, batch_bytes, batch_lines, fast_settings

labelbox = pytest.importorskip("labelbox")
from labelbox.schema.annotation_import import (  # noqa: E402
    LabelImport,
    MALPredictionImport,
    MEAPredictionImport,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def client(server):
    return labelbox.Client(api_key=API_KEY, endpoint=server.graphql_url)


def test_sdk_create_from_objects_multipart_then_wait_and_statuses(server, client):
    predictions = batch_lines(1, 8, rejects=2)
    imp = MALPredictionImport.create_from_objects(client, "proj-1", "sdk-mal", predictions)
    assert imp.state.value == "RUNNING"
    imp.wait_till_done(sleep_time_seconds=0)
    assert imp.state.value == "FINISHED"
    statuses = imp.statuses
    assert len(statuses) == 8
    assert sum(s["status"] == "FAILURE" for s in statuses) == 2
    (created,) = server.created
    assert (created.kind, created.parent, created.via) == ("mal", "proj-1", "file")
    assert [json.loads(x)["uuid"] for x in created.content.decode().splitlines()] == [
        p["uuid"] for p in predictions
    ]
    # keyframer's client finds the SDK's import by name: the same look-up.
    found = ImportClient(fast_settings(server), _key()).lookup("sdk-mal", Deadline(5))
    assert found["id"] == created.id and found["state"] == "FINISHED"


def test_sdk_create_from_url_and_from_file(server, client, tmp_path):
    url = server.put_file("b.ndjson", batch_bytes(2, 4))
    mea = MEAPredictionImport.create_from_url(client, "mr-1", "sdk-mea", url)
    mea.wait_till_done(sleep_time_seconds=0)
    assert mea.state.value == "FINISHED" and len(mea.statuses) == 4
    path = tmp_path / "b.ndjson"
    path.write_bytes(batch_bytes(3, 5))
    label = LabelImport.create_from_file(client, "proj-2", "sdk-label", str(path))
    label.wait_till_done(sleep_time_seconds=0)
    assert label.state.value == "FINISHED" and len(label.statuses) == 5
    assert [(i.kind, i.via) for i in server.created] == [
        ("model_run", "url"),
        ("label_import", "file"),
    ]


def test_sdk_same_name_twice_is_refused(server, client):
    MALPredictionImport.create_from_objects(client, "proj-1", "dup", batch_lines(1, 2))
    from lbox.exceptions import ResourceConflict

    with pytest.raises(ResourceConflict):
        MALPredictionImport.create_from_objects(client, "proj-1", "dup", batch_lines(1, 2))


def _key() -> ApiKey:
    return ApiKey(API_KEY)
