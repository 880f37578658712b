"""A make that a test starts runs as from a user's shell, however the outer make was invoked.

`make -C <clone> test` (farm runs, editors, CI scripts that don't cd) once failed the suite: the outer make's -w
reached the tests' own `make -s ...` through MAKEFLAGS, which then printed "Entering directory" lines around the
output the tests compare. tests/conftest.py clears what make passes down (INHERITED_MAKE)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import INHERITED_MAKE, MAKE_KNOBS, ROOT

# What `make -C <dir> -s -k test` gives the processes it starts (make 4.3 here, 2026-12-05).
OUTER_MAKE = {"MAKEFLAGS": "skw", "MFLAGS": "-skw", "MAKELEVEL": "1"}
PROBE = (
    "import subprocess{imp}; print(subprocess.run(['make', 'version'], capture_output=True, text=True).stdout, end='')"
)


def _make_version(*, through_conftest: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_MAKE} | OUTER_MAKE
    code = PROBE.format(imp="; import tests.conftest" if through_conftest else "")
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout


def test_the_outer_makes_flags_reach_a_plain_child() -> None:
    """Control: without the suite's conftest the injected flags do change a child make's output."""
    assert "Entering directory" in _make_version(through_conftest=False)


def test_a_tests_make_prints_only_its_own_output_under_make_dash_c() -> None:
    assert _make_version(through_conftest=True) == (ROOT / "VERSION").read_text()


def test_every_variable_make_passes_down_is_cleared() -> None:
    assert {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"} <= set(INHERITED_MAKE)
    assert not set(INHERITED_MAKE) & set(os.environ)


def _audit_recipe(*, through_conftest: bool) -> str:
    """`make -n audit` (printed, not run) under `ARGS=--bogus` in the environment, as `make bench ARGS=...` gives it."""
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_MAKE} | {"ARGS": "--bogus"}
    code = (
        f"import subprocess{'; import tests.conftest' if through_conftest else ''}; "
        "print(subprocess.run(['make', '-n', '--no-print-directory', 'audit'], capture_output=True, text=True).stdout)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout


def test_a_callers_make_variables_do_not_reach_a_tests_make() -> None:
    assert "--bogus" in _audit_recipe(through_conftest=False)  # control: the variable does reach a plain child
    assert "--bogus" not in _audit_recipe(through_conftest=True)


def test_every_variable_a_caller_sets_is_found_in_the_makefile() -> None:
    assert {"ARGS", "CDK_ARGS", "STACKS", "N", "SEED", "STAGE", "JOBS", "MODULES"} <= MAKE_KNOBS
    assert not MAKE_KNOBS & {"BIN", "VENV", "PY_STAMP", "PATH", "MAKE", "EKS_LATTICE_SHARED"}
