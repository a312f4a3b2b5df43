"""Keyframe thinning with a guaranteed reconstruction-error bound.

The Labelbox video editor interpolates linearly, in frame number, between consecutive keyframes
of a segment, so dense per-frame model output carries mostly redundant keyframes. This module
keeps the fewest keyframes whose linear interpolation reproduces *every* input frame within a
tolerance:

- ``px:<v>``: the largest absolute coordinate error is at most ``v`` pixels (bbox: on its four
  edges top, left, bottom = top + height, right = left + width; point and line: every x, y);
- ``iou:<v>`` (bbox only): the IoU of the interpolated box with the input box is at least ``v``.

Problem
-------
A *shortcut* ``(i, j)`` is valid when interpolating between input keyframes ``i`` and ``j``
reproduces every frame strictly between them. The answer is a shortest path from the first to
the last frame over valid shortcuts (Imai-Iri). Validity is not monotone in ``j``, which is why
"extend until the first failure" can keep about twice the optimum at tight tolerances. This
module finds the optimum itself (not an approximation), for shortcuts of at most ``max_span``
input keyframes.

Slope cones
-----------
For a start ``i`` and a linear functional ``f`` of the coordinates, the condition
``|f(interpolated_k) - f(input_k)| <= tol_k`` on frame ``k`` is an interval of the slope
``(f(v_j) - f(v_i)) / (t_j - t_i)``, whatever the end ``j``. The intersection of those intervals
over the frames so far is a running max / min, so one pass over the frames after ``i`` tests
every shortcut from ``i`` (vectorised with numpy across starts and ends), and once it is empty no
longer shortcut from ``i`` can be valid: the start's *reach* ends there.

- ``px``: one functional per coordinate, tolerance ``v``: the test is exact.
- ``iou``: not separable; two cones bracket it. With edge displacements ``ex = |dl| + |dr|``,
  ``ey = |dt| + |db|`` and the input box's size ``w``, ``h``: the symmetric difference of the
  two boxes contains four disjoint edge strips of area ``ex * Iy + ey * Ix`` (``I`` the
  intersection), so ``IoU >= tau`` implies ``ex / w + ey / h <= (1 - tau) / tau`` (necessary);
  and ``IoU >= (1 - ex / w) * (1 - ey / h)``, so ``ex / w + ey / h <= 1 - tau`` suffices. For a
  reference size ``W``, ``H`` (the segment's median), ``ex / W + ey / H`` is the largest of the
  eight functionals ``|(+-dl +- dr) / W +- (dt +- db) / H|``; frame k's tolerance is scaled by
  ``max`` (necessary) or ``min`` (sufficient) of ``w_k / W``, ``h_k / H``, exact while the
  aspect ratio holds and sound always. Shortcuts in the sufficient cone are valid; those only in
  the necessary one ("grey") get an exact IoU check of every frame in between, but only when the
  search needs them (below), nearest start first, after cheap passes that reject most invalid
  ones (frames 1, 2, 4, ... away from either end, then every 8th frame). The IoU cones run in
  float32 with margins far above its rounding (they only bracket the exact float64 check).

Search
------
Breadth-first over shortcuts, layer by layer, each layer vectorised: layer ``d`` holds the
frames first reached with ``d`` shortcuts, so the first layer reaching the last frame is optimal.

- Frames no shortcut can jump over (forced keyframes, outliers, most frames of a noisy track:
  "cuts") are on every path; the stretches between cuts are searched at once as one
  multi-source search, so a track that keeps most frames costs a few layers, not one per frame.
- Every start's cones are scanned up front to offset ``_EAGER_REACH`` (128), which covers whole
  reaches on moving objects. Slow or static objects reach to ``max_span``: their starts get a
  cheap upper bound of the reach (the cone on every 8th frame, which closes no earlier) and are
  scanned further only when a layer needs them, farthest reaching first; a start whose range is
  all reached is skipped, and one with only a few unreached frames in range ("holes", usually
  outliers) gets exact checks of those pairs instead of a scan. All of this is exact.

Cost and bounds
---------------
Scanning costs O(n * reach) per segment (reach <= ``max_span``, default 600 = 20 s at 30 fps):
linear in practice, since reach is the length of the longest useful shortcut plus a margin.
Memory is about 400 bytes per frame plus a few megabytes of reused per-thread work buffers.
Exact checks are capped at ``_EXACT_BUDGET_PER_FRAME`` (512) frame evaluations per input
frame, and an end's deeper candidates may only use a share of what is left per layer. A
pathological track that exhausts the budget (shortcuts that keep passing the necessary cone
and failing the exact check; ``bench/thinning_bench.py`` has one) gets its remaining grey
shortcuts treated as invalid: the error bound still holds, only the count may then exceed the
optimum. Measured times: see ``bench/thinning_bench.py``.

Tolerances carry a tiny slack (``REL_EPS``) so that exact-tolerance cases are stable under
floating point: px errors up to ``v * (1 + REL_EPS) + REL_EPS * scale`` (``scale`` the largest
absolute coordinate of the segment, at least 1) and IoU down to ``v - REL_EPS`` are accepted.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

import numpy as np

METRICS: Final = ("iou", "px")
GEOMETRIES: Final = ("bbox", "point", "line")

DEFAULT_MAX_SPAN: Final = 600
"""Longest shortcut, in input keyframes (frames on a gap-free track): 20 s at 30 fps."""

REL_EPS: Final = 1e-9
"""Relative slack on tolerances (see the module docstring)."""

# Exact-check evaluations (frames in between) allowed per input frame; see the docstring.
_EXACT_BUDGET_PER_FRAME: Final = 512
_EXACT_BUDGET_MIN: Final = 200_000
# Each end's first _SHALLOW_RANKS candidate starts may use the whole budget left; later ones
# only 1 / _DEEP_SHARE of what is left when their layer starts.
_SHALLOW_RANKS: Final = 7
_DEEP_SHARE: Final = 8
# First scan block (offsets 1.._FIRST_WINDOW); each next block doubles the offset.
_FIRST_WINDOW: Final = 32
# Offsets scanned for every start up front; beyond, only for starts the search needs.
_EAGER_REACH: Final = 128
# Open starts extended together first (then twice as many, and so on).
_EXTEND_BATCH: Final = 32
# Frames used to bound an open start's reach cheaply (every _REACH_STRIDE-th one).
_REACH_STRIDE: Final = 8
# Exact checks test every _EXACT_STRIDE-th frame in between before all (cheap rejection).
_EXACT_STRIDE: Final = 8
# Unreached frames in an open start's range checked pair by pair rather than by a scan.
_HOLE_CHECKS: Final = 16
# Elements (ends x functionals x starts) per vectorised block: bounds the work buffers (1 MB).
_BLOCK_ELEMENTS: Final = 1 << 17
# Relative margin of the float32 IoU cones (float32 rounding is about 6e-8).
_F32_MARGIN: Final = 1e-5
# Frames in between evaluated per vectorised exact-check batch.
_EXACT_BATCH: Final = 1 << 18

_SURE: Final = 2  # shortcut known valid
_GREY: Final = 1  # passes the necessary test only: needs an exact check


# --------------------------------------------------------------------------------------------
# Tolerances


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


# --------------------------------------------------------------------------------------------
# Geometry helpers


def _check_geometry(geometry: str, values: np.ndarray) -> None:
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
    d = values.shape[1]
    if geometry == "bbox" and d != 4:
        raise ValueError(f"bbox values need 4 columns (top, left, height, width), got {d}")
    if geometry == "point" and d != 2:
        raise ValueError(f"point values need 2 columns (x, y), got {d}")
    if geometry == "line" and (d < 2 or d % 2):
        raise ValueError(f"line values need an even number of columns (x0, y0, ...), got {d}")


def _as_values(values: np.ndarray, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"values must be a 2-D array (frames x coordinates), got {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"values has {arr.shape[0]} rows but there are {n} frames")
    if not np.isfinite(arr).all():
        raise ValueError("values must be finite (no NaN or infinity)")
    return arr


def _as_frames(frames: np.ndarray) -> np.ndarray:
    arr = np.asarray(frames)
    if arr.ndim != 1:
        raise ValueError(f"frames must be a 1-D array, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"frames must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size > 1 and not (np.diff(arr) > 0).all():
        raise ValueError("frames must be strictly increasing within a segment")
    return arr


def _corners(values: np.ndarray) -> np.ndarray:
    """(top, left, height, width) -> (top, left, bottom, right). Linear, so interpolating either
    form gives the same boxes; errors are measured on the edges."""
    out = values.copy()
    out[:, 2] += values[:, 0]
    out[:, 3] += values[:, 1]
    return out


def _iou_corners(a: np.ndarray, b: np.ndarray, scale: float) -> np.ndarray:
    """IoU of boxes given as (top, left, bottom, right) rows.

    Two boxes with an empty union (both degenerate) have IoU 1 when they coincide (within the
    slack) and 0 otherwise, so that a degenerate input box is only matched by itself.
    """
    ih = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    iw = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.maximum(ih, 0.0) * np.maximum(iw, 0.0)
    area_a = np.maximum(a[:, 2] - a[:, 0], 0.0) * np.maximum(a[:, 3] - a[:, 1], 0.0)
    area_b = np.maximum(b[:, 2] - b[:, 0], 0.0) * np.maximum(b[:, 3] - b[:, 1], 0.0)
    union = area_a + area_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    empty = ~(union > 0.0)
    if empty.any():
        same = np.abs(a[empty] - b[empty]).max(axis=1) <= REL_EPS * scale
        iou[empty] = same.astype(np.float64)
    return iou


def _scale(coords: np.ndarray) -> float:
    return max(1.0, float(np.abs(coords).max())) if coords.size else 1.0


# --------------------------------------------------------------------------------------------
# Interpolation and error (public: used by the report and by the tests)


def interpolate(frames_kept: np.ndarray, values_kept: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Linear interpolation, in frame number, of the kept keyframes at ``frames``.

    Frames outside the kept range hold the first or last keyframe's value. The form
    ``(1 - a) * v0 + a * v1`` is exact at both keyframes.
    """
    fk = _as_frames(frames_kept)
    vk = np.asarray(values_kept, dtype=np.float64)
    if vk.ndim != 2 or vk.shape[0] != fk.size or fk.size == 0:
        raise ValueError("values_kept must be 2-D with one row per kept frame (at least one)")
    f = np.asarray(frames, dtype=np.float64)
    if fk.size == 1:
        return np.repeat(vk, f.size, axis=0)
    seg = np.clip(np.searchsorted(fk, f, side="right") - 1, 0, fk.size - 2)
    f0 = fk[seg].astype(np.float64)
    f1 = fk[seg + 1].astype(np.float64)
    alpha = np.clip((f - f0) / (f1 - f0), 0.0, 1.0)[:, None]
    return (1.0 - alpha) * vk[seg] + alpha * vk[seg + 1]


