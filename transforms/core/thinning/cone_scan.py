"""The vectorised cone scan: validity codes of every shortcut from many starts at once.

Running max / min of the slope bounds over offsets, blocks of (offsets x functionals x starts)
in reused per-thread buffers; see ``validity`` for the cones and ``search`` for how the search
asks for them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator

import numpy as np

from transforms.core.thinning import tuning
from transforms.core.thinning.validity import _GREY, _SURE, _Model


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
        self.codes = np.zeros((n, tuning._EAGER_REACH + 1), dtype=np.int8)
        self.is_open = np.zeros(n, dtype=bool)  # scanned to _EAGER_REACH, cone still open
        starts = np.flatnonzero(limit > np.arange(n))
        for pos, a, code in self._scan(starts, 1, tuning._EAGER_REACH):
            self.codes[pos, a : a + code.shape[0]] = code.T
        self.is_open[self._left] = True
        # Farthest possible end of each start: past it, no shortcut can be valid.
        self.reach = np.arange(n) + tuning._EAGER_REACH - np.argmax(self.codes[:, ::-1] > 0, axis=1)
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
        offs = np.arange(
            tuning._EAGER_REACH + 1, int((limit[pos] - pos).max()) + 1, tuning._REACH_STRIDE
        )
        chunk = max(1, tuning._BLOCK_ELEMENTS // (offs.size * nf))
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
        for pos, a, code in self._scan(starts, tuning._EAGER_REACH + 1, None):
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
            b = min(max(tuning._FIRST_WINDOW, 2 * (a - 1)), int((limit[pos] - pos).max()))
            if stop is not None:
                b = min(b, stop)
            chunk = max(1, tuning._BLOCK_ELEMENTS // ((b - a + 2) * nf))
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
