"""Rejected rows through the whole pipeline (FnApiRunner): dead letters, manifest counts,
unreadable files and the checks made before the pipeline runs."""

from __future__ import annotations

import json
import math
import os
import random
from collections import Counter
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.run import run
from tests.helpers import canonical, core_lines
from tests.rows import (
    bbox,
    checklist,
    dead_letters,
    line,
    output_lines,
    pipeline_args,
    point,
    radio,
    text,
    write_parquet,
)
from transforms.core.annotations import GROUP_REASONS
from transforms.core.conform import InputSchemaError
from transforms.core.validation import MAX_FRAME, REASONS

pytestmark = pytest.mark.pipeline

NAN, INF = math.nan, math.inf
NESTED = '[{"name":"sub","answer":{"name":"a","confidence":0.5}}]'

# The good rows: every kind, several data rows, both ways of naming a data row and a feature.
GOOD = [
    bbox(1, track_id="1"),
    bbox(2, track_id="1"),
    bbox(3, track_id="1", classifications=NESTED),
    bbox(7, track_id="2", segment_index=0),
    bbox(12, track_id="2", segment_index=0),
    point(4),
    point(5, confidence=0.25),
    line(9),
    line(10, line=[{"x": 0.0, "y": 0.0}, {"x": 5.0, "y": 5.0}, {"x": 9.0, "y": 1.0}]),
    radio("yes", classifications=NESTED, confidence=0.75),
    checklist("a", frame=3),
    checklist("a", frame=4),
    checklist("b", frame=4),
    text("free text"),
    bbox(1, global_key=None, data_row_id="ck-1", feature_name=None, feature_schema_id="sch-1"),
    radio("no", global_key="other/video ü.mp4", feature="q2"),
]

# One bad row per row-level reason (in REASONS' order).
ROW_LEVEL = [
    (bbox(2, kind="polygon"), "unknown_kind"),
    (bbox(2, global_key=""), "missing_data_row"),
    (bbox(2, data_row_id="ck-9"), "ambiguous_data_row"),
    (point(2, feature_name=None), "missing_feature"),
    (point(2, feature_schema_id="s"), "ambiguous_feature"),
    (line(None), "missing_frame"),
    (bbox(0, track_id="1"), "frame_below_base"),
    (bbox(MAX_FRAME + 1, track_id="1"), "frame_too_large"),
    (text("t", frame=5), "text_with_frame"),
    (bbox(20, bbox_left=None), "missing_geometry"),
    (point(21, point_y=INF), "non_finite_geometry"),
    (bbox(22, bbox_height=-3.0), "non_positive_size"),
    (line(23, line=[{"x": 1.0, "y": 1.0}]), "line_too_short"),
    (radio(""), "missing_answer"),
    (bbox(24, confidence=NAN), "confidence_out_of_range"),
    (bbox(25, classifications='[{"name": "s", "answer": []}]'), "invalid_classifications"),
    (checklist("a", frame=6, classifications=NESTED), "unsupported_nesting"),
]

# Group-level: (rows, how many of them are rejected (the last ones), reason).
GROUP_LEVEL = [
    ([bbox(1, feature="kc"), bbox(2, feature="kc"), point(3, feature="kc")], 1, "kind_conflict"),
    (
        [
            radio("a", feature="sc", frame=1),
            radio("a", feature="sc", frame=2),
            radio("b", feature="sc"),
        ],
        1,
        "scope_conflict",
    ),
    (
        [
            bbox(1, feature="sm", track_id="ok"),
            bbox(1, feature="sm", track_id="t", segment_index=0),
            bbox(2, feature="sm", track_id="t"),
        ],
        2,
        "segment_index_mixed",
    ),
    (
        [
            bbox(1, feature="sd", track_id="ok"),
            bbox(1, feature="sd", track_id="t", segment_index=3),
            bbox(2, feature="sd", track_id="t", segment_index=2),
        ],
        2,
        "segment_index_decreasing",
    ),
]


