"""The scanners' result cache (tests/support/scans.py): a template is scanned again exactly when it changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import scans


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(scans, "CACHE", tmp_path / "cache")
    monkeypatch.delenv("EKS_LATTICE_SCAN_CACHE", raising=False)
    return tmp_path / "cache"


class FakeCheckov:
    """Stands in for the checkov process: one failed check per template holding "bad", else one passed."""

    def __init__(self, parsing_errors: int = 0) -> None:
        self.scanned: list[list[str]] = []
        self.parsing_errors = parsing_errors

    def __call__(self, directory: Path) -> dict[str, Any]:
        names = sorted(p.name for p in directory.iterdir())
        self.scanned.append(names)
        results: dict[str, list[dict[str, Any]]] = {"passed_checks": [], "failed_checks": []}
        for name in names:
            kind = "failed_checks" if b"bad" in (directory / name).read_bytes() else "passed_checks"
            results[kind].append({"check_id": "CKV_X", "file_path": f"/{name}", "resource": "R"})
        return {"summary": {"parsing_errors": self.parsing_errors}, "results": results}


def test_only_changed_templates_are_scanned_again(cache: Path) -> None:
    fake = FakeCheckov()
    first = scans.checkov({"a.json": b"{}", "b.json": b"bad"}, run=fake)
    assert fake.scanned == [["a.json", "b.json"]]
    assert [c["file_path"] for c in first["failed_checks"]] == ["b.json"]
    assert [c["file_path"] for c in first["passed_checks"]] == ["a.json"]

    again = scans.checkov({"a.json": b"{}", "b.json": b"bad"}, run=fake)
    assert fake.scanned == [["a.json", "b.json"]] and again == first  # nothing changed: nothing scanned

    fixed = scans.checkov({"a.json": b"{}", "b.json": b"good"}, run=fake)
    assert fake.scanned[-1] == ["b.json"]
    assert fixed["failed_checks"] == [] and len(fixed["passed_checks"]) == 2


def test_the_same_content_under_another_name_is_reported_under_that_name(cache: Path) -> None:
    fake = FakeCheckov()
    scans.checkov({"a.json": b"bad"}, run=fake)
    report = scans.checkov({"copy.json": b"bad"}, run=fake)
    assert len(fake.scanned) == 1
    assert [c["file_path"] for c in report["failed_checks"]] == ["copy.json"]


def test_a_parse_error_is_reported_and_never_kept(cache: Path) -> None:
    fake = FakeCheckov(parsing_errors=1)
    assert scans.checkov({"a.json": b"{"}, run=fake)["parsing_errors"] == 1
    assert scans.checkov({"a.json": b"{"}, run=fake)["parsing_errors"] == 1
    assert len(fake.scanned) == 2


def test_a_new_scanner_pin_scans_everything_again(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pins = tmp_path / "requirements-scan.txt"
    pins.write_text("checkov==1\n")
    monkeypatch.setattr(scans, "CHECKOV_PINS", (pins,))
    fake = FakeCheckov()
    scans.checkov({"a.json": b"{}"}, run=fake)
    pins.write_text("checkov==2\n")
    scans.checkov({"a.json": b"{}"}, run=fake)
    assert len(fake.scanned) == 2


def test_turned_off_it_scans_every_time_and_keeps_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EKS_LATTICE_SCAN_CACHE", "off")
    fake = FakeCheckov()
    scans.checkov({"a.json": b"{}"}, run=fake)
    scans.checkov({"a.json": b"{}"}, run=fake)
    assert len(fake.scanned) == 2 and not cache.exists()


def test_a_torn_cache_file_means_another_scan(cache: Path) -> None:
    fake = FakeCheckov()
    scans.checkov({"a.json": b"{}"}, run=fake)
    (entry,) = (cache / "checkov").iterdir()
    entry.write_text("{")
    scans.checkov({"a.json": b"{}"}, run=fake)
    assert len(fake.scanned) == 2


def test_cfn_lint_findings_are_kept_per_template_and_regions(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real cfn-lint run: an invalid template's finding comes back the same from the cache; then (a counting
    stand-in for the linter) other regions or other content mean another run."""
    import cfnlint.api

    template = tmp_path / "t.json"
    template.write_text(json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"Nope": 1}}}}))
    found = scans.cfn_lint(template, regions=["us-east-1"])
    assert "E3002" in {f.rule for f in found}

    runs: list[tuple[str, list[str]]] = []

    def lint_file(path: Path, config: Any) -> list[Any]:
        runs.append((path.read_text(), config["regions"]))
        return []

    monkeypatch.setattr(cfnlint.api, "lint_file", lint_file)
    assert scans.cfn_lint(template, regions=["us-east-1"]) == found and runs == []
    assert scans.cfn_lint(template, regions=["eu-west-1"]) == [] and len(runs) == 1
    template.write_text(json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
    scans.cfn_lint(template, regions=["us-east-1"])
    assert len(runs) == 2 and runs[-1][1] == ["us-east-1"]
