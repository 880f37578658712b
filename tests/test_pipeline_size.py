"""The pipeline at its largest (review of issue 21): every stack of every assembly stays within CloudFormation's
500 resources and 1,000,000-byte template (aws-cdk-lib 2.273.0 core/lib/stack.js: MAX_RESOURCES,
TEMPLATE_BODY_MAXIMUM_SIZE = 1e6, read 2026-12-05; past the size aws-cdk-lib only warns), and one unit more is
refused naming the key. What grows the pipeline's stack is stages x (consumers + 1) (config/limits.py); apps and
routes grow each stage's Gateway stack, bounded by tests/test_gateway_size.py. One synthesis, at the bound, with
the longest names (stages 32 characters, consumers 20)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from config import ConfigError, parse_context
from config.limits import MAX_PIPELINE_UNITS
from config.pipeline import parse_pipeline
from stacks.pipeline_stack import add_pipeline
from tests.conftest import ONE_STAGE, PIPELINE_ACCOUNT, PIPELINE_REGION, TODAY
from tests.support import policy_sizes, uniqueness
from tools.synth import cdk_json_context

MAX_RESOURCES, MAX_TEMPLATE_BYTES = 500, 1_000_000


def consumers(n: int) -> list[dict[str, Any]]:
    return [
        {"name": f"c{i:02d}" + "x" * 17, "account": f"{500000000000 + i}", "vpcCidr": f"10.{10 + i}.0.0/16"}
        for i in range(n)
    ]


def stages(n: int) -> list[dict[str, Any]]:
    return [{"name": f"s{j:02d}" + "x" * 29, "account": f"{400000000000 + j}", "region": "us-east-1"} for j in range(n)]


def build(outdir: Path, n_stages: int, n_consumers: int) -> cdk.App:
    app = cdk.App(context={**cdk_json_context(), "consumers": json.dumps(consumers(n_consumers))}, outdir=str(outdir))
    add_pipeline(
        app,
        config=parse_context(app.node.get_all_context(), today=TODAY),
        pipeline=parse_pipeline({**ONE_STAGE, "stages": stages(n_stages)}),
        env=cdk.Environment(account=PIPELINE_ACCOUNT, region=PIPELINE_REGION),
    )
    return app


def test_the_largest_pipeline_fits_every_stack_limit(tmp_path: Path) -> None:
    n_stages = 2
    n_consumers = MAX_PIPELINE_UNITS // n_stages - 1  # 2 x (15 + 1) = 32: at the bound
    build(tmp_path, n_stages, n_consumers).synth()
    seen = 0
    templates = {}
    for name, _, _, template in uniqueness.stacks(tmp_path):
        seen += 1
        templates[name] = template
        assert len(template["Resources"]) <= MAX_RESOURCES, name
        assert len(json.dumps(template, indent=1).encode()) <= MAX_TEMPLATE_BYTES, name  # cdk writes indent=1
    assert seen > n_stages * (n_consumers + 1)
    # Every IAM and Lattice policy document of the pipeline's stacks, nested stages included, within its size.
    assert policy_sizes.oversized(templates) == []
    assert policy_sizes.largest(templates), "no policy document measured"


@pytest.mark.parametrize(("n_stages", "n_consumers", "key"), [(1, 32, "consumers"), (33, 0, "pipeline.stages")])
def test_one_unit_more_is_refused_naming_the_key(tmp_path: Path, n_stages: int, n_consumers: int, key: str) -> None:
    assert n_stages * (n_consumers + 1) == MAX_PIPELINE_UNITS + 1
    with pytest.raises(ConfigError) as caught:
        build(tmp_path, n_stages, n_consumers)
    assert caught.value.key == key and f"exceeds {MAX_PIPELINE_UNITS}" in caught.value.reason
