"""annotate_keys builds exactly what annotate_key builds on each key, whatever the mix of keys.

Random multi-key inputs: every kind, objects with gaps, duplicate frames and segment_index,
nested classifications, kind conflicts and broken segment_index (mixed, decreasing), each
key's rows spread over chunks of differing schemas and dictionaries, and batch caps small
enough to cut the keys into several passes.
"""

from __future__ import annotations

import itertools

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.test_properties import (
    ALL_KINDS,
    FEATURES,
    KEYS,
    OBJECT_KINDS,
    SETTINGS,
    configs,
    rows_for,
    validated,
)
from transforms.core.annotate import annotate_key
from transforms.core.annotations import KeyAnnotations
from transforms.core.config import AnnotationConfig
from transforms.core.keys import split_by_key
from transforms.core.multi_key import annotate_keys
from transforms.core.thinning.tolerance import parse_tolerance_spec


def _break_segments(draw, rows: list[dict]) -> None:
    """Some rows' segment_index changed at random (mixed and decreasing tracks)."""
    for row in rows:
        if "segment_index" in row and draw(st.integers(0, 9)) == 0:
            row["segment_index"] = draw(st.sampled_from([None, 0, 7, 100]))


def _one_row_per_frame(rows: list[dict]) -> list[dict]:
    """The first row of each (kind, track, frame) (checklists: and answer): the shared pass's
    usual input."""
    seen: set = set()
    out = []
    for row in rows:
        answer = row.get("answer") if row["kind"] == "checklist" else None
        at = (row["kind"], row.get("track_id"), row.get("frame"), answer)
        if at not in seen:
            seen.add(at)
            out.append(row)
    return out


@st.composite
def multi_key_rows(draw, fb: int) -> list[dict]:
    """Valid rows of several keys, mostly objects, some with conflicts."""
    keys = draw(st.lists(KEYS, min_size=1, max_size=8, unique=True))
    kinds = st.sampled_from([*OBJECT_KINDS, *OBJECT_KINDS, *ALL_KINDS])
    rows: list[dict] = []
    for key in keys:
        mine = rows_for(draw, key, draw(kinds), fb, True)
        if draw(st.integers(0, 4)) == 0:  # a kind conflict: rows of a second kind
            mine += rows_for(draw, key, draw(kinds), fb, True)
        if draw(st.booleans()):
            mine = _one_row_per_frame(mine)
        if draw(st.integers(0, 3)) == 0:
            _break_segments(draw, mine)
        rows += mine
    return draw(st.permutations(rows))


def _items(rows: list[dict], cuts: list[int], config: AnnotationConfig) -> list:
    """(key, chunks) per key, sorted, from the rows validated in pieces cut at `cuts`."""
    chunks: dict = {}
    bounds = [0, *sorted(c % (len(rows) + 1) for c in cuts), len(rows)]
    for s, e in itertools.pairwise(bounds):
        if e > s:
            for key, chunk in split_by_key(validated(rows[s:e], config)):
                chunks.setdefault(key, []).append(chunk)
    return sorted(chunks.items())


def _same(a: KeyAnnotations, b: KeyAnnotations) -> None:
    assert a.key == b.key
    assert a.lines == b.lines
    assert list(a.counters.items()) == list(b.counters.items())
    assert a.counts == b.counts
    assert a.errors == b.errors
    assert a.dead_letters == b.dead_letters
    assert a.tracks == b.tracks


@st.composite
def cases(draw):
    config = draw(configs())
    extra = draw(
        st.sampled_from(
            [
                {},
                {},
                {"coordinate_decimals": 2},
                {"min_range_frames": 3},
                {"frame_base": 0},
                # Thinning: boxes by IoU and the rest by px; one feature's own tolerance.
                {"keyframe_tolerance": parse_tolerance_spec("iou:0.9,px:2")},
                {"keyframe_tolerance": parse_tolerance_spec(f"{FEATURES[0]}=px:1000")},
            ]
        )
    )
    if extra:
        config = AnnotationConfig(**{**config.__dict__, **extra})
    rows = draw(multi_key_rows(config.frame_base))
    cuts = draw(st.lists(st.integers(0, 10_000), max_size=3))
    max_rows = draw(st.sampled_from([1, 20, 200_000]))
    return rows, cuts, config, max_rows


