"""A warm `make test` type-checks incrementally: mypy keeps its cache between runs (issue 29). Cold, mypy takes
about 25 times the CPU of a warm run here (59 s vs 2.4 s user, 3.6 GB peak RSS), so a setting or recipe that throws
the cache away makes every local run pay the cold price without any test failing. mypy's own defaults
(incremental, cache in `.mypy_cache`: `mypy --help` of the pinned mypy 2.4.1, "--no-incremental" and "--cache-dir",
read 2026-12-05) are what keep it; these tests hold them."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT

# What turns the cache off or sends it where no next run finds it: --no-incremental, --cache-dir (`mypy --help`),
# and the MYPY_CACHE_DIR variable, which overrides cache_dir (mypy 2.4.1 mypy/main.py; read 2026-12-05).
DISCARDS = re.compile(r"--no-incremental|--cache-dir|MYPY_CACHE_DIR|\.mypy_cache|/dev/null")


def _recipe(target: str, makefile: str) -> list[str]:
    lines = makefile.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"{re.escape(target)}:", line))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line)
    return recipe


def test_the_mypy_settings_keep_its_incremental_cache_in_the_clone() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert settings.get("incremental", True) is True, "incremental = false re-checks everything on every run"
    assert settings.get("cache_dir", ".mypy_cache") == ".mypy_cache", settings.get("cache_dir")
    assert ".mypy_cache/" in (ROOT / ".gitignore").read_text().splitlines()  # kept, but never committed


def test_make_test_neither_discards_nor_redirects_the_mypy_cache() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = _recipe("test", makefile)
    if any("typecheck" in line for line in recipe):  # mypy runs in `make typecheck`, beside checkov's install
        recipe += _recipe("typecheck", makefile)
    assert any("mypy" in line for line in recipe), recipe  # the check itself still runs
    assert not [line for line in recipe if DISCARDS.search(line) or re.search(r"\brm\b|make clean", line)], recipe
    assert not re.search(r"^\s*(export\s+)?MYPY_CACHE_DIR", makefile, re.MULTILINE)
    # Only `make clean` may remove it (its documented job).
    removers = [t for t in re.findall(r"^([a-z0-9-]+):", makefile, re.MULTILINE) if t != "clean"]
    assert not [t for t in removers if any(".mypy_cache" in line for line in _recipe(t, makefile))]


def test_the_recipe_reader_sees_a_discarding_recipe() -> None:
    makefile = "test: setup\n\trm -rf .mypy_cache\n\t$(BIN)/mypy --no-incremental\nother:\n\ttrue\n"
    recipe = _recipe("test", makefile)
    assert len(recipe) == 2 and all(DISCARDS.search(line) for line in recipe)
