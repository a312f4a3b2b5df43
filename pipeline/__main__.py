"""python -m pipeline --input ... --output ... --frame_base 0|1"""

import sys

from pipeline.run import main

sys.exit(main())
