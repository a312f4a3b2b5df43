"""The compiled reconstruction error's kernel (plain Python here; ``compiled`` jits it)."""

from __future__ import annotations

import numpy as np

from transforms.core.thinning.compiled_search import _corners_of, _scale_of

KERNELS = ("_errors", "_corners_of", "_scale_of")
"""The functions ``compiled`` jits, and the shared ones this module calls."""


def _errors(t, v, keep, is_bbox, is_iou, rel_eps):
    """Per-frame error of interpolating the kept rows: interpolation_error's arithmetic, in
    the same order (so the same floats)."""
    c = _corners_of(v) if is_bbox else v
    n, d = c.shape
    kept = np.empty(n, np.int64)
    nk = 0
    for k in range(n):
        if keep[k]:
            kept[nk] = k
            nk += 1
    same_eps = rel_eps * _scale_of(c)
    out = np.empty(n)
    approx = np.empty(d)
    seg = 0
    for k in range(n):
        if nk == 1:
            for q in range(d):
                approx[q] = c[kept[0], q]
        else:
            while seg < nk - 2 and kept[seg + 1] <= k:
                seg += 1
            f0, f1 = float(t[kept[seg]]), float(t[kept[seg + 1]])
            alpha = min(max((float(t[k]) - f0) / (f1 - f0), 0.0), 1.0)
            a, b = c[kept[seg]], c[kept[seg + 1]]
            for q in range(d):
                approx[q] = (1.0 - alpha) * a[q] + alpha * b[q]
        if not is_iou:
            err = 0.0
            for q in range(d):
                err = max(err, abs(approx[q] - c[k, q]))
            out[k] = err
            continue
        b0, b1, b2, b3 = c[k, 0], c[k, 1], c[k, 2], c[k, 3]
        ih = min(approx[2], b2) - max(approx[0], b0)
        iw = min(approx[3], b3) - max(approx[1], b1)
        inter = max(ih, 0.0) * max(iw, 0.0)
        area_a = max(approx[2] - approx[0], 0.0) * max(approx[3] - approx[1], 0.0)
        area_b = max(b2 - b0, 0.0) * max(b3 - b1, 0.0)
        union = area_a + area_b - inter
        if union > 0.0:
            out[k] = 1.0 - inter / union
        else:
            gap = max(abs(approx[0] - b0), abs(approx[1] - b1), abs(approx[2] - b2),
                      abs(approx[3] - b3))  # fmt: skip
            out[k] = 1.0 - (1.0 if gap <= same_eps else 0.0)
    return out
