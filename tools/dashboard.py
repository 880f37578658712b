#!/usr/bin/env python3
"""`make dashboard`: the CloudWatch dashboard URL of the current configuration, without AWS access.

    python tools/dashboard.py [--region R]

The dashboard is named after the Gateway stack (constructs/observability/monitoring.py): `EksLatticeGateway-Gateway`,
or with the `pipeline` key one per stage, `EksLatticeGateway-<stage>-Gateway` in the stage's region. The
region comes from --region, else the stage's, else AWS_REGION / AWS_DEFAULT_REGION / CDK_DEFAULT_REGION,
else the AWS CLI's config file (the profile in AWS_PROFILE, or default). Exit status 2, with one line on
stderr, for a bad configuration or no region.
"""

from __future__ import annotations

import argparse
import configparser
import datetime as dt
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config import ConfigError, parse_context  # noqa: E402
from config.pipeline import KEY as PIPELINE_KEY  # noqa: E402
from config.pipeline import parse_pipeline  # noqa: E402
from tools.synth import cdk_json_context  # noqa: E402

PREFIX = "EksLatticeGateway"  # stacks/system.py PREFIX (not imported: that would load the CDK)


class DashboardError(Exception):
    """A problem reported in one line (exit status 2)."""


def dashboard_url(region: str, name: str) -> str:
    """The same URL as the stack's DashboardUrl output (constructs/observability/monitoring.py dashboard_url)."""
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


def default_region(environ: Mapping[str, str] = os.environ) -> str | None:
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "CDK_DEFAULT_REGION"):
        if environ.get(variable):
            return environ[variable]
    path = Path(environ.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config")
    profile = environ.get("AWS_PROFILE", "default")
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error:
        return None
    section = profile if profile == "default" else f"profile {profile}"
    return parser.get(section, "region", fallback=None) or None


def dashboards(
    context: Mapping[str, object], *, region: str | None, environ: Mapping[str, str] = os.environ
) -> list[tuple[str, str]]:
    """(label, URL) of every dashboard the configuration deploys."""
    parse_context(context, today=dt.date.today())  # the same checks as a synth: a bad config names its key
    fallback = region or default_region(environ)
    if PIPELINE_KEY not in context:
        if not fallback:
            raise DashboardError('no region: pass --region (ARGS="--region ...") or set AWS_REGION')
        return [("", dashboard_url(fallback, f"{PREFIX}-Gateway"))]
    pipeline = parse_pipeline(context[PIPELINE_KEY])
    found = []
    for stage in pipeline.stages:
        stage_region = region or stage.region or pipeline.region or fallback
        if not stage_region:
            why = f'no region for stage {stage.name}: set it in cdk.json or pass --region (ARGS="--region ...")'
            raise DashboardError(why)
        found.append((stage.name, dashboard_url(stage_region, f"{PREFIX}-{stage.name}-Gateway")))
    return found


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--region", help="the region the stacks deploy to (default: AWS_REGION, the CLI config)")
    args = parser.parse_args(argv)
    try:
        found = dashboards(cdk_json_context(), region=args.region, environ=environ)
    except (ConfigError, DashboardError) as err:
        print(f"dashboard: {err}", file=sys.stderr)
        return 2
    for label, url in found:
        print(f"{label}: {url}" if label else url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
