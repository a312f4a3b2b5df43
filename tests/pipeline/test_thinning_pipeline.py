"""The pipeline with keyframe thinning on: same output shape, fewer keyframes, counters that add
up, and every input frame reconstructed within the tolerance."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.pipeline.conftest import output_lines, run_keyframer
from transforms.core.thinning import interpolate

pytestmark = pytest.mark.pipeline


def _objects(out: str) -> dict:
    lines = [json.loads(x) for x in output_lines(out)]
    return {(json.dumps(x["dataRow"]), x.get("name"), x["uuid"]): x for x in lines}


def _iou(a, b):
    top, left = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    bottom = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    right = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(bottom - top, 0, None) * np.clip(right - left, 0, None)
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


def test_thinning_keeps_shape_and_bound(tmp_path, sample_paths):
    dense_out, thin_out = str(tmp_path / "dense"), str(tmp_path / "thin")
    dense = run_keyframer(sample_paths["parquet"], dense_out)
    thin = run_keyframer(sample_paths["parquet"], thin_out, "--keyframe_tolerance", "iou:0.9,px:2")
    d, t = _objects(dense_out), _objects(thin_out)
    # Same lines (same uuids), same segments with the same first and last frames.
    assert d.keys() == t.keys()
    for k, line in d.items():
        if "segments" not in line:
            assert t[k] == line
            continue
        thin_segs = t[k]["segments"]
        assert len(thin_segs) == len(line["segments"])
        for ds, ts in zip(line["segments"], thin_segs, strict=True):
            dk, tk = ds["keyframes"], ts["keyframes"]
            assert tk[0] == dk[0] and tk[-1] == dk[-1]
            assert {json.dumps(x, sort_keys=True) for x in tk} <= {
                json.dumps(x, sort_keys=True) for x in dk
            }
            if "bbox" in dk[0]:
                # Every dense keyframe is reproduced by interpolating the thinned ones.
                cols = ("top", "left", "height", "width")
                frames = np.array([x["frame"] for x in dk])
                values = np.array([[x["bbox"][c] for c in cols] for x in dk])
                kept_f = np.array([x["frame"] for x in tk])
                kept_v = np.array([[x["bbox"][c] for c in cols] for x in tk])
                assert (_iou(interpolate(kept_f, kept_v, frames), values) >= 0.9 - 1e-9).all()
    dc, tc = dense["counts"], thin["counts"]
    assert tc["keyframes_in"] == dc["keyframes"] == dc["keyframes_in"]
    assert tc["keyframes"] < dc["keyframes"]
    assert tc["keyframes"] == sum(
        len(s["keyframes"]) for x in t.values() for s in x.get("segments", [])
    )
    assert tc["segments"] == dc["segments"] and tc["objects"] == dc["objects"]
    assert 0 < tc["max_error_iou"] <= 0.1 + 1e-9
    assert 0 <= tc["max_error_px"] <= 2 + 1e-9
    assert thin["reconciled"]


def test_keyframes_with_changing_subclassifications_are_kept(tmp_path, sample_paths):
    out = str(tmp_path / "thin")
    run_keyframer(sample_paths["parquet"], out, "--keyframe_tolerance", "car=px:1000")
    car = next(x for x in _objects(out).values() if x.get("name") == "car")
    frames = [k["frame"] for s in car["segments"] for k in s["keyframes"]]
    # The car moves linearly, so only its ends and the keyframe where its nested "occluded"
    # answer changes (frame 12; frames 1-11 carry the same answer as frame 1) are needed.
    rows = pq.read_table(sample_paths["parquet"]).to_pylist()
    car_frames = sorted(r["frame"] for r in rows if r["feature_name"] == "car")
    assert frames == [car_frames[0], 12, car_frames[-1]]
