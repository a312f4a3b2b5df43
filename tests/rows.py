"""Shared test helpers: input rows of each kind, input files, and reading a run's output back."""

from __future__ import annotations

import glob
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.core.columns import SCHEMA, table_from_rows

GK = "v.mp4"


def bbox(frame: int | None = 1, feature: str = "box", **kw) -> dict:
    row = {
        "global_key": GK,
        "feature_name": feature,
        "kind": "bbox",
        "frame": frame,
        "bbox_top": 10.0,
        "bbox_left": 20.0,
        "bbox_height": 30.0,
        "bbox_width": 40.0,
    }
    return {**row, **kw}


def point(frame: int | None = 1, feature: str = "pt", **kw) -> dict:
    row = {
        "global_key": GK,
        "feature_name": feature,
        "kind": "point",
        "frame": frame,
        "point_x": 5.0,
        "point_y": 6.0,
    }
    return {**row, **kw}


def line(frame: int | None = 1, feature: str = "ln", **kw) -> dict:
    row = {
        "global_key": GK,
        "feature_name": feature,
        "kind": "line",
        "frame": frame,
        "line": [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}],
    }
    return {**row, **kw}


def radio(answer: str | None = "yes", feature: str = "q", frame: int | None = None, **kw) -> dict:
    row = {
        "global_key": GK,
        "feature_name": feature,
        "kind": "radio",
        "frame": frame,
        "answer": answer,
    }
    return {**row, **kw}


def checklist(
    answer: str | None = "opt", feature: str = "cl", frame: int | None = None, **kw
) -> dict:
    row = {
        "global_key": GK,
        "feature_name": feature,
        "kind": "checklist",
        "frame": frame,
        "answer": answer,
    }
    return {**row, **kw}


def text(answer: str | None = "hello", feature: str = "tx", **kw) -> dict:
    row = {"global_key": GK, "feature_name": feature, "kind": "text", "answer": answer}
    return {**row, **kw}


def write_parquet(
    rows: list[dict], path: str, schema: pa.Schema = SCHEMA, row_group_size: int | None = None
) -> str:
    pq.write_table(table_from_rows(rows, schema), path, row_group_size=row_group_size)
    return path


def pipeline_args(input_path: str, output: str, *extra: str, frame_base: int = 1) -> list[str]:
    return [
        "--input",
        input_path,
        "--output",
        output,
        "--frame_base",
        str(frame_base),
        "--runner",
        "FnApiRunner",
        *extra,
    ]


def _ndjson_lines(pattern: str) -> list[str]:
    out = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as f:
            out.extend(x for x in f.read().split("\n") if x)
    return out


def dead_letters(output: str) -> list[dict]:
    """Every dead-letter record of a run (default location), parsed."""
    return [
        json.loads(x)
        for x in _ndjson_lines(os.path.join(output, "dead_letter", "rejected-*.ndjson"))
    ]


def output_lines(output: str) -> list[str]:
    """Every NDJSON line of a run's batch files, as text."""
    return _ndjson_lines(os.path.join(output, "batch-*.ndjson"))