def _json_row(row: dict) -> dict:
    """A row as the dead letter shows it: non-null columns, NaN and infinities as strings."""
    out = {}
    for k, v in row.items():
        if v is None:
            continue
        out[k] = str(v) if isinstance(v, float) and not math.isfinite(v) else v
    return out


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mixed")
    rng = random.Random(7)
    rows: list[dict] = []
    expected: list[tuple[int | None, str, dict]] = []  # (file row or None, reason, row)
    bad = list(ROW_LEVEL)
    rng.shuffle(bad)
    good = list(GOOD)
    for row, reason in bad:  # interleave, so bad rows sit in several row groups
        rows.append(good.pop(0) if good else bbox(30 + len(rows), track_id="9"))
        expected.append((len(rows), reason, row))
        rows.append(row)
    rows.extend(good)
    for group, n_bad, reason in GROUP_LEVEL:
        rows.extend(group)
        expected.extend((None, reason, r) for r in group[-n_bad:])
    path = write_parquet(rows, str(tmp / "frames.parquet"), row_group_size=5)
    out = str(tmp / "out")
    _, manifest = run(pipeline_args(path, out))
    return {"rows": rows, "expected": expected, "path": path, "out": out, "manifest": manifest}


def test_dead_letters_hold_exactly_the_bad_rows(mixed_run):
    records = dead_letters(mixed_run["out"])
    assert len(records) == len(mixed_run["expected"])
    unmatched = list(records)
    for file_row, reason, row in mixed_run["expected"]:
        want = _json_row(row)
        match = [r for r in unmatched if r["reason"] == reason and r["row"] == want]
        assert match, f"no dead letter for {reason}: {want}"
        record = match[0]
        unmatched.remove(record)
        if file_row is None:
            assert record["detail"] == GROUP_REASONS[reason]
            assert "source" not in record
        else:
            assert reason in REASONS
            assert record["source"] == {"file": mixed_run["path"], "row": file_row}
            if reason == "invalid_classifications":
                assert record["detail"].startswith("classifications: ")
            else:
                assert record["detail"] == REASONS[reason]
    assert not unmatched


def test_manifest_counts_per_reason(mixed_run):
    manifest = mixed_run["manifest"]
    want = Counter(reason for _, reason, _ in mixed_run["expected"])
    assert manifest["rejected"] == dict(want)
    assert set(manifest["rejected"]) == set(REASONS) | set(GROUP_REASONS)


def test_manifest_reconciles(mixed_run):
    manifest = mixed_run["manifest"]
    counts = manifest["counts"]
    n_rows = len(mixed_run["rows"])
    assert manifest["reconciled"] is True
    assert counts["rows_read"] == n_rows
    assert counts["rows_used"] == n_rows - len(mixed_run["expected"])
    assert counts["rows_read"] == counts["rows_used"] + sum(manifest["rejected"].values())
    assert counts["files_read"] == 1
    assert not counts.get("files_unreadable")


def test_the_rest_is_converted(mixed_run):
    """The good rows (and the kept rows of each rejecting key) give the same lines as the core."""
    lines = [json.loads(x) for x in output_lines(mixed_run["out"])]
    assert len(lines) == mixed_run["manifest"]["counts"]["lines"]
    bad_ids = {id(r) for _, _, r in mixed_run["expected"]}
    kept = [r for r in mixed_run["rows"] if id(r) not in bad_ids]
    assert canonical(lines) == canonical(core_lines(kept))
    features = {x.get("name") for x in lines}
    assert {"kc", "sc", "sm", "sd"} <= features


# --- Unreadable files and checks before the run --------------------------------------------


