"""Input checks and box geometry shared by the thinning modules (corners, IoU, scale)."""

from __future__ import annotations

import numpy as np

from transforms.core.thinning.tolerance import REL_EPS

GEOMETRIES = ("bbox", "point", "line")


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
