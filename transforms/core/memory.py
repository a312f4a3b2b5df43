"""Memory settings of keyframer's processes: Arrow's allocator, glibc's arenas, Python's
garbage collector.

Measured here (5M rows, 2 cores): pyarrow's default allocator (mimalloc) keeps freed pages, so
the pipeline peaked at 810 MiB; the system allocator gave 715 MiB and ran ~8% faster, the
Beam-free floor likewise (470 → 400 MiB). Called from the entry points and from the reading
DoFn's setup, so Beam's worker processes use it too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import pyarrow as pa

# glibc's malloc.h
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
# The largest mmap threshold glibc accepts on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX).
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 256 * 2**20


def use_system_allocator() -> None:
    """Make the system allocator Arrow's default memory pool in this process (idempotent)."""
    pool = pa.system_memory_pool()
    if pa.default_memory_pool().backend_name != pool.backend_name:
        pa.set_memory_pool(pool)


def relax_gc() -> None:
    """Fewer cyclic garbage collections in a long batch process; enables the collector.

    Call after imports: `gc.freeze` moves the ~1M objects that importing Beam creates out of
    the collector's view, and a larger first-generation threshold makes collections rarer
    while a run allocates. Measured at 5M rows: ~0.4 s less CPU for the pipeline, ~0.1 s for
    the Beam-free floor. Reference counting still frees everything that is not in a cycle.
    The command line imports with the collector off and calls this after: the import then
    took 0.52 s instead of 0.56, and the 392-row sample ran in 1.08 s instead of 1.28 (its
    imports had been left outside the freeze).
    """
    import gc

    gc.set_threshold(50_000, 20, 100)
    gc.freeze()
    gc.enable()


def _mallopt():
    """glibc's mallopt, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return mallopt


@functools.cache
def reuse_freed_memory() -> bool:
    """Keep freed blocks of up to 32 MiB in the heap for the next allocation, rather than giving
    each back to the kernel (once; False where there is no mallopt).

    The core allocates and frees blocks of a few MiB per table (numbers' text, joined keyframes,
    Arrow buffers). glibc serves blocks over its mmap threshold (128 KiB, raised as blocks are
    freed, but trimmed again when the heap's top passes twice that) with fresh pages, and on
    this machine class a first touch costs ~3 µs a page: splitting 80,000 numbers' text took
    5.3 ms with ~1,100 page faults, 2.1 ms with 24 once blocks stay. Measured at 5M rows (two
    runs each): minor faults 147-150k -> 127k (floor, 1-minute videos), 197k -> 132k
    (pipeline, 1-minute videos), 228-231k -> 179-181k (pipeline, 10-second clips); wall and
    CPU within the runs' noise (this machine class varied by ~30% over the hour), peak RSS
    within 10 MiB. Up to TRIM_THRESHOLD of free heap top is kept.
    """
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


@functools.cache
def limit_malloc_arenas(arenas: int = 1) -> bool:
    """Let glibc's malloc keep at most `arenas` arenas in this process (once; False where the
    C library has no mallopt; glibc answers True even to options it ignores, so the test
    counts arenas instead).

    glibc gives threads their own arenas (up to 8 per core), and memory freed in one arena
    serves no other. Beam's in-process worker decodes, holds and commits state on other threads
    than the one that reads. Measured at 5M rows of 1-minute videos (two runs each): peak RSS
    520-545 -> 495-501 MiB, CPU within the runs' noise; 10-second clips 529-539 -> 524-527
    MiB. Called from keyframer's entry point (`pipeline/__main__.py`) before Beam is imported:
    arenas made before the call stay (called after Beam's import, the peak was 520-525 MiB).
    Not called on Dataflow workers, which run many threads at once.
    """
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))
