"""`python -m tools.impact`: the same command line as `python tools/impact.py` (make impact, the pipeline)."""

import sys

from tools.impact.cli import main

sys.exit(main())
