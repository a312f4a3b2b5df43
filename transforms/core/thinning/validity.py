"""Validity models of a shortcut: the px slope-interval test, the IoU necessary and sufficient
linear bounds, and the exact check of every frame in between.

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
"""

from __future__ import annotations

from typing import Final

import numpy as np

from transforms.core.thinning import tuning
from transforms.core.thinning.geometry import _iou_corners, _scale
from transforms.core.thinning.tolerance import REL_EPS

_SURE: Final = 2  # shortcut known valid
_GREY: Final = 1  # passes the necessary test only: needs an exact check


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
        if ok.any() and span.max() > 2 * tuning._EXACT_STRIDE:
            idx = np.flatnonzero(ok)
            pair, k = _frames_between(i[idx], j[idx], tuning._EXACT_STRIDE)
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

    def shortcut_ok(self, i: np.ndarray, j: int) -> np.ndarray:
        """Whether each shortcut (i, j) is valid, by the cone test itself (the scan's and the
        compiled search's arithmetic, so the same answer at exact ties)."""
        t, z = self.t, self.z
        ends = np.full(i.size, j)
        inv_j = 1.0 / (t[j] - t[i])
        slope_j = (z[j] - z[i]) * inv_j[:, None]
        count = j - i - 1
        ok = np.ones(i.size, dtype=bool)
        has = count > 0
        if has.any():
            pair, k = _frames_between(i[has], ends[has], 1)
            start = i[has][pair]
            inv = 1.0 / (t[k] - t[start])
            s = (z[k] - z[start]) * inv[:, None]
            tn = (inv * self.tol_nec)[:, None]
            first = np.cumsum(count[has]) - count[has]
            lo = np.maximum.reduceat(s - tn, first, axis=0)
            hi = np.minimum.reduceat(s + tn, first, axis=0)
            sj = slope_j[has]
            ok[has] = ((sj >= lo) & (sj <= hi)).all(axis=1)
        return ok


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
        slack = tuning._F32_MARGIN * max(1.0, float(np.abs(self.z).max()))
        # ex / w + ey / h <= c with ex / W + ey / H <= c * max(w / W, h / H) (and min for the
        # sufficient side): see the module docstring.
        nec = (1.0 - tau) / tau * np.maximum(rw, rh)
        suf = (1.0 - tau) * np.minimum(rw, rh)
        self.tol_nec = nec * (1.0 + tuning._F32_MARGIN) + slack
        self.tol_suf = np.maximum(suf * (1.0 - tuning._F32_MARGIN) - slack, 0.0)

    def _fails(self, approx: np.ndarray, k: np.ndarray) -> np.ndarray:
        return _iou_corners(approx, self.c[k], self.scale) < self.tau - REL_EPS

    def shortcut_ok(self, i: np.ndarray, j: int) -> np.ndarray:
        """Whether each shortcut (i, j) is valid: the exact check (sure ones pass it too)."""
        return self.exact_ok(i, np.full(i.size, j))[0]


_Model = _PxModel | _IouModel
