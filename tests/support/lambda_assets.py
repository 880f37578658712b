"""What each Lambda function ships: the `packages=(...)` tuple each construct passes to PythonFunction or
cluster_function (constructs/python_function.py), read statically from the source so a test needs no synth."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSTRUCTS = ROOT / "constructs"
LAMBDA = ROOT / "lambda"


def shipped_packages() -> dict[Path, list[tuple[str, ...]]]:
    """Each construct module that makes a function, with the package tuples its calls pass (in source order)."""
    found: dict[Path, list[tuple[str, ...]]] = {}
    for path in sorted(CONSTRUCTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "packages" and isinstance(keyword.value, ast.Tuple):
                    names = tuple(ast.literal_eval(element) for element in keyword.value.elts)
                    found.setdefault(path.relative_to(ROOT), []).append(names)
    return found


def lambda_packages() -> set[str]:
    """The packages of lambda/ (a folder with an __init__.py)."""
    return {p.parent.name for p in LAMBDA.glob("*/__init__.py")}
