"""The watch mode poll by poll (a fake clock, the real bounded pipeline): the same lines as a
batch run, late rows, and restarts after an interruption at each point of a flush."""

from __future__ import annotations

import json
import os

import pytest

from pipeline import watch_loop
from pipeline.watch import Watcher
from tests.watch.helpers import (
    batch_dead_letters,
    batch_lines,
    latest_lines,
    ledger,
    video,
    watch_late_dead_letters,
    watch_lines,
    watch_lines_by_flush,
    watch_read_dead_letters,
)

pytestmark = pytest.mark.pipeline

GAP = ("--video_gap_seconds", "10", "--allowed_lateness_seconds", "30")


def watcher(folder, clock, *extra, **kw) -> Watcher:
    w = Watcher(folder.settings(*GAP, *extra), folder.args(*GAP, *extra), clock=clock, **kw)
    w.restore()
    return w


def test_videos_with_and_without_markers_give_a_batch_runs_lines_and_dead_letters(
    folder, clock, tmp_path
):
    w = watcher(folder, clock)
    folder.drop("v1.parquet", video("v1", marker=True, bad=True))
    folder.drop("v2-a.parquet", video("v2", range(1, 4)))
    ids = [{**r, "global_key": None, "data_row_id": "ck3"} for r in video("x", marker=True)]
    folder.drop("v3.parquet", ids)
    assert w.poll() == 2  # the two marked videos at once
    assert w.state()["open_videos"] == 1
    clock.advance(5)
    folder.drop("v2-b.parquet", video("v2", range(4, 8)))
    assert w.poll() == 0
    clock.advance(9.9)
    assert w.poll() == 0  # 10 s gap from the newest file, not the first
    clock.advance(0.1)
    assert w.poll() == 1

    batch = batch_lines(folder.pattern, str(tmp_path / "batch"))
    assert sorted(watch_lines(folder.output)) == batch  # byte for byte, uuids included
    assert watch_read_dead_letters(folder.output) == batch_dead_letters(str(tmp_path / "batch"))
    assert sorted(watch_lines_by_flush(folder.output)) == ["flush-00000001", "flush-00000002"]
    state = ledger(folder.output)
    assert state["files"] == {} and state["pending_flush"] is None
    assert len(state["done_files"]) == 4
    assert state["counts"]["videos_built"] == 3
    assert state["counts"]["rows_read"] == 12 + 6 + 11 + 8
    assert state["counts"]["rejected.missing_geometry"] == 1


def test_late_rows_rebuild_the_whole_video_with_the_same_uuids_then_go_to_the_dead_letter(
    folder, clock, tmp_path
):
    w = watcher(folder, clock, "--late_row_horizon_seconds", "100")
    folder.drop("v1.parquet", video("v1", marker=True))
    assert w.poll() == 1
    first = {json.loads(x)["name"]: json.loads(x) for x in watch_lines(folder.output)}
    clock.advance(30)
    folder.drop("v1-late.parquet", video("v1", range(6, 8)))
    assert w.poll() == 1  # within the allowed lateness: rebuilt at once
    second = {
        json.loads(x)["name"]: json.loads(x)
        for x in watch_lines_by_flush(folder.output)["flush-00000002"]
    }
    assert {k: v["uuid"] for k, v in second.items()} == {k: v["uuid"] for k, v in first.items()}
    assert second != first
    assert latest_lines(folder.output) == batch_lines(folder.pattern, str(tmp_path / "b1"))
    assert ledger(folder.output)["videos"][0]["builds"] == 2
    assert ledger(folder.output)["counts"]["late_rows_rebuilt"] == 4

    clock.advance(31)  # after the lateness of the rebuild
    path = folder.drop("v1-later.parquet", video("v1", range(9, 10)))
    assert w.poll() == 0
    late = watch_late_dead_letters(folder.output)
    assert [(r["reason"], r["source"]["file"]) for r in late] == [("late_row", path)] * 2
    assert ledger(folder.output)["counts"]["late_rows"] == 2
    clock.advance(100)
    w.poll()
    assert w.state() == {
        "open_videos": 0,
        "held_rows": 0,
        "remembered_videos": 0,
        "files_pending": 0,
        "files_done": 3,
        "flush_pending": 0,
    }


