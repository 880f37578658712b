"""The benchmark figures have one home: the latest-figures table, the same in the README and docs/benchmarks.md.

Two pages quoting the ratios separately drifted apart (three figures for one ratio); now each page holds the one
table, with a row per ratio of issue 29, each row giving the date, machine and load it was measured at, and the
targets `make bench` judges by (benchmarks/run.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.run import FRESH_TARGET, SYNTH_TARGET, TESTS_TARGET

ROOT = Path(__file__).resolve().parent.parent
HEADER = "| ratio | latest measured | when, where, load | target |"


def latest_table(text: str) -> list[str]:
    """The rows of the latest-figures table (header included) of a page; exactly one such table."""
    assert text.count(HEADER) == 1, "one latest-figures table per page"
    lines = text[text.index(HEADER) :].splitlines()
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_readme_and_benchmarks_page_show_the_same_table() -> None:
    readme = latest_table((ROOT / "README.md").read_text())
    page = latest_table((ROOT / "docs" / "benchmarks.md").read_text())
    assert readme == page


def test_the_table_has_a_dated_row_per_ratio_with_make_benchs_target() -> None:
    rows = latest_table((ROOT / "docs" / "benchmarks.md").read_text())[2:]
    assert len(rows) == 3, rows
    for row, target in zip(rows, (SYNTH_TARGET, TESTS_TARGET, FRESH_TARGET), strict=True):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 4, row
        assert re.search(r"\b20\d\d-\d\d-\d\d\b", cells[2]) and "load" in cells[2], f"no date or load: {row}"
        assert cells[3].startswith("≤ ") and float(cells[3][2:]) == target, (cells[3], target)


def test_latest_table_refuses_a_page_with_two() -> None:
    with pytest.raises(AssertionError, match="one latest-figures table"):
        latest_table(f"{HEADER}\n|---|\n| a |\n\n{HEADER}\n")
