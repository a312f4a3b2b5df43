"""keyframer itself with --ledger: a second run over a growing folder converts only the new
file, a third has nothing to do. Local files and the FnApiRunner; the gs:// ledger, overlapping
launches and a run killed before its commit are in test_ledger.py."""

from __future__ import annotations

import shutil

import pytest

from pipeline import ledger

pytestmark = pytest.mark.pipeline


def _run(preds, out):
    from pipeline.run import run

    return run(
        [
            "--input",
            f"{preds}/**.parquet",
            "--output",
            f"{out}/{{date}}",
            "--frame_base",
            "1",
            "--ledger",
            "auto",
            "--runner",
            "FnApiRunner",
        ]
    )


def test_each_file_is_converted_by_exactly_one_run(tmp_path, sample_paths):
    preds, out = tmp_path / "preds", tmp_path / "labelbox"
    (preds / "day1").mkdir(parents=True)
    shutil.copy(sample_paths["parquet"], preds / "day1" / "a.parquet")
    _, first = _run(preds, out)
    (preds / "day2").mkdir()
    shutil.copy(sample_paths["parquet"], preds / "day2" / "b.parquet")
    _, second = _run(preds, out)
    result, third = _run(preds, out)
    assert first["counts"]["files_read"] == 1 and second["counts"]["files_read"] == 1
    assert first["input"].endswith("day1/a.parquet") and second["input"].endswith("b.parquet")
    assert result is None and third is None
    state = ledger.read_state(ledger.open_store(str(out / ledger.LEDGER_DIR)))
    assert len(state.committed) == 2 and len(state.claims) == 2
