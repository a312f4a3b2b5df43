"""The compiled search's kernels (plain Python here; ``compiled`` jits them with numba).

Breadth-first over shortcuts, layer by layer from the first frame. Within a layer the starts
are taken farthest first, and each is scanned forward once: its slope cones (``validity``) are
kept as running bounds, one interval per functional, updated in O(F) per frame (the
incremental form of Imai-Iri's test, O'Rourke's intersection of slope intervals). An end
still unreached is tested against the cones when the scan passes it: in the sufficient cone it
is valid, outside the necessary one invalid, in between (IoU only) it gets the exact check of
every frame in between, cheapest rejections first. A start is skipped when every frame in its
range is reached already, or when its necessary cone on every 8th frame (a wider cone) closes
before the first unreached frame; its scan stops where its necessary cone closes (no longer
shortcut can be valid) or at its limit. The search stops once the last frame is reached: its
layer is then the optimum.

A frame's parent is the farthest start of the previous layer with a valid shortcut to it (the
first one the scan order finds). The cones run in float64 (px: the same operations as the
numpy scan, so the same validity bit for bit; IoU: the same widened and narrowed tolerances as
``validity._IouModel``, which only bracket the exact check). The exact check and the IoU are
``geometry._iou_corners``'s arithmetic in the same order.
"""

from __future__ import annotations

import numpy as np

KERNELS = (
    "_iou_fails",
    "_exact_ok",
    "_find",
    "_closes_before",
    "_search",
    "_corners_of",
    "_scale_of",
    "_median",
    "_iou_model",
    "_thin",
)
"""The functions ``compiled`` jits (each calls the others through this module's globals)."""

# Exact-check passes: frames this far apart first (cheap rejection), then every frame.
_EXACT_STRIDE = 8
# Frames used to prove cheaply that a start cannot reach past the reached frames.
_PRECHECK_STRIDE = 8


def _iou_fails(c, t, i, j, k, tau_min, same_eps):
    """Whether frame k is off the interpolation between i and j (float64, as _iou_corners)."""
    ti = t[i]
    alpha = (t[k] - ti) / (t[j] - ti)
    a0 = (1.0 - alpha) * c[i, 0] + alpha * c[j, 0]
    a1 = (1.0 - alpha) * c[i, 1] + alpha * c[j, 1]
    a2 = (1.0 - alpha) * c[i, 2] + alpha * c[j, 2]
    a3 = (1.0 - alpha) * c[i, 3] + alpha * c[j, 3]
    b0, b1, b2, b3 = c[k, 0], c[k, 1], c[k, 2], c[k, 3]
    ih = min(a2, b2) - max(a0, b0)
    iw = min(a3, b3) - max(a1, b1)
    inter = max(ih, 0.0) * max(iw, 0.0)
    area_a = max(a2 - a0, 0.0) * max(a3 - a1, 0.0)
    area_b = max(b2 - b0, 0.0) * max(b3 - b1, 0.0)
    union = area_a + area_b - inter
    if union > 0.0:
        return inter / union < tau_min
    same = max(abs(a0 - b0), abs(a1 - b1), abs(a2 - b2), abs(a3 - b3)) <= same_eps
    return (1.0 if same else 0.0) < tau_min


def _exact_ok(c, t, i, j, tau_min, same_eps):
    """Exact IoU check of shortcut (i, j): (valid, frame evaluations spent)."""
    spent = 0
    span = j - i
    if span > 2 * _EXACT_STRIDE:  # cheap pass: every _EXACT_STRIDE-th frame back from j
        for k in range(j - 1, i, -_EXACT_STRIDE):
            spent += 1
            if _iou_fails(c, t, i, j, k, tau_min, same_eps):
                return False, spent
    for k in range(i + 1, j):
        spent += 1
        if _iou_fails(c, t, i, j, k, tau_min, same_eps):
            return False, spent
    return True, spent


