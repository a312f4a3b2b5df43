"""The watch ledger's file: a round trip, atomic writes, a refused version."""

from __future__ import annotations

import os

import pytest

from pipeline.watch_ledger import (
    BuiltVideo,
    FileEntry,
    PendingFlush,
    WatchLedger,
    ledger_from_json,
    ledger_path,
    load_ledger,
    save_ledger,
)

V1, V2 = ("globalKey", "v/1"), ("id", "ck1")


def full_ledger() -> WatchLedger:
    return WatchLedger(
        next_flush=4,
        counts={"rows_read": 12, "late_rows": 1},
        files={"/in/a.parquet": FileEntry(100, 5.5, 1000.25, [V1, V2], [V2])},
        done_files={"/in/b.parquet": (7, 6.0)},
        videos={V1: BuiltVideo(V1, 1001.0, 2, 3, ["/in/a.parquet", "/in/b.parquet"])},
        pending_flush=PendingFlush(4, 1002.5, {V2: ["/in/a.parquet"]}, {V2: "gap"}),
    )


def test_the_ledger_survives_a_round_trip_through_its_file(tmp_path):
    output = str(tmp_path / "out")
    assert load_ledger(output) == WatchLedger()  # none yet: empty
    save_ledger(output, full_ledger())
    assert load_ledger(output) == full_ledger()
    assert ledger_from_json(full_ledger().to_json()) == full_ledger()


def test_saving_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path):
    output = str(tmp_path)
    save_ledger(output, WatchLedger())
    save_ledger(output, full_ledger())
    folder = os.path.dirname(ledger_path(output))
    assert os.listdir(folder) == ["ledger.json"]
    assert load_ledger(output).next_flush == 4


def test_settling_the_last_pending_data_row_moves_the_file_to_done():
    ledger = full_ledger()
    ledger.settle("/in/a.parquet", V1)  # not pending: nothing changes
    assert ledger.files["/in/a.parquet"].pending == [V2]
    ledger.settle("/in/a.parquet", V2)
    assert ledger.done_files["/in/a.parquet"] == (100, 5.5)
    assert ledger.known("/in/a.parquet")
    assert ledger.stamp("/in/a.parquet") == (100, 5.5)
    assert not ledger.known("/in/c.parquet")


def test_a_ledger_of_another_version_is_refused():
    data = full_ledger().to_json().replace(b'"version": 1', b'"version": 99')
    with pytest.raises(ValueError, match="version 99"):
        ledger_from_json(data)
