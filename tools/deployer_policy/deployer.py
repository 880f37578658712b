"""The policies of the two principals besides the execution role: whoever deploys (deployer-policy.json) and
whoever bootstraps (bootstrap-policy.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.deployer_policy.execution import execution_actions, policy_document

ROOT = Path(__file__).resolve().parents[2]

BOOTSTRAP_TEMPLATE = ROOT / "node_modules" / "aws-cdk" / "lib" / "api" / "bootstrap" / "bootstrap-template.yaml"
DEFAULT_QUALIFIER = "hnb659fds"  # the CDK CLI's default bootstrap qualifier (cdk.json may set its own)
# The bootstrap roles the CDK CLI assumes (the bootstrap template's RoleName values).
BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")
# What the CLI calls on the CDKToolkit stack when it bootstraps, with the caller's own credentials (the CLI's
# CloudFormation deployment: a change set, then waiting on it).
# DescribeEvents: the pinned CLI 2.1148.1 wraps it in its CloudFormation client (node_modules/aws-cdk/lib/index.js,
# describeEvents; an operation of botocore's cloudformation model too); its call site was not found: granted,
# unverified.
BOOTSTRAP_CLOUDFORMATION = (
    "cloudformation:CreateChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:DescribeEvents",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStacks",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:GetTemplate",
)
# What the tools call with your own credentials: make impact ARGS=--deployed (GetTemplate), tools/stranded.py before
# each deploy (ListStacks), make smoke (DescribeStacks, then Lambda Invoke of the stack's smoke functions, and the
# alarm checks: constructs/pipeline/smoke.py grants the pipeline's smoke step the same).
OWN_CREDENTIALS = {
    "cloudformation": ("cloudformation:DescribeStacks", "cloudformation:GetTemplate", "cloudformation:ListStacks"),
    "smoke": ("lambda:InvokeFunction",),
    "alarms": ("cloudwatch:DescribeAlarms", "cloudwatch:ListMetrics"),
}


def deployer_document(*, stack_prefix: str, qualifier: str = DEFAULT_QUALIFIER) -> dict[str, Any]:
    """For the principal that runs make deploy / destroy / impact / smoke of the stacks named `stack_prefix`-..."""
    roles = [f"arn:*:iam::*:role/cdk-{qualifier}-{role}-role-*" for role in BOOTSTRAP_ROLES]
    stacks = f"arn:*:cloudformation:*:*:stack/{stack_prefix}-*/*"
    return policy_document(
        [
            {"Sid": "AssumeCdkBootstrapRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": roles},
            {
                "Sid": "ReadThisAppsStacks",
                "Effect": "Allow",
                "Action": ["cloudformation:DescribeStacks", "cloudformation:GetTemplate"],
                "Resource": stacks,
            },
            # ListStacks: tools/stranded.py lists every stack to find this app's by name and description.
            {
                "Sid": "FindStrandedConsumerStacks",
                "Effect": "Allow",
                "Action": "cloudformation:ListStacks",
                "Resource": "*",
            },
            {
                "Sid": "InvokeSmokeFunctions",
                "Effect": "Allow",
                "Action": list(OWN_CREDENTIALS["smoke"]),
                "Resource": f"arn:*:lambda:*:*:function:{stack_prefix}-*",
            },
            # DescribeAlarms and ListMetrics take no resource-level restriction on what they list.
            {"Sid": "SmokeAlarmChecks", "Effect": "Allow", "Action": list(OWN_CREDENTIALS["alarms"]), "Resource": "*"},
        ]
    )


def bootstrap_types(template: Path = BOOTSTRAP_TEMPLATE) -> set[str]:
    import yaml  # noqa: PLC0415 - cfn-lint's dependency; only this command reads YAML

    data = yaml.safe_load(template.read_text())
    return {str(r["Type"]) for r in data.get("Resources", {}).values()}


def bootstrap_document(template: Path = BOOTSTRAP_TEMPLATE) -> dict[str, Any]:
    actions = sorted(set(execution_actions(bootstrap_types(template))) | set(BOOTSTRAP_CLOUDFORMATION))
    return policy_document([{"Sid": "CdkBootstrap", "Effect": "Allow", "Action": actions, "Resource": "*"}])
