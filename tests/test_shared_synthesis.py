"""conftest.shared_synthesis: the first asker synthesizes, later askers (the other xdist worker) read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import shared_synthesis


class Factory:
    """The part of pytest's TempPathFactory that shared_synthesis uses."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def getbasetemp(self) -> Path:
        return self.base


def test_the_second_asker_reads_what_the_first_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    gw0, gw1 = tmp_path / "popen-gw0", tmp_path / "popen-gw1"
    with shared_synthesis(Factory(gw0), "x") as (outdir, ready):  # type: ignore[arg-type]
        assert not ready
        (outdir / "manifest.json").write_text("{}")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    with shared_synthesis(Factory(gw1), "x") as (again, ready):  # type: ignore[arg-type]
        assert ready and again == outdir and (again / "manifest.json").read_text() == "{}"
    with shared_synthesis(Factory(gw1), "y") as (other, ready):  # type: ignore[arg-type]
        assert not ready and other != outdir


def test_a_failed_synthesis_is_made_again_from_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)

    def fail_midway() -> None:
        with shared_synthesis(Factory(tmp_path), "x") as (outdir, _):  # type: ignore[arg-type]
            (outdir / "half.template.json").write_text("{")
            raise RuntimeError("synth failed")

    with pytest.raises(RuntimeError):
        fail_midway()
    with shared_synthesis(Factory(tmp_path), "x") as (outdir, ready):  # type: ignore[arg-type]
        assert not ready and list(outdir.iterdir()) == []
