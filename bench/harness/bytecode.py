"""Compile keyframer's own modules before measuring, as an installed keyframer has them.

A regular `pip install` (the Flex Template image's) writes bytecode for every module it
installs. A checkout installed editable (`make venv`) gets bytecode for its own modules only
where Python may write it at import, and with PYTHONDONTWRITEBYTECODE set (as on this machine
class) every run compiled them from source again: ~0.1 s of each run's imports, measured here
(`import pipeline.run` 0.75-0.84 s, then 0.63-0.67 s with bytecode), a cost the floor, which
imports a third of those modules, paid less of. compileall writes the files whatever that
variable says, and Python ignores any that its source has since changed.
"""

from __future__ import annotations

import compileall
import time

from bench.harness.children import ROOT

# keyframer's packages and the benchmark's own (the floor and the naive pipeline are in bench/).
PACKAGES = ("pipeline", "transforms", "labelbox_upload", "timeline", "bench")


def compile_sources() -> float:
    """Write bytecode for every module of PACKAGES that lacks it; the seconds it took."""
    start = time.perf_counter()
    for package in PACKAGES:
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise RuntimeError(f"compileall failed on {package}/")
    return time.perf_counter() - start
