"""Batch state keyed by a bucket of data rows: a bucket's chunks, packed and unpacked and
gathered with other buckets', give exactly the (key, chunks) that splitting by key gives, so what
is built from them is exactly what annotate_key builds on each key.

Random multi-key inputs (tests.core.test_multi_key's: every kind, conflicts, nested
classifications), validated in buffers cut at random, each buffer's bucket chunks packed as
KeyRows packs them (1 to 4 buckets), unpacked as BuildAnnotations does, and the buckets
gathered in random groups and orders; and each video on its own, as BuildAnnotations falls back
to when a group cannot be combined.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.test_multi_key import _same, multi_key_rows
from tests.core.test_properties import SETTINGS, configs, validated
from transforms.core.annotate import annotate_key
from transforms.core.config import AnnotationConfig
from transforms.core.keys import split_by_key
from transforms.core.multi_key import annotate_keys
from transforms.core.video_chunks import (
    DEFAULT_BUCKETS,
    ROWS_PER_BUCKET,
    FeatureRun,
    VideoChunk,
    bucket_count,
    bucket_of,
    feature_chunks,
    pack,
    split_by_bucket,
    unpack,
    video_items,
    videos_of,
)


def _buffers(rows: list[dict], cuts: list[int], config: AnnotationConfig) -> list[pa.Table]:
    bounds = [0, *sorted(c % (len(rows) + 1) for c in cuts), len(rows)]
    return [validated(rows[s:e], config) for s, e in itertools.pairwise(bounds) if e > s]


def _by_key(buffers: list[pa.Table]) -> dict:
    """{key: [chunk per buffer]}: what splitting by key gives."""
    chunks: dict = {}
    for valid in buffers:
        for key, chunk in split_by_key(valid):
            chunks.setdefault(key, []).append(chunk)
    return chunks


def _buckets(buffers: list[pa.Table], buckets: int) -> dict:
    """{bucket: [VideoChunk per buffer]}, each packed and unpacked."""
    state: dict = {}
    for valid in buffers:
        for bucket, chunk in split_by_bucket(valid, buckets):
            assert {bucket_of(f.video, buckets) for f in chunk.features} == {bucket}
            state.setdefault(bucket, []).append(unpack(pack(chunk)))
    return state


def _first(item):
    return item[0]


@st.composite
def cases(draw):
    config = draw(configs())
    rows = draw(multi_key_rows(config.frame_base))
    cuts = draw(st.lists(st.integers(0, 10_000), max_size=3))
    buckets = draw(st.integers(1, 4))
    group_seed = draw(st.integers(0, 2**16))
    return rows, cuts, config, buckets, group_seed


@settings(SETTINGS, max_examples=120)
@given(cases())
def test_video_items_equal_split_by_key_and_build_the_same(case):
    rows, cuts, config, buckets, seed = case
    buffers = _buffers(rows, cuts, config)
    expected = _by_key(buffers)
    state = list(_buckets(buffers, buckets).values())
    # The ready buckets of a bundle: any grouping, any order (a bucket's chunks together).
    order = sorted(range(len(state)), key=lambda i: (i * 7919 + seed) % 104729)
    groups = [[], []]
    for n, i in enumerate(order):
        groups[(seed >> n) & 1].extend(state[i])
    items = [item for group in groups if group for item in video_items(group)]
    # Each video on its own, from its parts of every chunk (BuildAnnotations' fallback).
    videos: dict = {}
    for chunk in (c for chunks in state for c in chunks):
        for data_row, part in videos_of(chunk):
            videos.setdefault(data_row, []).append(part)
    alone = [item for parts in videos.values() for item in video_items(parts)]
    assert sorted(k for k, _ in alone) == sorted(expected)
    for (key, chunks), (key_alone, chunks_alone) in zip(
        sorted(items, key=_first), sorted(alone, key=_first), strict=True
    ):
        assert key == key_alone
        assert [c.to_pylist() for c in chunks] == [c.to_pylist() for c in chunks_alone]
    assert sorted(k for k, _ in items) == sorted(expected)
    for key, chunks in items:
        want = expected[key]
        assert [c.num_rows for c in chunks] == [c.num_rows for c in want]
        for got_chunk, want_chunk in zip(chunks, want, strict=True):
            assert set(got_chunk.column_names) == set(want_chunk.column_names)
            names = sorted(want_chunk.column_names)
            assert got_chunk.select(names).to_pylist() == want_chunk.select(names).to_pylist()
    got = {a.key: a for a in annotate_keys(sorted(items), config)}
    for key, chunks in sorted(expected.items()):
        _same(got[key], annotate_key(key, chunks, config))


def test_a_bucket_chunk_holds_each_feature_once_and_packs_exactly():
    rows = [
        {"global_key": "v", "feature_name": "box", "kind": "bbox", "frame": f, "track_id": "1"}
        | {"bbox_top": 0.1 + f, "bbox_left": 2.0, "bbox_height": 3.0, "bbox_width": 4.0}
        for f in (1, 2, 5)
    ] + [
        {"global_key": "v", "feature_name": "scene", "kind": "radio", "frame": f, "answer": "day"}
        for f in (1, 2)
    ]
    rows.append(
        {"data_row_id": "w", "feature_schema_id": "s1", "kind": "point", "frame": 3}
        | {"point_x": 1.5, "point_y": 2.5}
    )
    valid = validated(rows, AnnotationConfig())
    ((bucket, chunk),) = split_by_bucket(valid, 1)
    assert bucket == 0
    assert sorted((f.video, f.field, f.feature, f.rows) for f in chunk.features) == [
        (("globalKey", "v"), "name", "box", 3),
        (("globalKey", "v"), "name", "scene", 2),
        (("id", "w"), "schemaId", "s1", 1),
    ]
    # Columns no row of the bucket has are left out of its table; a feature's own all-null
    # columns are named in its run.
    names = chunk.table.column_names
    assert "confidence" not in names and {"bbox_top", "point_x", "answer"} <= set(names)
    runs = {f.feature: f for f in chunk.features}
    assert {"point_x", "answer"} <= set(runs["box"].dropped) and "bbox_top" not in runs[
        "box"
    ].dropped
    assert "bbox_top" in runs["scene"].dropped and "answer" not in runs["scene"].dropped
    assert {"bbox_top", "answer"} <= set(runs["s1"].dropped)
    again = unpack(pack(chunk))
    assert again.features == chunk.features and again.table.equals(chunk.table)
    assert dict(feature_chunks(again)).keys() == {
        ("globalKey", "v", "name", "box"),
        ("globalKey", "v", "name", "scene"),
        ("id", "w", "schemaId", "s1"),
    }
    # A video's features are adjacent in the chunk: its part is one slice.
    parts = dict(videos_of(again))
    assert {d: p.table.num_rows for d, p in parts.items()} == {
        ("globalKey", "v"): 5,
        ("id", "w"): 1,
    }
    assert parts["id", "w"].table.column("point_x").to_pylist() == [1.5]
    # With more buckets, each chunk holds exactly the data rows of its bucket.
    for buckets in (2, 7):
        for bucket, chunk in split_by_bucket(valid, buckets):
            assert {bucket_of(f.video, buckets) for f in chunk.features} == {bucket}


def test_a_data_row_has_the_same_bucket_in_every_process():
    rows = [("globalKey", f"video-{i}.mp4") for i in range(50)] + [("id", "ckxyz"), ("id", "é")]
    here = [bucket_of(r, 97) for r in rows]
    assert len(set(here)) > 10  # spread, not one bucket
    code = (
        "import json, sys; from transforms.core.video_chunks import bucket_of; "
        "print(json.dumps([bucket_of(tuple(r), 97) for r in json.load(sys.stdin)]))"
    )
    for seed in ("1", "2"):  # str hashes differ between these processes; buckets must not
        out = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(rows),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert json.loads(out.stdout) == here
    # The global key and the data row id of the same text are different data rows.
    assert [bucket_of(("globalKey", "a"), 2**31), bucket_of(("id", "a"), 2**31)] != [0, 0]
    assert bucket_of(("globalKey", "a"), 2**31) != bucket_of(("id", "a"), 2**31)


def test_bucket_count_follows_the_input_size():
    assert bucket_count(None) == DEFAULT_BUCKETS
    assert [bucket_count(n) for n in (0, 1, ROWS_PER_BUCKET, ROWS_PER_BUCKET + 1)] == [1, 1, 1, 2]
    assert bucket_count(20 * ROWS_PER_BUCKET) == 20


def test_no_videos_and_an_empty_table():
    assert video_items([]) == []
    assert list(split_by_bucket(pa.table({"kind": pa.array([], pa.string())}), 3)) == []
    empty = VideoChunk((), pa.table({"kind": pa.array([], pa.string())}))
    assert video_items([empty]) == []
    assert list(videos_of(empty)) == []


def test_frames_pack_as_steps_and_come_back_exactly_at_the_ends_of_int32():
    frames = [5, 6, 7, 2**31 - 1, -(2**31), 0, 0, 3, -7, 2**31 - 1]
    table = pa.table(
        {"frame": pa.array(frames, pa.int32()), "bbox_top": [float(f) for f in frames]}
    )
    chunk = VideoChunk((FeatureRun("globalKey", "v", "name", "box", len(frames), ()),), table)
    again = unpack(pack(chunk))
    assert again.table.equals(table) and again.table.schema == table.schema
    # A sliced table (an offset into its buffers) packs its own rows.
    part = VideoChunk((FeatureRun("globalKey", "v", "name", "box", 4, ()),), table.slice(3, 4))
    assert unpack(pack(part)).table.column("frame").to_pylist() == frames[3:7]
