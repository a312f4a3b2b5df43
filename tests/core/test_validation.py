"""Row-level validation (`validation.REASONS`) and group-level rejections (`outcome.GROUP_REASONS`).

Each row-level reason has a minimal row that breaks exactly that rule and a valid twin that
differs only in what the rule checks. Where a row breaks two rules, the earlier one in REASONS
must win. Group-level reasons go through `build_annotations` and `rejected_records`, as the
stateful step does.
"""

from __future__ import annotations

import json
import math

import pyarrow as pa
import pytest

from tests.rows import GK, bbox, checklist, line, point, radio, text
from transforms.core.annotate import build_annotations, rejected_records
from transforms.core.annotations import GROUP_REASONS
from transforms.core.columns import table_from_rows
from transforms.core.config import AnnotationConfig
from transforms.core.conform import conform
from transforms.core.keys import split_by_key
from transforms.core.validation import MAX_FRAME, REASONS, validate

NAN, INF = math.nan, math.inf
NESTED = '[{"name": "sub", "answer": {"name": "a", "confidence": 0.5}}]'


def reasons_of(rows: list[dict], frame_base: int = 1) -> list[str | None]:
    """The reason of each row (None where it passes), in row order."""
    result = validate(conform(table_from_rows(rows), "test.parquet"), frame_base)
    out: list[str | None] = [None] * len(rows)
    for i, reason in zip(result.rejections.rows.tolist(), result.rejections.reasons, strict=True):
        out[i] = reason
    assert result.valid.num_rows == out.count(None)
    return out


def reason_of(row: dict, frame_base: int = 1) -> str | None:
    return reasons_of([row], frame_base)[0]


# reason: (a row that breaks only this rule, its valid twin)
CASES: dict[str, tuple[dict, dict]] = {
    "unknown_kind": (bbox(kind="polygon"), bbox(kind="bbox")),
    "missing_data_row": (bbox(global_key=None), bbox()),
    "ambiguous_data_row": (bbox(data_row_id="dr1"), bbox(global_key=None, data_row_id="dr1")),
    "missing_feature": (bbox(feature_name=None), bbox(feature_name=None, feature_schema_id="s1")),
    "ambiguous_feature": (bbox(feature_schema_id="s1"), bbox()),
    "missing_frame": (bbox(frame=None), bbox(frame=7)),
    "frame_below_base": (bbox(frame=0), bbox(frame=1)),
    "frame_too_large": (bbox(frame=MAX_FRAME + 1), bbox(frame=MAX_FRAME)),
    "text_with_frame": (text(frame=3), text()),
    "missing_geometry": (bbox(bbox_width=None), bbox()),
    "non_finite_geometry": (bbox(bbox_top=NAN), bbox(bbox_top=-5.0)),
    "non_positive_size": (bbox(bbox_width=0.0), bbox(bbox_width=0.01)),
    "line_too_short": (line(line=[{"x": 1.0, "y": 2.0}]), line()),
    "missing_answer": (radio(answer=""), radio(answer="no")),
    "confidence_out_of_range": (bbox(confidence=1.1), bbox(confidence=1.0)),
    "invalid_classifications": (bbox(classifications="[{"), bbox(classifications=NESTED)),
    "unsupported_nesting": (radio(frame=3, classifications=NESTED), radio(classifications=NESTED)),
}


def test_every_reason_has_a_case():
    assert list(CASES) == list(REASONS)


@pytest.mark.parametrize("reason", list(CASES))
def test_reason_and_valid_twin(reason):
    bad, twin = CASES[reason]
    assert reason_of(bad) == reason
    assert reason_of(twin) is None


def test_all_cases_in_one_table():
    """Rows are judged one by one: a table of every bad row and every twin gives each its own."""
    rows, expected = [], []
    for reason, (bad, twin) in CASES.items():
        rows += [twin, bad]
        expected += [None, reason]
    result = validate(conform(table_from_rows(rows), "t"), 1)
    assert result.rejections.rows.tolist() == [i for i, e in enumerate(expected) if e]
    assert result.rejections.reasons == [e for e in expected if e]
    assert result.rejections.details[:-2] == [REASONS[r] for r in result.rejections.reasons][:-2]
    assert result.rejections.details[-2].startswith("classifications: not valid JSON")
    assert result.valid.num_rows == len(CASES)
    assert result.valid.column("kind").to_pylist() == [t["kind"] for _, t in CASES.values()]