def reconstruction_error(
    frames: np.ndarray,
    values: np.ndarray,
    keep: np.ndarray,
    tolerance_metric: str,
    geometry: str,
) -> np.ndarray:
    """Per-frame error of the thinned reconstruction: px error, or ``1 - IoU`` for "iou".

    px error is the largest absolute coordinate error (bbox: on top, left, bottom, right).
    """
    t = _as_frames(frames)
    v = _as_values(values, t.size)
    _check_geometry(geometry, v)
    mask = np.asarray(keep, dtype=bool)
    if mask.shape != t.shape:
        raise ValueError("keep must be a bool mask with one entry per frame")
    if tolerance_metric not in METRICS:
        raise ValueError(f"tolerance metric must be 'iou' or 'px', got {tolerance_metric!r}")
    if tolerance_metric == "iou" and geometry != "bbox":
        raise ValueError("the iou metric applies to bbox geometry only")
    if t.size == 0:
        return np.zeros(0)
    if not mask.any():
        raise ValueError("keep must keep at least one frame")
    return interpolation_error(t[mask], v[mask], t, v, tolerance_metric, geometry)


def interpolation_error(
    frames_kept: np.ndarray,
    values_kept: np.ndarray,
    frames: np.ndarray,
    values: np.ndarray,
    metric: str,
    geometry: str,
) -> np.ndarray:
    """Per-frame error of interpolating kept keyframes at `frames` against `values`.

    The measure of the tolerance: px is the largest absolute coordinate error (bbox: on top,
    left, bottom, right); iou gives ``1 - IoU`` (bbox only).
    """
    kept = np.asarray(values_kept, dtype=np.float64)
    actual = np.asarray(values, dtype=np.float64)
    if geometry == "bbox":
        kept, actual = _corners(kept), _corners(actual)
    approx = interpolate(np.asarray(frames_kept), kept, np.asarray(frames))
    if metric == "px":
        return np.abs(approx - actual).max(axis=1)
    return 1.0 - _iou_corners(approx, actual, _scale(actual))


