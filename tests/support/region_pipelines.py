"""One pipeline configuration deployed from two regions of one account (tests/test_consumers.py, review of issue 21):
the app each region synthesizes. Here, not in the test module, so that the synthesis cache's key (tests/conftest.py
source_digest, which covers tests/support) changes with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REGIONS = ("us-east-1", "us-west-2")


def synthesize(outdir: Path, region: str, consumers: list[dict[str, Any]]) -> None:
    """The one-stage pipeline in `region` (stages following it) with `consumers`, its own stack in eu-west-1."""
    import aws_cdk as cdk

    from config import parse_context
    from config.pipeline import parse_pipeline
    from stacks.pipeline_stack import add_pipeline
    from tests.conftest import ONE_STAGE, PIPELINE_ACCOUNT, TODAY
    from tools.synth import cdk_json_context

    cfg = parse_context({"consumers": json.dumps(consumers)}, today=TODAY)
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    add_pipeline(
        app,
        config=cfg,
        pipeline=parse_pipeline({**ONE_STAGE, "region": region}),
        env=cdk.Environment(account=PIPELINE_ACCOUNT, region="eu-west-1"),
    )
    app.synth()
