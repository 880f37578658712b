"""The layout of lambda/ (issue 28): modules small enough to read, and helper modules whose log lines reach the
capture a test sets on its handler's logger (`caplog.at_level(..., logger=handler.LOG.name)`)."""

from __future__ import annotations

import importlib
import io
import logging
import re
import zipfile
from pathlib import Path

import pytest

from tests.support import docs, lambda_assets

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
MAX_LINES = 500  # issue 28: no product module over 500 lines, Lambda handlers included
MODULES = sorted(path for path in LAMBDA.glob("*/*.py"))
# Modules that are entry points of their own (their function names them), so they log under their own name
# (constructs/observability/target_health.py: lattice_metrics.health.handler).
OWN_ENTRY_POINTS = {"lattice_metrics.health"}


def _name(path: Path) -> str:
    return f"{path.parent.name}.{path.stem}"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_lambda_module_is_over_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(LAMBDA.parent)} has {lines} lines; split it by concern"


def test_the_layout_test_sees_every_lambda_module() -> None:
    # The glob above must not go blind (a moved folder would leave it checking nothing).
    assert {_name(p) for p in MODULES} >= {"lattice_drain.handler", "lattice_dns.handler", "smoke.protocols"}


@pytest.mark.parametrize("package", sorted({p.parent.name for p in MODULES if p.name == "handler.py"}))
def test_a_helper_modules_log_lines_reach_the_handlers_logger(package: str) -> None:
    """Every logger a module of the package holds is the handler's or beneath it, so what a test captures on the
    handler's logger includes what the helper modules log."""
    handler = importlib.import_module(f"{package}.handler")
    mine = next((v for v in vars(handler).values() if isinstance(v, logging.Logger)), None)
    loggers = {
        _name(path): value
        for path in MODULES
        if path.parent.name == package and _name(path) not in OWN_ENTRY_POINTS
        for value in vars(importlib.import_module(_name(path).removesuffix(".__init__"))).values()
        if isinstance(value, logging.Logger)
    }
    if mine is None:
        # A handler that logs nothing itself: its helpers share one logger, the package's.
        assert {logger.name for logger in loggers.values()} <= {package}, loggers
        return
    outside = {
        module: logger.name
        for module, logger in loggers.items()
        if logger.name != mine.name and not logger.name.startswith(mine.name + ".")
    }
    assert not outside, f"{package}: log outside {mine.name!r}, which tests capture: {outside}"


ASSET_ROW = re.compile(r"^\| ((?:`\w+`(?: \+ )?)+) \|.*\| (\d+) KB / (\d+) KB \|$", re.MULTILINE)


def _asset_rows() -> list[tuple[list[str], int, int]]:
    page = docs.page("dns.md").read_text(encoding="utf-8")
    return [(re.findall(r"`(\w+)`", m[1]), int(m[2]), int(m[3])) for m in ASSET_ROW.finditer(page)]


@pytest.mark.parametrize(
    ("packages", "source_kb", "zipped_kb"), _asset_rows(), ids=lambda v: "+".join(v) if isinstance(v, list) else ""
)
def test_the_asset_table_states_each_functions_size(packages: list[str], source_kb: int, zipped_kb: int) -> None:
    """The asset table (docs/dns.md) keeps every function's size current, to within 1 KB, source and zipped: a
    split or a new probe changes them (issue 26: code packaged into a function must show its weight)."""
    files = sorted(f for p in packages for f in (LAMBDA / p).rglob("*.py") if "__pycache__" not in f.parts)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(LAMBDA).as_posix())
    measured = (sum(f.stat().st_size for f in files) / 1024, len(buffer.getvalue()) / 1024)
    assert all(abs(s - m) <= 1 for s, m in zip((source_kb, zipped_kb), measured, strict=True)), (
        f"{' + '.join(packages)}: stated {source_kb} KB / {zipped_kb} KB, measured {measured[0]:.1f} KB / "
        f"{measured[1]:.1f} KB"
    )


def test_the_asset_table_has_a_row_for_each_shipped_package_set() -> None:
    """Class test: a row names what a function ships (the `packages=` tuple its construct passes), not what the
    function is called; every shipped set has a row, and no row names a set nothing ships."""
    rows = {" + ".join(packages) for packages, _s, _z in _asset_rows()}
    shipped = {" + ".join(names) for tuples in lambda_assets.shipped_packages().values() for names in tuples}
    assert len(shipped) >= 10, shipped
    assert rows == shipped, (
        f"rows nothing ships: {sorted(rows - shipped)}; shipped without a row: {sorted(shipped - rows)}"
    )
