"""Shortest path over valid shortcuts, and the public entry point ``select_keyframes``.

``select_keyframes`` uses the compiled search (``compiled``) when numba is installed, and the
numpy search below otherwise (or with ``backend="numpy"``); both give the same keep mask.

Search (numpy)
--------------
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
frame, for the whole track (as in the compiled search). A
pathological track that exhausts the budget (shortcuts that keep passing the necessary cone
and failing the exact check; ``bench/thinning_bench.py`` has one) gets its remaining grey
shortcuts treated as invalid: the error bound still holds, only the count may then exceed the
optimum. Measured times: see ``bench/thinning_bench.py``.

Among equally short paths, each node's parent is then re-picked as its farthest valid start of
the previous layer (``_farthest_parents``), the rule the compiled search follows by
construction.
"""

from __future__ import annotations

import numpy as np

from transforms.core.thinning import compiled, tuning
from transforms.core.thinning.cone_scan import _RowScan
from transforms.core.thinning.geometry import _as_frames, _as_values, _check_geometry, _corners
from transforms.core.thinning.tolerance import Tolerance
from transforms.core.thinning.tuning import DEFAULT_MAX_SPAN
from transforms.core.thinning.validity import _SURE, _IouModel, _Model, _PxModel

BACKENDS = ("auto", "compiled", "numpy")


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
        self.budget = max(tuning._EXACT_BUDGET_MIN, tuning._EXACT_BUDGET_PER_FRAME * n)
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
        self._farthest_parents(cut, targets)
        node = targets
        while node.size:
            node = self.parent[node]
            node = node[~cut[node]]
            keep[node] = True
        return keep

    def _farthest_parents(self, cut: np.ndarray, targets: np.ndarray) -> None:
        """Re-pick the parents on the path: each node's farthest valid start of the previous
        layer (the compiled search's rule, so both searches keep the same frames).

        The layers are final, so only starts farther than the node's parent need a check
        (``shortcut_ok``: the px cone, the exact IoU check); they are tried farthest first, in
        batches of doubling size.
        """
        reached, limit, parent = self.reached, self.limit, self.parent
        prev_cut = np.flatnonzero(cut)
        for target in targets.tolist():
            source = int(prev_cut[np.searchsorted(prev_cut, target) - 1])
            node = target
            while node != source:
                layer = reached[node]
                if layer == 1:
                    parent[node] = source
                    break
                lo = int(parent[node]) + 1
                at = (reached[lo:node] == layer - 1) & (limit[lo:node] >= node)
                cand = (np.flatnonzero(at) + lo)[::-1]
                size, pos = 4, 0
                while pos < cand.size:
                    batch = cand[pos : pos + size]
                    ok = self.model.shortcut_ok(batch, node)
                    if ok.any():
                        parent[node] = batch[np.argmax(ok)]
                        break
                    pos, size = pos + size, size * 2
                node = int(parent[node])

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
        batch = tuning._EXTEND_BATCH
        base = int(todo.min())
        while todo.size:
            unreached = self.reached[base:] < 0
            count = np.cumsum(unreached)
            holes = count[reach[todo] - base] - count[todo + tuning._EAGER_REACH - base]
            todo, holes = todo[holes > 0], holes[holes > 0]
            scan = (holes > tuning._HOLE_CHECKS) | unreached[reach[todo] - base]
            if not scan.any():
                break
            now = todo[scan][:batch]
            todo = todo[~np.isin(todo, now)]
            batch *= 2
            s, e, c = self.scan.extend(np.sort(now))
            found.append(self._settle_sure(s, e, c, layer))
        if todo.size:
            open_frames = np.flatnonzero(self.reached[base:] < 0) + base
            lo = np.searchsorted(open_frames, todo + tuning._EAGER_REACH, side="right")
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
        # One budget for the whole track, as the compiled search has: a per-layer share for an
        # end's later candidates left valid shortcuts unchecked while budget remained (a
        # 193-frame IoU track then kept other frames than the compiled search, found by
        # test_compiled_and_numpy_searches_keep_the_same_frames).
        while low <= top and self.budget > 0:
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
                hi = max(
                    lo + 1, int(np.searchsorted(cost, done + tuning._EXACT_BATCH, side="right"))
                )
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
    backend: str = "auto",
) -> np.ndarray:
    """Keep-mask of the fewest keyframes reproducing every frame within ``tolerance``.

    ``frames``: strictly increasing ints (one segment of one track; gaps allowed).
    ``values``: (n, d) floats; bbox (top, left, height, width), point (x, y), line
    (x0, y0, x1, y1, ...) with a fixed vertex count. ``forced``: bool mask of frames to keep.
    ``max_span``: longest shortcut in input keyframes (bounds the cost; see module docstring).
    ``backend``: "compiled" (numba), "numpy", or "auto" (compiled when numba is available).

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
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "compiled" and not compiled.AVAILABLE:
        raise ValueError("the compiled backend needs numba (pip install numba)")
    if isinstance(max_span, bool) or not isinstance(max_span, int | np.integer) or max_span < 1:
        raise ValueError(f"max_span must be a positive integer, got {max_span!r}")
    anchors = np.zeros(n, dtype=bool)
    if forced is not None:
        forced_arr = np.asarray(forced)
        if forced_arr.shape != (n,) or forced_arr.dtype != np.bool_:
            raise ValueError("forced must be a bool mask with one entry per frame")
        anchors |= forced_arr
    if tolerance is None:
        return np.ones(n, dtype=bool)
    if n <= 2:
        _check_sizes(v, tolerance, geometry)
        return np.ones(n, dtype=bool)
    return select_checked(t, v, tolerance, geometry, anchors, max_span=max_span, backend=backend)


def _check_sizes(v: np.ndarray, tolerance: Tolerance, geometry: str) -> None:
    if tolerance.metric == "iou" and geometry == "bbox" and (v[:, 2:] < 0).any():
        raise ValueError("bbox height and width must be >= 0 for the iou metric")


def select_checked(
    t: np.ndarray,
    v: np.ndarray,
    tolerance: Tolerance,
    geometry: str,
    anchors: np.ndarray,
    *,
    max_span: int = DEFAULT_MAX_SPAN,
    backend: str = "auto",
) -> np.ndarray:
    """`select_keyframes` on inputs that hold its contract by construction, without checking
    them again (~35 µs a segment of the run's ~5,000 at 1M rows): ``t`` strictly increasing
    int64 frames (more than two), ``v`` finite (n, d) float64 values of ``geometry``, ``anchors``
    a bool mask of frames to keep (changed in place). Box sizes are still checked for IoU."""
    _check_sizes(v, tolerance, geometry)
    n = t.size
    anchors[[0, -1]] = True
    limit = _limits(anchors, max_span, n - 1)
    tf = t.astype(np.float64)
    if _compiled(backend):
        budget = max(tuning._EXACT_BUDGET_MIN, tuning._EXACT_BUDGET_PER_FRAME * n)
        return compiled.keep_mask(tf, v, geometry, tolerance, limit, budget)
    coords = _corners(v) if geometry == "bbox" else v
    model: _Model
    if tolerance.metric == "px":
        model = _PxModel(coords, tf, tolerance.value)
    else:
        model = _IouModel(coords, tf, tolerance.value)
    return _Search(tf, model, limit).keep()


def _compiled(backend: str) -> bool:
    return backend == "compiled" or (backend == "auto" and compiled.AVAILABLE)


def _limits(anchors: np.ndarray, max_span: int, last: np.ndarray | int) -> np.ndarray:
    """Each row's farthest shortcut end: at most `max_span` rows on, never past the next
    anchor (a shortcut never jumps over a forced keyframe, so each stretch between anchors is
    thinned on its own) nor its segment's last row (`last`: per row, or one for all)."""
    n = anchors.size
    anchor_at = np.flatnonzero(anchors)
    after = np.searchsorted(anchor_at, np.arange(n), side="right")
    following = anchor_at[np.minimum(after, anchor_at.size - 1)]
    return np.minimum(np.minimum(np.arange(n) + int(max_span), following), last)


def thin_segments(
    t: np.ndarray,
    v: np.ndarray,
    bounds: list[int],
    tolerances: list[Tolerance | None],
    geometry: str,
    forced: np.ndarray,
    *,
    max_span: int = DEFAULT_MAX_SPAN,
    backend: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """`select_checked` and `reconstruction.error_checked` of many segments at once: (keep
    mask over all rows, each segment's largest error; NaN where it is not thinned).

    Segment ``k`` is rows ``bounds[k]:bounds[k + 1]`` (so ``len(bounds)`` is one more than
    ``len(tolerances)``), each holding `select_checked`'s contract; a segment whose tolerance
    is None, or of two rows or fewer, keeps every row. ``forced``: bool mask of rows to keep.
    The same keep masks and errors as one `select_checked` and `error_checked` a segment, in
    one compiled call for bbox and point geometry (a Python round trip a segment cost ~50 µs,
    ~5,000 segments at 1M rows of 1-minute videos)."""
    from transforms.core.thinning.reconstruction import error_checked

    starts = np.asarray(bounds[:-1], dtype=np.int64)
    ends = np.asarray(bounds[1:], dtype=np.int64)
    if len(bounds) != len(tolerances) + 1 or bounds[0] != 0 or bounds[-1] != len(t):
        raise ValueError("bounds must run from 0 to the row count, one more than tolerances")
    errors = np.full(len(tolerances), np.nan)
    thinned = [k for k, tol in enumerate(tolerances) if tol is not None and ends[k] - starts[k] > 2]
    if not thinned:
        return np.ones(len(t), dtype=bool), errors
    if not _compiled(backend):
        keep = np.ones(len(t), dtype=bool)
        for k in thinned:
            part, tol = slice(int(starts[k]), int(ends[k])), tolerances[k]
            anchors = forced[part].copy()
            keep[part] = select_checked(
                t[part], v[part], tol, geometry, anchors, max_span=max_span, backend=backend
            )
            errors[k] = error_checked(t[part], v[part], keep[part], tol.metric, geometry).max()
        return keep, errors
    first, last = starts[thinned], ends[thinned] - 1
    is_iou = np.array([tolerances[k].metric == "iou" for k in thinned])
    if is_iou.any():
        iou_rows = _rows_within(first[is_iou], last[is_iou], len(t))
        _check_sizes(v[iou_rows], tolerances[thinned[int(np.argmax(is_iou))]], geometry)
    anchors = forced.copy()
    anchors[starts] = True  # as select_checked anchors each segment's ends
    anchors[ends - 1] = True
    limit = _limits(anchors, max_span, np.repeat(ends - 1, ends - starts))
    value = np.array([float(tolerances[k].value) for k in thinned])
    keep, max_error = compiled.thin_segments(
        t.astype(np.float64), v, first, last, geometry, is_iou, value, limit
    )
    errors[thinned] = max_error
    return keep, errors


def _rows_within(first: np.ndarray, last: np.ndarray, n: int) -> np.ndarray:
    """Bool mask of the `n` rows inside some range ``first[k]..last[k]`` (disjoint ranges)."""
    edges = np.zeros(n + 1, dtype=np.int64)
    np.add.at(edges, first, 1)
    np.add.at(edges, last + 1, -1)
    return np.cumsum(edges[:-1]) > 0
