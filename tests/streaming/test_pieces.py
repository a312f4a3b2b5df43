"""The streaming pieces without a pipeline: the input matcher, notifications, a video's
lifecycle, batch packing and names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from apache_beam.io.filesystems import FileSystems

from transforms.core.batching import BatchLimits
from transforms.core.completion import END_OF_INPUT, GAP, MARKER, CompletionRule
from transforms.core.fragments import fragment
from transforms.streaming import lifecycle
from transforms.streaming.records import FlushedVideo, dead_letter_file, pack_videos
from transforms.streaming.sources import InputMatcher, notified_file

TREE = ["a1.parquet", "b.parquet", "x.avro", "sub/c.parquet", "sub/deep/d.parquet", "ab.pq"]
PATTERNS = [
    "*.parquet",
    "**.parquet",
    "**/*.parquet",
    "sub/**",
    "a?.parquet",
    "[ab]*.parquet",
    "[!a]*",
    "*",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_matcher_agrees_with_filesystems_match(tmp_path, pattern):
    for name in TREE:
        os.makedirs(os.path.dirname(tmp_path / name), exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    full = str(tmp_path / pattern)
    matched = {m.path for m in FileSystems.match([full])[0].metadata_list}
    matcher = InputMatcher(full)
    assert {str(tmp_path / n) for n in TREE if matcher(str(tmp_path / n))} == matched


def test_the_matcher_on_gs_paths_and_several_patterns():
    m = InputMatcher("gs://bkt/in/*.parquet, gs://bkt/deep/**.avro")
    assert m("gs://bkt/in/a.parquet")
    assert not m("gs://bkt/in/x/a.parquet")  # * stays within a path segment
    assert m("gs://bkt/deep/x/y/z.avro")  # ** crosses segments
    assert not m("gs://other/in/a.parquet")
    assert not m("gs://bkt/in/a.parquet.tmp")


def _notification(event="OBJECT_FINALIZE", name="in/a.parquet", payload=True):
    attributes = {
        "eventType": event,
        "bucketId": "bkt",
        "objectId": name,
        "payloadFormat": "JSON_API_V1",
    }
    data = json.dumps(
        {
            "bucket": "bkt",
            "name": name,
            "size": "1234",
            "generation": "1700000000000001",
            "timeCreated": "2023-11-14T22:13:20.000Z",
            "updated": "2023-11-14T22:13:21.500Z",
        }
    ).encode()
    return attributes, (data if payload else None)


def test_a_finalize_notification_of_a_matching_object_names_the_file():
    matcher = InputMatcher("gs://bkt/in/*.parquet")
    meta = notified_file(*_notification(), matcher)
    assert (meta.path, meta.size_in_bytes, meta.last_updated_in_seconds) == (
        "gs://bkt/in/a.parquet",
        1234,
        1_700_000_001.5,
    )
    bare = notified_file(*_notification(payload=False), matcher)
    assert (bare.path, bare.size_in_bytes) == ("gs://bkt/in/a.parquet", 0)
    attributes, _ = _notification()
    assert notified_file(attributes, b"not json", matcher).path == "gs://bkt/in/a.parquet"


@pytest.mark.parametrize(
    "event, name",
    [
        ("OBJECT_DELETE", "in/a.parquet"),
        ("OBJECT_METADATA_UPDATE", "in/a.parquet"),
        ("OBJECT_ARCHIVE", "in/a.parquet"),
        ("OBJECT_FINALIZE", "in/sub/a.parquet"),
        ("OBJECT_FINALIZE", "out/a.parquet"),
        ("OBJECT_FINALIZE", "in/a.parquet.tmp"),
    ],
)
def test_other_events_and_objects_are_ignored(event, name):
    assert notified_file(*_notification(event, name), InputMatcher("gs://bkt/in/*.parquet")) is None


RULE = CompletionRule(gap_seconds=60, max_wait_seconds=600, allowed_lateness_seconds=30)


def test_a_video_opens_gathers_rows_is_built_kept_remembered():
    v, what = lifecycle.arrive(None, event_time=100, now=5, rows=3, marker=False, source="a")
    assert what == lifecycle.NEW and v.rows == 3 and v.progress.first_seen == 5
    assert lifecycle.completion_deadline(v.progress, RULE) == 160
    v, what = lifecycle.arrive(v, event_time=130, now=9, rows=2, marker=False, source="b")
    assert (what, v.rows, v.last_source) == (lifecycle.ADDED, 5, "b")
    assert lifecycle.completion_deadline(v.progress, RULE) == 190
    assert lifecycle.flush_reason(v.progress, RULE, 190, 10) == GAP
    v = lifecycle.built(v, 190, keep_rows=True)
    assert (v.phase, v.builds, v.rows, v.progress) == (lifecycle.KEPT, 1, 5, None)
    v, what = lifecycle.arrive(v, event_time=200, now=20, rows=1, marker=False, source="c")
    assert (what, v.phase, v.rows) == (lifecycle.REOPENED, lifecycle.OPEN, 6)
    assert v.progress.first_seen == 20 and v.progress.last_event_time == 200
    v = lifecycle.rows_dropped(lifecycle.built(v, 260, keep_rows=True))
    assert (v.phase, v.rows, v.builds) == (lifecycle.REMEMBERED, 0, 2)
    after, what = lifecycle.arrive(v, event_time=300, now=30, rows=4, marker=False, source="d")
    assert what == lifecycle.LATE and after == v


def test_a_marker_completes_just_past_its_file_and_without_gap_only_the_end_does():
    v, _ = lifecycle.arrive(None, event_time=100, now=5, rows=3, marker=False, source="a")
    v, _ = lifecycle.arrive(v, event_time=110, now=6, rows=0, marker=True, source="m")
    assert lifecycle.completion_deadline(v.progress, RULE) == pytest.approx(110.001)
    assert lifecycle.flush_reason(v.progress, RULE, 110.001, 7) == MARKER
    no_gap = CompletionRule(gap_seconds=None, max_wait_seconds=None)
    v, _ = lifecycle.arrive(None, event_time=100, now=5, rows=3, marker=False, source="a")
    assert lifecycle.completion_deadline(v.progress, no_gap) is None
    assert lifecycle.flush_reason(v.progress, no_gap, 1e12, 7) == END_OF_INPUT
    assert lifecycle.built(v, 100, keep_rows=False).phase == lifecycle.REMEMBERED


def _video(gk: str, frames: int, build: int = 1, feature: str = "box") -> FlushedVideo:
    lines = [
        json.dumps({"dataRow": {"globalKey": gk}, "name": feature, "f": i, "b": build}).encode()
        for i in range(frames)
    ]
    frag = fragment(("globalKey", gk, "name", feature), lines)
    return FlushedVideo(("globalKey", gk), (frag,), frames, GAP, build, 0.0, "s", 1.0, {"n": 1})


def test_packing_is_deterministic_keeps_a_video_whole_and_respects_the_limits():
    videos = [_video("a", 3), _video("b", 4), _video("c", 2)]
    limits = BatchLimits(max_lines=5, max_bytes=10_000)
    files = pack_videos(videos, limits)
    assert [f.data_rows for f in files] == [(("globalKey", "a"),), (("globalKey", "b"),),
                                            (("globalKey", "c"),)]  # fmt: skip
    assert [f.name for f in pack_videos(videos[::-1], limits)] == [f.name for f in files]
    assert all(f.name.startswith("batch-") and len(f.name) == 6 + 20 + 7 for f in files)
    together = pack_videos(videos, BatchLimits(max_lines=100, max_bytes=10_000))
    assert len(together) == 1 and together[0].lines == 9
    assert together[0].content == b"".join(v.fragments[0].data for v in videos)
    big = pack_videos([_video("big", 12)], limits)
    assert [f.lines for f in big] == [5, 5, 2]


def test_a_rebuild_in_the_same_batch_replaces_the_first_build():
    files = pack_videos([_video("a", 2, build=1), _video("a", 3, build=2)], BatchLimits())
    assert len(files) == 1 and files[0].lines == 3 and files[0].videos[0].build == 2


def test_dead_letter_files_are_named_by_content():
    name, content = dead_letter_file([b'{"a":1}', b'{"b":2}'])
    assert content == b'{"a":1}\n{"b":2}\n'
    assert name == dead_letter_file([b'{"a":1}', b'{"b":2}'])[0] != dead_letter_file([b"x"])[0]


def test_the_lifecycle_and_records_never_import_beam():
    code = (
        "import sys, transforms.streaming.lifecycle, transforms.streaming.records;"
        "assert not [m for m in sys.modules if m.startswith('apache_beam')], 'beam imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
