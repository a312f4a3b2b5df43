"""``python -m bench.generate``: the synthetic data generator's command line.

The generator is the package ``bench.datasets`` (see its docstring and ``bench/datasets/cli.py``
for the arguments); this module keeps the old import path working.
"""

from __future__ import annotations

import sys

from bench.datasets import *  # noqa: F403 - the public API, re-exported
from bench.datasets.cli import main, parse_args
from bench.datasets.constants import *  # noqa: F403
from bench.datasets.paths import reflect as _reflect
from bench.datasets.paths import walk as _walk

__all__ = ["_reflect", "_walk", "main", "parse_args"]

if __name__ == "__main__":
    sys.exit(main())
