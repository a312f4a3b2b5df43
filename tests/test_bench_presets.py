"""The benchmark's shapes of data and the generator options they use (no timing)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.datasets import generate_table
from bench.datasets.cache import DataSpec
from bench.datasets.presets import CLIP, LONG, MINUTE, SHAPES, long_shape
from bench.harness.programs import FLOOR, KEYFRAMER, NAIVE
from bench.harness.results import Measurement, Result, ratio, round_ratio
from bench.run import parse_args
from bench.sections.comparison import ShapeRun
from bench.sections.comparison_report import report_comparison


def _frames(table: pa.Table) -> list[int]:
    out = []
    for key in pc.unique(table["global_key"]).to_pylist():
        frames = table.filter(pc.equal(table["global_key"], key))["frame"]
        bounds = pc.min_max(frames).as_py()
        out.append(bounds["max"] - bounds["min"] + 1)
    return out


def test_videos_per_shape() -> None:
    assert MINUTE.videos_for(1_000_000) == 200 and MINUTE.videos_for(5_000_000) == 1000
    assert CLIP.videos_for(5_000_000) == 5000
    assert LONG.videos_for(1_000_000) == LONG.videos_for(5_000_000) == 200
    assert list(SHAPES) == ["minute", "clip", "long"]
    assert long_shape() is LONG and long_shape(10, 3).spec(1000).videos == 10


def test_spec_names_are_distinct_and_keep_the_historical_name() -> None:
    assert LONG.spec(1_000_000).name == "1m-200v-5t.parquet"
    names = {s.spec(1_000_000).name for s in SHAPES.values()}
    assert names == {
        "1m-200v-5t.parquet",
        "1m-200v-5t-full.parquet",
        "1m-1000v-2-3t-300f-full.parquet",
    }
    spec = CLIP.spec(50_000)
    assert "--tracks-max" in spec.generator_args() and "--full-precision" in spec.generator_args()
    assert DataSpec(1000).generator_args()[-2:] == ["--layout", "single"]


def test_minute_and_clip_shapes() -> None:
    minute = generate_table(25_000, 5, MINUTE.tracks, target_frames=1800, decimals=None)
    assert 1200 < np.mean(_frames(minute)) < 2400
    clip = generate_table(10_000, 10, 2, target_frames=300, tracks_max=3, decimals=None)
    assert 250 < np.mean(_frames(clip)) < 420
    boxes = clip.filter(pc.equal(clip["kind"], "bbox"))
    per_video = {
        key: len(pc.unique(boxes.filter(pc.equal(boxes["global_key"], key))["track_id"]))
        for key in pc.unique(boxes["global_key"]).to_pylist()
    }
    assert set(per_video.values()) == {2, 3}


def test_full_precision_keeps_every_digit() -> None:
    rounded = generate_table(5_000, 2, 3, seed=1)
    full = generate_table(5_000, 2, 3, seed=1, decimals=None)
    left_r = rounded["bbox_left"].drop_null().to_numpy()
    left_f = full["bbox_left"].drop_null().to_numpy()
    assert np.array_equal(np.round(left_r, 2), left_r)
    assert not np.array_equal(np.round(left_f, 2), left_f)
    assert np.allclose(left_f, left_r, atol=0.006)  # the same draws, not rounded


def _runs(rows: int, walls: list[float], cpu: float | None = None) -> Result:
    """A program's result of one run per wall time (CPU time = wall time unless given)."""
    runs = [
        Measurement("p", rows, w, 100 * 1024, w if cpu is None else cpu, None, None)  # type: ignore[arg-type]
        for w in walls
    ]
    return Result("x", runs)


def _result(rows: int, wall: float, cpu: float) -> Result:
    return _runs(rows, [wall], cpu)


def test_round_ratio_pairs_the_runs_of_each_round() -> None:
    # The second round ran on a slow minute for the floor, the third for keyframer: by round
    # keyframer is 0.9x the floor in the first, the median of the three.
    kf = _runs(1_000, [1.0, 2.0, 3.0])
    floor = _runs(1_000, [0.9, 2.9, 1.1])
    assert round_ratio(kf, floor) == "0.90x (0.37-1.45)"
    assert ratio(kf, floor) == "0.55x"  # of the medians: 1.1 s against 2.0 s
    assert round_ratio(_runs(1_000, [2.0]), _runs(1_000, [1.0])) == "0.50x"
    assert round_ratio(kf, None) == "-"


def test_comparison_report_has_every_table() -> None:
    args = parse_args(["--quick"])
    runs = []
    for shape in (MINUTE, CLIP, LONG):
        for rows in (1_000_000, 5_000_000):
            results = {
                KEYFRAMER: _result(rows, rows / 6e5, 1.0),
                FLOOR: _result(rows, rows / 8e5, 1.0),
            }
            if rows == 1_000_000:
                results[NAIVE] = _result(rows, rows / 2e4, 50.0)
            runs.append(ShapeRun(shape, shape.spec(rows), results))
    per_key = [
        ShapeRun(
            MINUTE,
            MINUTE.spec(1_000_000, videos=v),
            {KEYFRAMER: _result(1, 1, c), FLOOR: _result(1, 1, c / 2)},
        )
        for v, c in ((50, 3.0), (800, 6.0))
    ]
    text = report_comparison(runs, per_key, args)
    assert "minute 5m keyframer" in text and "clip 1m naive" in text
    assert "30.00x" in text  # keyframer at 5m (600k rows/s) over naive at 1m (20k rows/s)
    assert "minute / long 5m" in text and "clip / long 1m" in text
    assert "2.00x" in text  # the per-key CPU ratio
