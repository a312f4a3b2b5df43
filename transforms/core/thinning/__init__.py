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

Modules
-------
- ``tolerance``: ``Tolerance``, ``ToleranceSpec``, ``parse_tolerance(_spec)``, ``REL_EPS``;
- ``reconstruction``: ``interpolate``, ``interpolation_error``, ``reconstruction_error``
  (the measure of the tolerance, used by the report and the manifest);
- ``validity``: when a shortcut is valid (px slope intervals; IoU bounds and exact check);
- ``search``: ``select_keyframes``, and the numpy shortest path (the fallback);
- ``compiled``: the same search compiled with numba (the default when numba is installed:
  ~10-20x faster), and the error measure compiled; ``compiled_segments`` runs both over all
  of a pass's segments in one call (``search.thin_segments``);
- ``cone_scan``: the numpy search's vectorised scan of shortcut validity over many starts;
- ``geometry`` (input checks, corners, IoU) and ``tuning`` (limits and internal knobs).

Both searches keep the same frames: the fewest, and among equally few, each kept frame's
predecessor is the farthest valid start one shortcut nearer the first frame.
The package imports numpy only (never Beam); numba only on the first compiled call.
"""

from transforms.core.thinning.geometry import GEOMETRIES
from transforms.core.thinning.reconstruction import (
    interpolate,
    interpolation_error,
    reconstruction_error,
)
from transforms.core.thinning.search import select_keyframes
from transforms.core.thinning.tolerance import (
    METRICS,
    REL_EPS,
    Tolerance,
    ToleranceSpec,
    parse_tolerance,
    parse_tolerance_spec,
)
from transforms.core.thinning.tuning import DEFAULT_MAX_SPAN

__all__ = [
    "DEFAULT_MAX_SPAN",
    "GEOMETRIES",
    "METRICS",
    "REL_EPS",
    "Tolerance",
    "ToleranceSpec",
    "interpolate",
    "interpolation_error",
    "parse_tolerance",
    "parse_tolerance_spec",
    "reconstruction_error",
    "select_keyframes",
]