def _find(nxt, x):
    """Smallest unreached frame >= x (union-find with path halving; n when none)."""
    while nxt[x] != x:
        nxt[x] = nxt[nxt[x]]
        x = nxt[x]
    return x


def _closes_before(z, t, tol_nec, i, u, lo, hi, stats):
    """Whether start i's necessary cone surely closes before frame u: the cone on every
    _PRECHECK_STRIDE-th frame (fewer constraints: a wider cone, closing no earlier)."""
    nf = z.shape[1]
    for f in range(nf):
        lo[f] = -np.inf
        hi[f] = np.inf
    zi = z[i]
    ti = t[i]
    for k in range(u - 1, i, -_PRECHECK_STRIDE):
        stats[4] += 1
        inv = 1.0 / (t[k] - ti)
        tn = tol_nec[k] * inv
        zk = z[k]
        closed = False
        for f in range(nf):
            sk = (zk[f] - zi[f]) * inv
            lo[f] = max(lo[f], sk - tn)
            hi[f] = min(hi[f], sk + tn)
            closed |= lo[f] > hi[f]
        if closed:
            return True
    return False


def _search(t, z, tol_nec, tol_suf, has_suf, c, limit, tau_min, same_eps, budget, stats):
    """Keep mask of a fewest-keyframes path from frame 0 to frame n - 1 (see the docstring).

    ``z`` (n, F): functionals; ``tol_nec`` / ``tol_suf`` (n,): their tolerances (frame k's);
    ``has_suf``: IoU (a sufficient cone and exact checks) rather than px (necessary cone exact);
    ``c`` (n, 4): corners for the exact check; ``limit`` (n,): farthest end of each start;
    ``budget``: exact-check frame evaluations allowed (then grey shortcuts count as invalid).
    ``stats`` (5,) int64, added to: starts scanned, frames scanned, exact-check frame
    evaluations, layers, frames of the cheap pre-checks. One function: the per-start scan is
    inlined by hand (as a function of its own it measured ~40% slower on px tracks).
    """
    n, nf = z.shape
    parent = np.full(n, -1, np.int64)
    nxt = np.arange(n + 1)  # union-find over unreached frames
    nxt[0] = 1
    lo = np.empty(nf)
    hi = np.empty(nf)
    slo = np.empty(nf)
    shi = np.empty(nf)
    s = np.empty(nf)
    frontier = np.zeros(1, np.int64)
    found = np.empty(n, np.int64)
    while parent[n - 1] < 0 and frontier.size:
        stats[3] += 1
        count = 0
        for q in range(frontier.size - 1, -1, -1):  # farthest start first
            i = frontier[q]
            lim = limit[i]
            u = _find(nxt, i + 1)
            if u > lim:
                continue  # every frame in range is reached already
            zi = z[i]
            ti = t[i]
            if u - i > 2 * _PRECHECK_STRIDE and _closes_before(z, t, tol_nec, i, u, lo, hi, stats):
                continue  # its necessary cone closes before the first unreached frame
            stats[0] += 1
            for f in range(nf):
                lo[f] = -np.inf
                hi[f] = np.inf
                slo[f] = -np.inf
                shi[f] = np.inf
            for j in range(i + 1, lim + 1):
                inv = 1.0 / (t[j] - ti)
                zj = z[j]
                for f in range(nf):
                    s[f] = (zj[f] - zi[f]) * inv
                if nxt[j] == j:  # unreached: test the end
                    ok = True
                    for f in range(nf):
                        ok &= (s[f] >= lo[f]) & (s[f] <= hi[f])
                    if ok and has_suf:
                        sure = True
                        for f in range(nf):
                            sure &= (s[f] >= slo[f]) & (s[f] <= shi[f])
                        if not sure:
                            if budget > 0:
                                ok, spent = _exact_ok(c, t, i, j, tau_min, same_eps)
                                budget -= spent
                                stats[2] += spent
                            else:
                                ok = False
                    if ok:
                        parent[j] = i
                        nxt[j] = j + 1
                        found[count] = j
                        count += 1
                        if j == n - 1:
                            break  # the last frame: this layer is the optimum
                tn = tol_nec[j] * inv
                closed = False
                for f in range(nf):
                    lo[f] = max(lo[f], s[f] - tn)
                    hi[f] = min(hi[f], s[f] + tn)
                    closed |= lo[f] > hi[f]
                if closed:
                    break
                if has_suf:
                    ts = tol_suf[j] * inv
                    for f in range(nf):
                        slo[f] = max(slo[f], s[f] - ts)
                        shi[f] = min(shi[f], s[f] + ts)
            stats[1] += j - i
            if parent[n - 1] >= 0:
                break
        frontier = np.sort(found[:count])
    keep = np.zeros(n, np.bool_)
    keep[0] = True
    node = n - 1
    while node > 0:
        keep[node] = True
        node = parent[node]
    return keep


