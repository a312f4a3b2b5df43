"""Flex Template entry point (FLEX_TEMPLATE_PYTHON_PY_FILE): submit the job, never wait for it.

The launcher passes parameters as `--name=value` and on/off flags as `--flag=true|false`;
`launcher_argv` turns those into what KeyframerOptions accepts and drops --wait.
"""

import sys

from pipeline.cli import main
from pipeline.template_metadata import launcher_argv

if __name__ == "__main__":
    sys.exit(main(["run", *launcher_argv(sys.argv[1:])]))
