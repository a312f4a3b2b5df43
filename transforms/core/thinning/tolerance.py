"""Tolerances: what "reproduces every frame" means, and how ``--keyframe_tolerance`` is parsed.

- ``px:<v>``: the largest absolute coordinate error is at most ``v`` pixels (bbox: on its four
  edges top, left, bottom = top + height, right = left + width; point and line: every x, y);
- ``iou:<v>`` (bbox only): the IoU of the interpolated box with the input box is at least ``v``.

Tolerances carry a tiny slack (``REL_EPS``) so that exact-tolerance cases are stable under
floating point: px errors up to ``v * (1 + REL_EPS) + REL_EPS * scale`` (``scale`` the largest
absolute coordinate of the segment, at least 1) and IoU down to ``v - REL_EPS`` are accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

METRICS: Final = ("iou", "px")

REL_EPS: Final = 1e-9
"""Relative slack on tolerances (see the module docstring)."""


@dataclass(frozen=True)
class Tolerance:
    """An error bound: ``metric`` "iou" (0 < value <= 1) or "px" (value >= 0)."""

    metric: str
    value: float

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"tolerance metric must be 'iou' or 'px', got {self.metric!r}")
        value = float(self.value)
        if not math.isfinite(value):
            raise ValueError(f"tolerance value must be finite, got {self.value!r}")
        if self.metric == "iou" and not 0.0 < value <= 1.0:
            raise ValueError(f"iou tolerance must be in (0, 1], got {value:g}")
        if self.metric == "px" and value < 0.0:
            raise ValueError(f"px tolerance must be >= 0, got {value:g}")
        object.__setattr__(self, "value", value)

    def __str__(self) -> str:
        return f"{self.metric}:{self.value:g}"


def parse_tolerance(text: str) -> Tolerance:
    """Parse ``"iou:0.9"`` (0 < v <= 1) or ``"px:2"`` (v >= 0); ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"tolerance must be a string like 'iou:0.9' or 'px:2', got {text!r}")
    metric, sep, number = text.strip().partition(":")
    metric = metric.strip().lower()
    if not sep or metric not in METRICS:
        raise ValueError(
            f"invalid tolerance {text!r}: expected 'iou:<value in (0, 1]>' or 'px:<pixels >= 0>'"
        )
    try:
        value = float(number.strip())
    except ValueError:
        raise ValueError(
            f"invalid tolerance {text!r}: {number.strip()!r} is not a number"
        ) from None
    try:
        return Tolerance(metric, value)
    except ValueError as err:
        raise ValueError(f"invalid tolerance {text!r}: {err}") from None


@dataclass(frozen=True)
class ToleranceSpec:
    """Tolerances by feature name, with defaults for the other features.

    IoU measures boxes only, so a spec may hold two defaults: `default` (IoU or px, for boxes,
    and for points and lines when it is px) and `default_px` (px, for points and lines when
    `default` is IoU). A point or line feature with no px tolerance keeps every keyframe.
    """

    default: Tolerance | None = None
    per_feature: dict[str, Tolerance] = field(default_factory=dict)
    default_px: Tolerance | None = None

    def for_feature(self, feature: str, geometry: str = "bbox") -> Tolerance | None:
        """The tolerance for a feature of this geometry (None: keep every keyframe)."""
        own = self.per_feature.get(feature)
        if own is not None and (own.metric == "px" or geometry == "bbox"):
            return own
        if geometry == "bbox" or (self.default is not None and self.default.metric == "px"):
            return self.default
        return self.default_px

    def __str__(self) -> str:
        parts = [str(t) for t in (self.default, self.default_px) if t is not None]
        parts += [f"{f}={t}" for f, t in self.per_feature.items()]
        return ",".join(parts)


def parse_tolerance_spec(values: list[str] | str | None) -> ToleranceSpec:
    """Parse CLI values such as ``["px:2", "person=iou:0.95", "car=px:3"]``.

    A single comma-separated string is accepted too, and so are commas inside list items (so
    feature names cannot contain commas or "="). An entry without ``feature=`` is a default,
    at most one per metric (``iou:0.9,px:2`` thins boxes by IoU, points and lines by px); a
    feature may appear once. Empty entries (e.g. a trailing comma) are ignored;
    None or nothing means no thinning at all.
    """
    if values is None:
        return ToleranceSpec()
    items = [values] if isinstance(values, str) else list(values)
    defaults: dict[str, Tolerance] = {}
    per_feature: dict[str, Tolerance] = {}
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"tolerance entries must be strings, got {item!r}")
        for raw in item.split(","):
            entry = raw.strip()
            if not entry:
                continue
            feature, sep, text = entry.partition("=")
            if not sep:
                tolerance = parse_tolerance(entry)
                if tolerance.metric in defaults:
                    raise ValueError(
                        f"more than one default {tolerance.metric} tolerance "
                        f"({defaults[tolerance.metric]} and {entry!r}); qualify the others as "
                        "feature=metric:value"
                    )
                defaults[tolerance.metric] = tolerance
                continue
            feature = feature.strip()
            if not feature:
                raise ValueError(f"missing feature name before '=' in tolerance entry {entry!r}")
            if feature in per_feature:
                raise ValueError(f"feature {feature!r} is given more than one tolerance")
            try:
                per_feature[feature] = parse_tolerance(text)
            except ValueError as err:
                raise ValueError(f"in tolerance entry {entry!r}: {err}") from None
    if "iou" in defaults:
        return ToleranceSpec(defaults["iou"], per_feature, defaults.get("px"))
    return ToleranceSpec(defaults.get("px"), per_feature)
