"""Modules stay readable: no product module over 500 lines (issue 28), Lambda handlers included.

config/model.py was 1,537 lines, tools/impact.py 1,877; each is split by concern now."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT

MAX_LINES = 500
FOLDERS = ("app.py", "config", "stacks", "constructs", "lambda", "tools", "benchmarks")


def oversized(root: Path, folders: tuple[str, ...]) -> list[str]:
    found = []
    for folder in folders:
        top = root / folder
        for path in [top] if top.is_file() else sorted(top.rglob("*.py")):
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                found.append(f"{path.relative_to(root).as_posix()}: {lines} lines (at most {MAX_LINES})")
    return found


def test_no_module_is_over_the_limit() -> None:
    assert all((ROOT / f).is_file() or any((ROOT / f).rglob("*.py")) for f in FOLDERS)
    assert oversized(ROOT, FOLDERS) == []


@pytest.mark.parametrize(("lines", "refused"), [(MAX_LINES, False), (MAX_LINES + 1, True)])
def test_the_limit_is_counted_in_lines(tmp_path: Path, lines: int, refused: bool) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "big.py").write_text("x = 1\n" * lines)
    expected = [f"config/big.py: {lines} lines (at most {MAX_LINES})"] if refused else []
    assert oversized(tmp_path, ("config",)) == expected
