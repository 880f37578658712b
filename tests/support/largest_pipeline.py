"""The pipeline at its largest (tests/test_pipeline_size.py): stages x (consumers + 1) at config/limits.py's
bound, with the longest names (stages 32 characters, consumers 20). Here, not in the test module, because the
synthesis cache's key (tests/conftest.py source_digest) covers tests/support but not test modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from config.limits import MAX_PIPELINE_UNITS

N_STAGES = 2
N_CONSUMERS = MAX_PIPELINE_UNITS // N_STAGES - 1  # 2 x (15 + 1) = 32: at the bound


def consumers(n: int) -> list[dict[str, Any]]:
    return [
        {"name": f"c{i:02d}" + "x" * 17, "account": f"{500000000000 + i}", "vpcCidr": f"10.{10 + i}.0.0/16"}
        for i in range(n)
    ]


def stages(n: int) -> list[dict[str, Any]]:
    return [{"name": f"s{j:02d}" + "x" * 29, "account": f"{400000000000 + j}", "region": "us-east-1"} for j in range(n)]


def build(outdir: Path, n_stages: int, n_consumers: int) -> Any:
    """The app (not synthesized) of a pipeline with n_stages stages and n_consumers consumers, no cdk-nag."""
    import aws_cdk as cdk

    from config import parse_context
    from config.pipeline import parse_pipeline
    from stacks.pipeline_stack import add_pipeline
    from tests.conftest import ONE_STAGE, PIPELINE_ACCOUNT, PIPELINE_REGION, TODAY
    from tools.synth import cdk_json_context

    app = cdk.App(context={**cdk_json_context(), "consumers": json.dumps(consumers(n_consumers))}, outdir=str(outdir))
    add_pipeline(
        app,
        config=parse_context(app.node.get_all_context(), today=TODAY),
        pipeline=parse_pipeline({**ONE_STAGE, "stages": stages(n_stages)}),
        env=cdk.Environment(account=PIPELINE_ACCOUNT, region=PIPELINE_REGION),
    )
    return app
