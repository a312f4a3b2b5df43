"""Conformance with the official Labelbox SDK's own video fixtures.

The corpus is `tests/fixtures/labelbox-sdk-video/` (see its README.md): for each test of the
SDK's `test_video.py`, `cases/<name>/input.json` (the SDK's Label input as plain JSON) and
`cases/<name>/expected.json` (the NDJSON the SDK writes). Each case's annotations are turned into
keyframer input rows (docs/input-contract.md), run through the Beam-free core, and compared with
the SDK's NDJSON after applying ONLY the differences keyframer makes on purpose (README.md,
"Output"), each a small named transformation of the EXPECTED side below. Anything else that
differs fails the test.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from tests.helpers import canonical, core_lines
from transforms.core.config import AnnotationConfig

FIXTURES = Path(
    os.environ.get(
        "KEYFRAMER_CONFORMANCE_DIR",
        Path(__file__).resolve().parents[1] / "fixtures" / "labelbox-sdk-video",
    )
)
CASES = (
    "test_video",
    "test_video_name_only",
    "test_video_classification_global_subclassifications",
    "test_video_classification_nesting_bbox",
    "test_video_classification_point",
    "test_video_classification_frameline",
)
# The SDK repository's verbatim NDJSON fixtures and the cases whose expected output they are.
VERBATIM = {
    "video_import.json": "test_video",
    "video_import_name_only.json": "test_video_name_only",
}


def _load(relative: str) -> object:
    path = FIXTURES / relative
    assert path.is_file(), f"conformance fixture missing: {path} (set KEYFRAMER_CONFORMANCE_DIR)"
    return json.loads(path.read_text())


# ---------------------------------------------------------------------------------------------
# The SDK's Label input -> keyframer input rows (docs/input-contract.md)
# ---------------------------------------------------------------------------------------------


def _ref(item: dict) -> tuple[str, str]:
    """("name" | "schemaId", value) of a feature or answer: exactly one of the two is given."""
    refs = [("name", item["name"]) if item.get("name") else None]
    refs.append(("schemaId", item["schema_id"]) if item.get("schema_id") else None)
    refs = [r for r in refs if r]
    assert len(refs) == 1, f"expected exactly one of name/schema_id in {item}"
    return refs[0]


def _nested_answer(answer: dict) -> dict:
    field, value = _ref(answer)
    out: dict = {field: value}
    if "confidence" in answer:
        out["confidence"] = answer["confidence"]
    if answer.get("classifications"):
        out["classifications"] = [_nested(x) for x in answer["classifications"]]
    return out


def _nested(classification: dict) -> dict:
    """An SDK nested classification in the NDJSON shapes the `classifications` column takes."""
    field, value = _ref(classification)
    out: dict = {field: value}
    if "radio" in classification:
        out["answer"] = _nested_answer(classification["radio"])
    elif "checklist" in classification:
        out["answer"] = [_nested_answer(a) for a in classification["checklist"]]
    elif "text" in classification:
        out["answer"] = classification["text"]
    else:
        raise AssertionError(f"unknown nested classification: {classification}")
    return out


_KNOWN_KEYS = {
    "type", "name", "schema_id", "uuid", "frame", "keyframe", "segment_index",
    "bbox", "point", "line", "radio", "checklist", "text", "classifications", "confidence",
}  # fmt: skip


def _rows(case_input: dict) -> list[dict]:
    """keyframer input rows equivalent to the SDK Label(s) of one case."""
    rows: list[dict] = []
    for label in case_input["labels"]:
        data_row = label["data_row"]
        assert len(data_row) == 1, data_row
        base = {"global_key": data_row["global_key"]} if "global_key" in data_row else {}
        base = base or {"data_row_id": data_row["id"]}
        for ann in label["annotations"]:
            unknown = set(ann) - _KNOWN_KEYS
            assert not unknown, f"converter does not know {unknown} in {ann}"
            field, value = _ref(ann)
            row = dict(base)
            row["feature_name" if field == "name" else "feature_schema_id"] = value
            if "confidence" in ann:
                row["confidence"] = ann["confidence"]
            nested = [_nested(x) for x in ann.get("classifications") or []]
            if nested:
                row["classifications"] = json.dumps(nested)
            if ann["type"] == "video_object":
                # The SDK drops keyframe=False annotations (FORMAT.md): none should be here.
                assert ann["keyframe"] is True, ann
                row["frame"] = ann["frame"]
                row["segment_index"] = ann.get("segment_index")
                if "bbox" in ann:
                    row["kind"] = "bbox"
                    row.update({f"bbox_{k}": v for k, v in ann["bbox"].items()})
                elif "point" in ann:
                    row.update(kind="point", point_x=ann["point"]["x"], point_y=ann["point"]["y"])
                else:
                    row.update(kind="line", line=ann["line"])
                rows.append(row)
                continue
            assert ann["type"] in ("video_classification", "classification"), ann
            # video_classification: a frame classification; classification: global.
            row["frame"] = ann["frame"] if ann["type"] == "video_classification" else None
            if "text" in ann:
                rows.append({**row, "kind": "text", "answer": ann["text"]})
            elif "radio" in ann:
                radio_row = {**row, "kind": "radio", "answer": _answer(ann["radio"], field)}
                radio_nested = [_nested(x) for x in ann["radio"].get("classifications") or []]
                if radio_nested:
                    radio_row["classifications"] = json.dumps(radio_nested)
                rows.append(radio_row)
            else:
                # A checklist is one row per checked option, each with its own nesting.
                for option in ann["checklist"]:
                    option_row = {**row, "kind": "checklist", "answer": _answer(option, field)}
                    option_nested = [_nested(x) for x in option.get("classifications") or []]
                    if option_nested:
                        option_row["classifications"] = json.dumps(option_nested)
                    rows.append(option_row)
    return rows


def _answer(answer: dict, feature_field: str) -> str:
    # The `answer` column holds a name or a schema id; --answer_field auto references it like
    # the feature, which is what every fixture does (checked here rather than assumed).
    field, value = _ref(answer)
    assert field == feature_field, f"answer by {field} under a feature by {feature_field}"
    return value


# The SDK writes a Label's frames unchanged, so the fixtures' frames ARE Labelbox frames, and
# frame_base == labelbox_frame_base makes keyframer write them unchanged too. test_video and
# test_video_name_only have frame 0 (the checklist on frames 0-5): 0/0, since frame 0 is below a
# frame_base of 1 (the SDK's fixtures use frame 0; FORMAT.md). The other cases start at frame 13
# (or have no frames): 1/1, labelbox_frame_base's default.
FRAME_BASE = {
    "test_video": 0,
    "test_video_name_only": 0,
    "test_video_classification_global_subclassifications": 1,
    "test_video_classification_nesting_bbox": 1,
    "test_video_classification_point": 1,
    "test_video_classification_frameline": 1,
}


def _config(case: str, rows: list[dict]) -> AnnotationConfig:
    base = FRAME_BASE[case]
    frames = [r["frame"] for r in rows if r.get("frame") is not None]
    assert (min(frames, default=1) == 0) == (base == 0), "FRAME_BASE does not fit the fixture"
    # max_gap_frames=1 (the default): the radio on frames 30-35 and 50-51 must give two ranges.
    return AnnotationConfig(frame_base=base, labelbox_frame_base=base, max_gap_frames=1)


# ---------------------------------------------------------------------------------------------
# The deliberate differences (README.md, "Output"), applied to the SDK's EXPECTED lines
# ---------------------------------------------------------------------------------------------


def _is_object(line: dict) -> bool:
    return "segments" in line


def frames_onto_answers(line: dict) -> dict:
    """README: "Frame ranges sit on each answer (answer.frames) ... not in one top-level frames
    as the SDK writes." A radio's answer gets the ranges; a checklist's every option does."""
    if "frames" not in line:
        return line
    line = dict(line)
    frames = line.pop("frames")
    if isinstance(line["answer"], dict):
        line["answer"] = {**line["answer"], "frames": frames}
    else:
        line["answer"] = [{**option, "frames": frames} for option in line["answer"]]
    return line


