"""The pipeline at its largest (review of issue 21): every stack of every assembly stays within CloudFormation's
500 resources and 1,000,000-byte template (aws-cdk-lib 2.273.0 core/lib/stack.js: MAX_RESOURCES,
TEMPLATE_BODY_MAXIMUM_SIZE = 1e6, read 2026-12-05; past the size aws-cdk-lib only warns), and one unit more is
refused naming the key. What grows the pipeline's stack is stages x (consumers + 1) (config/limits.py); apps and
routes grow each stage's Gateway stack, bounded by tests/test_gateway_size.py. One synthesis, at the bound, with
the longest names (tests/support/largest_pipeline.py: stages 32 characters, consumers 20), kept by the synthesis
cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import ConfigError
from config.limits import MAX_PIPELINE_UNITS
from tests.support import policy_sizes, uniqueness
from tests.support.largest_pipeline import N_CONSUMERS, N_STAGES, build

MAX_RESOURCES, MAX_TEMPLATE_BYTES = 500, 1_000_000


def test_the_largest_pipeline_fits_every_stack_limit(largest_pipeline: Path) -> None:
    """tests/support/largest_pipeline.py's pipeline, synthesized once (the synthesis cache keeps it between runs)."""
    assert N_STAGES * (N_CONSUMERS + 1) == MAX_PIPELINE_UNITS  # at the bound
    seen = 0
    templates = {}
    for name, _, _, template in uniqueness.stacks(largest_pipeline):
        seen += 1
        templates[name] = template
        assert len(template["Resources"]) <= MAX_RESOURCES, name
        assert len(json.dumps(template, indent=1).encode()) <= MAX_TEMPLATE_BYTES, name  # cdk writes indent=1
    assert seen > N_STAGES * (N_CONSUMERS + 1)
    # Every IAM and Lattice policy document of the pipeline's stacks, nested stages included, within its size.
    assert policy_sizes.oversized(templates) == []
    assert policy_sizes.largest(templates), "no policy document measured"


@pytest.mark.parametrize(("n_stages", "n_consumers", "key"), [(1, 32, "consumers"), (33, 0, "pipeline.stages")])
def test_one_unit_more_is_refused_naming_the_key(tmp_path: Path, n_stages: int, n_consumers: int, key: str) -> None:
    assert n_stages * (n_consumers + 1) == MAX_PIPELINE_UNITS + 1
    with pytest.raises(ConfigError) as caught:
        build(tmp_path, n_stages, n_consumers)
    assert caught.value.key == key and f"exceeds {MAX_PIPELINE_UNITS}" in caught.value.reason
