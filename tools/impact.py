#!/usr/bin/env python3
"""`python tools/impact.py ...`, as make impact, make deploy and the pipeline's Impact step call it: the command line
of the package tools/impact/ (also `python -m tools.impact`). Only ever run: an import of tools.impact finds the
package, never this file."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the app's packages live in the repo root
    sys.path.insert(0, str(ROOT))

from tools.impact.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
