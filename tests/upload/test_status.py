"""Status files parsed and joined to batch lines (pure functions, no server)."""

from __future__ import annotations

import json

import pytest

from labelbox_upload.status import join_statuses, parse_status_file


def _line(uuid: str, **more) -> str:
    return json.dumps({"uuid": uuid, "dataRow": {"id": "dr1"}, **more})


def test_lines_without_a_verdict_and_unreadable_lines_are_not_accepted():
    content = "\n".join(
        [_line("a", name="car"), _line("b", schemaId="ck123"), _line("c", name="x"), "not json", ""]
    ).encode()
    statuses = parse_status_file(
        json.dumps({"uuid": "a", "dataRow": {"id": "dr1"}, "status": "SUCCESS"})
        + "\n\n"
        + json.dumps(
            {
                "uuid": "b",
                "status": "FAILURE",
                "errors": [{"name": "A", "message": "m"}, {"name": "B", "message": "n"}],
            }
        )
        + "\n"
        + json.dumps({"uuid": "zzz", "status": "SUCCESS"})
    )
    s = join_statuses("batch", "imp", content, statuses)
    assert (s.lines, s.accepted, s.rejected_count) == (4, 1, 3)
    assert s.rejected_by_error == {"A": 1, "B": 1, "MISSING": 1, "UNREADABLE": 1}
    assert s.unknown_uuids == ("zzz",)
    b = next(r for r in s.rejected if r.uuid == "b")
    assert b.feature == {"schemaId": "ck123"} and b.data_row == {"id": "dr1"}
    assert b.to_json()["importName"] == "imp" and json.loads(b.to_json()["line"])["uuid"] == "b"


def test_a_status_row_without_uuid_is_an_error():
    with pytest.raises(ValueError, match="row 1"):
        parse_status_file(b'{"status": "SUCCESS"}\n')
