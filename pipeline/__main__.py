"""python -m pipeline [run|report|...] --help; also the `keyframer` command (setup.py)."""

import sys

from transforms.core.memory import limit_malloc_arenas

limit_malloc_arenas()  # before Beam is imported and starts threads (see its docstring)

from pipeline.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
