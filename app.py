#!/usr/bin/env python3
"""CDK entry point: validate the configuration once, then build the stacks (or the pipeline)."""

from __future__ import annotations

import datetime as dt
import os
import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from config import AppConfig, parse_or_exit
from stacks.system import add_system


def environment() -> cdk.Environment | None:
    """Env-agnostic unless the CLI knows the account (credentials present), so synth needs no AWS access."""
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    return cdk.Environment(account=account, region=region) if account and region else None


def build(app: cdk.App, config: AppConfig) -> None:
    add_system(app, config=config, env=environment())
    # cdk-nag 3.x runs as a CDK policy-validation plugin: findings fail the synth unless acknowledged.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def main() -> int:
    app = cdk.App()
    config = parse_or_exit(
        app.node.get_all_context(), today=dt.date.today(), emit=lambda line: print(line, file=sys.stderr)
    )
    if config is None:
        return 2
    build(app, config)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
