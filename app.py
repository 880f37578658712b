#!/usr/bin/env python3
"""CDK entry point: validate the configuration once, then build the stacks (or the pipeline that ships them)."""

from __future__ import annotations

import datetime as dt
import os
import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs.compliance import add_checkov_acknowledgments

from config import AppConfig, ConfigError, parse_context
from config.pipeline import PipelineConfig, select_pipeline
from stacks.system import PREFIX, add_system


def environment() -> cdk.Environment | None:
    """Env-agnostic unless the CLI knows the account (credentials present), so synth needs no AWS access."""
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    return cdk.Environment(account=account, region=region) if account and region else None


def build(
    app: cdk.App,
    config: AppConfig,
    pipeline: PipelineConfig | None = None,
    env: cdk.Environment | None = None,
    *,
    nag: bool = True,
) -> None:
    """The app's stacks for `cdk deploy`, or, with the `pipeline` context key, the pipeline that deploys them.

    `env` (tests) replaces the credentials' environment(); `nag=False` (tests that compare resource properties
    only) leaves out the cdk-nag pass, which doubles a warm synth's time."""
    if pipeline is None:
        add_system(app, config=config, env=env or environment(), stack_prefix=config.stack_prefix)
    else:
        if config.stack_prefix != PREFIX:
            # The pipeline names each stage's stacks <PREFIX>-<stage>-*; tools/destroy.py and the dashboard know it.
            raise ConfigError("stackPrefix", f"applies to `make deploy` only; with a `pipeline` key leave it {PREFIX}")
        # Imported only when used: CDK Pipelines and CodeBuild cost a quarter second to import on every synth.
        from stacks.pipeline_stack import add_pipeline  # noqa: PLC0415

        add_pipeline(app, config=config, pipeline=pipeline, env=environment())
    # cdk-nag 3.x runs as a CDK policy-validation plugin: findings fail the synth unless acknowledged.
    # Acknowledgments are also written into each resource's Metadata (cdk_nag.rules_to_suppress): an audit trail
    # in the templates themselves.
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    # checkov's acknowledgments, likewise in each resource's Metadata (checkov.skip), where checkov reads them.
    add_checkov_acknowledgments(app)


def main(app: cdk.App | None = None) -> int:
    """`app` is injectable for tests; the CDK CLI runs this file with context in the environment."""
    app = app or cdk.App()
    context = app.node.get_all_context()
    try:
        config = parse_context(context, today=dt.date.today())
        # cdk.json's (or -c's) `pipeline` key, else, in the pipeline's own synth step, the deployed configuration.
        build(app, config, select_pipeline(context, os.environ))
    except ConfigError as err:
        # One readable line per problem, and nothing synthesized: app.synth() is never reached.
        for line in err.lines:
            print(f"eks-lattice-gateway: invalid configuration: {line}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
