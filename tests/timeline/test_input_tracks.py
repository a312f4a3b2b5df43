"""The input's tracks as the pipeline sees them: keyed and de-duplicated by the core."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from timeline.loading import load_timeline
from transforms.core.columns import table_from_rows

pytestmark = pytest.mark.pipeline


def convert(input_path: str, output: str) -> dict:
    from pipeline.run import run

    argv = ["--input", input_path, "--output", output, "--frame_base", "0"]
    return run([*argv, "--runner", "FnApiRunner"])[1]


def box(f: int, top: float, **extra) -> dict:
    return {
        "data_row_id": "dr-1",
        "feature_name": "box",
        "kind": "bbox",
        "frame": f,
        "track_id": "a",
        "confidence": 0.8,
        "bbox_top": top,
        "bbox_left": 20.0,
        "bbox_height": 40.0,
        "bbox_width": 30.0,
        **extra,
    }


def test_duplicates_and_keys_resolve_as_in_the_pipeline(tmp_path):
    """An exact confidence tie goes to the row the core keeps (by content, not by file
    order); rows with an empty global key are the same key and track, as the pipeline keys
    them."""
    rows = []
    for f in range(20):
        extra = {"global_key": ""} if f >= 10 else {}  # an empty global key counts as missing
        if f == 6:  # first in the file, equally confident: the core keeps the other row
            rows.append(box(f, 900.0, **extra))
        rows.append(box(f, 10.0 + f, **extra))
    path = str(tmp_path / "in.parquet")
    pq.write_table(table_from_rows(rows), path)
    output = str(tmp_path / "out")
    manifest = convert(path, output)
    assert manifest["counts"]["duplicate_frames"] == 1 and not manifest["rejected"]

    timeline = load_timeline(output, "dr-1", path, 0)
    (track,) = timeline.tracks
    assert track.matched and track.track_id == "a"
    assert not timeline.notes
    assert track.outside_frames == 0
    assert np.isfinite(track.error_frames).sum() == 20  # one input track, every frame once
    assert track.max_errors["px"] == pytest.approx(0, abs=1e-9)  # the row the pipeline kept
    assert track.max_errors["iou"] == pytest.approx(0, abs=1e-9)
