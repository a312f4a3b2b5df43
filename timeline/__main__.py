"""`python -m timeline`: the timeline report (see timeline.command)."""

import sys

from timeline.command import main

sys.exit(main(prog="python -m timeline"))
