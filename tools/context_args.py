#!/usr/bin/env python3
"""Print a JSON file of context keys (like examples/all-protocols.json) as `-c key=value` arguments for the CDK CLI,
shell-quoted, so `make synth CDK_ARGS="$(python3 tools/context_args.py examples/all-protocols.json)"` uses it.

Values that are not strings are written as compact JSON, which the app parses back (config/loader.py).
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path


def context_args(path: Path) -> list[str]:
    values = json.loads(path.read_text())
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a JSON object of context keys")
    args = []
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        args.append(f"-c {shlex.quote(f'{key}={text}')}")
    return args


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: context_args.py FILE.json", file=sys.stderr)
        return 2
    try:
        print(" ".join(context_args(Path(argv[0]))))
    except (OSError, ValueError) as err:
        print(f"context_args: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