@pytest.mark.parametrize("start", [1, 3, 9])
def test_a_slice_or_a_chunked_table_is_judged_as_its_rows(start):
    """Verdicts read bitmaps and offsets directly: a table that is a slice at an offset that is
    not a byte boundary, or has several chunks per column, gets each row's own verdict."""
    rows, expected = [], []
    for reason, (bad, twin) in CASES.items():
        rows += [twin, bad]
        expected += [None, reason]
    whole = conform(table_from_rows(rows + rows), "t")
    sliced = whole.slice(start, len(rows))
    chunked = pa.concat_tables([sliced.slice(0, 5), sliced.slice(5)])
    want = expected[start:] + expected[:start]
    for table in (sliced, chunked):
        result = validate(table, 1)
        assert result.rejections.rows.tolist() == [i for i, e in enumerate(want) if e]
        assert result.rejections.reasons == [e for e in want if e]


# --- Priority: the first rule broken in REASONS' order wins --------------------------------

PRIORITY = [
    (bbox(kind="polygon", global_key=None), "unknown_kind"),
    (bbox(kind=None, frame=None), "unknown_kind"),
    (bbox(global_key=None, feature_name=None), "missing_data_row"),
    (bbox(data_row_id="d", feature_name=None), "ambiguous_data_row"),
    (bbox(feature_name=None, frame=None), "missing_feature"),
    (bbox(feature_schema_id="s", frame=0), "ambiguous_feature"),
    (bbox(frame=None, bbox_top=None), "missing_frame"),
    (text(frame=0), "frame_below_base"),
    (bbox(frame=MAX_FRAME + 1, bbox_top=None), "frame_too_large"),
    (text(frame=2, answer=None), "text_with_frame"),
    (text(frame=2, classifications=NESTED), "text_with_frame"),
    (bbox(bbox_top=None, bbox_left=NAN), "missing_geometry"),
    (line(line=[{"x": NAN, "y": 1.0}, None]), "missing_geometry"),
    (bbox(bbox_width=NAN, bbox_height=0.0), "non_finite_geometry"),
    (line(line=[{"x": INF, "y": 1.0}]), "non_finite_geometry"),
    (bbox(bbox_height=-1.0, confidence=2.0), "non_positive_size"),
    (line(line=[{"x": 1.0, "y": 1.0}], classifications="x"), "line_too_short"),
    (radio(answer=None, confidence=2.0), "missing_answer"),
    (bbox(confidence=-1.0, classifications="x"), "confidence_out_of_range"),
    (text(classifications="{not json"), "invalid_classifications"),
    (radio(frame=4, classifications='[{"name": "s"}]'), "invalid_classifications"),
]


@pytest.mark.parametrize(("row", "reason"), PRIORITY)
def test_priority_first_rule_wins(row, reason):
    assert reason_of(row) == reason


# --- Data row and feature -----------------------------------------------------------------


@pytest.mark.parametrize("gk", ["", None])
def test_empty_global_key_counts_as_missing(gk):
    assert reason_of(bbox(global_key=gk)) == "missing_data_row"
    assert reason_of(bbox(global_key=gk, data_row_id="")) == "missing_data_row"
    # An empty global key beside a data row id is no ambiguity: the id names the row.
    assert reason_of(bbox(global_key=gk, data_row_id="dr1")) is None


def test_empty_feature_name_counts_as_missing():
    assert reason_of(bbox(feature_name="")) == "missing_feature"
    assert reason_of(bbox(feature_name="", feature_schema_id="s1")) is None


def test_both_global_key_and_data_row_id_is_ambiguous():
    assert reason_of(bbox(global_key="a", data_row_id="b")) == "ambiguous_data_row"
    assert reason_of(radio(global_key="a", data_row_id="a")) == "ambiguous_data_row"


# --- Frames --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame_base", "frame", "reason"),
    [
        (0, -1, "frame_below_base"),
        (0, 0, None),
        (1, 0, "frame_below_base"),
        (1, 1, None),
        (1, -5, "frame_below_base"),
    ],
)
def test_frame_below_base(frame_base, frame, reason):
    assert reason_of(bbox(frame=frame), frame_base) == reason
    assert reason_of(radio(frame=frame), frame_base) == reason


