"""Shared test helpers: run the Beam-free core over rows, canonical JSON comparison."""

from __future__ import annotations

import json

from transforms.core.annotate import build_annotations
from transforms.core.columns import table_from_rows
from transforms.core.config import AnnotationConfig
from transforms.core.conform import conform
from transforms.core.keys import split_by_key
from transforms.core.validation import validate


def core_lines(rows: list[dict], config: AnnotationConfig | None = None) -> list[dict]:
    """All NDJSON lines the core builds from rows (validation, keying, annotation), parsed."""
    config = config or AnnotationConfig()
    result = validate(conform(table_from_rows(rows), "test"), config.frame_base)
    assert not result.rejections.reasons, list(
        zip(result.rejections.reasons, result.rejections.details, strict=True)
    )
    out = []
    for key, chunk in split_by_key(result.valid):
        outcome = build_annotations(key, chunk, config)
        assert not len(outcome.rejections), outcome.rejections.reasons
        out.extend(json.loads(line) for line in outcome.lines)
    return out


def without_uuid(line: dict) -> dict:
    return {k: v for k, v in line.items() if k != "uuid"}


def _numbers_by_value(value: object) -> object:
    # JSON has one number type: 382 and 382.0 are the same number.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_numbers_by_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _numbers_by_value(v) for k, v in value.items()}
    return value


def canonical(lines: list[dict]) -> list[str]:
    """Order-insensitive, uuid-free canonical text of NDJSON lines (numbers compared by value)."""
    return sorted(json.dumps(_numbers_by_value(without_uuid(x)), sort_keys=True) for x in lines)
