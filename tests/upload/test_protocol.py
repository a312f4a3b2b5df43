"""The client against the loopback server, no faults: each target, multipart and by URL, the
status join, authentication, https-only, settings validation."""

from __future__ import annotations

import json

import pytest

from labelbox_upload import (
    ImportClient,
    ImportOutcome,
    SettingsError,
    UploadSettings,
    upload_files,
)
from labelbox_upload.naming import import_name
from labelbox_upload.transport import GraphQLTransport
from tests.upload.conftest import batch_bytes, batch_lines, fast_settings


@pytest.mark.parametrize(
    ("kind", "ids"),
    [
        ("mal", {"project_id": "p1"}),
        ("label_import", {"project_id": "p1"}),
        ("model_run", {"model_run_id": "mr1"}),
    ],
)
def test_each_target_imports_a_batch_by_multipart_upload(server, api_key, kind, ids):
    settings = fast_settings(server, **{"target_kind": kind, "project_id": "", **ids})
    content = batch_bytes(1, 12, rejects=3)
    result = ImportClient(settings, api_key).upload_batch("batch-00000.ndjson", content)

    assert result.outcome is ImportOutcome.IMPORTED, result.error
    assert result.created and result.ok and result.error is None
    (imp,) = server.created
    assert (imp.kind, imp.parent, imp.via) == (kind, settings.target.id, "file")
    assert imp.content == content  # the file arrived byte for byte
    assert imp.name == result.import_name == import_name(settings.target, content)
    s = result.summary
    assert (s.lines, s.accepted, s.rejected_by_error) == (12, 9, {"FeatureNotFound": 3})
    first = s.rejected[0]
    line = batch_lines(1, 12, rejects=3)[0]
    assert first.uuid == line["uuid"] and first.data_row == line["dataRow"]
    assert first.feature == {"name": "reject_car"} and json.loads(first.line) == line
    assert first.errors[0]["name"] == "FeatureNotFound" and first.batch == "batch-00000.ndjson"


def test_create_by_url_sends_the_url_mutation(server, api_key):
    content = batch_bytes(2, 5)
    url = server.put_file("b2.ndjson", content)
    result = ImportClient(fast_settings(server), api_key).upload_batch("b2", content, file_url=url)
    assert result.outcome is ImportOutcome.IMPORTED
    assert [i.via for i in server.created] == ["url"]
    assert result.summary.accepted == 5


def test_answers_and_tracks_are_joined_with_caller_context(server, api_key):
    lines = batch_lines(3, 8)
    for line in lines[2:4]:  # a frame radio and a global checklist, rejected
        line["name"] = "reject_" + line["name"]
    content = "".join(json.dumps(x) + "\n" for x in lines).encode()
    context = {lines[2]["uuid"]: {"track": "radio-7"}}
    result = ImportClient(fast_settings(server), api_key).upload_batch(
        "b3", content, uuid_context=context
    )
    by_uuid = {r.uuid: r for r in result.summary.rejected}
    assert by_uuid[lines[2]["uuid"]].answers == ("day",)
    assert by_uuid[lines[2]["uuid"]].context == {"track": "radio-7"}
    assert by_uuid[lines[3]["uuid"]].answers == ("sunny", "outdoor")
    assert by_uuid[lines[3]["uuid"]].context is None


def test_a_malformed_line_is_reported_and_a_non_json_file_fails(server, api_key):
    client = ImportClient(fast_settings(server), api_key)
    lines = batch_lines(4, 3)
    del lines[1]["dataRow"]
    content = "".join(json.dumps(x) + "\n" for x in lines).encode()
    result = client.upload_batch("b4", content)
    assert result.summary.rejected_by_error == {"InvalidDataRowReference": 1}

    broken = client.upload_batch("b5", b'{"uuid": "x", "dataRow"\n')
    assert broken.outcome is ImportOutcome.FAILED and "FAILED" in broken.error
    assert broken.state == "FAILED" and broken.created


def test_a_wrong_key_is_a_permanent_error_not_retried(server):
    from labelbox_upload import ApiKey

    result = ImportClient(fast_settings(server), ApiKey("wrong")).upload_batch("b", b"{}\n")
    assert result.outcome is ImportOutcome.FAILED
    assert "AuthenticationError" in result.error
    assert [r.get("op") for r in server.requests] == ["unauthorized"]


def test_http_is_refused_except_to_loopback(api_key):
    with pytest.raises(SettingsError) as e:
        UploadSettings("mal", project_id="p", endpoint="http://api.example.com/graphql")
    assert e.value.field == "endpoint" and str(e.value).startswith("endpoint:")
    with pytest.raises(ValueError, match="https"):
        GraphQLTransport("http://10.0.0.1/graphql", api_key)
    GraphQLTransport("http://localhost:1/graphql", api_key)  # loopback: allowed
    GraphQLTransport("https://api.labelbox.com/graphql", api_key)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"target_kind": "nope"}, "target_kind"),
        ({"project_id": ""}, "project_id"),
        ({"target_kind": "model_run"}, "model_run_id"),
        ({"concurrency": 0}, "concurrency"),
        ({"max_requests_per_minute": 1.5}, "max_requests_per_minute"),
        ({"deadline_seconds": float("inf")}, "deadline_seconds"),
        ({"request_timeout_seconds": 0}, "request_timeout_seconds"),
        ({"poll_initial_seconds": 5.0, "poll_max_seconds": 1.0}, "poll_max_seconds"),
        ({"name_prefix": "has space"}, "name_prefix"),
    ],
)
def test_settings_validation_names_the_field(overrides, field):
    values = {"target_kind": "mal", "project_id": "p", **overrides}
    with pytest.raises(SettingsError) as e:
        UploadSettings(**values)
    assert e.value.field == field


def test_upload_files_reads_lazily_and_reports_an_unreadable_file(server, api_key, tmp_path):
    paths = []
    for i in range(3):
        path = tmp_path / f"batch-{i:05d}-of-00004.ndjson"
        path.write_bytes(batch_bytes(i, 4))
        paths.append(path)
    paths.append(tmp_path / "batch-00003-of-00004.ndjson")  # never written
    results = upload_files(paths, fast_settings(server), api_key)
    assert [r.batch for r in results] == [p.name for p in paths]
    assert [r.outcome.value for r in results] == ["imported"] * 3 + ["failed"]
    assert "unreadable" in results[3].error and len(server.created) == 3
    assert results[0].to_json()["accepted"] == 4 and results[0].to_json()["outcome"] == "imported"