# --------------------------------------------------------------------------------------------
# Shortcut tests as slope cones


class _Workspace:
    """Reusable flat float buffers for the scan, one set per thread.

    A fresh multi-megabyte temporary per block costs page faults that were measured at 5-10x
    the arithmetic itself; reused buffers keep the scan compute-bound. Each thread keeps about
    five buffers of up to 2 * ``_BLOCK_ELEMENTS`` floats (a few megabytes).
    """

    def __init__(self) -> None:
        self.buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
        size = math.prod(shape)
        key = f"{name}/{np.dtype(dtype).name}"
        buf = self.buffers.get(key)
        if buf is None or buf.size < size:
            buf = self.buffers[key] = np.empty(size, dtype=dtype)
        return buf[:size].reshape(shape)


_THREAD = threading.local()


def _workspace() -> _Workspace:
    ws = getattr(_THREAD, "workspace", None)
    if ws is None:
        ws = _THREAD.workspace = _Workspace()
    return ws


def _frames_between(i: np.ndarray, j: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """(pair index, frame) for frames j - 1, j - 1 - stride, ... > i of each pair (i, j)."""
    count = (j - i - 2) // stride + 1
    pair = np.repeat(np.arange(i.size), count)
    first = np.cumsum(count) - count
    return pair, j[pair] - 1 - stride * (np.arange(pair.size) - first[pair])


class _ExactCheck:
    """Exact test of shortcuts on every frame in between (for pairs no cone decided)."""

    t: np.ndarray
    c: np.ndarray  # coordinates that are interpolated (bbox: corners)

    def exact_ok(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, int]:
        """Whether each shortcut (i, j) reproduces every frame strictly between within tolerance,
        and how many frame evaluations that took.

        Invalid shortcuts usually fail on many frames, so cheap passes weed most of them out
        first: frames at distances 1, 2, 4, ... from either end, then every
        ``_EXACT_STRIDE``-th frame, then all of them.
        """
        ok = np.ones(i.size, dtype=bool)
        spent = 0
        span = j - i
        if i.size and span.max() > 4:
            powers = 1 << np.arange(int(span.max()).bit_length())
            off = np.broadcast_to(powers, (i.size, powers.size))
            near = off < span[:, None]
            pair = np.nonzero(near)[0]
            offs = off[near]
            pair, k = np.r_[pair, pair], np.r_[j[pair] - offs, i[pair] + offs]
            ok = self._passes(i, j, pair, k)
            spent += k.size
        if ok.any() and span.max() > 2 * _EXACT_STRIDE:
            idx = np.flatnonzero(ok)
            pair, k = _frames_between(i[idx], j[idx], _EXACT_STRIDE)
            ok[idx] = self._passes(i[idx], j[idx], pair, k)
            spent += k.size
        if ok.any():
            idx = np.flatnonzero(ok)
            pair, k = _frames_between(i[idx], j[idx], 1)
            ok[idx] = self._passes(i[idx], j[idx], pair, k)
            spent += k.size
        return ok, spent

    def _passes(self, i: np.ndarray, j: np.ndarray, pair: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Whether every frame ``k`` of pair ``pair`` (an index into ``i``, ``j``) is within
        tolerance of the interpolation between ``i`` and ``j``."""
        ti = self.t[i[pair]]
        alpha = ((self.t[k] - ti) / (self.t[j[pair]] - ti))[:, None]
        approx = (1.0 - alpha) * self.c[i[pair]] + alpha * self.c[j[pair]]
        return np.bincount(pair[self._fails(approx, k)], minlength=i.size) == 0

    def _fails(self, approx: np.ndarray, k: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _PxModel(_ExactCheck):
    """px: one functional per coordinate, constant tolerance; the cone test is exact."""

    exact_needed = False
    dtype = np.float64  # the cone is the exact test: full precision

    def __init__(self, coords: np.ndarray, frames: np.ndarray, tol: float) -> None:
        self.c = coords
        self.t = frames
        self.z = np.ascontiguousarray(coords)  # (n, F): functional values per frame
        self.tol_nec = tol * (1.0 + REL_EPS) + REL_EPS * _scale(coords)
        self.tol_suf = None

    def _fails(self, approx: np.ndarray, k: np.ndarray) -> np.ndarray:
        return np.abs(approx - self.c[k]).max(axis=1) > self.tol_nec


class _IouModel(_ExactCheck):
    """iou: necessary and sufficient cones (module docstring), exact check for grey shortcuts.

    The functionals are ``(+-dl +- dr) / W +- (dt +- db) / H`` with one reference size W, H for
    the segment (any positive value keeps both tests sound; frame k's tolerance absorbs its own
    size, which is exact while the aspect ratio holds), so they are per-frame arrays.
    """

    exact_needed = True
    # Both cones only bracket the exact check, so they run in float32 (about twice as fast)
    # with their tolerances widened (necessary) and narrowed (sufficient) by far more than
    # float32 rounding: _F32_MARGIN relative, plus _F32_MARGIN times the largest functional.
    dtype = np.float32

    def __init__(self, corners: np.ndarray, frames: np.ndarray, tau: float) -> None:
        self.c = corners
        self.t = frames
        self.tau = tau
        self.scale = _scale(corners)
        w, h = corners[:, 3] - corners[:, 1], corners[:, 2] - corners[:, 0]
        # Functionals of positions relative to the segment's median box: only differences
        # matter, and small values keep the float32 margin (relative to them) small.
        top, left, bottom, right = (corners - np.median(corners, axis=0)).T
        tiny = 1e-6 * self.scale
        inv_w = 1.0 / max(float(np.median(w)), tiny)
        inv_h = 1.0 / max(float(np.median(h)), tiny)
        # Sums and differences of opposite edges: |dl| + |dr| = max(|dl + dr|, |dl - dr|).
        x = np.stack([left + right, left - right]) * inv_w
        y = np.stack([top + bottom, top - bottom]) * inv_h
        z = np.concatenate([(x[:, None] + y[None, :]).reshape(4, -1),
                            (x[:, None] - y[None, :]).reshape(4, -1)])  # fmt: skip
        self.z = np.ascontiguousarray(z.T)  # (n, 8)
        rw, rh = w * inv_w, h * inv_h
        slack = _F32_MARGIN * max(1.0, float(np.abs(self.z).max()))
        # ex / w + ey / h <= c with ex / W + ey / H <= c * max(w / W, h / H) (and min for the
        # sufficient side): see the module docstring.
        nec = (1.0 - tau) / tau * np.maximum(rw, rh)
        suf = (1.0 - tau) * np.minimum(rw, rh)
        self.tol_nec = nec * (1.0 + _F32_MARGIN) + slack
        self.tol_suf = np.maximum(suf * (1.0 - _F32_MARGIN) - slack, 0.0)

    def _fails(self, approx: np.ndarray, k: np.ndarray) -> np.ndarray:
        return _iou_corners(approx, self.c[k], self.scale) < self.tau - REL_EPS


_Model = _PxModel | _IouModel


def _offsets(starts: np.ndarray, offs: np.ndarray, n: int) -> np.ndarray:
    """Frames ``starts + offs`` as (k, r), clipped to the segment (clipped ones lie past every
    start's limit, so their results are masked)."""
    idx = _workspace().get("idx", (offs.size, starts.size), np.int64)
    np.add(starts, offs[:, None], out=idx)
    return np.minimum(idx, n - 1, out=idx)


def _slopes(
    model: _Model, t: np.ndarray, starts: np.ndarray, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Slopes (k, F, r) from each start to frames ``idx`` (k, r), and 1 / frame distance.

    Layout (offset, functional, start): one offset's values are contiguous, which the running
    maximum over offsets needs (a loop of whole-slab maxima, see ``_running_max``). Outputs are
    workspace views.
    """
    ws = _workspace()
    inv_dt = np.take(t, idx, out=ws.get("inv_dt", idx.shape), mode="clip")
    inv_dt -= t[starts]
    with np.errstate(divide="ignore"):
        np.divide(1.0, inv_dt, out=inv_dt)
    nf = model.z.shape[1]
    values = np.take(model.z, idx, axis=0, out=ws.get("gather", (*idx.shape, nf)), mode="clip")
    slopes = ws.get("slopes", (idx.shape[0], nf, idx.shape[1]), model.dtype)
    np.subtract(values.transpose(0, 2, 1), model.z[starts].T, out=slopes)
    with np.errstate(invalid="ignore"):  # offset 0: 0 * inf, never used
        slopes *= inv_dt[:, None, :]
    return slopes, inv_dt


def _tolerances(
    model: _Model, tol: np.ndarray | float, idx: np.ndarray, inv_dt: np.ndarray
) -> np.ndarray:
    """Tolerance over frame distance, (k, r), in the cones' precision (a workspace view)."""
    out = _workspace().get("tol", idx.shape, model.dtype)
    if isinstance(tol, np.ndarray):
        gathered = np.take(tol, idx, out=_workspace().get("tol_gather", idx.shape), mode="clip")
        return np.multiply(gathered, inv_dt, out=out, casting="same_kind")
    return np.multiply(inv_dt, tol, out=out, casting="same_kind")


def _running_max(bound: np.ndarray) -> np.ndarray:
    """In-place running maximum of (k, X, r) along k.

    A loop of whole-slab maxima is several times faster than ``ufunc.accumulate`` (which walks
    the axis element by element). With small slabs the loop's per-call overhead dominates, so
    the offsets are cut into about sqrt(k) groups: a running maximum inside every group at once,
    then each group takes the maximum of the previous one's last slab (twice the arithmetic,
    about 2 sqrt(k) calls instead of k).
    """
    k = bound.shape[0]
    if k < 64 or bound[0].size >= 4096:
        for q in range(1, k):
            np.maximum(bound[q - 1], bound[q], out=bound[q])
        return bound
    size = math.isqrt(k)
    groups = k // size
    flat = bound.reshape(k, -1)
    grouped = flat[: groups * size].reshape(groups, size, -1)
    for q in range(1, size):
        np.maximum(grouped[:, q - 1], grouped[:, q], out=grouped[:, q])
    for g in range(1, groups):
        np.maximum(grouped[g], grouped[g - 1, -1], out=grouped[g])
    for q in range(groups * size, k):
        np.maximum(flat[q - 1], flat[q], out=flat[q])
    return bound


class _Cone:
    """Running slope bounds of one cone per start, carried from block to block.

    Frame k (at distance dt from the start) allows slopes ``(f_k - f_start +- tol_k) / dt`` for
    each functional f; stored as (lower, -upper) bounds, (2F, starts), so that one running
    maximum tracks both.
    """

    def __init__(self, n_func: int, n_rows: int, dtype: type) -> None:
        self.state = np.full((2 * n_func, n_rows), -np.inf, dtype=dtype)
        self.open = np.ones(n_rows, dtype=bool)

    def update(
        self, to_k: np.ndarray, tol_k: np.ndarray, *, pos: np.ndarray, first_block: bool
    ) -> np.ndarray:
        """Bounds after each constraint frame of a block, (k, 2F, r) (a workspace view).

        ``to_k`` (k, F, r): slopes from the starts ``pos`` to the constraint frames;
        ``tol_k`` (k, r): their tolerances divided by the frame distance.
        """
        nf = to_k.shape[1]
        bound = _workspace().get("bound", (to_k.shape[0], 2 * nf, to_k.shape[2]), to_k.dtype)
        tol = tol_k[:, None, :]
        np.subtract(to_k, tol, out=bound[:, :nf])
        np.subtract(-tol, to_k, out=bound[:, nf:])
        if first_block:  # offset 0 is the start itself: no constraint
            bound[0] = -np.inf
        np.maximum(bound[0], self.state[:, pos], out=bound[0])
        _running_max(bound)
        self.state[:, pos] = bound[-1]
        self.open[pos] = (bound[-1, :nf] + bound[-1, nf:] <= 0.0).all(axis=0)
        return bound

    def test(
        self,
        to_k: np.ndarray,
        tol_k: np.ndarray,
        slope: np.ndarray,
        *,
        pos: np.ndarray,
        first_block: bool,
    ) -> np.ndarray:
        """Which ends of one block pass, (k, r); ``slope`` (k, F, r): slopes to the ends."""
        bound = self.update(to_k, tol_k, pos=pos, first_block=first_block)
        nf = to_k.shape[1]
        margin = _workspace().get("margin", slope.shape, slope.dtype)
        np.subtract(slope, bound[:, :nf], out=margin)
        ok = margin.min(axis=1) >= 0.0
        np.add(slope, bound[:, nf:], out=margin)
        ok &= margin.max(axis=1) <= 0.0
        return ok


class _RowScan:
    """Shortcut codes (0 invalid, _GREY, _SURE) from every start of a segment.

    Ends are scanned in blocks of offsets (1-32, 33-64, 65-128, ...: each block doubles the
    offset) while a start's necessary cone is still open and its limit not reached. Offsets up
    to ``_EAGER_REACH`` are scanned for every start at once (``codes[i, w]`` is the shortcut
    (i, i + w)), which covers whole reaches on moving objects. Starts still open beyond it
    (slow or static objects, whose reach runs to ``max_span``) are scanned further only when
    the search needs them (``extend``), and the search skips many of them.
    """

    def __init__(self, t: np.ndarray, model: _Model, limit: np.ndarray) -> None:
        self.t, self.model, self.limit = t, model, limit
        n, nf = t.size, model.z.shape[1]
        self.nec = _Cone(nf, n, model.dtype)
        self.suf = _Cone(nf, n, model.dtype) if model.exact_needed else None
        self.codes = np.zeros((n, _EAGER_REACH + 1), dtype=np.int8)
        self.is_open = np.zeros(n, dtype=bool)  # scanned to _EAGER_REACH, cone still open
        starts = np.flatnonzero(limit > np.arange(n))
        for pos, a, code in self._scan(starts, 1, _EAGER_REACH):
            self.codes[pos, a : a + code.shape[0]] = code.T
        self.is_open[self._left] = True
        # Farthest possible end of each start: past it, no shortcut can be valid.
        self.reach = np.arange(n) + _EAGER_REACH - np.argmax(self.codes[:, ::-1] > 0, axis=1)
        self.reach[self._left] = self._reach_bound(self._left)

    def _reach_bound(self, pos: np.ndarray) -> np.ndarray:
        """Upper bound of the farthest end of open starts ``pos``.

        Their necessary cones continued on every ``_REACH_STRIDE``-th frame only: fewer
        constraints give a wider cone that closes no earlier than the true one, at a fraction of
        the cost. The search uses the bound to skip starts that cannot reach new frames.
        """
        model, limit = self.model, self.limit
        nf = model.z.shape[1]
        out = limit[pos].copy()
        if not pos.size:
            return out
        offs = np.arange(_EAGER_REACH + 1, int((limit[pos] - pos).max()) + 1, _REACH_STRIDE)
        chunk = max(1, _BLOCK_ELEMENTS // (offs.size * nf))
        saved = self.nec.state[:, pos]
        for s0 in range(0, pos.size, chunk):
            starts = pos[s0 : s0 + chunk]
            idx = _offsets(starts, offs, self.t.size)
            to_k, inv_dt = _slopes(model, self.t, starts, idx)
            tol_k = _tolerances(model, model.tol_nec, idx, inv_dt)
            bound = self.nec.update(to_k, tol_k, pos=starts, first_block=False)
            closed = (bound[:, :nf] + bound[:, nf:] > 0.0).any(axis=1)  # lower > upper
            at = np.argmax(closed, axis=0)
            ends = np.where(closed.any(axis=0), starts + offs[at], out[s0 : s0 + chunk])
            out[s0 : s0 + chunk] = np.minimum(ends, out[s0 : s0 + chunk])
        self.nec.state[:, pos] = saved  # the strided cones were a bound only
        self.nec.open[pos] = True
        return out

    def extend(self, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scan open ``starts`` to the end of their reach: (starts, ends, codes) of shortcuts."""
        self.is_open[starts] = False
        out = [(starts[:0], starts[:0], np.zeros(0, dtype=np.int8))]
        for pos, a, code in self._scan(starts, _EAGER_REACH + 1, None):
            w, r = np.nonzero(code)
            out.append((pos[r], pos[r] + a + w, code[w, r]))
        s, e, c = (np.concatenate(part) for part in zip(*out, strict=True))
        return s, e, c

    def _scan(
        self, pos: np.ndarray, a: int, stop: int | None
    ) -> Iterator[tuple[np.ndarray, int, np.ndarray]]:
        """Yield (starts, first offset, codes (offsets x starts)) block by block, from offset
        ``a`` to ``stop`` (None: to the end of each reach); leaves the still open starts in
        ``self._left``."""
        limit, nf = self.limit, self.model.z.shape[1]
        while pos.size and (stop is None or a <= stop):
            b = min(max(_FIRST_WINDOW, 2 * (a - 1)), int((limit[pos] - pos).max()))
            if stop is not None:
                b = min(b, stop)
            chunk = max(1, _BLOCK_ELEMENTS // ((b - a + 2) * nf))
            alive = []
            for s0 in range(0, pos.size, chunk):
                part = pos[s0 : s0 + chunk]
                yield part, a, self._block(part, a, b)
                alive.append(part[self.nec.open[part] & (limit[part] > part + b)])
            pos = np.concatenate(alive)
            a = b + 1
        self._left = pos

    def _block(self, starts: np.ndarray, a: int, b: int) -> np.ndarray:
        """Codes (offsets x starts) of shortcuts (i, i + w), w in [a, b], for ``starts``.

        An end ``w`` is tested against the frames at offsets ``u < w``; offsets a-1..b are
        gathered once (constraints use a-1..b-1, slopes a..b).
        """
        model = self.model
        offs = np.arange(a - 1, b + 1)
        idx = _offsets(starts, offs, self.t.size)
        slopes, inv_dt = _slopes(model, self.t, starts, idx)
        to_k, slope, first = slopes[:-1], slopes[1:], a == 1
        with np.errstate(invalid="ignore"):  # offset 0 of the first block: inf - inf
            tol_k = _tolerances(model, model.tol_nec, idx[:-1], inv_dt[:-1])
            ok = self.nec.test(to_k, tol_k, slope, pos=starts, first_block=first)
            code = ok.astype(np.int8) * (_GREY if model.exact_needed else _SURE)
            if self.suf is not None and self.suf.open[starts].any():
                tol_k = _tolerances(model, model.tol_suf, idx[:-1], inv_dt[:-1])
                sure = self.suf.test(to_k, tol_k, slope, pos=starts, first_block=first)
                code[ok & sure] = _SURE
        if first:
            code[0] = _SURE  # adjacent frames: nothing in between
        code[offs[1:, None] > self.limit[starts] - starts] = 0  # ends past the limit
        return code


# --------------------------------------------------------------------------------------------
# Shortest path


class _Search:
    """Breadth-first search for a fewest-keyframes path from frame 0 to frame n - 1.

    Frames that no shortcut can jump over ("cuts": forced keyframes, and on noisy tracks most
    frames) are on every path, so the stretches between them are searched independently; they
    are searched together, as sources of one multi-source search, so that a track whose
    keyframes are mostly cuts costs a few vectorised layers rather than one per keyframe.
    """

    def __init__(self, t: np.ndarray, model: _Model, limit: np.ndarray) -> None:
        n = t.size
        self.model, self.limit = model, limit
        self.scan = _RowScan(t, model, limit)
        self.reached = np.full(n, -1, dtype=np.int64)  # layer at which a frame is reached
        self.parent = np.full(n, -1, dtype=np.int64)
        self.budget = max(_EXACT_BUDGET_MIN, _EXACT_BUDGET_PER_FRAME * n)
        self.settled: list[np.ndarray] = []  # frames reached in the current layer

    def keep(self) -> np.ndarray:
        """Bool mask of the kept keyframes."""
        n = self.reached.size
        reach = self.scan.reach
        farthest_before = np.maximum.accumulate(np.r_[0, reach[:-1]])
        cut = farthest_before <= np.arange(n)  # no shortcut jumps over these frames
        cut[0] = True
        sources = np.flatnonzero(cut[:-1])
        targets = np.flatnonzero(cut[1:]) + 1
        reached, layer, frontier = self.reached, 0, sources
        while (reached[targets] < 0).any():
            layer += 1
            codes = self.scan.codes[frontier]
            fi, w = np.nonzero(codes)
            found = [self._settle_sure(frontier[fi], frontier[fi] + w, codes[fi, w], layer)]
            is_open = self.scan.is_open[frontier]
            if is_open.any():
                found.extend(self._extend(frontier[is_open], layer))
            grey_s, grey_e = (np.concatenate(part) for part in zip(*found, strict=True))
            if grey_s.size:
                self._settle_grey(grey_s, grey_e, layer)
            ends = np.unique(np.concatenate(self.settled))
            self.settled.clear()
            frontier = ends[~cut[ends]]
            if not frontier.size and (reached[targets] < 0).any():  # (i, i + 1) is always valid
                raise RuntimeError("keyframe search found no path")
        keep = cut.copy()
        node = targets
        while node.size:
            node = self.parent[node]
            node = node[~cut[node]]
            keep[node] = True
        return keep

    def _settle_sure(
        self, starts: np.ndarray, ends: np.ndarray, codes: np.ndarray, layer: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Reach the ends of sure shortcuts; return the grey ones to ends not reached yet."""
        fresh = self.reached[ends] < 0
        starts, ends, codes = starts[fresh], ends[fresh], codes[fresh]
        sure = codes == _SURE
        self.parent[ends[sure]] = starts[sure]
        self.reached[ends[sure]] = layer
        self.settled.append(ends[sure])
        return starts[~sure], ends[~sure]

    def _extend(self, starts: np.ndarray, layer: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Shortcuts longer than ``_EAGER_REACH`` from open ``starts`` to frames not reached.

        A start whose reach bound runs into unreached frames beyond (or many of them) is
        scanned, farthest reaching first. The others can only add "holes": scattered frames
        that the scanned starts did not reach (usually outliers no long shortcut ends at); those
        few (start, hole) pairs are returned for exact checks instead of scanning the start. A
        start whose range is all reached is skipped: it could only end at reached frames.
        Returns (starts, ends) pairs that need an exact check.
        """
        found = []
        reach = self.scan.reach
        todo = starts[np.argsort(-reach[starts], kind="stable")]
        batch = _EXTEND_BATCH
        base = int(todo.min())
        while todo.size:
            unreached = self.reached[base:] < 0
            count = np.cumsum(unreached)
            holes = count[reach[todo] - base] - count[todo + _EAGER_REACH - base]
            todo, holes = todo[holes > 0], holes[holes > 0]
            scan = (holes > _HOLE_CHECKS) | unreached[reach[todo] - base]
            if not scan.any():
                break
            now = todo[scan][:batch]
            todo = todo[~np.isin(todo, now)]
            batch *= 2
            s, e, c = self.scan.extend(np.sort(now))
            found.append(self._settle_sure(s, e, c, layer))
        if todo.size:
            open_frames = np.flatnonzero(self.reached[base:] < 0) + base
            lo = np.searchsorted(open_frames, todo + _EAGER_REACH, side="right")
            hi = np.searchsorted(open_frames, reach[todo], side="right")
            count = hi - lo
            row = np.repeat(np.arange(todo.size), count)
            at = lo[row] + np.arange(row.size) - (np.cumsum(count) - count)[row]
            found.append((todo[row], open_frames[at]))
        return found

    def _settle_grey(self, starts: np.ndarray, ends: np.ndarray, layer: int) -> None:
        """Exact checks of grey shortcuts whose end is not reached yet.

        Each end tries its candidate starts nearest first (fewest frames to check, most likely
        valid), in rounds of doubling size, and stops at the first valid one.
        """
        dist, parent = self.reached, self.parent
        todo = dist[ends] < 0
        starts, ends = starts[todo], ends[todo]
        if not ends.size:
            return
        order = np.lexsort((-starts, ends))
        starts, ends = starts[order], ends[order]
        first = np.r_[True, ends[1:] != ends[:-1]]
        rank = np.arange(ends.size) - np.maximum.accumulate(
            np.where(first, np.arange(ends.size), 0)
        )
        low, size, top = 0, 1, int(rank.max())
        # Deep rounds (an end's later candidates) rarely succeed; on a pathological track they
        # could spend the whole budget on one layer, so each layer gets a share for them.
        deep_floor = self.budget - self.budget // _DEEP_SHARE
        while low <= top and self.budget > (deep_floor if low >= _SHALLOW_RANKS else 0):
            sel = (rank >= low) & (rank < low + size) & (dist[ends] < 0)
            low, size = low + size, size * 2
            if not sel.any():
                continue
            si, sj = starts[sel], ends[sel]
            cost = np.cumsum(sj - si - 1)  # at most: the cheap passes usually cost far less
            ok = np.zeros(si.size, dtype=bool)
            lo = 0
            while lo < si.size and self.budget > 0:  # batches of about _EXACT_BATCH frames
                done = int(cost[lo - 1]) if lo else 0
                hi = max(lo + 1, int(np.searchsorted(cost, done + _EXACT_BATCH, side="right")))
                ok[lo:hi], spent = self.model.exact_ok(si[lo:hi], sj[lo:hi])
                self.budget -= spent
                lo = hi
            parent[sj[ok]] = si[ok]
            dist[sj[ok]] = layer
            self.settled.append(sj[ok])


# --------------------------------------------------------------------------------------------
# Public entry point


def select_keyframes(
    frames: np.ndarray,
    values: np.ndarray,
    tolerance: Tolerance | None,
    geometry: str,
    forced: np.ndarray | None = None,
    *,
    max_span: int = DEFAULT_MAX_SPAN,
) -> np.ndarray:
    """Keep-mask of the fewest keyframes reproducing every frame within ``tolerance``.

    ``frames``: strictly increasing ints (one segment of one track; gaps allowed).
    ``values``: (n, d) floats; bbox (top, left, height, width), point (x, y), line
    (x0, y0, x1, y1, ...) with a fixed vertex count. ``forced``: bool mask of frames to keep.
    ``max_span``: longest shortcut in input keyframes (bounds the cost; see module docstring).

    The first and last frames are always kept; ``tolerance`` None keeps everything. Linear
    interpolation between consecutive kept keyframes reproduces every input frame within the
    tolerance (up to ``REL_EPS``), and the count is the fewest possible given ``max_span``
    (unless the exact-IoU budget runs out on a pathological track; the bound then still holds).
    """
    t = _as_frames(frames)
    n = t.size
    v = _as_values(values, n)
    _check_geometry(geometry, v)
    if tolerance is not None and tolerance.metric == "iou" and geometry != "bbox":
        raise ValueError(f"the iou metric applies to bbox geometry only, not {geometry!r}")
    if isinstance(max_span, bool) or not isinstance(max_span, int | np.integer) or max_span < 1:
        raise ValueError(f"max_span must be a positive integer, got {max_span!r}")
    anchors = np.zeros(n, dtype=bool)
    if forced is not None:
        forced_arr = np.asarray(forced)
        if forced_arr.shape != (n,) or forced_arr.dtype != np.bool_:
            raise ValueError("forced must be a bool mask with one entry per frame")
        anchors |= forced_arr
    if tolerance is not None and tolerance.metric == "iou" and (v[:, 2:] < 0).any():
        raise ValueError("bbox height and width must be >= 0 for the iou metric")
    if tolerance is None or n <= 2:
        return np.ones(n, dtype=bool)
    anchors[[0, -1]] = True
    # A shortcut never jumps over a forced keyframe, so each stretch is thinned on its own.
    anchor_at = np.flatnonzero(anchors)
    after = np.searchsorted(anchor_at, np.arange(n), side="right")
    following = anchor_at[np.minimum(after, anchor_at.size - 1)]
    limit = np.minimum(np.arange(n) + int(max_span), following)
    tf = t.astype(np.float64)
    coords = _corners(v) if geometry == "bbox" else v
    model: _Model
    if tolerance.metric == "px":
        model = _PxModel(coords, tf, tolerance.value)
    else:
        model = _IouModel(coords, tf, tolerance.value)
    return _Search(tf, model, limit).keep()
