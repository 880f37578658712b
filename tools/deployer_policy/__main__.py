"""`python -m tools.deployer_policy`: the command line of `python tools/deployer_policy.py` (make deployer-policy)."""

import sys

from tools.deployer_policy.cli import main

sys.exit(main())
