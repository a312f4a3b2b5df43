"""python -m pipeline [run|report|...] --help; also the `keyframer` command (setup.py)."""

import sys

from transforms.core import memory

# Before Beam is imported and starts threads (see their docstrings).
memory.limit_malloc_arenas()
memory.reuse_freed_memory()

from pipeline.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
