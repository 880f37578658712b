"""The Makefile's installs resolve to the pins: each virtualenv holds exactly what its constraints file pins.

`make setup` installs requirements-dev.txt with constraints.txt into .venv, and `make test` requirements-scan.txt
with constraints-scan.txt into .venv-checkov. A pin that is not what gets installed (a missing or different
version, or a distribution nobody pinned) would make CI's install differ from a developer's, so both virtualenvs
are compared with their files, both ways. After a pin change the Makefile creates the virtualenv anew (pip
never uninstalls what a pin change dropped): tests/test_makefile_stamps.py."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What `python -m venv` seeds (ensurepip), not installed from a requirements file.
VENV_SEED = {"pip", "setuptools"}
ENVIRONMENTS = (
    (".venv", "requirements-dev.txt", "constraints.txt"),
    (".venv-checkov", "requirements-scan.txt", "constraints-scan.txt"),
)
_DISTRIBUTIONS = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


def canonical(name: str) -> str:
    """PEP 503's normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line of a requirements file, following `-r` includes; any other
    requirement form is refused (every pin is exact)."""
    found: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[a-z0-9,_-]+\])?==([A-Za-z0-9.+!-]+)", line)
        assert match, f"{path.name}: {raw!r} is not an exact pin (name==version)"
        found[canonical(match.group(1))] = match.group(3)
    return found


def installed(venv: str) -> dict[str, str]:
    """Every distribution in a virtualenv, read by that virtualenv's own interpreter."""
    python = ROOT / venv / "bin" / "python"
    assert python.exists(), f"{venv} is missing: `make test` creates it"
    result = subprocess.run([str(python), "-c", _DISTRIBUTIONS], capture_output=True, text=True, check=True)
    return {canonical(name): version for name, version in json.loads(result.stdout).items()}


@pytest.mark.parametrize(("venv", "requirements", "constraints"), ENVIRONMENTS, ids=[e[0] for e in ENVIRONMENTS])
def test_virtualenv_holds_exactly_the_pins(venv: str, requirements: str, constraints: str) -> None:
    wanted = pins(ROOT / constraints)
    for name, version in pins(ROOT / requirements).items():
        assert wanted.setdefault(name, version) == version, f"{requirements} and {constraints} pin {name} apart"
    have = installed(venv)
    differ = {name: (version, have.get(name)) for name, version in wanted.items() if have.get(name) != version}
    assert not differ, f"{venv}: pinned (wanted, installed): {differ}"
    unpinned = sorted(set(have) - set(wanted) - VENV_SEED)
    assert not unpinned, f"{venv} holds distributions {constraints} does not pin: {unpinned}"


def test_pins_refuses_a_loose_requirement(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("boto3>=1.0\n")
    with pytest.raises(AssertionError, match="not an exact pin"):
        pins(tmp_path / "r.txt")


def test_pins_follows_includes_and_strips_extras(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("Foo_Bar==1.2  # why\n")
    (tmp_path / "dev.txt").write_text("-r base.txt\nmoto[ec2,server]==5.2.5\n")
    assert pins(tmp_path / "dev.txt") == {"foo-bar": "1.2", "moto": "5.2.5"}
