"""Batch state keyed by data row: a video's chunks, packed and unpacked and gathered with other
videos', give exactly the (key, chunks) that splitting by key gives, so what is built from them
is exactly what annotate_key builds on each key.

Random multi-key inputs (tests.core.test_multi_key's: every kind, conflicts, nested
classifications), validated in buffers cut at random, each buffer's video chunks packed as
KeyRows packs them, unpacked as BuildAnnotations does, and the videos gathered in random groups
and orders.
"""

from __future__ import annotations

import itertools

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
    FeatureRun,
    VideoChunk,
    feature_chunks,
    pack,
    split_by_data_row,
    unpack,
    video_items,
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


def _videos(buffers: list[pa.Table]) -> dict:
    """{data row: [VideoChunk per buffer]}, each packed and unpacked."""
    videos: dict = {}
    for valid in buffers:
        for data_row, chunk in split_by_data_row(valid):
            videos.setdefault(data_row, []).append(unpack(pack(chunk)))
    return videos


@st.composite
def cases(draw):
    config = draw(configs())
    rows = draw(multi_key_rows(config.frame_base))
    cuts = draw(st.lists(st.integers(0, 10_000), max_size=3))
    group_seed = draw(st.integers(0, 2**16))
    return rows, cuts, config, group_seed


@settings(SETTINGS, max_examples=120)
@given(cases())
def test_video_items_equal_split_by_key_and_build_the_same(case):
    rows, cuts, config, seed = case
    buffers = _buffers(rows, cuts, config)
    expected = _by_key(buffers)
    videos = list(_videos(buffers).items())
    # The ready videos of a bundle: any grouping, any order.
    order = sorted(range(len(videos)), key=lambda i: (i * 7919 + seed) % 104729)
    groups = [[], []]
    for n, i in enumerate(order):
        groups[(seed >> n) & 1].append(videos[i])
    items = [item for group in groups if group for item in video_items(group)]
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


def test_a_video_chunk_holds_each_feature_once_and_packs_exactly():
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
    videos = list(split_by_data_row(valid))
    assert [d for d, _ in videos] == [("globalKey", "v"), ("id", "w")]
    (_, v), (_, w) = videos
    assert sorted((f.field, f.feature, f.rows) for f in v.features) == [
        ("name", "box", 3),
        ("name", "scene", 2),
    ]
    # Columns no row of the video has are left out of its table; a feature's own all-null
    # columns are named in its run.
    assert "point_x" not in v.table.column_names and "bbox_top" in v.table.column_names
    scene = next(f for f in v.features if f.feature == "scene")
    assert "bbox_top" in scene.dropped and "answer" not in scene.dropped
    again = unpack(pack(v))
    assert again.features == v.features and again.table.equals(v.table)
    assert dict(feature_chunks(("globalKey", "v"), again)).keys() == {
        ("globalKey", "v", "name", "box"),
        ("globalKey", "v", "name", "scene"),
    }
    assert w.features == (FeatureRun("schemaId", "s1", 1, ()),)


def test_no_videos_and_an_empty_table():
    assert video_items([]) == []
    assert list(split_by_data_row(pa.table({"kind": pa.array([], pa.string())}))) == []
    empty = VideoChunk((), pa.table({"kind": pa.array([], pa.string())}))
    assert video_items([(("globalKey", "v"), [empty])]) == []


def test_frames_pack_as_steps_and_come_back_exactly_at_the_ends_of_int32():
    frames = [5, 6, 7, 2**31 - 1, -(2**31), 0, 0, 3, -7, 2**31 - 1]
    table = pa.table(
        {"frame": pa.array(frames, pa.int32()), "bbox_top": [float(f) for f in frames]}
    )
    chunk = VideoChunk((FeatureRun("name", "box", len(frames), ()),), table)
    again = unpack(pack(chunk))
    assert again.table.equals(table) and again.table.schema == table.schema
    # A sliced table (an offset into its buffers) packs its own rows.
    part = VideoChunk((FeatureRun("name", "box", 4, ()),), table.slice(3, 4))
    assert unpack(pack(part)).table.column("frame").to_pylist() == frames[3:7]
