#!/usr/bin/env python3
"""`python tools/deployer_policy.py ...`, as make deployer-policy calls it: the command line of the package
tools/deployer_policy/ (also `python -m tools.deployer_policy`). Only ever run: an import of tools.deployer_policy
finds the package, never this file."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the app's packages live in the repo root
    sys.path.insert(0, str(ROOT))

from tools.deployer_policy.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
