"""Limits and internal knobs of the numpy search (tests shrink the knobs at run time, so the
other modules read them as ``tuning.NAME`` when they run, never by ``from ... import``)."""

from __future__ import annotations

from typing import Final

DEFAULT_MAX_SPAN: Final = 600
"""Longest shortcut, in input keyframes (frames on a gap-free track): 20 s at 30 fps."""

# Exact-check evaluations (frames in between) allowed per input frame; see the docstring.
_EXACT_BUDGET_PER_FRAME: Final = 512
_EXACT_BUDGET_MIN: Final = 200_000
# First scan block (offsets 1.._FIRST_WINDOW); each next block doubles the offset.
_FIRST_WINDOW: Final = 32
# Offsets scanned for every start up front; beyond, only for starts the search needs.
_EAGER_REACH: Final = 128
# Open starts extended together first (then twice as many, and so on).
_EXTEND_BATCH: Final = 32
# Frames used to bound an open start's reach cheaply (every _REACH_STRIDE-th one).
_REACH_STRIDE: Final = 8
# Exact checks test every _EXACT_STRIDE-th frame in between before all (cheap rejection).
_EXACT_STRIDE: Final = 8
# Unreached frames in an open start's range checked pair by pair rather than by a scan.
_HOLE_CHECKS: Final = 16
# Elements (ends x functionals x starts) per vectorised block: bounds the work buffers (1 MB).
_BLOCK_ELEMENTS: Final = 1 << 17
# Relative margin of the float32 IoU cones (float32 rounding is about 6e-8).
_F32_MARGIN: Final = 1e-5
# Frames in between evaluated per vectorised exact-check batch.
_EXACT_BATCH: Final = 1 << 18
