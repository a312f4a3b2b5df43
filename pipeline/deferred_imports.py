"""Google client libraries that `import apache_beam` loads for connectors a local batch run
never uses, executed on first use instead of at import.

Beam 2.77's package imports every I/O connector and the Dataflow runner whatever a run uses,
and with them the Dataflow, BigQuery, BigQuery Storage and Pub/Sub clients, which Beam's
modules only bind at import (`from google.cloud import dataflow`) and use inside functions.
Measured here, importing Beam and the FnApiRunner: 0.68-0.73 s, 0.53-0.61 s with these
deferred (`importlib.util.LazyLoader`: the module is bound where it is imported and runs its
code on its first attribute access).

Nothing else is deferred: Google Cloud Storage, the auth libraries and everything Beam reads
attributes of at import run as before, and a library that is not installed fails to import
where it did.

Python 3.11's LazyLoader does not guard a lazy module's first access against two threads at
once (gh-114763, fixed in a later Python), so `load_deferred` runs them in the calling thread:
`keyframer run` calls it before any run other than a local batch run (Dataflow, templates,
streaming and the watch mode, which may read Pub/Sub), so a deferred module is only ever left
to first use where no step uses it.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import sys
import types
from collections.abc import Iterator

DEFERRED = (
    "google.cloud.dataflow",
    "google.cloud.bigquery",
    "google.cloud.bigquery_storage_v1",
    "google.cloud.pubsub",
)


class _DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds DEFERRED modules as the other finders do, and wraps their loader in LazyLoader."""

    def __init__(self, names: tuple[str, ...]):
        self.names = frozenset(names)

    def find_spec(self, name, path, target=None):
        if name not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextlib.contextmanager
def deferring(names: tuple[str, ...] = DEFERRED) -> Iterator[None]:
    """Within the block, importing one of `names` binds it without running it."""
    finder = _DeferringFinder(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def is_deferred(name: str) -> bool:
    """Whether module `name` was imported and has not run yet."""
    module = sys.modules.get(name)
    # A lazy module is of LazyLoader's module subclass until its first access.
    return module is not None and type(module) is not types.ModuleType


def load_deferred(names: tuple[str, ...] = DEFERRED) -> None:
    """Run every deferred module that has not run yet, in this thread."""
    for name in names:
        if is_deferred(name):
            _ = sys.modules[name].__name__  # any attribute access runs the module