def test_frame_too_large_on_classification():
    assert reason_of(checklist(frame=MAX_FRAME + 1)) == "frame_too_large"


def test_text_with_frame():
    assert reason_of(text(frame=5)) == "text_with_frame"
    assert reason_of(text(frame=None)) is None


def test_missing_frame_only_for_objects():
    for make in (bbox, point, line):
        assert reason_of(make(frame=None)) == "missing_frame"
    for make in (radio, checklist):
        assert reason_of(make(frame=None)) is None


# --- Geometry ------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["bbox_top", "bbox_left", "bbox_height", "bbox_width"])
@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_bbox_non_finite(column, value):
    assert reason_of(bbox(**{column: value})) == "non_finite_geometry"


@pytest.mark.parametrize("column", ["point_x", "point_y"])
@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_point_non_finite(column, value):
    assert reason_of(point(**{column: value})) == "non_finite_geometry"
    assert reason_of(point(**{column: -3.0})) is None


@pytest.mark.parametrize("value", [NAN, INF, -INF])
@pytest.mark.parametrize("coord", ["x", "y"])
def test_line_non_finite_point(value, coord):
    pts = [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}, {"x": 5.0, "y": 6.0}]
    pts[1] = {**pts[1], coord: value}
    assert reason_of(line(line=pts)) == "non_finite_geometry"


@pytest.mark.parametrize("column", ["point_x", "point_y"])
def test_point_missing_coordinate(column):
    assert reason_of(point(**{column: None})) == "missing_geometry"


@pytest.mark.parametrize(
    ("width", "height"), [(0.0, 30.0), (40.0, 0.0), (-1.0, 30.0), (40.0, -0.5), (0.0, 0.0)]
)
def test_bbox_non_positive_size(width, height):
    assert reason_of(bbox(bbox_width=width, bbox_height=height)) == "non_positive_size"


def test_bbox_negative_position_is_valid():
    assert reason_of(bbox(bbox_top=-10.0, bbox_left=-20.0)) is None


@pytest.mark.parametrize(
    ("pts", "reason"),
    [
        ([{"x": 1.0, "y": 2.0}], "line_too_short"),
        ([], "line_too_short"),
        (None, "missing_geometry"),
        ([{"x": 1.0, "y": 2.0}, None], "missing_geometry"),
        ([{"x": 1.0, "y": 2.0}, {"x": None, "y": 4.0}], "missing_geometry"),
        ([{"x": 1.0, "y": None}, {"x": 3.0, "y": 4.0}], "missing_geometry"),
        ([None], "missing_geometry"),
        ([{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}], None),
        ([{"x": 0.0, "y": 0.0}, {"x": 0.0, "y": 0.0}, {"x": -1.0, "y": 9.0}], None),
    ],
)
def test_line_shapes(pts, reason):
    assert reason_of(line(line=pts)) == reason


def test_line_checks_are_per_row():
    """A bad line must not taint its neighbours (vertex positions map back to their row)."""
    good = [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}]
    rows = [
        line(line=good),
        line(line=[{"x": 1.0, "y": 2.0}, None]),
        line(line=good),
        line(line=[{"x": NAN, "y": 0.0}, {"x": 1.0, "y": 1.0}]),
        line(line=good),
        line(line=[good[0]]),
        line(line=good),
    ]
    assert reasons_of(rows) == [
        None,
        "missing_geometry",
        None,
        "non_finite_geometry",
        None,
        "line_too_short",
        None,
    ]


# --- Answers and confidence ----------------------------------------------------------------


def test_missing_answer():
    assert reason_of(radio(answer="")) == "missing_answer"
    assert reason_of(radio(answer=None)) == "missing_answer"
    assert reason_of(checklist(answer="")) == "missing_answer"
    assert reason_of(checklist(answer=None, frame=2)) == "missing_answer"
    assert reason_of(text(answer=None)) == "missing_answer"
    assert reason_of(radio(answer="a")) is None


@pytest.mark.parametrize(
    ("confidence", "reason"),
    [
        (-0.1, "confidence_out_of_range"),
        (1.1, "confidence_out_of_range"),
        (NAN, "confidence_out_of_range"),
        (INF, "confidence_out_of_range"),
        (0.0, None),
        (1.0, None),
        (None, None),
    ],
)
def test_confidence_range(confidence, reason):
    assert reason_of(bbox(confidence=confidence)) == reason
    assert reason_of(radio(confidence=confidence)) == reason


