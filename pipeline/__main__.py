"""python -m pipeline [run|report|...] --help"""

import sys

from pipeline.cli import main

sys.exit(main())
