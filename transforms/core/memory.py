"""Memory settings of keyframer's processes: Arrow's allocator, Python's garbage collector.

Measured here (5M rows, 2 cores): pyarrow's default allocator (mimalloc) keeps freed pages, so
the pipeline peaked at 810 MiB; the system allocator gave 715 MiB and ran ~8% faster, the
Beam-free floor likewise (470 → 400 MiB). Called from the entry points and from the reading
DoFn's setup, so Beam's worker processes use it too.
"""

from __future__ import annotations

import pyarrow as pa


def use_system_allocator() -> None:
    """Make the system allocator Arrow's default memory pool in this process (idempotent)."""
    pool = pa.system_memory_pool()
    if pa.default_memory_pool().backend_name != pool.backend_name:
        pa.set_memory_pool(pool)


def relax_gc() -> None:
    """Fewer cyclic garbage collections in a long batch process.

    Call after imports: `gc.freeze` moves the ~1M objects that importing Beam creates out of
    the collector's view, and a larger first-generation threshold makes collections rarer
    while a run allocates. Measured at 5M rows: ~0.4 s less CPU for the pipeline, ~0.1 s for
    the Beam-free floor. Reference counting still frees everything that is not in a cycle.
    """
    import gc

    gc.set_threshold(50_000, 20, 100)
    gc.freeze()