def _corners_of(v):
    """(top, left, height, width) -> (top, left, bottom, right), as geometry._corners."""
    out = v.copy()
    for r in range(v.shape[0]):
        out[r, 2] += v[r, 0]
        out[r, 3] += v[r, 1]
    return out


def _scale_of(c):
    """max(1, largest absolute coordinate), as geometry._scale."""
    out = 1.0
    for r in range(c.shape[0]):
        for q in range(c.shape[1]):
            out = max(out, abs(c[r, q]))
    return out


def _median(x):
    """Median of a 1-D array (the mean of the middle two for an even size)."""
    y = np.sort(x)
    m = y.size // 2
    return y[m] if y.size % 2 else (y[m - 1] + y[m]) / 2.0


def _iou_model(c, tau, margin):
    """(z (n, 8), tol_nec, tol_suf) of the IoU cones: validity._IouModel's formulas."""
    n = c.shape[0]
    scale = _scale_of(c)
    w = c[:, 3] - c[:, 1]
    h = c[:, 2] - c[:, 0]
    tiny = 1e-6 * scale
    inv_w = 1.0 / max(_median(w), tiny)
    inv_h = 1.0 / max(_median(h), tiny)
    med = np.empty(4)
    for q in range(4):
        med[q] = _median(c[:, q])
    z = np.empty((n, 8))
    for r in range(n):
        top, left = c[r, 0] - med[0], c[r, 1] - med[1]
        bottom, right = c[r, 2] - med[2], c[r, 3] - med[3]
        x0, x1 = (left + right) * inv_w, (left - right) * inv_w
        y0, y1 = (top + bottom) * inv_h, (top - bottom) * inv_h
        z[r, 0], z[r, 1], z[r, 2], z[r, 3] = x0 + y0, x0 + y1, x1 + y0, x1 + y1
        z[r, 4], z[r, 5], z[r, 6], z[r, 7] = x0 - y0, x0 - y1, x1 - y0, x1 - y1
    slack = margin * _scale_of(z)
    tol_nec = np.empty(n)
    tol_suf = np.empty(n)
    for r in range(n):
        rw, rh = w[r] * inv_w, h[r] * inv_h
        tol_nec[r] = (1.0 - tau) / tau * max(rw, rh) * (1.0 + margin) + slack
        tol_suf[r] = max((1.0 - tau) * min(rw, rh) * (1.0 - margin) - slack, 0.0)
    return z, tol_nec, tol_suf


def _thin(t, v, is_bbox, is_iou, value, limit, budget, margin, rel_eps, stats):
    """Keep mask of one segment: the model's arrays, then the search."""
    c = _corners_of(v) if is_bbox else v
    scale = _scale_of(c)
    if is_iou:
        z, tol_nec, tol_suf = _iou_model(c, value, margin)
        return _search(t, z, tol_nec, tol_suf, True, c, limit, value - rel_eps,
                       rel_eps * scale, budget, stats)  # fmt: skip
    tol_nec = np.full(c.shape[0], value * (1.0 + rel_eps) + rel_eps * scale)
    return _search(t, c, tol_nec, tol_nec, False, c, limit, 0.0, 0.0, 0, stats)
