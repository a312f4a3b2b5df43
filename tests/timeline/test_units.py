"""The timeline's functions one by one, on hand-made lines (no pipeline run)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from timeline.error_lanes import keyframe_values, segment_errors, track_errors
from timeline.errors import DataRowNotFoundError, ReportError
from timeline.layout import (
    error_scales,
    frame_span,
    layout_rows,
    page_layout,
    primary_metric,
    tolerance_limit,
)
from timeline.loading import (
    available_data_rows,
    batch_files,
    data_row_lines,
    lanes_of,
    read_manifest,
    track_lane,
)
from timeline.model import Timeline, TrackLane, summarize
from timeline.text import answer_text, classification_text, nested_changes, plural, shorten


def kf(frame: int, top: float = 0.0, **extra) -> dict:
    return {"frame": frame, "bbox": {"top": top, "left": 0, "height": 10, "width": 10}, **extra}


def timeline_of(lines: list[dict], **fields) -> Timeline:
    tracks, ranges, globals_, notes = lanes_of(lines)
    return Timeline("out", "v", "globalKey", tracks, ranges, globals_, None, [], notes, **fields)


LINES = [
    {"uuid": "u1", "name": "person", "segments": [{"keyframes": [kf(5), kf(1)]}]},
    {"uuid": "u2", "name": "person", "segments": [{"keyframes": []}, {"keyframes": [kf(3)]}]},
    {"uuid": "u3", "schemaId": "ckcar", "segments": []},
    {
        "name": "weather",
        "answer": [
            {"name": "rain", "frames": [{"start": 9, "end": 12}, {"start": 2, "end": 3}]},
            {"name": "fog", "frames": [{"start": 4, "end": 4}]},
        ],
    },
    {"name": "scene", "answer": {"name": "day", "frames": [{"start": 1, "end": 8}]}},
    {"name": "quality", "answer": {"name": "good", "confidence": 0.9}},
    {"name": "odd"},
]


def test_text():
    assert shorten("abcdef", 4) == "abc…" and shorten("abc", 4) == "abc"
    assert plural(1, "frame") == "1 frame" and plural(1234, "frame") == "1,234 frames"
    nested = {"name": "good", "confidence": 0.5, "classifications": [{"name": "q", "answer": "x"}]}
    assert answer_text(nested) == 'good (0.5) \u203a q = "x"'
    assert answer_text([{"name": "a"}, {"schemaId": "ckb"}]) == "a, ckb"
    assert classification_text({"name": "q", "answer": nested}, confidence=False) == (
        'q = good \u203a q = "x"'
    )
    cls = [{"name": "occluded", "answer": {"name": "no"}}]
    track = TrackLane("t", "t", "bbox", "u", 1, [[kf(1, classifications=cls), kf(2)], [kf(4)]])
    track.segments[1][0]["classifications"] = cls
    assert nested_changes(track) == [(1, "occluded = no"), (4, "occluded = no")]


def test_lanes_of_lines():
    tracks, ranges, globals_, notes = lanes_of(LINES)
    assert [t.label for t in tracks] == ["person · track 1", "person · track 2", "ckcar · track 1"]
    assert [k["frame"] for k in tracks[0].segments[0]] == [1, 5]  # sorted by frame
    assert len(tracks[1].segments) == 1 and tracks[1].kind == "bbox"
    assert tracks[2].kind == "?" and tracks[2].segments == []
    assert [(r.label, r.kind, r.ranges) for r in ranges] == [
        ("weather = rain", "checklist", [(2, 3), (9, 12)]),
        ("weather = fog", "checklist", [(4, 4)]),
        ("scene = day", "radio", [(1, 8)]),
    ]
    assert globals_ == ["global: quality = good (0.9)"]
    assert notes == ["1 line(s) of an unknown shape (no segments, no answer) skipped"]
    assert track_lane(LINES[0], "person", 7).label == "person · track 7"


def write_batch(directory, lines: list[dict]) -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "batch-00000-of-00001.ndjson")
    with open(path, "w") as f:
        f.writelines(json.dumps(line) + "\n" for line in lines)
    return path


def test_data_row_lines_and_batch_files(tmp_path):
    lines = [
        {"dataRow": {"globalKey": "é.mp4"}, "name": "a", "answer": "x"},
        {"dataRow": {"id": "ckrow"}, "name": "b", "answer": "y"},
        {"dataRow": {"globalKey": "ckrow"}, "name": "c", "answer": "z"},  # not the id "ckrow"
    ]
    path = write_batch(tmp_path / "out", lines)
    assert data_row_lines([path], None) == ("globalKey", "é.mp4", lines[:1])
    assert data_row_lines([path], "é.mp4")[2] == lines[:1]  # JSON-escaped in the file
    field, value, found = data_row_lines([path], "ckrow")
    assert (field, value, found) == ("id", "ckrow", lines[1:2])
    assert available_data_rows([path]) == (
        ["'é.mp4' (globalKey)", "'ckrow' (id)", "'ckrow' (globalKey)"],
        3,
    )
    with pytest.raises(DataRowNotFoundError, match="3 data rows in 1 batch file"):
        data_row_lines([path], "nope")
    assert read_manifest(str(tmp_path / "out")) is None
    assert batch_files(str(tmp_path / "out"), None) == [path]
    moved = {"files": [{"path": "/elsewhere/batch-00000-of-00001.ndjson"}]}
    assert batch_files(str(tmp_path / "out"), moved) == [path]
    with pytest.raises(ReportError, match="listed in the manifest but missing"):
        batch_files(str(tmp_path / "out"), {"files": [{"path": "/elsewhere/batch-9.ndjson"}]})


def test_layout_and_cap():
    timeline = timeline_of(LINES[:5])
    rows, hidden = layout_rows(timeline, 60)
    assert [r.kind for r in rows] == ["header", "track", "track", "track", "header"] + ["range"] * 3
    assert hidden == 0 and rows[0].y == pytest.approx(0.12)
    assert [r.group for r in rows if r.kind != "header"] == [0, 0, 1, 2, 2, 3]
    rows, hidden = layout_rows(timeline, 4)
    assert [r.label for r in rows if r.kind != "header"] == [
        "person · track 1",
        "person · track 2",
        "ckcar · track 1",
        "weather = rain",
    ]
    assert hidden == 2
    with_input = timeline_of(LINES[:1], input_pattern="in.parquet")
    assert [r.kind for r in layout_rows(with_input)[0]] == ["header", "track", "error"]
    assert frame_span(timeline) == (0.0, 13.0)  # frames 1-12, half a frame and a pad each side
    assert frame_span(timeline_of([])) == (0.5, 10.5)  # no frame at all: the first ten
    page = page_layout(timeline, *layout_rows(timeline, 60), 900, 60)
    assert page.narrow and page.dpi == 100 and page.width_px == 900
    wide = page_layout(timeline, *layout_rows(timeline, 60), 3200, 60)
    assert not wide.narrow and wide.dpi == 200 and len(wide.details) == 1


def test_error_scales_follow_the_tolerance():
    from transforms.core.thinning import parse_tolerance_spec

    timeline = timeline_of(LINES[:2], tolerance=parse_tolerance_spec("iou:0.9,person=px:2"))
    person = timeline.tracks[0]
    assert primary_metric(timeline, person) == "px"
    assert tolerance_limit("iou", 0.9) == pytest.approx(0.1) and tolerance_limit("px", 2) == 2
    assert error_scales(timeline) == {"px": 2}
    person.error_px = np.array([0.5, 3.0, np.nan])
    assert error_scales(timeline) == {"px": 3.0}
    assert summarize(timeline).max_errors == {"person · track 1": {"px": 3.0}}


def test_segment_and_track_errors():
    assert keyframe_values("point", {"point": {"x": 1, "y": 2}}).tolist() == [1, 2]
    line = {"line": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]}
    assert keyframe_values("line", line).tolist() == [1, 2, 3, 4]
    kept = [keyframe_values("bbox", kf(1, 0.0)), keyframe_values("bbox", kf(5, 8.0))]
    frames = np.array([1, 2, 3, 5])
    values = np.array([[0, 0, 10, 10], [2, 0, 10, 10], [5, 0, 10, 10], [8, 0, 10, 10]], float)
    iou, px = segment_errors("bbox", np.array([1, 5]), kept, frames, values)
    assert px.tolist() == pytest.approx([0, 0, 1, 0])  # frame 3 interpolates to top 4
    assert iou[2] > 0 and iou[[0, 1, 3]] == pytest.approx([0, 0, 0])
    # Lines whose vertex count changes are compared only where the counts agree.
    short, long_ = np.array([0.0, 0, 2, 2]), np.array([0.0, 0, 2, 2, 4, 4])
    _, px = segment_errors(
        "line", np.array([1, 3, 5]), [short, short, long_], np.array([2, 4]), [short, long_]
    )
    assert px[0] == 0 and np.isnan(px[1])

    track = TrackLane("t", "t", "bbox", "u", 1, [[kf(1, 0.0), kf(5, 8.0)], [kf(9), kf(10)]])
    values = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    track_errors(track, "bbox", np.array([1, 3, 7, 9]), values)
    assert track.outside_frames == 1  # frame 7 is between the segments
    assert np.isnan(track.error_frames).sum() == 2  # a gap after each segment
    assert track.max_errors["px"] == pytest.approx(1)
