"""Property-based tests of the Beam-free core: rows in, Labelbox video NDJSON lines out.

The oracles here are written from the rules of the issue and docs/input-contract.md, not from the
core's helpers: a frame seen twice in a track keeps its highest-confidence row (null = 1.0),
segments follow segment_index or the gap rule, frame classifications become per-answer
inclusive ranges, output frame = input frame - frame_base + labelbox_frame_base, and every line
carries a deterministic uuid. Thinning is off (keyframe_tolerance=None) throughout.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.core.annotate import build_annotations
from transforms.core.columns import table_from_rows
from transforms.core.config import AnnotationConfig
from transforms.core.conform import conform
from transforms.core.conversion import convert_tables
from transforms.core.keys import concat_chunks, split_by_key
from transforms.core.validation import MAX_FRAME, validate

ROOT = Path(__file__).resolve().parents[2]

SETTINGS = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------

DATA_ROWS = ["video-1.mp4", 'clip "2".mp4', "vidéo/3"]
FEATURES = ["box", 'tool "x"', "ünï"]
TRACKS = [None, "1", "2", "10", "car a"]
ANSWERS = ["yes", "no", 'may"be', "jä"]
# Radio confidences without ties between different answers of one frame (None counts as 1.0).
LEVELS = [None, 0.2, 0.4, 0.6, 0.8]
NESTED = [
    None,
    "[]",
    '[{"name":"color","answer":{"name":"red"}}]',
    '[ {"name": "color", "answer": {"name": "blue", "confidence": 0.25}} ]',
    '[{"name":"note","answer":"hi \\"there\\""}]',
]
OBJECT_KINDS = ("bbox", "point", "line")
FRAME_KINDS = ("frame_radio", "frame_checklist")
GLOBAL_KINDS = ("global_radio", "global_checklist", "global_text")
ALL_KINDS = OBJECT_KINDS + FRAME_KINDS + GLOBAL_KINDS
GEOMETRY_KEY = {"bbox": "bbox", "point": "point", "line": "line"}

KEYS = st.tuples(
    st.sampled_from(["globalKey", "id"]),
    st.sampled_from(DATA_ROWS),
    st.sampled_from(["name", "schemaId"]),
    st.sampled_from(FEATURES),
)
CONFIDENCE = st.one_of(
    st.sampled_from([None, 0.0, 0.5, 0.9, 1.0]), st.floats(0, 1, allow_nan=False)
)
COORD = st.one_of(
    st.integers(-50, 2000).map(float),
    st.floats(-1e5, 1e5, allow_nan=False),
    st.floats(allow_nan=False, allow_infinity=False),
)
SIZE = st.one_of(
    st.integers(1, 1000).map(float),
    st.floats(min_value=0, exclude_min=True, allow_infinity=False, allow_nan=False),
)
COPIES = st.sampled_from([1, 1, 1, 2, 3])


@dataclass
class KeySpec:
    key: tuple[str, str, str, str]
    kind: str  # one of ALL_KINDS
    rows: list[dict]


def base_row(key, kind: str) -> dict:
    dr_field, dr, ft_field, ft = key
    return {
        "global_key" if dr_field == "globalKey" else "data_row_id": dr,
        "feature_name" if ft_field == "name" else "feature_schema_id": ft,
        "kind": kind,
    }


def frame_set(draw, fb: int, max_size: int) -> list[int]:
    # Near the top, frames reach MAX_FRAME (frame_base 1) or MAX_FRAME - 1 (frame_base 0, so
    # that the same rows shifted by one are still valid).
    start = draw(st.sampled_from([fb, fb, fb, fb + 1000, MAX_FRAME - 41 + fb]))
    return sorted(draw(st.sets(st.integers(start, start + 40), min_size=1, max_size=max_size)))


def segment_indices(draw, frames: list[int]) -> dict[int, int] | None:
    """None (gap rule), or a segment_index per frame, non-decreasing as frame increases."""
    if not draw(st.booleans()):
        return None
    s = draw(st.integers(0, 5))
    out = {}
    for f in frames:
        s += draw(st.sampled_from([0, 0, 0, 1, 3]))
        out[f] = s
    return out


def geometry(draw, kind: str) -> dict:
    if kind == "bbox":
        return {
            "bbox_top": draw(COORD),
            "bbox_left": draw(COORD),
            "bbox_height": draw(SIZE),
            "bbox_width": draw(SIZE),
        }
    if kind == "point":
        return {"point_x": draw(COORD), "point_y": draw(COORD)}
    points = draw(st.lists(st.tuples(COORD, COORD), min_size=2, max_size=4))
    return {"line": [{"x": x, "y": y} for x, y in points]}


@st.composite
def object_rows(draw, key, kind: str, fb: int, ties: bool) -> list[dict]:
    base = base_row(key, kind)
    rows = []
    for tid in draw(st.lists(st.sampled_from(TRACKS), min_size=1, max_size=3, unique=True)):
        frames = frame_set(draw, fb, 10)
        seg = segment_indices(draw, frames)
        for f in frames:
            for _ in range(draw(COPIES)):
                rows.append(
                    {
                        **base,
                        "frame": f,
                        "track_id": tid,
                        "segment_index": None if seg is None else seg[f],
                        "confidence": draw(CONFIDENCE),
                        "classifications": draw(st.sampled_from(NESTED)),
                        **geometry(draw, kind),
                    }
                )
    return rows


@st.composite
def frame_radio_rows(draw, key, fb: int, ties: bool) -> list[dict]:
    base = base_row(key, "radio")
    pool = draw(st.lists(st.sampled_from(ANSWERS), min_size=1, max_size=3, unique=True))
    frames = frame_set(draw, fb, 14)
    seg = segment_indices(draw, frames)
    rows = []
    for f in frames:
        if ties:
            entries = draw(
                st.lists(st.tuples(st.sampled_from(pool), CONFIDENCE), min_size=1, max_size=3)
            )
        else:
            answers = draw(
                st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True)
            )
            levels = draw(
                st.lists(
                    st.sampled_from(LEVELS),
                    min_size=len(answers),
                    max_size=len(answers),
                    unique=True,
                )
            )
            entries = list(zip(answers, levels, strict=True))
            # Repeats of an answer never beat its own level, so the frame's winner is unique.
            for i in draw(st.lists(st.integers(0, len(entries) - 1), max_size=2)):
                entries.append((entries[i][0], draw(st.sampled_from([entries[i][1], 0.0]))))
        for answer, conf in entries:
            rows.append(
                {
                    **base,
                    "frame": f,
                    "answer": answer,
                    "confidence": conf,
                    "segment_index": None if seg is None else seg[f],
                }
            )
    return rows


@st.composite
def frame_checklist_rows(draw, key, fb: int, ties: bool) -> list[dict]:
    base = base_row(key, "checklist")
    pool = draw(st.lists(st.sampled_from(ANSWERS), min_size=1, max_size=3, unique=True))
    frames = frame_set(draw, fb, 14)
    seg_all = segment_indices(draw, frames)
    # segment_index is all-or-none per answer.
    seg_of = {a: seg_all if draw(st.booleans()) else None for a in pool}
    rows = []
    for f in frames:
        for answer in draw(
            st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True)
        ):
            seg = seg_of[answer]
            for _ in range(draw(COPIES)):
                rows.append(
                    {
                        **base,
                        "frame": f,
                        "answer": answer,
                        "confidence": draw(CONFIDENCE),
                        "segment_index": None if seg is None else seg[f],
                    }
                )
    return rows


@st.composite
def global_rows(draw, key, kind: str) -> list[dict]:
    base = base_row(key, kind)
    if kind == "text":
        answers = st.text(max_size=6)
        nested = st.just(None)
    else:
        answers = st.sampled_from(ANSWERS)
        nested = st.sampled_from(NESTED)
    n = draw(st.integers(1, 4))
    return [
        {
            **base,
            "answer": draw(answers),
            "confidence": draw(CONFIDENCE),
            "classifications": draw(nested),
        }
        for _ in range(n)
    ]


def rows_for(draw, key, kind: str, fb: int, ties: bool) -> list[dict]:
    """Rows of one key. ties=False only matters for radio: each frame gets a unique winner
    (the other oracles accept any of the tied rows)."""
    if kind in OBJECT_KINDS:
        return draw(object_rows(key, kind, fb, ties))
    if kind == "frame_radio":
        return draw(frame_radio_rows(key, fb, ties))
    if kind == "frame_checklist":
        return draw(frame_checklist_rows(key, fb, ties))
    return draw(global_rows(key, kind.removeprefix("global_")))


@st.composite
def scenarios(draw, kinds=ALL_KINDS, fb: int = 1, ties: bool = True) -> list[KeySpec]:
    """Valid rows for one or several (data row, feature) keys, one kind per key."""
    keys = draw(st.lists(KEYS, min_size=1, max_size=4, unique=True))
    return [
        KeySpec(k, kind, rows_for(draw, k, kind, fb, ties))
        for k in keys
        for kind in [draw(st.sampled_from(kinds))]
    ]


@st.composite
def configs(draw, frame_base: int | None = None) -> AnnotationConfig:
    return AnnotationConfig(
        frame_base=draw(st.sampled_from([0, 1])) if frame_base is None else frame_base,
        labelbox_frame_base=draw(st.sampled_from([0, 1])),
        max_gap_frames=draw(st.sampled_from([1, 1, 2, 3, 5])),
        uuid_seed=draw(st.sampled_from(["", "run-2"])),
    )


@st.composite
def scenario_and_config(draw, kinds=ALL_KINDS, ties: bool = True):
    config = draw(configs())
    return draw(scenarios(kinds, config.frame_base, ties)), config


def all_rows(specs: list[KeySpec]) -> list[dict]:
    return [r for s in specs for r in s.rows]


# ---------------------------------------------------------------------------------------------
# Running the core
# ---------------------------------------------------------------------------------------------


def validated(rows: list[dict], config: AnnotationConfig) -> pa.Table:
    result = validate(conform(table_from_rows(rows), "test"), config.frame_base)
    assert not result.rejections.reasons, list(
        zip(result.rejections.reasons, result.rejections.details, strict=True)
    )
    return result.valid


def run(rows: list[dict], config: AnnotationConfig) -> dict:
    """{key: Outcome} for every key, in split_by_key order."""
    out = {}
    for key, chunk in split_by_key(validated(rows, config)):
        outcome = build_annotations(key, chunk, config)
        assert not len(outcome.rejections), outcome.rejections.reasons
        out[key] = outcome
    return out


def lines_of(outcomes: dict) -> list[bytes]:
    return [line for o in outcomes.values() for line in o.lines]


def conf_value(conf: float | None) -> float:
    return 1.0 if conf is None else conf


def nested_value(text: str | None):
    """What a `classifications` input value means: None, or the parsed non-empty list."""
    if text is None:
        return None
    parsed = json.loads(text)
    return parsed or None


def row_geometry(kind: str, row: dict):
    if kind == "bbox":
        return {
            "top": row["bbox_top"],
            "left": row["bbox_left"],
            "height": row["bbox_height"],
            "width": row["bbox_width"],
        }
    if kind == "point":
        return {"x": row["point_x"], "y": row["point_y"]}
    return [dict(p) for p in row["line"]]


def split_at_gaps(frames: list[int], gap: int) -> list[list[int]]:
    out: list[list[int]] = []
    for f in frames:
        if out and f - out[-1][-1] <= gap:
            out[-1].append(f)
        else:
            out.append([f])
    return out


def group_by_segment(frames: list[int], seg: dict[int, int]) -> list[list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for f in frames:
        groups[seg[f]].append(f)
    return [groups[s] for s in sorted(groups)]


def check_head(line: dict, key) -> None:
    dr_field, dr, ft_field, ft = key
    assert line["dataRow"] == {dr_field: dr}
    assert line[ft_field] == ft
    assert uuid.UUID(line["uuid"]).version == 5


# ---------------------------------------------------------------------------------------------
# (a) objects: tracks, segments, keyframes
# ---------------------------------------------------------------------------------------------


def expected_tracks(spec: KeySpec, config: AnnotationConfig) -> list[dict]:
    """Per track: expected segments (output frames) and the allowed keyframe contents."""
    by_track: dict[str | None, list[dict]] = defaultdict(list)
    for r in spec.rows:
        by_track[r["track_id"]].append(r)
    off = config.labelbox_frame_base - config.frame_base
    tracks = []
    for tid, rows in by_track.items():
        by_frame: dict[int, list[dict]] = defaultdict(list)
        for r in rows:
            by_frame[r["frame"]].append(r)
        frames = sorted(by_frame)
        allowed = {}
        for f, rs in by_frame.items():
            best = max(conf_value(r["confidence"]) for r in rs)
            allowed[f + off] = [
                (row_geometry(spec.kind, r), nested_value(r["classifications"]))
                for r in rs
                if conf_value(r["confidence"]) == best
            ]
        if rows[0]["segment_index"] is None:
            segments = split_at_gaps(frames, config.max_gap_frames)
        else:
            segments = group_by_segment(frames, {r["frame"]: r["segment_index"] for r in rows})
        tracks.append(
            {
                "track": tid,
                "segments": [[f + off for f in s] for s in segments],
                "allowed": allowed,
                "gap_rule": rows[0]["segment_index"] is None,
            }
        )
    return tracks


def observed_track(line: dict, kind: str) -> dict:
    geometry_key = GEOMETRY_KEY[kind]
    segments, content = [], {}
    for seg in line["segments"]:
        assert set(seg) == {"keyframes"}, seg
        frames = []
        for kf in seg["keyframes"]:
            assert set(kf) <= {"frame", geometry_key, "classifications"}, kf
            assert kf["frame"] not in content, f"frame {kf['frame']} twice in one track"
            frames.append(kf["frame"])
            content[kf["frame"]] = (kf[geometry_key], kf.get("classifications"))
        segments.append(frames)
    return {"segments": segments, "content": content}


def track_matches(obs: dict, exp: dict) -> bool:
    return obs["segments"] == exp["segments"] and all(
        obs["content"][f] in exp["allowed"][f] for s in exp["segments"] for f in s
    )


def check_object_key(spec: KeySpec, lines: list[bytes], config: AnnotationConfig) -> None:
    parsed = [json.loads(x) for x in lines]
    expected = expected_tracks(spec, config)
    assert len(parsed) == len(expected), "one line per (data row, feature, track_id)"
    observed = []
    for line in parsed:
        check_head(line, spec.key)
        assert set(line) == {"uuid", "dataRow", spec.key[2], "segments"}, sorted(line)
        assert "confidence" not in line
        obs = observed_track(line, spec.kind)
        all_frames = [f for s in obs["segments"] for f in s]
        # Segments sorted and disjoint, keyframes sorted within each.
        assert all(obs["segments"]), "an empty segment"
        assert all_frames == sorted(set(all_frames)), obs["segments"]
        observed.append(obs)
    for exp in expected:
        if not exp["gap_rule"]:
            continue
        # Gap rule, stated on its own (also implied by the exact segments below).
        g = config.max_gap_frames
        segs = exp["segments"]
        assert all(b - a <= g for s in segs for a, b in itertools.pairwise(s))
        assert all(b[0] - a[-1] > g for a, b in itertools.pairwise(segs))
    # Pair lines with tracks by content: some one-to-one pairing must match exactly.
    for perm in itertools.permutations(range(len(expected))):
        if all(track_matches(observed[i], expected[j]) for i, j in enumerate(perm)):
            return
    raise AssertionError(
        "no pairing of lines to tracks matches:\nobserved="
        + repr([(o["segments"], o["content"]) for o in observed])
        + "\nexpected="
        + repr([(e["track"], e["segments"], e["allowed"]) for e in expected])
    )


@SETTINGS
@given(scenario_and_config(kinds=OBJECT_KINDS))
def test_objects_every_frame_once_with_winning_geometry(case):
    specs, config = case
    outcomes = run(all_rows(specs), config)
    assert set(outcomes) == {s.key for s in specs}
    for spec in specs:
        check_object_key(spec, outcomes[spec.key].lines, config)


def test_duplicate_frame_highest_confidence_wins_whatever_the_order():
    base = {
        "global_key": "v",
        "feature_name": "box",
        "kind": "bbox",
        "track_id": "1",
        "bbox_height": 10.0,
        "bbox_width": 10.0,
    }
    rows = [
        {**base, "frame": 3, "bbox_top": 1.0, "bbox_left": 1.0, "confidence": 0.4},
        {**base, "frame": 3, "bbox_top": 2.0, "bbox_left": 2.0, "confidence": None},
        {**base, "frame": 3, "bbox_top": 3.0, "bbox_left": 3.0, "confidence": 0.99},
    ]
    config = AnnotationConfig()
    for perm in itertools.permutations(rows):
        outcome = run(list(perm), config)[("globalKey", "v", "name", "box")]
        (line,) = [json.loads(x) for x in outcome.lines]
        (seg,) = line["segments"]
        assert seg["keyframes"] == [
            {"frame": 3, "bbox": {"top": 2, "left": 2, "height": 10, "width": 10}}
        ]
        assert outcome.counters["duplicate_frames"] == 2


# ---------------------------------------------------------------------------------------------
# (b) frame classifications: per-answer inclusive ranges
# ---------------------------------------------------------------------------------------------


def resolved_frames(spec: KeySpec) -> dict[str, dict[int, int | None]]:
    """{answer: {input frame: segment_index}} after per-frame resolution (radio: one answer)."""
    out: dict[str, dict[int, int | None]] = defaultdict(dict)
    if spec.kind == "frame_checklist":
        for r in spec.rows:
            out[r["answer"]][r["frame"]] = r.get("segment_index")
        return out
    by_frame: dict[int, list[dict]] = defaultdict(list)
    for r in spec.rows:
        by_frame[r["frame"]].append(r)
    for f, rs in by_frame.items():
        best = max(conf_value(r.get("confidence")) for r in rs)
        winners = {r["answer"] for r in rs if conf_value(r.get("confidence")) == best}
        assert len(winners) == 1, "the strategy gives radio frames a unique winner"
        out[winners.pop()][f] = rs[0].get("segment_index")
    return out


def observed_ranges(spec: KeySpec, lines: list[bytes]) -> dict[str, list[tuple[int, int]]]:
    field = spec.key[2]  # answer_field "auto": answers are named like the feature
    parsed = [json.loads(x) for x in lines]
    for line in parsed:
        check_head(line, spec.key)
        assert set(line) == {"uuid", "dataRow", spec.key[2], "answer"}, sorted(line)
    if spec.kind == "frame_radio":
        answers = [line["answer"] for line in parsed]
        for a in answers:
            assert isinstance(a, dict), "a radio line has one answer"
    else:
        assert len(parsed) == 1, "a frame checklist is one line"
        answers = parsed[0]["answer"]
        assert isinstance(answers, list)
    out = {}
    for a in answers:
        assert set(a) == {field, "frames"}, a
        assert a[field] not in out, f"answer {a[field]!r} twice"
        ranges = []
        for r in a["frames"]:
            assert set(r) == {"start", "end"}, r
            ranges.append((r["start"], r["end"]))
        out[a[field]] = ranges
    return out


def covering(ranges: list[tuple[int, int]], f: int) -> int:
    return sum(s <= f <= e for s, e in ranges)


def radio_runs(resolved: dict[str, dict[int, int | None]], gap: int, off: int) -> dict:
    """Expected radio ranges: one answer per frame, so a range is a run of consecutive
    resolved frames with the same answer, cut where segment_index changes (when given) or
    where frames are more than `gap` apart (when not)."""
    timeline = sorted((f, a, s) for a, fs in resolved.items() for f, s in fs.items())
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    prev = None
    for f, a, s in timeline:
        same = (
            prev is not None
            and prev[1] == a
            and (prev[2] == s if s is not None else f - prev[0] <= gap)
        )
        if same:
            out[a][-1] = (out[a][-1][0], f + off)
        else:
            out[a].append((f + off, f + off))
        prev = (f, a, s)
    return out


def check_frame_key(spec: KeySpec, lines: list[bytes], config: AnnotationConfig) -> None:
    off = config.labelbox_frame_base - config.frame_base
    g = config.max_gap_frames
    resolved = resolved_frames(spec)
    ranges = observed_ranges(spec, lines)
    assert set(ranges) == set(resolved), (sorted(ranges), sorted(resolved))
    for answer, frames_seg in resolved.items():
        rs = ranges[answer]
        frames = sorted(f + off for f in frames_seg)
        # Sorted, disjoint, inclusive, each from one of its answer's frames to another.
        assert rs, answer
        assert all(s <= e for s, e in rs), rs
        assert all(e1 < s2 for (_, e1), (s2, _) in itertools.pairwise(rs)), rs
        assert all(s in frames and e in frames for s, e in rs), (rs, frames)
        for f in frames:
            assert covering(rs, f) == 1, (answer, f, rs)
        if spec.kind == "frame_checklist":
            # Options are independent: segment_index groups, or the gap rule splits.
            if next(iter(frames_seg.values())) is not None:
                seg = {f + off: s for f, s in frames_seg.items()}
                expected = [(s[0], s[-1]) for s in group_by_segment(frames, seg)]
            else:
                expected = [(s[0], s[-1]) for s in split_at_gaps(frames, g)]
            assert rs == expected, (answer, rs, expected)
    if spec.kind == "frame_radio":
        # One answer per frame: ranges of different answers never overlap...
        spans = sorted((s, e, a) for a, rs in ranges.items() for s, e in rs)
        for (s1, e1, a1), (s2, e2, a2) in itertools.pairwise(spans):
            assert e1 < s2, (
                f"radio answers {a1!r} {[s1, e1]} and {a2!r} {[s2, e2]} overlap "
                f"(max_gap_frames={g}, frames by answer: "
                f"{ {a: sorted(fs) for a, fs in resolved.items()} })"
            )
        # ...and each range is a maximal run of its answer (segment_index or gap rule).
        assert ranges == radio_runs(resolved, g, off), (ranges, dict(resolved))


@SETTINGS
@given(scenario_and_config(kinds=FRAME_KINDS, ties=False))
def test_frame_ranges_cover_every_answer_frame_once(case):
    specs, config = case
    outcomes = run(all_rows(specs), config)
    assert set(outcomes) == {s.key for s in specs}
    for spec in specs:
        check_frame_key(spec, outcomes[spec.key].lines, config)


def test_radio_answer_change_inside_the_gap_does_not_overlap():
    """Radio 'a' on frames 1 and 3, 'b' on frame 2, max_gap_frames=2: one answer per frame."""
    base = {"global_key": "v", "feature_name": "q", "kind": "radio"}
    rows = [
        {**base, "frame": 1, "answer": "a"},
        {**base, "frame": 2, "answer": "b"},
        {**base, "frame": 3, "answer": "a"},
    ]
    config = AnnotationConfig(max_gap_frames=2)
    spec = KeySpec(("globalKey", "v", "name", "q"), "frame_radio", rows)
    check_frame_key(spec, run(rows, config)[spec.key].lines, config)


# ---------------------------------------------------------------------------------------------
# Global classifications
# ---------------------------------------------------------------------------------------------


def check_global_key(spec: KeySpec, lines: list[bytes]) -> None:
    field = spec.key[2]
    (line,) = [json.loads(x) for x in lines]
    check_head(line, spec.key)
    kind = spec.kind.removeprefix("global_")

    def candidates(rows):
        best = max(conf_value(r["confidence"]) for r in rows)
        return [r for r in rows if conf_value(r["confidence"]) == best]

    if kind == "text":
        assert set(line) <= {"uuid", "dataRow", spec.key[2], "answer", "confidence"}
        got = (line["answer"], line.get("confidence"))
        assert got in [(r["answer"], r["confidence"]) for r in candidates(spec.rows)], got
        return
    answers = [line["answer"]] if kind == "radio" else line["answer"]
    assert isinstance(line["answer"], dict if kind == "radio" else list)
    got = [(a[field], a.get("confidence"), a.get("classifications")) for a in answers]
    if kind == "radio":
        allowed = [
            [(r["answer"], r["confidence"], nested_value(r["classifications"]))]
            for r in candidates(spec.rows)
        ]
        assert got in allowed, got
        return
    by_answer: dict[str, list[dict]] = defaultdict(list)
    for r in spec.rows:
        by_answer[r["answer"]].append(r)
    assert [g[0] for g in got] == sorted(by_answer), got
    for name, conf, nested in got:
        assert (name, conf, nested) in [
            (r["answer"], r["confidence"], nested_value(r["classifications"]))
            for r in candidates(by_answer[name])
        ], (name, conf, nested)


@SETTINGS
@given(scenario_and_config(kinds=GLOBAL_KINDS))
def test_global_classifications_keep_the_best_answer(case):
    specs, config = case
    outcomes = run(all_rows(specs), config)
    for spec in specs:
        check_global_key(spec, outcomes[spec.key].lines)


# ---------------------------------------------------------------------------------------------
# (c) order independence, (d) chunking independence
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(scenario_and_config(), st.data())
def test_row_order_does_not_change_a_byte(case, data):
    specs, config = case
    rows = all_rows(specs)
    order = data.draw(st.permutations(range(len(rows))), label="order")
    assert lines_of(run([rows[i] for i in order], config)) == lines_of(run(rows, config))


def run_chunked(chunks: list[list[dict]], config: AnnotationConfig) -> dict:
    """Each chunk validated and keyed on its own, then each key's chunks concatenated as the
    pipeline's state flush does (keys.concat_chunks)."""
    parts: dict = defaultdict(list)
    for chunk in chunks:
        if chunk:
            for key, table in split_by_key(validated(chunk, config)):
                parts[key].append(table)
    out = {}
    for key in sorted(parts):
        table = concat_chunks(parts[key])
        outcome = build_annotations(key, table, config)
        assert not len(outcome.rejections), outcome.rejections.reasons
        out[key] = outcome
    return out


