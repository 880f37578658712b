"""What the README asks a user's machine for covers what the Makefile and `make bench` use.

`make test` runs its side-by-side step with `--output-sync`, an option GNU make gained in 4.0 (GNU make's own
test of it, features/output-sync in that repository's test scripts, is there at tag 4.0 of
https://git.savannah.gnu.org/git/make.git and at the 4.0 pre-release 3.99.90; manual:
https://www.gnu.org/software/make/manual/html_node/Parallel-Output.html; read 2026-12-05), so the README's and the
getting-started page's prerequisites must name GNU make >= 4.0, not just `make` (macOS's /usr/bin/make is 3.81).
`make bench` reads /proc and GNU date's `%N` (benchmarks/timed_shell.sh): the benchmarks page must say Linux."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Make options introduced in GNU make 4.0 (see above); a Makefile line using one needs make >= 4.0.
MAKE_4_OPTIONS = re.compile(r"(?:--output-sync\b|\s-O(?:line|target|recurse|none)?\b)")
PREREQUISITES = re.compile(r"On a fresh machine with Python 3\.11 and (?P<make>[^(]+?) \(")


def makefile_needs_make_4(text: str) -> bool:
    return any(MAKE_4_OPTIONS.search(line) for line in text.splitlines() if not line.lstrip().startswith("#"))


def test_the_detector_sees_output_sync_in_a_recipe_and_not_in_a_comment() -> None:
    assert makefile_needs_make_4("test:\n\t@$(MAKE) -j2 --output-sync=target a b\n")
    assert makefile_needs_make_4("test:\n\t@$(MAKE) -j2 -Otarget a b\n")
    assert not makefile_needs_make_4("# --output-sync prints each output whole\ntest:\n\t@$(MAKE) -j2 a b\n")


@pytest.mark.parametrize("page", ["README.md", "docs/getting-started.md"])
def test_prerequisites_name_the_make_the_makefile_needs(page: str) -> None:
    assert makefile_needs_make_4((ROOT / "Makefile").read_text())  # else this test checks nothing: drop it
    match = PREREQUISITES.search((ROOT / page).read_text())
    assert match, f"{page}: no prerequisites sentence"
    assert match.group("make") == "GNU make ≥ 4.0", f"{page} asks for {match.group('make')!r}"


def test_benchmarks_page_says_make_bench_needs_linux() -> None:
    shell = (ROOT / "benchmarks" / "timed_shell.sh").read_text()
    page = (ROOT / "docs" / "benchmarks.md").read_text()
    if "%N" in shell:
        assert "GNU date" in page and "`make bench` runs on Linux" in page
