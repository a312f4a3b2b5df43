"""Smooth paths with detector noise: bouncing random walks, boxes, points and lane lines.

``decimals`` rounds the detected coordinates (None: full float64 precision).
"""

from __future__ import annotations

import numpy as np

from bench.datasets.constants import DEFAULT_DECIMALS, HEIGHT, WIDTH


def reflect(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fold ``x`` into [lo, hi] by reflection at the bounds (a bouncing walk stays continuous)."""
    span = hi - lo
    y = np.mod(x - lo, 2.0 * span)
    return lo + np.where(y > span, 2.0 * span - y, y)


def walk(
    rng: np.random.Generator,
    n: int,
    start: float,
    *,
    lo: float,
    hi: float,
    vmax: float,
    accel_sigma: float,
) -> np.ndarray:
    """A smooth 1-D path of ``n`` frames: random-walk velocity (bounded by vmax), in [lo, hi]."""
    v0 = rng.uniform(-vmax, vmax) * 0.5
    velocity = reflect(v0 + np.cumsum(rng.normal(0.0, accel_sigma, n)), -vmax, vmax)
    position = start + np.cumsum(velocity) - velocity[0]
    return reflect(position, lo, hi)


def _rounded(values: np.ndarray, decimals: int | None) -> np.ndarray:
    return values if decimals is None else np.round(values, decimals)


def box_path(
    rng: np.random.Generator, feature: str, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` frames of a moving box: (left, top, width, height), before detector noise."""
    if feature == "person":
        h0 = rng.uniform(120.0, 480.0)
        w0 = h0 * rng.uniform(0.35, 0.5)
        vmax_x, vmax_y = 3.0, 1.0
    else:
        w0 = rng.uniform(150.0, 450.0)
        h0 = w0 * rng.uniform(0.5, 0.7)
        vmax_x, vmax_y = 8.0, 1.5
    scale = np.exp(reflect(np.cumsum(rng.normal(0.0, 0.002, n)), -0.4, 0.4))
    w, h = w0 * scale, h0 * scale
    cx = walk(
        rng,
        n,
        rng.uniform(0.1, 0.9) * WIDTH,
        lo=0.03 * WIDTH,
        hi=0.97 * WIDTH,
        vmax=vmax_x,
        accel_sigma=0.05,
    )
    cy = walk(
        rng,
        n,
        rng.uniform(0.3, 0.7) * HEIGHT,
        lo=0.2 * HEIGHT,
        hi=0.8 * HEIGHT,
        vmax=vmax_y,
        accel_sigma=0.02,
    )
    return cx - w / 2, cy - h / 2, w, h


def bbox_rows(
    rng: np.random.Generator,
    feature: str,
    n: int,
    idx: np.ndarray,
    decimals: int | None = DEFAULT_DECIMALS,
) -> np.ndarray:
    """Detected boxes (top, left, height, width) on window frames ``idx`` of an ``n``-frame path."""
    left, top, w, h = box_path(rng, feature, n)
    left, top, w, h = left[idx], top[idx], w[idx], h[idx]
    sigma = rng.uniform(0.5, 1.0)
    noise = rng.normal(0.0, sigma, (len(idx), 4))
    x0 = np.clip(left + noise[:, 0], 0.0, WIDTH - 1.0)
    x1 = np.clip(left + w + noise[:, 1], x0 + 1.0, WIDTH)
    y0 = np.clip(top + noise[:, 2], 0.0, HEIGHT - 1.0)
    y1 = np.clip(top + h + noise[:, 3], y0 + 1.0, HEIGHT)
    return _rounded(np.stack([y0, x0, y1 - y0, x1 - x0], axis=1), decimals)


def point_rows(
    rng: np.random.Generator, n: int, idx: np.ndarray, decimals: int | None = DEFAULT_DECIMALS
) -> np.ndarray:
    """Detected points (x, y) on window frames ``idx`` of an ``n``-frame path."""
    x = walk(rng, n, rng.uniform(0.1, 0.9) * WIDTH, lo=0.0, hi=WIDTH, vmax=4.0, accel_sigma=0.05)[
        idx
    ]
    y = walk(rng, n, rng.uniform(0.2, 0.8) * HEIGHT, lo=0.0, hi=HEIGHT, vmax=2.0, accel_sigma=0.03)[
        idx
    ]
    noise = rng.normal(0.0, rng.uniform(0.5, 1.0), (len(idx), 2))
    x = np.clip(x + noise[:, 0], 0.0, WIDTH)
    y = np.clip(y + noise[:, 1], 0.0, HEIGHT)
    return _rounded(np.stack([x, y], axis=1), decimals)


def line_rows(
    rng: np.random.Generator, n: int, idx: np.ndarray, decimals: int | None = DEFAULT_DECIMALS
) -> tuple[np.ndarray, np.ndarray]:
    """Lane polylines (x and y, shape (frames, vertices)) on window frames ``idx``."""
    vertices = int(rng.integers(2, 5))
    bottom = rng.uniform(0.2, 0.8) * WIDTH
    top = bottom + rng.uniform(-300.0, 300.0)
    base_y = np.linspace(HEIGHT - 1.0, 0.55 * HEIGHT, vertices)
    base_x = np.linspace(bottom, top, vertices)
    base_x[1:-1] += rng.normal(0.0, 20.0, vertices - 2)
    shift = reflect(np.cumsum(rng.normal(0.0, 0.3, n)), -120.0, 120.0)[idx]
    weight = 1.0 - 0.6 * np.arange(vertices) / (vertices - 1)
    sigma = rng.uniform(0.5, 1.0)
    k = len(idx)
    xs = base_x + shift[:, None] * weight + rng.normal(0.0, sigma, (k, vertices))
    ys = base_y + rng.normal(0.0, sigma, (k, vertices))
    xs = _rounded(np.clip(xs, 0.0, WIDTH), decimals)
    ys = _rounded(np.clip(ys, 0.0, HEIGHT), decimals)
    return xs, ys
