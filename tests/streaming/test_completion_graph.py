"""The streaming graph under TestStream on the BundleBasedDirectRunner: each completion
trigger, late rows within and after the allowed lateness, state cleared after each flush."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.streaming_build import BATCHER_SHARDS as SHARDS
from tests.rows import bbox, write_parquet
from tests.streaming.harness import (
    T0,
    Files,
    PastProcessingTime,
    Watermark,
    batch_core_lines,
    batch_lines,
    batch_records,
    dead_letter_records,
    run_stream,
    streaming_settings,
)
from transforms.streaming.videos import shard_of

pytestmark = pytest.mark.pipeline

MARKER = {"global_key": "v.mp4", "kind": "video_end"}
ZERO = {"state.rows_held": 0, "state.videos_open": 0, "state.videos_kept": 0}


@pytest.fixture
def write(tmp_path):
    os.makedirs(tmp_path / "in")

    def _write(name: str, rows: list[dict]) -> str:
        return write_parquet(rows, str(tmp_path / "in" / f"{name}.parquet"))

    return _write


def _videos(records: list[dict]) -> list[tuple[str, str, int]]:
    """(data row, reason, build) of every video in the batch records, in file order."""
    out = []
    for r in sorted(records, key=lambda r: r["written_at"]):
        for v in r["videos"]:
            out.append((next(iter(v["data_row"].values())), v["reason"], v["build"]))
    return out


def test_a_marker_completes_its_video_once_the_watermark_passes_the_marker(tmp_path, write):
    a = write("a", [bbox(1), bbox(2), bbox(3, feature="other")])
    m = write("m", [MARKER])
    s = streaming_settings(str(tmp_path), gap=600.0)
    run = run_stream(
        [
            Files(T0, (a,)),
            Files(T0 + 5, (m,)),
            Watermark(T0 + 6),  # far before the idle gap (600 s)
            PastProcessingTime(31),  # the batcher's --batch_max_seconds (30)
        ],
        s,
    )
    assert sorted(batch_lines(s)) == batch_core_lines([a])
    assert _videos(batch_records(s)) == [("v.mp4", "marker", 1)]
    assert [r["trigger"] for r in batch_records(s)] == ["max_seconds"]
    stats = run.stats()
    assert stats["videos_flushed.marker"] == 1 and stats["markers"] == 1
    # Right after the flush (stamped just past the marker's file) nothing is open.
    assert run.held(up_to=T0 + 5.01)["state.videos_open"] == 0
    assert run.held(up_to=T0 + 5.01)["state.videos_kept"] == 1


def test_an_idle_gap_completes_a_video_and_not_one_still_receiving_rows(tmp_path, write):
    a1 = write("a1", [bbox(1, global_key="a")])
    a2 = write("a2", [bbox(2, global_key="a")])
    b1 = write("b1", [bbox(1, global_key="b")])
    b2 = write("b2", [bbox(5, global_key="b")])
    s = streaming_settings(str(tmp_path), gap=60.0)
    run = run_stream(
        [
            Files(T0, (a1,)),
            Files(T0 + 30, (a2,)),
            Files(T0 + 50, (b1,)),
            Watermark(T0 + 95),  # a: idle since T0+30 (> 60 s); b: since T0+50 (< 60 s)
            PastProcessingTime(31),
            Files(T0 + 100, (b2,)),
            Watermark(T0 + 200),
            PastProcessingTime(62),
        ],
        s,
    )
    records = sorted(batch_records(s), key=lambda r: r["written_at"])
    assert _videos(records) == [("a", "gap", 1), ("b", "gap", 1)]
    assert [r["videos"][0]["rows"] for r in records] == [2, 2]
    assert sorted(batch_lines(s)) == batch_core_lines([a1, a2, b1, b2])
    assert run.stats()["videos_flushed.gap"] == 2


def test_max_wait_builds_a_video_that_never_goes_quiet(tmp_path, write):
    a = write("a", [bbox(1), bbox(2)])
    s = streaming_settings(str(tmp_path), gap=None, max_wait=1000.0)
    run = run_stream(
        [
            Files(T0, (a,)),
            Watermark(T0 + 10_000),  # no gap trigger, no marker: only max wait can build it
            PastProcessingTime(1000),
            PastProcessingTime(2000),  # past the batcher's bound, counted from the build
            Watermark(T0 + 20_000),
        ],
        s,
    )
    assert _videos(batch_records(s)) == [("v.mp4", "max_wait", 1)]
    assert sorted(batch_lines(s)) == batch_core_lines([a])
    assert run.stats()["videos_flushed.max_wait"] == 1
    assert "videos_flushed.end_of_input" not in run.stats()


def test_a_late_row_within_the_lateness_rebuilds_the_whole_video_with_the_same_uuids(
    tmp_path, write
):
    a = write("a", [bbox(1), bbox(2)])
    late = write("late", [bbox(3), bbox(1, feature="new")])
    s = streaming_settings(str(tmp_path), gap=60.0, lateness=120.0)
    run = run_stream(
        [
            Files(T0, (a,)),
            Watermark(T0 + 61),  # built (gap) at T0+60; rows kept until T0+180
            PastProcessingTime(31),
            Files(T0 + 100, (late,)),
            Watermark(T0 + 161),
            PastProcessingTime(62),
            Watermark(T0 + 170),
        ],
        s,
    )
    records = sorted(batch_records(s), key=lambda r: r["written_at"])
    assert _videos(records) == [("v.mp4", "gap", 1), ("v.mp4", "gap", 2)]
    first, second = (Path(r["file"]).read_text().splitlines() for r in records)
    assert sorted(first) == batch_core_lines([a])
    assert sorted(second) == batch_core_lines([a, late])  # whole, not only the late rows
    uuids = {json.loads(x)["name"]: json.loads(x)["uuid"] for x in first}
    again = {json.loads(x)["name"]: json.loads(x)["uuid"] for x in second}
    assert again["box"] == uuids["box"]
    assert records[0]["name"] != records[1]["name"]
    stats = run.stats()
    assert stats["videos_rebuilt"] == 1 and stats["videos_reopened"] == 1
    assert stats["late_rows"] == 2
    assert "rejected.late_row" not in stats


def test_after_the_lateness_late_rows_are_dead_letters_and_state_is_collected(tmp_path, write):
    a = write("a", [bbox(1), bbox(2)])
    late = write("late", [bbox(3)])
    later = write("later", [bbox(7)])
    s = streaming_settings(str(tmp_path), gap=60.0, lateness=30.0, horizon=100.0)
    # Built at T0+60; rows dropped at T0+90; forgotten at T0+190.
    run = run_stream(
        [
            Files(T0, (a,)),
            Watermark(T0 + 61),
            PastProcessingTime(31),
            Watermark(T0 + 95),
            Files(T0 + 120, (late,)),
            Watermark(T0 + 200),
            Files(T0 + 300, (later,)),  # forgotten: a new video of its own
            Watermark(T0 + 400),
            PastProcessingTime(62),
            Watermark(T0 + 1000),
        ],
        s,
    )
    dead = dead_letter_records(s)
    assert [(d["reason"], d["row"]["frame"], d["row"]["global_key"]) for d in dead] == [
        ("late_row", 3, "v.mp4")
    ]
    assert dead[0]["source"]["file"] == late
    records = sorted(batch_records(s), key=lambda r: r["written_at"])
    assert _videos(records) == [("v.mp4", "gap", 1), ("v.mp4", "gap", 1)]
    assert [r["videos"][0]["rows"] for r in records] == [2, 1]
    stats = run.stats()
    assert stats["rejected.late_row"] == 1 and stats["late_rows"] == 1
    assert stats["videos_forgotten"] == 2
    # The state held, step by step (deltas stamped with the event time they happened at).
    assert run.held(up_to=T0 + 30) == {"state.rows_held": 2, "state.videos_open": 1}
    assert run.held(up_to=T0 + 61) == {**ZERO, "state.rows_held": 2, "state.videos_kept": 1}
    assert run.held(up_to=T0 + 95) == {**ZERO, "state.videos_remembered": 1}
    assert run.held(up_to=T0 + 200) == {**ZERO, "state.videos_remembered": 0}
    assert run.held() == {**ZERO, "state.videos_remembered": 0}
    assert run.runner_state("BuildVideos/VideoState") == {"keys": 1, "states": 0, "timers": 0}
    assert run.runner_state("BatchVideos/Batcher")["states"] == 0
    assert run.runner_state("BatchVideos/Batcher")["timers"] == 0


def test_the_batcher_writes_a_file_when_the_next_video_would_pass_the_line_limit(tmp_path, write):
    # Videos of one batcher shard, of 2 lines each (two features), a limit of 5 lines: a file
    # per 2 videos, written as soon as a third would not fit; the last one when the watermark
    # reaches the end (a drain; --batch_max_seconds is far).
    names = [n for n in (f"v{i}" for i in range(100)) if shard_of(("globalKey", n), SHARDS) == 0]
    files = [
        write(n, [bbox(1, global_key=n), bbox(1, global_key=n, feature="b")]) for n in names[:5]
    ]
    s = streaming_settings(str(tmp_path), gap=60.0, batch_lines=5, batch_seconds=1e6)
    events = []
    for i, path in enumerate(files):
        events += [Files(T0 + 100 * i, (path,)), Watermark(T0 + 100 * i + 61)]
    run = run_stream(events, s)
    records = sorted(batch_records(s), key=lambda r: r["written_at"])
    assert [(r["trigger"], r["lines"]) for r in records] == [
        ("lines", 4),
        ("lines", 4),
        ("drain", 2),
    ]
    assert sorted(batch_lines(s)) == batch_core_lines(files)
    assert run.stats()["videos_flushed.gap"] == 5


def test_a_video_the_core_fails_on_becomes_an_internal_error_and_its_state_still_goes(
    tmp_path, write, monkeypatch
):
    def broken(chunks, config):
        raise RuntimeError("defect")

    monkeypatch.setattr("transforms.streaming.video_builds.annotate_video", broken)
    a = write("a", [bbox(1), bbox(2)])
    s = streaming_settings(str(tmp_path), gap=60.0)
    run = run_stream([Files(T0, (a,)), Watermark(T0 + 61), Watermark(T0 + 5000)], s)
    dead = dead_letter_records(s)
    assert [(d["reason"], d["rows"], d["data_row"]) for d in dead] == [
        ("internal_error", 2, {"globalKey": "v.mp4"})
    ]
    assert "RuntimeError: defect" in dead[0]["detail"]
    assert batch_lines(s) == []
    assert run.stats()["rejected.internal_error"] == 2
    assert run.runner_state("BuildVideos/VideoState") == {"keys": 1, "states": 0, "timers": 0}