# --- Classifications -----------------------------------------------------------------------


def _nest(levels: int) -> str:
    """A radio nested `levels` deep: level k's answer holds level k+1."""
    obj: dict = {"name": f"q{levels}", "answer": {"name": "a"}}
    for k in range(levels - 1, 0, -1):
        obj = {"name": f"q{k}", "answer": {"name": "a", "classifications": [obj]}}
    return json.dumps([obj])


INVALID_CLASSIFICATIONS = {
    "not_json": ("[{'name': 'x'}]", "not valid JSON"),
    "not_array": ('{"name": "s", "answer": "x"}', "must be a JSON array"),
    "unknown_key": ('[{"name": "s", "answer": {"name": "a"}, "colour": "red"}]', "colour"),
    "unknown_answer_key": ('[{"name": "s", "answer": {"name": "a", "value": 1}}]', "value"),
    "missing_answer": ('[{"name": "s"}]', "missing 'answer'"),
    "nested_confidence_2": (
        '[{"name": "s", "answer": {"name": "a", "confidence": 2}}]',
        "confidence",
    ),
    "radio_confidence_on_classification": (
        '[{"name": "s", "confidence": 0.5, "answer": {"name": "a"}}]',
        "confidence",
    ),
    "checklist_confidence_on_classification": (
        '[{"name": "s", "confidence": 0.5, "answer": [{"name": "a"}]}]',
        "confidence",
    ),
    "empty_checklist": ('[{"name": "s", "answer": []}]', "at least one"),
    "too_deep": (_nest(9), "deeper"),
    "name_and_schema_id": ('[{"name": "s", "schemaId": "x", "answer": "t"}]', "exactly one"),
    "no_name": ('[{"answer": "t"}]', "exactly one"),
    "empty_name": ('[{"name": "", "answer": "t"}]', "non-empty"),
    "bool_confidence": ('[{"name": "s", "answer": "t", "confidence": true}]', "confidence"),
    "answer_number": ('[{"name": "s", "answer": 3}]', "must be an object"),
    "item_not_object": ('["s"]', "must be an object"),
}

VALID_CLASSIFICATIONS = {
    "radio": '[{"name": "s", "answer": {"name": "a", "confidence": 1}}]',
    "checklist": '[{"name": "s", "answer": [{"name": "a"}, {"schemaId": "b", "confidence": 0}]}]',
    "text": '[{"name": "s", "answer": "free", "confidence": 0.5}]',
    "eight_deep": _nest(8),
    "empty": "[]",
}


@pytest.mark.parametrize("case", list(INVALID_CLASSIFICATIONS))
def test_invalid_classifications(case):
    value, fragment = INVALID_CLASSIFICATIONS[case]
    result = validate(conform(table_from_rows([bbox(classifications=value)]), "t"), 1)
    assert result.rejections.reasons == ["invalid_classifications"]
    assert result.rejections.details[0].startswith("classifications: ")
    assert fragment in result.rejections.details[0]


@pytest.mark.parametrize("case", list(VALID_CLASSIFICATIONS))
def test_valid_classifications(case):
    assert reason_of(bbox(classifications=VALID_CLASSIFICATIONS[case])) is None
    assert reason_of(radio(classifications=VALID_CLASSIFICATIONS[case])) is None


def test_valid_classifications_are_canonical():
    rows = [
        bbox(classifications='[ {"name" : "s", "answer" : "t"} ]'),
        bbox(classifications="[]"),
        bbox(),
    ]
    result = validate(conform(table_from_rows(rows), "t"), 1)
    assert result.valid.column("classifications").to_pylist() == [
        '[{"name":"s","answer":"t"}]',
        None,
        None,
    ]


