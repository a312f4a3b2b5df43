"""`coordinate_decimals`: coordinates rounded in the output, or (None, the default) exact."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.helpers import core_lines
from tests.rows import bbox, line, point
from transforms.core.config import AnnotationConfig

# Full-precision coordinates, as models write them.
RNG = np.random.default_rng(11)
VALUES = [float(v) for v in RNG.uniform(0, 1920, 64)] + [0.5, 12.0, 1e-7, 123.455]


def _rows() -> list[dict]:
    v = iter(VALUES)
    rows = []
    for frame in range(1, 9):
        rows.append(
            bbox(
                frame,
                bbox_top=next(v),
                bbox_left=next(v),
                bbox_height=next(v) + 1,
                bbox_width=next(v) + 1,
            )
        )
        rows.append(point(frame, point_x=next(v), point_y=next(v)))
        rows.append(line(frame, line=[{"x": next(v), "y": next(v)}, {"x": 1.25, "y": 2.0}]))
    return rows


def _coordinates(lines: list[dict]) -> list[float]:
    """Every bbox, point and line coordinate of every keyframe, in order."""
    out = []
    for ln in lines:
        for seg in ln["segments"]:
            for kf in seg["keyframes"]:
                if "bbox" in kf:
                    out += [kf["bbox"][k] for k in ("top", "left", "height", "width")]
                if "point" in kf:
                    out += [kf["point"]["x"], kf["point"]["y"]]
                for p in kf.get("line", []):
                    out += [p["x"], p["y"]]
    return out


def _input_coordinates(rows: list[dict]) -> list[float]:
    """The rows' coordinates in the order `_coordinates` reads the output (bbox, point, line
    lines; the core writes features sorted by name)."""
    by_kind: dict[str, list[float]] = {"bbox": [], "point": [], "line": []}
    for r in rows:
        if r["kind"] == "bbox":
            by_kind["bbox"] += [r[f"bbox_{k}"] for k in ("top", "left", "height", "width")]
        elif r["kind"] == "point":
            by_kind["point"] += [r["point_x"], r["point_y"]]
        else:
            by_kind["line"] += [c for p in r["line"] for c in (p["x"], p["y"])]
    return by_kind["bbox"] + by_kind["line"] + by_kind["point"]


def test_off_is_exact():
    rows = _rows()
    out = _coordinates(core_lines(rows, AnnotationConfig()))
    assert out == _input_coordinates(rows)  # every digit read back as the same float


@pytest.mark.parametrize("decimals", [0, 1, 2, 3])
def test_every_coordinate_is_rounded(decimals):
    rows = _rows()
    config = AnnotationConfig(coordinate_decimals=decimals)
    lines = core_lines(rows, config)
    expected = [float(np.round(x, decimals)) for x in _input_coordinates(rows)]
    assert _coordinates(lines) == expected
    text = "\n".join(json.dumps(x) for x in lines)
    for number in re.findall(r'"(?:top|left|height|width|x|y)": (-?[0-9.e+-]+)', text):
        assert "e" in number or len(number.partition(".")[2]) <= decimals, number


def test_rounding_changes_only_coordinates():
    rows = _rows()
    exact = core_lines(rows, AnnotationConfig())
    rounded = core_lines(rows, AnnotationConfig(coordinate_decimals=2))
    assert [x["uuid"] for x in exact] == [x["uuid"] for x in rounded]
    frames = [[[k["frame"] for k in s["keyframes"]] for s in x["segments"]] for x in exact]
    assert frames == [
        [[k["frame"] for k in s["keyframes"]] for s in x["segments"]] for x in rounded
    ]


@pytest.mark.parametrize("bad", [-1, 16, 1.5, True, "2"])
def test_invalid_decimals_are_refused(bad):
    with pytest.raises(ValueError, match=r"^coordinate_decimals must be") as e:
        AnnotationConfig(coordinate_decimals=bad)
    assert "--" not in str(e.value)


def test_huge_coordinates_are_kept_not_overflowed():
    # Scaling 1e308 by 10**3 to round it would overflow to inf; it has no fraction anyway.
    rows = [point(1, point_x=1e308, point_y=123.456789), point(2, point_x=-1e300, point_y=2.5)]
    lines = core_lines(rows, AnnotationConfig(coordinate_decimals=3))
    assert _coordinates(lines) == [1e308, 123.457, -1e300, 2.5]
