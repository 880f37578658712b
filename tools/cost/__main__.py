"""`python -m tools.cost`: the same command line as `python tools/cost.py` (make cost)."""

import sys

from tools.cost.cli import main

sys.exit(main())
