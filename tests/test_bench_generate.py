"""The synthetic benchmark generator: row counts, schema, shape of the data, both formats."""

from __future__ import annotations

import json
from pathlib import Path

import fastavro
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from bench.generate import (
    GAP_HIGH,
    GAP_LOW,
    avro_schema,
    generate_table,
    global_key,
    iter_video_tables,
    main,
    write_avro,
)
from transforms.core.columns import SCHEMA

ROWS, VIDEOS, TRACKS = 20_000, 4, 5


@pytest.fixture(scope="module")
def table() -> pa.Table:
    """The default kinds, 0-based frames."""
    return generate_table(ROWS, VIDEOS, TRACKS, seed=7, frame_base=0)


@pytest.fixture(scope="module")
def all_kinds() -> pa.Table:
    """Every kind, 1-based frames."""
    return generate_table(ROWS, VIDEOS, TRACKS, seed=7, frame_base=1, all_kinds=True)


def _video(table: pa.Table, video: int) -> pa.Table:
    return table.filter(pc.equal(table["global_key"], global_key(video)))


def _assert_schema(schema: pa.Schema) -> None:
    assert schema.names == SCHEMA.names
    for field in SCHEMA:
        assert schema.field(field.name).type == field.type, field.name


def _avro_rows(path: Path) -> list[dict]:
    with path.open("rb") as f:
        return list(fastavro.reader(f))


def test_row_count_is_exact() -> None:
    for rows, videos in ((ROWS, VIDEOS), (20_003, 7), (999, 3)):
        t = generate_table(rows, videos, TRACKS, seed=1)
        assert t.num_rows == rows
        counts = pc.value_counts(t["global_key"]).to_pylist()
        per_video = sorted(c["counts"] for c in counts)
        assert len(per_video) == videos
        assert per_video[-1] - per_video[0] <= 1


def test_schema_matches_canonical(table: pa.Table, all_kinds: pa.Table) -> None:
    _assert_schema(table.schema)
    _assert_schema(all_kinds.schema)


def test_every_video_has_objects_and_scene_radio_on_every_frame(table: pa.Table) -> None:
    for v in range(VIDEOS):
        t = _video(table, v)
        kinds = set(t["kind"].to_pylist())
        assert kinds == {"bbox", "radio"}
        scene = t.filter(pc.equal(t["feature_name"], "scene"))
        frames = scene["frame"].to_numpy()
        assert np.array_equal(frames, np.arange(len(frames)))  # one per frame, from 0
        assert len(set(scene["answer"].to_pylist())) >= 2  # the answer changes
        assert set(t.filter(pc.equal(t["kind"], "bbox"))["feature_name"].to_pylist()) <= {
            "person",
            "car",
        }
        # Per video, "tracks" tracks with ids "0".."tracks-1".
        ids = set(t.filter(pc.equal(t["kind"], "bbox"))["track_id"].to_pylist())
        assert ids == {str(i) for i in range(TRACKS)}


def test_frames_start_at_frame_base_and_are_in_order(table: pa.Table, all_kinds: pa.Table) -> None:
    for t, base in ((table, 0), (all_kinds, 1)):
        keys = t["global_key"].to_pylist()
        assert keys == sorted(keys)  # videos in order, each contiguous
        for v in range(VIDEOS):
            frames = _video(t, v)["frame"]
            assert pc.min(frames).as_py() == base
            values = frames.drop_null().to_numpy()
            assert np.all(np.diff(values) >= 0)
            # Globals (null frame, with --all-kinds) come first.
            nulls = frames.null_count
            assert nulls == (0 if base == 0 else frames.slice(0, nulls).null_count)
            assert nulls == 0 or nulls >= 3


def test_tracks_have_gaps_and_smooth_noisy_boxes(table: pa.Table) -> None:
    boxes = table.filter(pc.equal(table["kind"], "bbox"))
    n_tracks = with_gaps = 0
    jitter: list[float] = []
    for v in range(VIDEOS):
        t = _video(boxes, v)
        for track_id in pc.unique(t["track_id"]).to_pylist():
            track = t.filter(pc.equal(t["track_id"], track_id))
            frames = track["frame"].to_numpy()
            assert np.all(np.diff(frames) > 0)  # one row per frame
            assert len(set(track["feature_name"].to_pylist())) == 1
            gaps = np.diff(frames) - 1
            gaps = gaps[gaps > 0]
            n_tracks += 1
            with_gaps += len(gaps) > 0
            # Occlusions: GAP_LOW..GAP_HIGH frames (a track's window on screen is contiguous).
            assert np.all((gaps >= GAP_LOW) & (gaps <= GAP_HIGH))
            # Smooth motion: consecutive frames move a few pixels, not across the image.
            left = track["bbox_left"].to_numpy()
            runs = np.diff(frames) == 1
            if runs.any():
                assert np.percentile(np.abs(np.diff(left))[runs], 99) < 20
            # Detector noise: the box jitters by about a pixel from frame to frame (a noiseless
            # path accelerates by ~0.05 px/frame^2).
            accel = np.diff(left, 2)[runs[1:] & runs[:-1]]
            if len(accel) > 50:
                jitter.append(np.std(accel))
    assert n_tracks == VIDEOS * TRACKS
    assert with_gaps >= n_tracks * 0.6
    assert 0.5 < np.median(jitter) < 5


def test_values_in_range(all_kinds: pa.Table) -> None:
    confidence = all_kinds["confidence"]
    assert confidence.null_count == 0
    assert pc.min(confidence).as_py() >= 0.3
    assert pc.max(confidence).as_py() <= 1.0
    boxes = all_kinds.filter(pc.equal(all_kinds["kind"], "bbox"))
    for name in ("bbox_top", "bbox_left", "bbox_height", "bbox_width"):
        assert boxes[name].null_count == 0
        assert pc.min(boxes[name]).as_py() >= 0
    right = pc.add(boxes["bbox_left"], boxes["bbox_width"])
    assert pc.max(right).as_py() <= 1920.01


