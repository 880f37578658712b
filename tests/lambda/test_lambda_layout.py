"""The layout of lambda/ (issue 28): modules small enough to read, and helper modules whose log lines reach the
capture a test sets on its handler's logger (`caplog.at_level(..., logger=handler.LOG.name)`)."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import pytest

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
MAX_LINES = 500  # issue 28: no product module over 500 lines, Lambda handlers included
MODULES = sorted(path for path in LAMBDA.glob("*/*.py"))
# Modules that are entry points of their own (their function names them), so they log under their own name.
OWN_ENTRY_POINTS = {"lattice_metrics.health"}  # constructs/target_health.py: lattice_metrics.health.handler


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