class Interrupt(BaseException):
    """Stands for Ctrl-C or a kill at one point of a flush."""


def test_an_interruption_before_the_flush_is_written_redoes_it_on_restart(
    folder, clock, tmp_path, monkeypatch
):
    w = watcher(folder, clock)
    folder.drop("v1.parquet", video("v1", marker=True))
    folder.drop("v2.parquet", video("v2"))

    def interrupted(*args, **kwargs):
        raise Interrupt

    monkeypatch.setattr(watch_loop, "run_flush", interrupted)
    with pytest.raises(Interrupt):
        w.poll()
    assert ledger(folder.output)["pending_flush"]["seq"] == 1
    monkeypatch.undo()

    clock.advance(1)
    folder.drop("v3.parquet", video("v3", marker=True))  # arrives while it is down
    w = watcher(folder, clock)  # restart: redoes flush 1 (v1 only), before reading v3
    assert sorted(watch_lines_by_flush(folder.output)) == ["flush-00000001"]
    assert w.poll() == 1  # v3
    clock.advance(10)
    assert w.poll() == 1  # v2, by the gap counted from its first arrival
    assert sorted(watch_lines(folder.output)) == batch_lines(folder.pattern, str(tmp_path / "b"))


def test_an_interruption_after_the_flush_is_written_rewrites_the_same_files(
    folder, clock, tmp_path, monkeypatch
):
    w = watcher(folder, clock)
    folder.drop("v1.parquet", video("v1", marker=True, bad=True))
    real = watch_loop.run_flush

    def written_then_interrupted(*args, **kwargs):
        real(*args, **kwargs)
        raise Interrupt

    monkeypatch.setattr(watch_loop, "run_flush", written_then_interrupted)
    with pytest.raises(Interrupt):
        w.poll()
    monkeypatch.undo()
    flush_dir = os.path.join(folder.output, "flush-00000001")
    batch_file = os.path.join(flush_dir, "batch-00000-of-00001.ndjson")
    with open(batch_file, "rb") as f:
        written = f.read()

    w = watcher(folder, clock)  # restart: the same flush again, in the same place
    with open(batch_file, "rb") as f:
        assert f.read() == written
    assert sorted(os.listdir(flush_dir)) == ["batch-00000-of-00001.ndjson", "manifest.json"]
    assert ledger(folder.output)["pending_flush"] is None
    assert w.poll() == 0
    assert sorted(watch_lines(folder.output)) == batch_lines(folder.pattern, str(tmp_path / "b"))
    assert ledger(folder.output)["counts"]["rows_read"] == 12  # read twice, counted once


def test_a_failing_flush_sink_keeps_the_flush_pending_and_reads_nothing_new(folder, clock, caplog):
    calls = []

    def sink(report):
        calls.append([v.data_row for v in report.videos])
        if len(calls) == 1:
            raise RuntimeError("token=secret")

    w = watcher(folder, clock, on_flush=sink)
    folder.drop("v1.parquet", video("v1", marker=True))
    assert w.poll() == 0
    v2 = folder.drop("v2.parquet", video("v2", marker=True))
    assert ledger(folder.output)["pending_flush"]["seq"] == 1
    assert w.poll() == 1  # the retry: v1 again, v2 not read meanwhile
    assert not w.ledger.known(v2)
    assert calls == [[("globalKey", "v1")], [("globalKey", "v1")]]
    assert len(watch_lines(folder.output)) == 2
    assert ledger(folder.output)["pending_flush"] is None
    assert "RuntimeError" in caplog.text
    assert "secret" not in caplog.text