def test_invalid_classification_details_follow_their_rows():
    rows = [
        bbox(classifications='[{"name": "s"}]'),
        bbox(classifications="nope"),
        bbox(classifications='[{"name": "s"}]'),
        bbox(classifications=NESTED),
    ]
    result = validate(conform(table_from_rows(rows), "t"), 1)
    assert result.rejections.rows.tolist() == [0, 1, 2]
    assert "missing 'answer'" in result.rejections.details[0]
    assert "not valid JSON" in result.rejections.details[1]
    assert "missing 'answer'" in result.rejections.details[2]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (radio(frame=3, classifications=NESTED), "unsupported_nesting"),
        (checklist(frame=3, classifications=NESTED), "unsupported_nesting"),
        (text(classifications=NESTED), "unsupported_nesting"),
        (radio(classifications=NESTED), None),
        (checklist(classifications=NESTED), None),
        (bbox(classifications=NESTED), None),
        (point(classifications=NESTED), None),
        (line(classifications=NESTED), None),
        # No nesting at all ("[]") is never unsupported.
        (text(classifications="[]"), None),
        (radio(frame=3, classifications="[]"), None),
    ],
)
def test_unsupported_nesting(row, reason):
    assert reason_of(row) == reason


# --- Group-level rejections -----------------------------------------------------------------


def build(rows: list[dict], config: AnnotationConfig | None = None):
    """(outcome, dead-letter records, parsed lines) of one key's rows."""
    config = config or AnnotationConfig()
    result = validate(conform(table_from_rows(rows), "t"), config.frame_base)
    assert not result.rejections.reasons
    keyed = list(split_by_key(result.valid))
    assert len(keyed) == 1
    key, chunk = keyed[0]
    outcome = build_annotations(key, chunk, config)
    records = [json.loads(x) for x in rejected_records(key, chunk, outcome)]
    lines = [json.loads(x) for x in outcome.lines]
    # Every row of the key is used or rejected, never both, never neither.
    assert outcome.counters["rows_used"] + len(records) == len(rows)
    return outcome, records, lines


def _check_record(record: dict, reason: str) -> dict:
    assert record["reason"] == reason
    assert record["detail"] == GROUP_REASONS[reason]
    assert "source" not in record
    return record["row"]


def test_kind_conflict_keeps_the_kind_with_most_rows():
    rows = [
        point(frame=2, feature="f"),
        bbox(frame=1, feature="f"),
        bbox(frame=2, feature="f"),
        bbox(frame=3, feature="f"),
        point(frame=5, feature="f", point_x=9.5),
    ]
    outcome, records, lines = build(rows)
    assert outcome.counters["objects"] == 1
    assert [r["row"]["frame"] for r in records] == [2, 5]
    for record in records:
        row = _check_record(record, "kind_conflict")
        assert row["global_key"] == GK
        assert row["feature_name"] == "f"
        assert row["kind"] == "point"
    assert records[1]["row"]["point_x"] == 9.5
    assert len(lines) == 1
    assert [k["frame"] for k in lines[0]["segments"][0]["keyframes"]] == [1, 2, 3]
    assert "bbox" in lines[0]["segments"][0]["keyframes"][0]


def test_kind_conflict_majority_beats_kind_order():
    rows = [bbox(frame=1, feature="f"), point(frame=1, feature="f"), point(frame=2, feature="f")]
    _, records, lines = build(rows)
    assert [r["row"]["kind"] for r in records] == ["bbox"]
    assert "point" in lines[0]["segments"][0]["keyframes"][0]


def test_kind_conflict_tie_goes_to_the_earlier_kind():
    rows = [radio(feature="f", frame=1), text(feature="f")]
    _, records, lines = build(rows)
    assert [r["row"]["kind"] for r in records] == ["text"]
    assert lines[0]["answer"]["name"] == "yes"


def test_kind_conflict_restores_id_key_columns():
    rows = [
        bbox(
            frame=1, global_key=None, data_row_id="ck1", feature_name=None, feature_schema_id="sch1"
        ),
        bbox(
            frame=2, global_key=None, data_row_id="ck1", feature_name=None, feature_schema_id="sch1"
        ),
        text(global_key=None, data_row_id="ck1", feature_name=None, feature_schema_id="sch1"),
    ]
    _, records, lines = build(rows)
    row = _check_record(records[0], "kind_conflict")
    assert row["data_row_id"] == "ck1"
    assert row["feature_schema_id"] == "sch1"
    assert "global_key" not in row
    assert "feature_name" not in row
    assert row["answer"] == "hello"
    assert lines[0]["dataRow"] == {"id": "ck1"}
    assert lines[0]["schemaId"] == "sch1"