def drop_empty_classifications(line: dict) -> dict:
    """README: "Keyframes without nested classifications have no classifications key, and object
    lines no top-level classifications (the SDK writes empty lists)." Only those two places."""
    if not _is_object(line):
        return line
    line = copy.deepcopy(line)
    if line.get("classifications") == []:
        del line["classifications"]
    for segment in line["segments"]:
        for keyframe in segment["keyframes"]:
            if keyframe.get("classifications") == []:
                del keyframe["classifications"]
    return line


def drop_unsupported_confidence(line: dict) -> dict:
    """README: "No confidence on object lines" and "Frame-classification answers carry no
    confidence". (No line of this corpus has one there: a no-op kept for completeness.)
    Runs after frames_onto_answers: a frame classification is a line whose answers have frames."""
    line = copy.deepcopy(line)
    if _is_object(line):
        line.pop("confidence", None)
    elif _has_answer_frames(line):
        answers = line["answer"] if isinstance(line["answer"], list) else [line["answer"]]
        for answer in answers:
            answer.pop("confidence", None)
    return line


def _has_answer_frames(line: dict) -> bool:
    answer = line.get("answer")
    answers = answer if isinstance(answer, list) else [answer]
    return any(isinstance(a, dict) and "frames" in a for a in answers)


def as_keyframer_writes(sdk_lines: list[dict]) -> list[dict]:
    """The SDK's NDJSON with keyframer's documented, deliberate differences applied."""
    return [
        drop_unsupported_confidence(drop_empty_classifications(frames_onto_answers(line)))
        for line in sdk_lines
    ]


