"""Linear interpolation of kept keyframes and its per-frame error: the measure of the
tolerance, used by the report, the manifest (largest error seen) and the tests."""

from __future__ import annotations

import numpy as np

from transforms.core.thinning import compiled
from transforms.core.thinning.geometry import (
    _as_frames,
    _as_values,
    _check_geometry,
    _corners,
    _iou_corners,
    _scale,
)
from transforms.core.thinning.tolerance import METRICS


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
    return error_checked(t, v, mask, tolerance_metric, geometry)


def error_checked(
    t: np.ndarray, v: np.ndarray, keep: np.ndarray, metric: str, geometry: str
) -> np.ndarray:
    """`reconstruction_error` on inputs that hold its contract by construction (int64 frames,
    finite float64 values of ``geometry``, a non-empty bool mask of as many frames), without
    checking them again."""
    if compiled.AVAILABLE:
        return compiled.errors(t, v, keep, metric, geometry)
    return interpolation_error(t[keep], v[keep], t, v, metric, geometry)


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
