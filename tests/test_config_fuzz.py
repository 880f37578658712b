"""tests/config_fuzz.py in `make test`: a small seeded sample without synthesis, the regressions it found, and
the full check on a synthesis the suite makes anyway (`make fuzz` synthesizes each generated config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import config_fuzz
from tests.conftest import NAMESPACED, Synthesized

# A new schema key reshuffles the draws: a seed whose 8 configs reach both outcomes (24 did until nodeGroupName).
SAMPLE, SEED = 8, 26


def test_a_seeded_sample_is_refused_by_key_or_builds_valid_objects(reference_dir: Path) -> None:
    tally = config_fuzz.run(SAMPLE, SEED, reference_dir / "crds", full=False, emit=lambda _: None)
    assert sum(tally.values()) >= SAMPLE
    assert tally["accepted"] and tally["refused by the model"]  # the sample reaches both outcomes


@pytest.mark.parametrize(("why", "context"), config_fuzz.REGRESSIONS or [("none yet", {})])
def test_each_regression_is_refused_by_key_or_builds_valid_objects(
    why: str, context: dict[str, Any], reference_dir: Path
) -> None:
    config_fuzz.check(context, reference_dir / "crds", full=False)


def test_the_full_check_passes_on_a_synthesis_with_a_namespace_of_its_own(
    namespaced: Synthesized, reference_dir: Path
) -> None:
    """cfn-lint aside (make fuzz lints every synthesis; the suite lints the default and variant ones)."""
    config = config_fuzz.model_outcome(NAMESPACED)
    assert config_fuzz.assembly_problems(namespaced.outdir, config, reference_dir / "crds", lint=False) == []


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        (("apps[0].healthPath: is required",), True),
        (("routes[1].rules[0].headers[2].name: 'x y' is not a valid HTTP header name",), True),
        (("fooBar: unknown configuration key",), True),
        (("apps: 2 entries",), True),
        (("KeyError: 'apps'",), False),  # a traceback's last line is no refusal
        (("is required",), False),
        (("apps[0]..name: x",), False),
        (("nodeCount: expected int",), False),  # not a key of the schema
    ],
)
def test_a_refusal_must_name_a_key(lines: tuple[str, ...], named: bool) -> None:
    assert (config_fuzz.refusal_problems(lines) == []) is named


def test_an_exception_other_than_config_error_is_a_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    import config

    def crash(*_: Any, **__: Any) -> None:
        raise KeyError("apps")

    monkeypatch.setattr(config, "parse_context", crash)
    with pytest.raises(config_fuzz.FuzzFaultError, match="raised KeyError instead of a ConfigError"):
        config_fuzz.model_outcome({})
