"""The watch mode's per-video decisions (VideoBook), without files or a pipeline."""

from __future__ import annotations

import json

import pytest

from pipeline.watch_ledger import FileEntry, WatchLedger
from pipeline.watch_reading import FileRows, split_by_data_row
from pipeline.watch_videos import LATE_ROW, LATE_ROWS, VideoBook
from tests.watch.helpers import video
from transforms.core.columns import table_from_rows
from transforms.core.completion import GAP, MARKER, MAX_WAIT, CompletionRule

V1, V2 = ("globalKey", "v1"), ("globalKey", "v2")
T0 = 1_000.0


def file_rows(path: str, *videos: tuple[str, bool], frames=range(1, 4)) -> FileRows:
    """A file's checked rows: each (global key, marker) gives a video's rows."""
    rows, markers = {}, set()
    for gk, marker in videos:
        rows.update(split_by_data_row(table_from_rows(video(gk, frames))))
        if marker:
            markers.add(("globalKey", gk))
    return FileRows(path, rows, markers, [], {})


def book(**rule) -> VideoBook:
    return VideoBook(CompletionRule(**rule), WatchLedger())


def test_a_marker_completes_its_video_at_once_and_only_its_own():
    b = book(gap_seconds=10)
    b.admit(file_rows("a", ("v1", True), ("v2", False)), T0)
    assert b.due_videos(watermark=T0, now=T0) == {V1: MARKER}


def test_the_idle_gap_counts_from_the_newest_rows_event_time():
    b = book(gap_seconds=10)
    b.admit(file_rows("a", ("v1", False)), T0)
    b.admit(file_rows("b", ("v1", False)), T0 + 6)
    assert b.due_videos(watermark=T0 + 15.9, now=T0 + 15.9) == {}
    assert b.due_videos(watermark=T0 + 16, now=T0 + 16) == {V1: GAP}
    assert b.open[V1].files == ["a", "b"]
    assert b.held_rows == 2 * 6


def test_max_wait_builds_a_video_that_never_goes_quiet():
    b = book(gap_seconds=5, max_wait_seconds=12)
    for i in range(12):
        b.admit(file_rows(f"f{i}", ("v1", False)), T0 + i)
        assert b.due_videos(watermark=T0 + i, now=T0 + i) == {}
    assert b.due_videos(watermark=T0 + 12, now=T0 + 12) == {V1: MAX_WAIT}


def test_a_late_row_within_the_allowed_lateness_reopens_the_whole_video_for_a_rebuild():
    b = book(gap_seconds=5, allowed_lateness_seconds=30)
    b.admit(file_rows("a", ("v1", True)), T0)
    b.mark_built(V1, flush=1, built_at=T0)
    assert b.open == {}
    admission = b.admit(file_rows("late", ("v1", False)), T0 + 30)
    assert (admission.rebuilds, admission.rebuilt_rows) == ([V1], 6)
    assert b.due_videos(watermark=T0 + 30, now=T0 + 30) == {V1: LATE_ROWS}
    assert b.open[V1].files == ["a", "late"]  # the earlier file is read again when built
    assert list(b.open[V1].held) == ["late"]
    built = b.mark_built(V1, flush=2, built_at=T0 + 30)
    assert (built.builds, built.flush, built.files) == (2, 2, ["a", "late"])


def test_rows_after_the_lateness_go_to_the_dead_letter_as_late_row():
    b = book(allowed_lateness_seconds=30, late_row_horizon_seconds=100)
    b.admit(file_rows("a", ("v1", True)), T0)
    b.mark_built(V1, flush=1, built_at=T0)
    admission = b.admit(file_rows("later", ("v1", False)), T0 + 31)
    assert admission.late_rows == 6
    assert admission.pending == []
    records = [json.loads(x) for x in admission.late_dead_letters]
    assert {r["reason"] for r in records} == {LATE_ROW}
    assert {r["source"]["file"] for r in records} == {"later"}
    assert {r["row"]["global_key"] for r in records} == {"v1"}
    assert b.open == {}


def test_after_the_horizon_a_video_is_forgotten_and_new_rows_start_a_new_one():
    b = book(allowed_lateness_seconds=30, late_row_horizon_seconds=100)
    b.admit(file_rows("a", ("v1", True)), T0)
    b.mark_built(V1, flush=1, built_at=T0)
    assert b.expire(T0 + 130) == 0
    assert b.expire(T0 + 130.5) == 1
    assert b.ledger.videos == {}
    admission = b.admit(file_rows("much-later", ("v1", False)), T0 + 131)
    assert admission.opened == [V1]


def test_a_late_marker_alone_rebuilds_nothing():
    b = book(allowed_lateness_seconds=30)
    b.admit(file_rows("a", ("v1", False)), T0)
    b.mark_built(V1, flush=1, built_at=T0)
    marker_only = FileRows("m", {}, {V1}, [], {})
    admission = b.admit(marker_only, T0 + 1)
    assert (admission.pending, admission.already_built) == ([], [V1])
    assert b.open == {}


def test_a_file_is_done_once_every_video_it_fed_is_built():
    b = book(gap_seconds=5)
    b.admit(file_rows("a", ("v1", True), ("v2", False)), T0)
    b.ledger.files["a"] = FileEntry(10, 1.0, T0, [V1, V2], [V1, V2])
    b.mark_built(V1, flush=1, built_at=T0)
    assert b.ledger.files["a"].pending == [V2]
    assert "a" not in b.ledger.done_files
    b.mark_built(V2, flush=2, built_at=T0 + 5)
    assert "a" not in b.ledger.files
    assert b.ledger.done_files["a"] == (10, 1.0)


def test_a_file_read_again_feeds_only_the_videos_it_still_owes():
    b = book(gap_seconds=5)
    admission = b.admit(file_rows("a", ("v1", True), ("v2", False)), T0, only={V2})
    assert admission.opened == [V2]
    assert set(b.open) == {V2}


def test_a_file_already_built_into_a_video_is_not_counted_twice():
    b = book(gap_seconds=5)
    b.admit(file_rows("a", ("v1", True)), T0)
    b.mark_built(V1, flush=1, built_at=T0)
    admission = b.admit(file_rows("a", ("v1", True)), T0)
    assert admission.already_built == [V1]
    assert b.open == {}


@pytest.mark.parametrize("gk", ["a/b\x1fc", "ü ✓", "1"])
def test_rows_split_by_data_row_whatever_the_key(gk):
    rows = (
        video(gk)
        + video("other")
        + [{**r, "global_key": None, "data_row_id": gk} for r in video("x")]
    )
    parts = split_by_data_row(table_from_rows(rows))
    assert {k: t.num_rows for k, t in parts.items()} == {
        ("globalKey", gk): 10,
        ("globalKey", "other"): 10,
        ("id", gk): 10,
    }
    assert parts[("globalKey", gk)].column("frame").to_pylist() == [1, 2, 3, 4, 5] * 2