def _one_line_per_object_feature(sdk_lines: list[dict]) -> None:
    # README: "One line per track": the SDK merges all objects of a feature into one line,
    # keyframer writes one per track. With one instance per feature the two agree 1:1, which
    # is what this corpus has; checked so the comparison cannot silently depend on it.
    keys = [
        (json.dumps(x["dataRow"]), x.get("name"), x.get("schemaId"))
        for x in sdk_lines
        if _is_object(x)
    ]
    assert len(keys) == len(set(keys)), f"several object lines per feature: {keys}"


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


# test_video gives its global text the schema id of its frame checklist
# (ckrb1sfkn099c0y910wbo0p1a; the name-only twin names them apart, "question 2" and "question 3"):
# a fixture quirk, since an ontology feature has one kind. keyframer groups rows by (data row,
# feature), so the feature's one text row is a `kind_conflict` (README, dead-letter reasons: the
# kind with most rows is kept) and the SDK's text line has no counterpart.
KIND_CONFLICTS = {"test_video": {"text": 1}}


def _core_with_rejections(rows: list[dict], config) -> tuple[list[dict], dict[str, int]]:
    """(lines, {kind of rejected row: n}) — every rejection must be a kind_conflict."""
    from collections import Counter

    from transforms.core.annotate import build_annotations
    from transforms.core.columns import table_from_rows
    from transforms.core.conform import conform
    from transforms.core.keys import complete, split_by_key
    from transforms.core.validation import validate

    result = validate(conform(table_from_rows(rows), "fixture"), config.frame_base)
    assert not result.rejections.reasons, result.rejections.details
    lines, rejected = [], Counter()
    for key, chunk in split_by_key(result.valid):
        outcome = build_annotations(key, chunk, config)
        positions, reasons = outcome.rejections.rows, outcome.rejections.reasons
        assert set(reasons) <= {"kind_conflict"}, reasons
        kinds = complete(chunk).column("kind").to_pylist()
        rejected.update(kinds[i] for i in positions.tolist())
        lines.extend(json.loads(x) for x in outcome.lines)
    return lines, dict(rejected)


@pytest.mark.parametrize("case", sorted(KIND_CONFLICTS))
def test_shared_feature_id_is_a_kind_conflict(case: str) -> None:
    rows = _rows(_load(f"cases/{case}/input.json"))
    expected = as_keyframer_writes(_load(f"cases/{case}/expected.json"))
    actual, rejected = _core_with_rejections(rows, _config(case, rows))
    assert rejected == KIND_CONFLICTS[case]
    # Everything else matches: the SDK's lines but the text line of the shared feature id.
    others = [x for x in expected if not isinstance(x.get("answer"), str)]
    assert len(others) == len(expected) - 1
    assert canonical(actual) == canonical(others)