def test_corrupt_file_beside_a_good_one(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    good = write_parquet(GOOD, str(inputs / "good.parquet"))
    corrupt = inputs / "x.parquet"
    corrupt.write_bytes(random.Random(3).randbytes(4096))
    out = str(tmp_path / "out")
    _, manifest = run(pipeline_args(str(inputs / "*.parquet"), out, "--skip_input_check"))
    counts = manifest["counts"]
    assert counts["files_unreadable"] == 1
    assert counts["files_read"] == 1
    assert counts["rows_read"] == len(GOOD)
    assert counts["rows_used"] == len(GOOD)
    assert manifest["reconciled"] is True
    records = dead_letters(out)
    assert len(records) == 1
    assert records[0]["reason"] == "unreadable_file"
    assert records[0]["source"] == {"file": str(corrupt), "row": 0}
    assert records[0]["detail"]
    lines = [json.loads(x) for x in output_lines(out)]
    assert canonical(lines) == canonical(core_lines(GOOD))
    assert good.endswith("good.parquet")


def test_corrupt_file_is_refused_before_the_run_naming_it(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_parquet(GOOD, str(inputs / "good.parquet"))
    corrupt = inputs / "x.parquet"
    corrupt.write_bytes(random.Random(3).randbytes(4096))
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"x\.parquet") as info:
        run(pipeline_args(str(inputs / "*.parquet"), str(out)))
    assert str(corrupt) in str(info.value)
    assert not out.exists()


def test_float_frame_is_refused_before_the_run(tmp_path):
    schema = pa.schema(
        [
            ("global_key", pa.string()),
            ("feature_name", pa.string()),
            ("kind", pa.string()),
            ("frame", pa.float64()),
            ("point_x", pa.float64()),
            ("point_y", pa.float64()),
        ]
    )
    path = write_parquet([point(1), point(2)], str(tmp_path / "floaty.parquet"), schema)
    out = tmp_path / "out"
    with pytest.raises(InputSchemaError) as info:
        run(pipeline_args(path, str(out)))
    message = str(info.value)
    assert "'frame'" in message
    assert path in message
    assert not out.exists()


def test_schema_error_names_the_bad_file_among_good_ones(tmp_path):
    write_parquet(GOOD, str(tmp_path / "a.parquet"))
    schema = pa.schema(
        [
            ("global_key", pa.string()),
            ("feature_name", pa.string()),
            ("kind", pa.string()),
            ("bbox_top", pa.string()),
        ]
    )
    bad = write_parquet(
        [{"global_key": "g", "feature_name": "f", "kind": "bbox", "bbox_top": "12"}],
        str(tmp_path / "b.parquet"),
        schema,
    )
    with pytest.raises(InputSchemaError, match="'bbox_top'") as info:
        run(pipeline_args(str(tmp_path / "*.parquet"), str(tmp_path / "out")))
    assert bad in str(info.value)
    assert str(tmp_path / "a.parquet") not in str(info.value)


def test_pattern_matching_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        run(pipeline_args(str(tmp_path / "nothing-here-*.parquet"), str(tmp_path / "out")))
    assert not os.path.exists(tmp_path / "out")


# --- Files the pre-run check did not see (--skip_input_check) ----------------------------------


def _incompatible_run(tmp_path, bad_table: pa.Table) -> tuple[dict, list[dict], str]:
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_parquet(GOOD, str(inputs / "good.parquet"))
    bad = str(inputs / "bad.parquet")
    pq.write_table(bad_table, bad)
    out = str(tmp_path / "out")
    _, manifest = run(pipeline_args(str(inputs / "*.parquet"), out, "--skip_input_check"))
    return manifest, dead_letters(out), bad


def test_float_frame_with_skip_check_is_dead_lettered(tmp_path):
    table = pa.table(
        {
            "global_key": ["g", "g"],
            "feature_name": ["f", "f"],
            "kind": ["point", "point"],
            "frame": [1.0, NAN],
            "point_x": [1.0, 2.0],
            "point_y": [3.0, 4.0],
        }
    )
    manifest, records, bad = _incompatible_run(tmp_path, table)
    assert manifest["rejected"] == {"incompatible_schema": 2}
    assert manifest["reconciled"] is True
    assert manifest["counts"]["rows_used"] == len(GOOD)
    assert [r["source"] for r in records] == [{"file": bad, "row": 0}, {"file": bad, "row": 1}]
    assert all("'frame'" in r["detail"] for r in records)
    assert sorted(str(r["row"]["frame"]) for r in records) == ["1.0", "nan"]


@pytest.mark.parametrize(
    "column",
    [
        pa.array([b"yes", b"\xff\xfe"], pa.binary()),
        pa.array([Decimal("0.50"), Decimal("1.25")], pa.decimal128(5, 2)),
    ],
    ids=["binary", "decimal"],
)
def test_unserialisable_incompatible_column_with_skip_check_is_dead_lettered(tmp_path, column):
    """Rows of a refused type are dead-lettered, never crash the run, whatever their values."""
    name = "answer" if pa.types.is_binary(column.type) else "confidence"
    table = pa.table(
        {
            "global_key": ["g", "g"],
            "feature_name": ["t", "t"],
            "kind": ["text", "text"],
            name: column,
        }
    )
    manifest, records, bad = _incompatible_run(tmp_path, table)
    assert manifest["rejected"] == {"incompatible_schema": 2}
    assert manifest["reconciled"] is True
    assert [r["source"] for r in records] == [{"file": bad, "row": 0}, {"file": bad, "row": 1}]
    assert all(f"'{name}'" in r["detail"] for r in records)