@SETTINGS
@given(scenario_and_config(), st.data())
def test_chunking_does_not_change_a_byte(case, data):
    specs, config = case
    rows = all_rows(specs)
    order = data.draw(st.permutations(range(len(rows))), label="order")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), max_size=5), label="cuts"))
    shuffled = [rows[i] for i in order]
    bounds = [0, *cuts, len(rows)]
    chunks = [shuffled[a:b] for a, b in itertools.pairwise(bounds)]
    whole = run(rows, config)
    chunked = run_chunked(chunks, config)
    assert list(chunked) == list(whole)
    assert lines_of(chunked) == lines_of(whole)
    for key in whole:
        assert chunked[key].counters == whole[key].counters, key


def many_distinct_rows(column: str, n: int) -> list[dict]:
    """n rows of one key whose `column` takes n distinct values."""
    base = {"global_key": "v.mp4", "feature_name": "f"}
    if column == "answer":
        return [
            {**base, "kind": "checklist", "frame": i + 1, "answer": f"option {i}"} for i in range(n)
        ]
    box = {
        **base,
        "kind": "bbox",
        "bbox_top": 1.0,
        "bbox_left": 2.0,
        "bbox_height": 3.0,
        "bbox_width": 4.0,
    }
    if column == "track_id":
        return [{**box, "frame": 1, "track_id": f"t{i}"} for i in range(n)]
    return [
        {
            **box,
            "frame": i + 1,
            "classifications": '[{"name":"c","answer":{"name":"x","confidence":%s}}]' % (i / n),
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("column", ["track_id", "answer", "classifications"])
@pytest.mark.parametrize("cut", [150, 50])
def test_chunks_with_many_distinct_values_concatenate(column, cut):
    """One chunk of a key with more than 127 distinct values of a text column, one with
    fewer: concatenating them as the pipeline does must work and give the same lines."""
    rows = many_distinct_rows(column, 200)
    config = AnnotationConfig()
    whole = run(rows, config)
    assert lines_of(run_chunked([rows[:cut], rows[cut:]], config)) == lines_of(whole)


@pytest.mark.parametrize("column", ["track_id", "answer", "classifications"])
def test_two_input_files_with_many_distinct_values(column):
    """The same through the core's own entry point for several input files."""
    rows = many_distinct_rows(column, 200)
    config = AnnotationConfig()
    files = [
        ("a.parquet", 0, table_from_rows(rows[:150])),
        ("b.parquet", 0, table_from_rows(rows[150:])),
    ]
    results, dead, _ = convert_tables(files, config)
    assert dead == []
    assert [line for r in results for line in r.lines] == lines_of(run(rows, config))


# ---------------------------------------------------------------------------------------------
# (e) frame mapping
# ---------------------------------------------------------------------------------------------


def shift_frames(line: dict, by: int) -> dict:
    line = json.loads(json.dumps(line))
    for seg in line.get("segments", []):
        for kf in seg["keyframes"]:
            kf["frame"] += by
    answers = line.get("answer")
    for a in answers if isinstance(answers, list) else [answers]:
        if isinstance(a, dict):
            for r in a.get("frames", []):
                r["start"] += by
                r["end"] += by
    return line


def output_frames(line: dict) -> list[int]:
    frames = [kf["frame"] for seg in line.get("segments", []) for kf in seg["keyframes"]]
    answers = line.get("answer")
    for a in answers if isinstance(answers, list) else [answers]:
        if isinstance(a, dict):
            frames += [v for r in a.get("frames", []) for v in (r["start"], r["end"])]
    return frames


def shifted_rows(rows: list[dict], by: int) -> list[dict]:
    return [{**r, "frame": r["frame"] + by} if r.get("frame") is not None else r for r in rows]


@st.composite
def base0_case(draw):
    config0 = AnnotationConfig(
        frame_base=0,
        labelbox_frame_base=draw(st.sampled_from([0, 1])),
        max_gap_frames=draw(st.sampled_from([1, 2, 3])),
    )
    return draw(scenarios(ALL_KINDS, 0, ties=True)), config0


@SETTINGS
@given(base0_case())
def test_frame_base_zero_and_one_agree_on_shifted_rows(case):
    specs, config0 = case
    rows = all_rows(specs)
    config1 = AnnotationConfig(
        frame_base=1,
        labelbox_frame_base=config0.labelbox_frame_base,
        max_gap_frames=config0.max_gap_frames,
    )
    assert lines_of(run(shifted_rows(rows, 1), config1)) == lines_of(run(rows, config0))


@SETTINGS
@given(scenario_and_config())
def test_labelbox_frame_base_shifts_output_frames(case):
    specs, config = case
    rows = all_rows(specs)
    lb0 = AnnotationConfig(
        frame_base=config.frame_base, labelbox_frame_base=0, max_gap_frames=config.max_gap_frames
    )
    lb1 = AnnotationConfig(
        frame_base=config.frame_base, labelbox_frame_base=1, max_gap_frames=config.max_gap_frames
    )
    out0 = [json.loads(x) for x in lines_of(run(rows, lb0))]
    out1 = [json.loads(x) for x in lines_of(run(rows, lb1))]
    assert [shift_frames(x, 1) for x in out0] == out1
    # Independent of the shift helper: the smallest output frame is the smallest input frame,
    # mapped.
    input_frames = [r["frame"] for r in rows if r.get("frame") is not None]
    got = [f for x in out1 for f in output_frames(x)]
    if input_frames:
        assert min(got) == min(input_frames) - config.frame_base + 1
    else:
        assert got == []


# ---------------------------------------------------------------------------------------------
# (f) uuids
# ---------------------------------------------------------------------------------------------


def uuids(lines: list[bytes]) -> list[str]:
    return [json.loads(x)["uuid"] for x in lines]


@SETTINGS
@given(scenario_and_config(), st.text(min_size=1, max_size=5))
def test_uuids_distinct_and_seeded(case, seed):
    specs, config = case
    rows = all_rows(specs)
    lines = lines_of(run(rows, config))
    ids = uuids(lines)
    assert len(set(ids)) == len(ids), "two lines share a uuid"
    assert all(uuid.UUID(i).version == 5 for i in ids)
    assert lines_of(run(rows, config)) == lines  # same run twice
    other_seed = seed if seed != config.uuid_seed else seed + "x"
    reseeded = lines_of(
        run(
            rows,
            AnnotationConfig(
                frame_base=config.frame_base,
                labelbox_frame_base=config.labelbox_frame_base,
                max_gap_frames=config.max_gap_frames,
                uuid_seed=other_seed,
            ),
        )
    )
    assert len(reseeded) == len(lines)
    for a, b in zip(lines, reseeded, strict=True):
        ja, jb = json.loads(a), json.loads(b)
        assert ja["uuid"] != jb["uuid"], "uuid_seed does not change the uuid"
        ja.pop("uuid")
        jb.pop("uuid")
        assert ja == jb


@SETTINGS
@given(scenario_and_config(kinds=(*OBJECT_KINDS, "frame_radio")))
def test_uuid_depends_on_identity_not_on_content(case):
    """A track's (or radio answer's) uuid is the same whatever its frames and the other keys."""
    specs, config = case
    full = set(uuids(lines_of(run(all_rows(specs), config))))
    singles = set()
    for spec in specs:
        field = "track_id" if spec.kind in OBJECT_KINDS else "answer"
        first_rows = {}
        for r in spec.rows:  # one row per track (or answer) is enough to name it
            first_rows.setdefault(r[field], {**r, "segment_index": None})
        for row in first_rows.values():
            (one,) = uuids(lines_of(run([row], config)))
            singles.add(one)
    assert full <= singles, "a uuid changed with the frames or with other keys' rows"


def test_uuids_distinct_when_names_contain_the_separator():
    """A global classification and a track must not share a uuid, whatever the names."""
    rows = [
        {
            "global_key": "v",
            "feature_name": "f",
            "kind": "bbox",
            "frame": 1,
            "track_id": "t",
            "bbox_top": 1.0,
            "bbox_left": 1.0,
            "bbox_height": 1.0,
            "bbox_width": 1.0,
        },
        {"global_key": "v", "feature_name": "f\x1ftrack\x1ft", "kind": "text", "answer": "x"},
    ]
    ids = uuids(lines_of(run(rows, AnnotationConfig())))
    assert len(ids) == 2
    assert ids[0] != ids[1], f"two different annotations share uuid {ids[0]}"


_DETERMINISM_SCRIPT = """
import sys
from transforms.core.annotate import build_annotations
from transforms.core.columns import table_from_rows
from transforms.core.config import AnnotationConfig
from transforms.core.conform import conform
from transforms.core.keys import concat_chunks, split_by_key
from transforms.core.validation import validate
b = {"global_key": "v.mp4", "feature_name": "car"}
rows = [
    {**b, "kind": "bbox", "frame": f, "track_id": t, "bbox_top": 1.5 * f, "bbox_left": 2.0,
     "bbox_height": 3.0, "bbox_width": 4.0}
    for t in ("b", None, "a") for f in (5, 1, 3, 9, 3)
] + [
    {"data_row_id": "x", "feature_name": "q", "kind": "radio", "frame": f, "answer": a}
    for f, a in ((1, "yes"), (2, "no"), (3, "yes"))
] + [
    {"data_row_id": "x", "feature_schema_id": "c", "kind": "checklist", "answer": a}
    for a in ("p", "q", "p")
]
config = AnnotationConfig(uuid_seed=sys.argv[1])
valid = validate(conform(table_from_rows(rows), "t"), 1).valid
for key, chunk in split_by_key(valid):
    for line in build_annotations(key, chunk, config).lines:
        sys.stdout.buffer.write(line + b"\\n")
"""


def test_uuids_deterministic_across_processes():
    outputs = []
    for hash_seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run(
            [sys.executable, "-c", _DETERMINISM_SCRIPT, "s"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=True,
        )
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    lines = outputs[0].splitlines()
    assert len(lines) == 3 + 2 + 1  # three tracks, two radio answers, one checklist
    ids = [json.loads(x)["uuid"] for x in lines]
    assert len(set(ids)) == len(ids)


# ---------------------------------------------------------------------------------------------
# (g) counters
# ---------------------------------------------------------------------------------------------


def check_counters(spec: KeySpec, outcome) -> None:
    counters = outcome.counters
    parsed = [json.loads(x) for x in outcome.lines]
    rows = spec.rows
    assert counters["lines"] == len(outcome.lines)
    assert counters["bytes"] == sum(len(x) + 1 for x in outcome.lines)
    assert counters["rows_used"] == len(rows)
    if spec.kind in OBJECT_KINDS:
        segments = [s for line in parsed for s in line["segments"]]
        assert counters["objects"] == len(parsed)
        assert counters["segments"] == len(segments)
        assert counters["keyframes"] == sum(len(s["keyframes"]) for s in segments)
        distinct = {(r["track_id"], r["frame"]) for r in rows}
        assert counters["duplicate_frames"] == len(rows) - len(distinct)
    elif spec.kind in FRAME_KINDS:
        answers = [
            a
            for line in parsed
            for a in (line["answer"] if isinstance(line["answer"], list) else [line["answer"]])
        ]
        assert counters["frame_ranges"] == sum(len(a["frames"]) for a in answers)
        per = (
            (lambda r: r["frame"])
            if spec.kind == "frame_radio"
            else (lambda r: (r["answer"], r["frame"]))
        )
        assert counters["duplicate_frames"] == len(rows) - len({per(r) for r in rows})
        assert counters["objects"] == 0
        assert counters["keyframes"] == 0
    else:
        assert counters["classifications"] == len(parsed) == 1
        distinct = len({r["answer"] for r in rows}) if spec.kind == "global_checklist" else 1
        assert counters["duplicate_answers"] == len(rows) - distinct
        assert counters["objects"] == 0


@SETTINGS
@given(scenario_and_config())
def test_counters_match_the_lines(case):
    specs, config = case
    outcomes = run(all_rows(specs), config)
    for spec in specs:
        check_counters(spec, outcomes[spec.key])
