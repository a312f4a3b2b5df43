"""The compiled search and error measure (numba): the same results as the numpy code.

Optional: ``AVAILABLE`` is False when numba is not installed (or ``KEYFRAMER_THINNING=numpy``
is set), and ``search.select_keyframes`` and ``reconstruction.reconstruction_error`` then use
numpy. The kernels (``compiled_search``, ``compiled_error``, ``compiled_segments``) are plain
Python functions that are jitted on the first call, so importing the package never imports
numba; they are cached on disk (``cache=True``: ``__pycache__`` beside them, else numba's
user-wide cache directory, or ``NUMBA_CACHE_DIR``). Measured per process: cold (no cache)
10-15 s CPU to compile; warm ~0.35 s (numba's import ~0.2 s, loading the first kernel ~0.17 s,
most of it numba's own set-up). A cache is only reused on the same CPU model.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from types import SimpleNamespace

import numpy as np

from transforms.core.thinning import compiled_error, compiled_search, compiled_segments, tuning
from transforms.core.thinning.tolerance import REL_EPS, Tolerance


def _numba_installed() -> bool:
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):  # hidden or half-installed
        return False


AVAILABLE: bool = _numba_installed() and os.environ.get("KEYFRAMER_THINNING", "") != "numpy"
"""Whether the compiled code is used: numba is installed and ``KEYFRAMER_THINNING=numpy`` is
not set."""

_LOCK = threading.Lock()
_compiled: SimpleNamespace | None = None


def _kernels() -> SimpleNamespace:
    """The jitted kernels, built on the first call: each kernel module's globals are rebound to
    the dispatchers, so kernels call each other compiled."""
    global _compiled  # noqa: PLW0603 - built once, on first use
    with _LOCK:
        if _compiled is None:
            import numba

            options = {"cache": True, "nogil": True, "boundscheck": False}
            done: dict[int, object] = {}
            for module in (compiled_search, compiled_error, compiled_segments):
                for name in module.KERNELS:
                    fn = getattr(module, name)
                    fn = getattr(fn, "py_func", fn)
                    done.setdefault(id(fn), numba.njit(**options)(fn))
                    setattr(module, name, done[id(fn)])
            _compiled = SimpleNamespace(
                thin=compiled_search._thin,
                errors=compiled_error._errors,
                thin_segments=compiled_segments._thin_segments,
            )
    return _compiled


def errors(t: np.ndarray, values: np.ndarray, keep: np.ndarray, metric: str, geometry: str):
    """Per-frame error of the thinned reconstruction (``reconstruction_error``, compiled)."""
    return _kernels().errors(
        np.require(t, np.int64, ["C", "W"]),
        np.require(values, np.float64, ["C", "W"]),
        np.require(keep, np.bool_, ["C", "W"]),
        geometry == "bbox",
        metric == "iou",
        float(REL_EPS),
    )


def keep_mask(
    t: np.ndarray,
    values: np.ndarray,
    geometry: str,
    tolerance: Tolerance,
    limit: np.ndarray,
    budget: int,
    stats: np.ndarray | None = None,
) -> np.ndarray:
    """The compiled search on one checked segment (see ``search.select_keyframes``).

    ``t``: frames (float64); ``values``: the input rows (bbox: top, left, height, width);
    ``limit``: each start's farthest end; ``budget``: exact-check frame evaluations allowed;
    ``stats``: optional (5,) int64 counters, added to (see ``_search``).
    """
    f64 = np.float64
    return _kernels().thin(
        np.require(t, f64, ["C", "W"]),
        np.require(values, f64, ["C", "W"]),
        geometry == "bbox",
        tolerance.metric == "iou",
        float(tolerance.value),
        np.require(limit, np.int64, ["C", "W"]),
        int(budget),
        float(tuning._F32_MARGIN),
        float(REL_EPS),
        np.zeros(5, np.int64) if stats is None else stats,
    )


def thin_segments(
    t: np.ndarray,
    values: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    geometry: str,
    is_iou: np.ndarray,
    value: np.ndarray,
    limit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """`keep_mask` and the largest `errors` value of each segment ``first[s]:last[s] + 1`` of
    the rows, in one call (see ``search.thin_segments``); rows outside every segment are
    kept. ``is_iou``, ``value``: each segment's tolerance; ``limit``: each row's farthest end
    (a row index)."""
    keep = np.ones(len(t), dtype=np.bool_)
    max_error = np.zeros(len(first))
    _kernels().thin_segments(
        np.require(t, np.float64, ["C", "W"]),
        np.require(values, np.float64, ["C", "W"]),
        np.require(first, np.int64, ["C", "W"]),
        np.require(last, np.int64, ["C", "W"]),
        geometry == "bbox",
        np.require(is_iou, np.bool_, ["C", "W"]),
        np.require(value, np.float64, ["C", "W"]),
        np.require(limit, np.int64, ["C", "W"]),
        int(tuning._EXACT_BUDGET_MIN),
        int(tuning._EXACT_BUDGET_PER_FRAME),
        float(tuning._F32_MARGIN),
        float(REL_EPS),
        keep,
        max_error,
    )
    return keep, max_error


def warm_up() -> float:
    """Compile (or load from the cache) the search and the error measure; seconds taken (0 when
    unavailable)."""
    if not AVAILABLE:
        return 0.0
    start = time.perf_counter()
    t = np.arange(4, dtype=np.float64)
    box = np.array([[0.0, 0.0, 1.0, 1.0]] * 4)
    keep = keep_mask(t, box, "bbox", Tolerance("iou", 0.5), np.array([3, 3, 3, 3]), 10)
    errors(np.arange(4), box, keep, "iou", "bbox")
    limit = np.array([3, 3, 3, 3])
    thin_segments(t, box, np.array([0]), np.array([3]), "bbox", np.array([True]), [0.5], limit)
    return time.perf_counter() - start