@pytest.mark.parametrize("case", [c for c in CASES if c not in KIND_CONFLICTS])
def test_case_matches_sdk_output(case: str) -> None:
    rows = _rows(_load(f"cases/{case}/input.json"))
    expected = _load(f"cases/{case}/expected.json")
    _one_line_per_object_feature(expected)
    try:
        actual = core_lines(rows, _config(case, rows))
    except AssertionError as e:
        kinds: dict[str, set] = {}
        for r in rows:
            feature = r.get("feature_name") or r.get("feature_schema_id")
            kinds.setdefault(feature, set()).add(r["kind"])
        shared = {f: sorted(k) for f, k in kinds.items() if len(k) > 1}
        pytest.fail(
            f"keyframer rejected rows of the SDK fixture {case}: {e}"
            + (f"; features with rows of several kinds: {shared}" if shared else "")
        )
    assert canonical(actual) == canonical(as_keyframer_writes(expected))


@pytest.mark.parametrize("case", CASES)
def test_every_object_track_instance_is_single(case: str) -> None:
    # One instance per feature in the input (one SDK uuid per object feature): the condition
    # under which rows without track_id ("one instance per feature") are the SDK's objects.
    uuids: dict[tuple, set] = {}
    for label in _load(f"cases/{case}/input.json")["labels"]:
        for ann in label["annotations"]:
            if ann["type"] == "video_object":
                key = (json.dumps(label["data_row"]), _ref(ann))
                uuids.setdefault(key, set()).add(ann.get("uuid"))
    assert all(len(v) == 1 for v in uuids.values()), uuids


@pytest.mark.parametrize(("verbatim", "case"), sorted(VERBATIM.items()))
def test_verbatim_fixture_is_the_case_expected_output(verbatim: str, case: str) -> None:
    """The SDK repository's NDJSON files are the same corpus as the cases' expected output."""
    fixture = _load(verbatim)
    expected = _load(f"cases/{case}/expected.json")
    assert canonical(as_keyframer_writes(fixture)) == canonical(as_keyframer_writes(expected))
    # And byte-for-byte the same data, uuids included (README.md: "this is the fixture file").
    assert fixture == expected


@pytest.mark.parametrize(
    ("case", "answer"),
    [
        ("test_video", {"schemaId": "ckrb1sfl8099g0y91cxbd5ftb"}),
        ("test_video_name_only", {"name": "answer 1"}),
    ],
)
def test_radio_ranges_follow_the_gap_rule(case: str, answer: dict) -> None:
    """The radio on frames 30-35 and 50-51 (no segment_index: the gap rule, max_gap_frames=1)
    is one line with the SDK's two ranges, on its answer. Checked on its own so that it holds
    whatever else of the case differs."""
    rows = [r for r in _rows(_load(f"cases/{case}/input.json")) if r["kind"] == "radio"]
    assert len(rows) == 8
    base = FRAME_BASE[case]
    (line,) = core_lines(rows, AnnotationConfig(frame_base=base, labelbox_frame_base=base))
    assert line["answer"] == {
        **answer,
        "frames": [{"start": 30, "end": 35}, {"start": 50, "end": 51}],
    }


def test_transformations_touch_only_the_documented_keys() -> None:
    sdk = {
        "name": "q",
        "dataRow": {"id": "d"},
        "answer": [{"name": "a"}, {"name": "b", "confidence": 0.5}],
        "frames": [{"start": 1, "end": 2}],
    }
    assert as_keyframer_writes([sdk]) == [
        {
            "name": "q",
            "dataRow": {"id": "d"},
            "answer": [
                {"name": "a", "frames": [{"start": 1, "end": 2}]},
                {"name": "b", "frames": [{"start": 1, "end": 2}]},
            ],
        }
    ]
    obj = {
        "name": "o",
        "classifications": [],
        "segments": [
            {
                "keyframes": [
                    {"frame": 1, "point": {"x": 1, "y": 2}, "classifications": []},
                    {"frame": 2, "point": {"x": 1, "y": 2}, "classifications": [{"name": "n"}]},
                ]
            }
        ],
    }
    assert as_keyframer_writes([obj]) == [
        {
            "name": "o",
            "segments": [
                {
                    "keyframes": [
                        {"frame": 1, "point": {"x": 1, "y": 2}},
                        {"frame": 2, "point": {"x": 1, "y": 2}, "classifications": [{"name": "n"}]},
                    ]
                }
            ],
        }
    ]
    # A global answer keeps its confidence; the comparison is not blind to values.
    glob = {"name": "g", "answer": {"name": "a", "confidence": 0.5}}
    assert as_keyframer_writes([glob]) == [glob]