@settings(SETTINGS, max_examples=150)
@given(cases())
def test_annotate_keys_equals_annotate_key_on_each_key(case):
    rows, cuts, config, max_rows = case
    items = _items(rows, cuts, config)
    expected = [annotate_key(key, chunks, config) for key, chunks in items]
    got = annotate_keys(items, config, max_rows=max_rows)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        _same(a, b)


def test_many_object_keys_in_one_pass():
    """Hundreds of keys of every object kind, with and without track ids, in one pass."""
    rows = []
    for v in range(60):
        for kind, geometry in (
            ("bbox", {"bbox_top": 1.5, "bbox_left": 2, "bbox_height": 3, "bbox_width": 4.25}),
            ("point", {"point_x": v / 3, "point_y": 1e-7}),
            ("line", {"line": [{"x": 0.1, "y": 2}, {"x": 3e12, "y": v}]}),
        ):
            for track in (None, "a", "b"):
                for f in (1, 2, 3, 7, 8, 20 + v):
                    rows.append(
                        {
                            "global_key": f"v{v}",
                            "feature_name": kind,
                            "kind": kind,
                            "frame": f,
                            "track_id": track,
                            **geometry,
                        }
                    )
    config = AnnotationConfig()
    items = _items(rows, [len(rows) // 3, len(rows) // 2], config)
    got = annotate_keys(items, config)
    expected = [annotate_key(key, chunks, config) for key, chunks in items]
    for a, b in zip(got, expected, strict=True):
        _same(a, b)
    assert sum(len(a.lines) for a in got) == 60 * 3 * 3


def test_many_frame_classification_keys_in_one_pass():
    """Scene radios and checklists of many videos: answer changes, gaps, smoothing."""
    rows = []
    for v in range(40):
        for f in range(1, 60):
            if f % 17 == 5:
                continue  # a gap
            answer = ["day", "night", "indoor"][(f // (7 + v % 5)) % 3]
            base = {"global_key": f"v{v}", "frame": f, "confidence": 0.5 if f % 3 else None}
            rows.append({**base, "feature_name": "scene", "kind": "radio", "answer": answer})
            if (f + v) % 4:
                rows.append({**base, "feature_name": "cond", "kind": "checklist", "answer": "fog"})
            if (f * v) % 5 == 1:
                rows.append({**base, "feature_name": "cond", "kind": "checklist", "answer": "rain"})
    for config in (AnnotationConfig(), AnnotationConfig(min_range_frames=4, max_gap_frames=2)):
        items = _items(rows, [len(rows) // 2], config)
        got = annotate_keys(items, config)
        expected = [annotate_key(key, chunks, config) for key, chunks in items]
        for a, b in zip(got, expected, strict=True):
            _same(a, b)
        assert sum(len(a.lines) for a in got) > 80


def test_no_keys_and_empty_chunks():
    config = AnnotationConfig()
    assert annotate_keys([], config) == []
    empty = pa.table({"kind": pa.array([], pa.string())})
    key = ("globalKey", "v", "name", "box")
    got = annotate_keys([(key, [empty]), (key, [])], config)
    assert [g.lines for g in got] == [[], []]


def test_codes_of_chunks_sharing_and_not_sharing_dictionaries():
    """Chunks split from one table share its dictionary (mapped once); others do not."""
    from transforms.core.key_columns import KeyColumns

    def chunks(tracks: list[str | None]) -> list[pa.Table]:
        rows = [
            {"global_key": f"v{i % 3}", "feature_name": "p", "kind": "point", "frame": i + 1}
            | {"track_id": t, "point_x": 1.0, "point_y": 2.0}
            for i, t in enumerate(tracks)
        ]
        return [ch for _, ch in split_by_key(validated(rows, AnnotationConfig()))]

    first = chunks(["b", "a", None, "c", "a", "b"])
    second = chunks(["z", None, "a", "y", "y", "q"])
    plain = pa.table({"track_id": pa.array(["m", None, "a"])})
    parts = [*first, *second, plain]
    cols = KeyColumns(parts)
    codes, names = cols.codes("track_id", null_as="")
    expected = []
    for part in parts:
        expected += ["" if t is None else t for t in part.column("track_id").to_pylist()]
    assert [names[k] for k in codes.tolist()] == expected
    assert names == sorted(set(names))
