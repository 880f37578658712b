"""The synthesis cache's key (tests/conftest.py source_digest): any file of the clone, tracked or new, changes it;
what git ignores (cdk.out, .cache) does not; without git there is no key, so nothing is cached."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import source_digest


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_every_file_of_the_clone_and_nothing_ignored_is_in_the_key(tmp_path: Path) -> None:
    root = tmp_path / "clone"
    root.mkdir()
    _git(root, "init", "-q")
    (root / ".gitignore").write_text(".cache/\n")
    (root / "app.py").write_text("A = 1\n")
    _git(root, "add", ".")
    first = source_digest.__wrapped__(root)
    (root / ".cache").mkdir()
    (root / ".cache" / "x").write_text("ignored")
    assert source_digest.__wrapped__(root) == first
    (root / "app.py").write_text("A = 2\n")  # a tracked file changed
    second = source_digest.__wrapped__(root)
    assert second not in (None, first)
    (root / "new.py").write_text("")  # a new file, not yet added
    assert source_digest.__wrapped__(root) not in (first, second)


def test_without_git_nothing_is_cached(tmp_path: Path) -> None:
    assert source_digest.__wrapped__(tmp_path) is None
