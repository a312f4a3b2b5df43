"""The watch mode end to end on the real clock: files renamed into a folder while it runs, and
a watcher process interrupted (Ctrl-C, then a kill in the middle of a flush) and restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from pipeline.watch import INTERRUPTED, run_watch
from tests.watch.helpers import batch_lines, video, watch_lines

pytestmark = pytest.mark.pipeline

FAST = ("--watch_interval_seconds", "0.2", "--video_gap_seconds", "2")
MARKERS_ONLY = ("--watch_interval_seconds", "0.2", "--video_gap_seconds", "600")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_until(condition, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_files_renamed_in_while_it_runs_are_built_as_their_videos_complete(folder, tmp_path):
    reports = []
    stop = threading.Event()
    codes = []
    thread = threading.Thread(
        target=lambda: codes.append(
            run_watch(
                folder.args(*FAST), folder.settings(*FAST), stop=stop, on_flush=reports.append
            )
        )
    )
    thread.start()
    try:
        built = lambda: {v.data_row[1]: v.trigger for r in reports for v in r.videos}  # noqa: E731
        folder.drop("v1.parquet", video("v1", marker=True))
        wait_until(lambda: "v1" in built(), what="v1")
        folder.drop("v2-a.parquet", video("v2", range(1, 4)))
        time.sleep(0.5)
        folder.drop("v2-b.parquet", video("v2", range(4, 9)))
        folder.drop("v3.parquet", video("v3", marker=True, bad=True))
        wait_until(lambda: len(built()) == 3, what="three videos")
    finally:
        stop.set()
        thread.join()
    assert codes == [0]
    assert built() == {"v1": "marker", "v2": "gap", "v3": "marker"}
    assert sorted(watch_lines(folder.output)) == batch_lines(folder.pattern, str(tmp_path / "b"))


def read_ledger(output: str) -> dict:
    try:
        with open(os.path.join(output, "_watch", "ledger.json"), "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return {"counts": {}, "files": {}, "pending_flush": None}


def start(folder, log) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pipeline.watch", *folder.args(*MARKERS_ONLY)]
    return subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)


def test_an_interrupted_and_killed_watcher_resumes_without_loss_or_duplicates(folder, tmp_path):
    log = open(tmp_path / "watch.log", "ab")  # noqa: SIM115 - shared by three processes
    out = folder.output
    built = lambda: read_ledger(out)["counts"].get("videos_built", 0)  # noqa: E731
    first = start(folder, log)
    try:
        folder.drop("v1.parquet", video("v1", marker=True))
        folder.drop("v2-a.parquet", video("v2", range(1, 4)))  # no marker: v2 stays open
        wait_until(lambda: built() == 1, what="v1 built")
        assert "v2-a.parquet" in " ".join(read_ledger(out)["files"])  # read, not built
        first.send_signal(signal.SIGINT)
        assert first.wait(120) == INTERRUPTED

        folder.drop("v2-b.parquet", video("v2", range(4, 7), marker=True))  # while it is down
        folder.drop("v3.parquet", video("v3", marker=True, bad=True))
        second = start(folder, log)
        wait_until(lambda: built() == 3, what="v2 and v3 built")
        folder.drop("v4.parquet", video("v4", marker=True))
        wait_until(lambda: read_ledger(out)["pending_flush"] is not None, what="flush of v4")
        second.kill()  # in the middle of the flush
        second.wait(30)
        assert built() == 3

        folder.drop("v5.parquet", video("v5", range(2, 5), marker=True))
        third = start(folder, log)
        wait_until(lambda: built() == 5 and not read_ledger(out)["files"], what="v4 and v5")
        third.send_signal(signal.SIGINT)
        assert third.wait(120) == INTERRUPTED
    finally:
        for p in (first, locals().get("second"), locals().get("third")):
            if p is not None and p.poll() is None:
                p.kill()
        log.close()
    assert sorted(watch_lines(out)) == batch_lines(folder.pattern, str(tmp_path / "batch"))
    assert read_ledger(out)["counts"]["rows_read"] == 11 + 6 + 7 + 12 + 11 + 7
    assert read_ledger(out)["counts"]["rebuilds"] == 0
