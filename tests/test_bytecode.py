"""The test processes write bytecode where Python looks for it by default (review of issue 29's speed work): a
`sys.pycache_prefix` made every process ignore the virtualenv's and the standard library's compiled modules and
compile them again (about 8 s of CPU per xdist worker on a fresh clone), and `make clean` left the new caches
behind. Class tests: an installed package's and the standard library's modules resolve to their own `__pycache__`,
and every cache the tests keep under `.cache/` is one `make clean` removes (the fetched reference data aside).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import botocore

from tests.conftest import ROOT

# `.cache/<name>` folders the test suite writes, found in its sources, and the one make clean must keep.
_CACHE_USE = re.compile(r"""ROOT\s*/\s*["']\.cache["']\s*/\s*["']([\w.-]+)["']""")
KEPT = {"shared"}  # tools/fetch_reference.py's download (make reference), not build output


def test_the_test_process_reads_compiled_modules_where_they_were_installed() -> None:
    assert sys.pycache_prefix is None
    assert not sys.dont_write_bytecode
    for module_file in (botocore.__file__, json.__file__):
        assert module_file is not None
        cached = Path(importlib.util.cache_from_source(module_file))
        assert cached.parent == Path(module_file).parent / "__pycache__", cached


def cache_folders(sources: list[Path]) -> set[str]:
    return {name for path in sources for name in _CACHE_USE.findall(path.read_text())}


def clean_recipe() -> str:
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"^clean:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert match, "no clean target"
    return match.group(1)


def test_make_clean_removes_every_cache_the_tests_keep() -> None:
    sources = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("tools/**/*.py")]
    used = cache_folders(sources)
    assert {"synth", "scans", "helm"} <= used, used  # the finder sees them
    removed = set(re.findall(r"\.cache/([\w.-]+)", clean_recipe()))
    assert used - KEPT <= removed, f"make clean leaves .cache/{sorted(used - KEPT - removed)}"
    assert not removed & KEPT


def test_the_cache_finder_sees_a_new_folder(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text("CACHE = ROOT / " + '".cache" / "newthing"\n')  # split: this file is a source it scans
    assert cache_folders([source]) == {"newthing"}