def test_all_kinds(all_kinds: pa.Table) -> None:
    for v in range(VIDEOS):
        t = _video(all_kinds, v)
        kinds = {
            (r["feature_name"], r["kind"], r["frame"] is None)
            for r in t.select(["feature_name", "kind", "frame"]).to_pylist()
        }
        for expected in (
            ("scene", "radio", False),
            ("conditions", "checklist", False),
            ("keypoint", "point", False),
            ("lane", "line", False),
            ("camera", "radio", True),
            ("contains", "checklist", True),
            ("caption", "text", True),
        ):
            assert expected in kinds, (v, expected)
        objects = t.filter(pc.is_valid(t["track_id"]))
        assert set(objects["track_id"].to_pylist()) == {str(i) for i in range(TRACKS + 3)}
        lanes = t.filter(pc.equal(t["kind"], "line"))
        for track_id in pc.unique(lanes["track_id"]).to_pylist():
            lane = lanes.filter(pc.equal(lanes["track_id"], track_id))
            sizes = set(pc.list_value_length(lane["line"]).to_pylist())
            assert len(sizes) == 1
            assert sizes.pop() in (2, 3, 4)
        points = t.filter(pc.equal(t["kind"], "point"))
        assert points["point_x"].null_count == points["point_y"].null_count == 0
        checks = t.filter(pc.equal(t["feature_name"], "conditions"))
        pairs = list(zip(checks["frame"].to_pylist(), checks["answer"].to_pylist(), strict=True))
        assert len(pairs) == len(set(pairs))  # one row per checked option per frame


def test_deterministic_for_a_seed(table: pa.Table) -> None:
    assert generate_table(ROWS, VIDEOS, TRACKS, seed=7, frame_base=0).equals(table)
    assert not generate_table(ROWS, VIDEOS, TRACKS, seed=8, frame_base=0).equals(table)
    streamed = list(iter_video_tables(ROWS, VIDEOS, TRACKS, 7, 0))
    assert len(streamed) == VIDEOS
    assert pa.concat_tables(streamed).equals(table)


def test_cli_parquet_single(tmp_path: Path, table: pa.Table) -> None:
    out = tmp_path / "data.parquet"
    args = ["--rows", str(ROWS), "--videos", str(VIDEOS), "--tracks", str(TRACKS), "--seed", "7"]
    assert main([*args, "--out", str(out), "--row-group-rows", "4096"]) == 0
    f = pq.ParquetFile(out)
    assert f.metadata.num_rows == ROWS
    groups = [f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)]
    assert groups == [4096] * (ROWS // 4096) + [ROWS % 4096]
    read = f.read()
    _assert_schema(read.schema)
    assert read.equals(table)


def test_cli_parquet_per_video(tmp_path: Path) -> None:
    out = tmp_path / "parts"
    argv = ["--rows", str(ROWS), "--videos", str(VIDEOS), "--tracks", str(TRACKS)]
    assert main([*argv, "--out", str(out), "--layout", "per-video", "--frame-base", "1"]) == 0
    files = sorted(out.iterdir())
    assert [p.name for p in files] == [f"part-{i:05d}.parquet" for i in range(VIDEOS)]
    total = 0
    for i, path in enumerate(files):
        t = pq.read_table(path)
        _assert_schema(t.schema)
        assert set(t["global_key"].to_pylist()) == {global_key(i)}
        assert pc.min(t["frame"]).as_py() == 1
        total += t.num_rows
    assert total == ROWS


@pytest.mark.parametrize("layout", ["single", "per-video"])
def test_cli_avro(tmp_path: Path, layout: str) -> None:
    out = tmp_path / ("data.avro" if layout == "single" else "parts")
    argv = ["--rows", str(ROWS), "--videos", str(VIDEOS), "--tracks", str(TRACKS), "--seed", "7"]
    argv += ["--out", str(out), "--format", "avro", "--layout", layout, "--all-kinds"]
    argv += ["--frame-base", "1", "--videos-per-file", "2"]
    assert main(argv) == 0
    files = [out] if layout == "single" else sorted(out.iterdir())
    assert len(files) == (1 if layout == "single" else 2)
    rows = [row for path in files for row in _avro_rows(path)]
    assert len(rows) == ROWS
    assert list(rows[0]) == SCHEMA.names
    expected = generate_table(ROWS, VIDEOS, TRACKS, seed=7, frame_base=1, all_kinds=True)
    assert rows == expected.to_pylist()


def test_avro_encoders_agree(tmp_path: Path, all_kinds: pa.Table) -> None:
    # Slices exercise arrays with offsets; small blocks exercise block boundaries.
    tables = [all_kinds.slice(0, 5001), all_kinds.slice(5001)]
    fast, slow = tmp_path / "numpy.avro", tmp_path / "fastavro.avro"
    write_avro(tables, fast, "deflate", block_records=1000, encoder="numpy")
    write_avro(tables, slow, "null", block_records=1000, encoder="fastavro")
    assert _avro_rows(fast) == _avro_rows(slow) == all_kinds.to_pylist()
    with fast.open("rb") as f:
        assert json.loads(fastavro.reader(f).metadata["avro.schema"]) == avro_schema()


def test_rejects_too_few_rows() -> None:
    with pytest.raises(ValueError):
        generate_table(3, 4, TRACKS)
    with pytest.raises(ValueError):
        generate_table(ROWS, VIDEOS, TRACKS, frame_base=2)
