"""The compiled search and error measure over many segments in one call (plain Python here;
``compiled`` jits it): what a pass of keys thins, without a Python round trip per segment."""

from __future__ import annotations

import numpy as np

from transforms.core.thinning.compiled_error import _errors
from transforms.core.thinning.compiled_search import _thin

KERNELS = ("_thin_segments", "_thin", "_errors")
"""The functions ``compiled`` jits, and the ones this module calls."""


def _thin_segments(t, v, first, last, is_bbox, is_iou, value, limit, budget_min,
                   budget_per_frame, margin, rel_eps, keep, max_error):  # fmt: skip
    """Each segment ``first[s]:last[s] + 1`` of the rows thinned as ``_thin`` thins it alone
    (``limit`` holds global row indices; each segment's budget as ``search.select_checked``
    sets it), its keep mask written into ``keep`` and its largest ``_errors`` value into
    ``max_error[s]``."""
    stats = np.zeros(5, np.int64)
    for s in range(first.size):
        a, b = first[s], last[s] + 1
        ts = t[a:b].copy()
        vs = v[a:b].copy()
        local = limit[a:b] - a
        budget = max(budget_min, budget_per_frame * (b - a))
        mask = _thin(ts, vs, is_bbox, is_iou[s], value[s], local, budget, margin, rel_eps, stats)
        keep[a:b] = mask
        max_error[s] = _errors(ts, vs, mask, is_bbox, is_iou[s], rel_eps).max()
