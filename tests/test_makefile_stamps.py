"""The Makefile's install stamps leave each virtualenv holding exactly its pins, after a pin change too.

pip installs over what a virtualenv holds and never uninstalls a distribution that a pin change dropped, so a
developer's virtualenv, installed again after a pin bump, would keep the dropped one (and fail tests/test_pins.py,
which `make test` could then never repair). The real Makefile runs here in a scratch folder, with PYTHON a stand-in
interpreter whose `-m venv` makes an empty environment and whose `-m pip install -c FILE` adds FILE's pins and
removes nothing, as pip does; make and every recipe line are the real ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# `-m venv DIR`: DIR/bin/python is this script (an empty environment). `-m pip install ... -c FILE`: the
# environment's `held` file gains FILE's pins (a new version replaces the old one of that name) and loses nothing.
FAKE_PYTHON = """\
import sys
from pathlib import Path

me = Path(sys.argv[0])
if sys.argv[1:3] == ["-m", "venv"]:
    target = Path(sys.argv[3]) / "bin" / "python"
    target.parent.mkdir(parents=True)
    target.write_text(me.read_text())
    target.chmod(0o755)
    (target.parent.parent / "held").write_text("")
elif sys.argv[1:3] == ["-m", "pip"]:
    held_file = me.parent.parent / "held"
    held = dict(line.split("==") for line in held_file.read_text().split())
    pins = Path(sys.argv[sys.argv.index("-c") + 1]).read_text().split()
    held.update(line.split("==") for line in pins)
    held_file.write_text("".join(f"{name}=={version}\\n" for name, version in sorted(held.items())))
else:
    sys.exit(f"unexpected: {sys.argv}")
"""

# stamp -> (virtualenv, the pin file the stand-in pip reads, the stamp's other prerequisites)
STAMPS = {
    ".venv/.installed": (".venv", "constraints.txt", ("requirements.txt", "requirements-dev.txt")),
    ".venv-checkov/.installed": (".venv-checkov", "constraints-scan.txt", ("requirements-scan.txt",)),
}


def _make(folder: Path, stamp: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    subprocess.run(
        ["make", "--no-print-directory", f"PYTHON={folder / 'python'}", stamp],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def _held(folder: Path, venv: str) -> list[str]:
    return (folder / venv / "held").read_text().split()


@pytest.mark.parametrize("stamp", list(STAMPS))
def test_a_pin_change_leaves_the_virtualenv_holding_exactly_the_pins(tmp_path: Path, stamp: str) -> None:
    venv, constraints, others = STAMPS[stamp]
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    python = tmp_path / "python"
    python.write_text(f"#!{sys.executable}\n{FAKE_PYTHON}")
    python.chmod(0o755)
    for name in others:
        (tmp_path / name).write_text("")
    (tmp_path / constraints).write_text("kept==1.0\ndropped==1.0\n")

    _make(tmp_path, stamp)  # a fresh clone: nothing there yet
    assert _held(tmp_path, venv) == ["dropped==1.0", "kept==1.0"]

    (tmp_path / constraints).write_text("kept==2.0\nadded==1.0\n")
    stamp_time = (tmp_path / stamp).stat().st_mtime
    os.utime(tmp_path / constraints, (stamp_time + 10, stamp_time + 10))  # newer than the stamp, whatever the clock
    _make(tmp_path, stamp)  # a developer's virtualenv after a pin bump
    assert _held(tmp_path, venv) == ["added==1.0", "kept==2.0"]