def test_scope_conflict_frame_rows_win():
    rows = [
        radio(frame=1, answer="a"),
        radio(frame=2, answer="a"),
        radio(frame=3, answer="a"),
        radio(answer="b", confidence=0.9),
    ]
    _, records, lines = build(rows)
    assert len(records) == 1
    row = _check_record(records[0], "scope_conflict")
    assert row == {
        "global_key": GK,
        "feature_name": "q",
        "kind": "radio",
        "answer": "b",
        "confidence": 0.9,
    }
    assert len(lines) == 1
    assert lines[0]["answer"] == {"name": "a", "frames": [{"start": 1, "end": 3}]}


def test_scope_conflict_global_rows_win():
    rows = [checklist(answer="a"), checklist(answer="b"), checklist(answer="c", frame=4)]
    _, records, lines = build(rows)
    row = _check_record(records[0], "scope_conflict")
    assert row["frame"] == 4
    assert row["answer"] == "c"
    assert len(records) == 1
    assert lines[0]["answer"] == [{"name": "a"}, {"name": "b"}]


def test_segment_index_mixed_rejects_the_track_only():
    rows = [
        bbox(frame=1, track_id="t", segment_index=0),
        bbox(frame=2, track_id="t"),
        bbox(frame=3, track_id="t", segment_index=0),
        bbox(frame=1, track_id="u"),
        bbox(frame=2, track_id="u"),
    ]
    _, records, lines = build(rows)
    assert sorted(r["row"]["frame"] for r in records) == [1, 2, 3]
    for record in records:
        row = _check_record(record, "segment_index_mixed")
        assert row["track_id"] == "t"
        assert row["global_key"] == GK
        assert row["feature_name"] == "box"
    assert len(lines) == 1
    assert [k["frame"] for k in lines[0]["segments"][0]["keyframes"]] == [1, 2]


def test_segment_index_decreasing_rejects_the_track_only():
    rows = [
        bbox(frame=1, track_id="t", segment_index=1),
        bbox(frame=2, track_id="t", segment_index=1),
        bbox(frame=3, track_id="t", segment_index=0),
        bbox(frame=5, track_id="u", segment_index=0),
        bbox(frame=9, track_id="u", segment_index=0),
    ]
    _, records, lines = build(rows)
    assert sorted(r["row"]["frame"] for r in records) == [1, 2, 3]
    for record in records:
        assert _check_record(record, "segment_index_decreasing")["track_id"] == "t"
    assert len(lines) == 1
    assert [k["frame"] for k in lines[0]["segments"][0]["keyframes"]] == [5, 9]


def test_segment_index_rules_on_frame_classifications():
    rows = [
        radio(frame=1, answer="a", segment_index=2),
        radio(frame=2, answer="a", segment_index=1),
        radio(frame=5, answer="b", segment_index=0),
        radio(frame=6, answer="b"),
        radio(frame=8, answer="c"),
        radio(frame=9, answer="c"),
    ]
    _, records, lines = build(rows)
    got = sorted((r["reason"], r["row"]["answer"], r["row"]["frame"]) for r in records)
    assert got == [
        ("segment_index_decreasing", "a", 1),
        ("segment_index_decreasing", "a", 2),
        ("segment_index_mixed", "b", 5),
        ("segment_index_mixed", "b", 6),
    ]
    assert [x["answer"] for x in lines] == [{"name": "c", "frames": [{"start": 8, "end": 9}]}]


def test_a_video_end_marker_is_accepted_counted_and_builds_nothing():
    from transforms.core.conversion import convert_tables
    from transforms.core.counts import reconcile

    marker = {"global_key": "v.mp4", "kind": "video_end", "frame": 3}
    no_row = {"kind": "video_end"}
    rows = [bbox(1), bbox(2), marker, no_row, {**marker, "feature_name": "box"}]
    result = convert_tables([("t", 0, table_from_rows(rows))], AnnotationConfig(frame_base=1))
    assert result.counts["markers"] == 2
    assert result.counts["rows_used"] == 2
    assert [json.loads(d)["reason"] for d in result.dead_letters] == ["missing_data_row"]
    assert len(result.results) == 1 and len(result.results[0].lines) == 1
    ok, equation = reconcile(result.counts)
    assert ok, equation
    assert equation.endswith("+ 2 markers")
