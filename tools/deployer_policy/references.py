"""What CloudFormation calls, as the execution role, to evaluate a template's intrinsics, SSM parameter types
and dynamic references: one statement per action, on the resources the templates name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tools.deployer_policy.execution import PolicyError

# What CloudFormation calls, as the stack's execution role, to evaluate a template (read 2026-12-05):
# - Fn::GetStackOutput: "RoleArn: the ARN of an IAM role with cloudformation:DescribeStacks on the referenced stack;
#   the role must be assumable by the execution role of the stack being created or updated; defaults to the current
#   stack's execution role" (CloudFormation Template Reference, Fn::GetStackOutput, parameter RoleArn,
#   https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html).
#   So: with RoleArn, sts:AssumeRole on that role; without, cloudformation:DescribeStacks on the referenced stack.
# - Fn::GetAZs: ec2:DescribeAvailabilityZones and ec2:DescribeAccountAttributes, and ec2:DescribeSubnets for
#   EC2-VPC (its "IAM permissions" section,
#   https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getavailabilityzones.html).
# - SSM parameter types (AWS::SSM::Parameter::Value<...>) and ssm dynamic references: ssm:GetParameters
#   ("CreateChangeSet uses this to evaluate any SSM parameters (like `CdkBootstrapVersion`)": the pinned CLI's
#   bootstrap template, node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml, aws-cdk 2.1148.1, the
#   deploy role's ReadVersion statement). The same for a launch template's `resolve:ssm:` ImageId, which EC2
#   resolves for the caller.
# - secretsmanager dynamic references: secretsmanager:GetSecretValue, the API that returns a secret's value
#   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html; that
#   page's permission list was not in the stored copy: unverified, so granted). None of this app's templates has one.
GET_AZS_ACTIONS = ("ec2:DescribeAccountAttributes", "ec2:DescribeAvailabilityZones", "ec2:DescribeSubnets")
# Intrinsics CloudFormation evaluates without an API call (template-local computation or conditions).
NO_CALL_INTRINSICS = frozenset(
    {
        "Fn::And", "Fn::Base64", "Fn::Cidr", "Fn::Contains", "Fn::Equals", "Fn::EachMemberEquals", "Fn::FindInMap",
        "Fn::GetAtt", "Fn::If", "Fn::Join", "Fn::Length", "Fn::Not", "Fn::Or", "Fn::RefAll", "Fn::Select",
        "Fn::Split", "Fn::Sub", "Fn::ToJsonString", "Fn::ValueOf", "Fn::ValueOfAll",
    }
)  # fmt: skip
TEMPLATE_REFERENCES = frozenset({"Fn::GetStackOutput", "Fn::GetAZs"})
_DYNAMIC = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]+)\}\}")
_IMAGE_SSM = re.compile(r"^resolve:ssm:(.+)$")


def _render(value: Any, region: str) -> str | None:
    """A template value as an IAM resource pattern: pseudo parameters become their value or `*`; None when it
    depends on anything else (then no pattern can name it without granting too much)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref" and arg in ("AWS::Partition", "AWS::AccountId", "AWS::URLSuffix"):
            return "*"
        if fn == "Ref" and arg == "AWS::Region":
            return region
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            parts = [_render(p, region) for p in arg[1]]
            return None if any(p is None for p in parts) else str(arg[0]).join(p for p in parts if p is not None)
    return None


def _parameter_arn(name: str, region: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:*:ssm:{region}:*:parameter{name if name.startswith('/') else '/' + name}"


def _ssm_name(reference: str) -> str:
    """`name` or `name:version` of an ssm dynamic reference: the name (a trailing numeric version dropped)."""
    head, _, tail = reference.rpartition(":")
    return head if head and tail.isdigit() else reference


def _secret_arn(reference: str, region: str) -> str:
    if reference.startswith("arn:"):
        return ":".join(reference.split(":")[:7])
    # A secret's ARN is its name, '-' and six random characters (Secrets Manager's ARN format).
    return f"arn:*:secretsmanager:{region}:*:secret:{reference.split(':', maxsplit=1)[0]}-??????"


def template_references(stack: str, template: Mapping[str, Any], region: str) -> set[tuple[str, str]]:
    """(action, resource pattern) CloudFormation needs to evaluate the template's intrinsics, SSM parameter types and
    dynamic references (see TEMPLATE_REFERENCES' comment); an intrinsic with no entry is refused by name."""
    region = region if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region or "") else "*"
    found: set[tuple[str, str]] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for service, ref in _DYNAMIC.findall(value):
                if service == "secretsmanager":
                    found.add(("secretsmanager:GetSecretValue", _secret_arn(ref, region)))
                else:
                    found.add(("ssm:GetParameters", _parameter_arn(_ssm_name(ref), region)))
            if match := _IMAGE_SSM.match(value):
                found.add(("ssm:GetParameters", _parameter_arn(_ssm_name(match.group(1)), region)))
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key.startswith("Fn::") and key not in NO_CALL_INTRINSICS and key not in TEMPLATE_REFERENCES:
                    raise PolicyError(f"{stack}: {key}: no entry for what CloudFormation calls to evaluate it")
                if key == "Fn::GetAZs":
                    found.update((a, "*") for a in GET_AZS_ACTIONS)  # Describe* take no resource-level permissions
                elif key == "Fn::GetStackOutput":
                    found.add(_stack_output(stack, item, region))
                walk(item)

    walk({k: v for k, v in template.items() if k != "Parameters"})
    for name, parameter in template.get("Parameters", {}).items():
        if str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value<"):
            if not isinstance(parameter.get("Default"), str):
                raise PolicyError(f"{stack}: parameter {name}: an SSM parameter type without a Default name")
            found.add(("ssm:GetParameters", _parameter_arn(parameter["Default"], region)))
    return found


def _stack_output(stack: str, arg: Mapping[str, Any], region: str) -> tuple[str, str]:
    if "RoleArn" in arg:
        role = _render(arg["RoleArn"], region)
        if role is None or not role.startswith("arn:"):
            raise PolicyError(f"{stack}: Fn::GetStackOutput RoleArn {arg['RoleArn']!r} is not a role ARN")
        return ("sts:AssumeRole", role)
    name = _render(arg.get("StackName"), region)
    where = _render(arg.get("Region", {"Ref": "AWS::Region"}), region)
    if name is None or where is None:
        raise PolicyError(f"{stack}: Fn::GetStackOutput names no literal stack: {arg!r}")
    return ("cloudformation:DescribeStacks", f"arn:*:cloudformation:{where}:*:stack/{name}/*")


def reference_statements(
    templates: Mapping[str, Mapping[str, Any]], regions: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One Allow statement per action, on the resources the templates reference."""
    by_action: dict[str, set[str]] = {}
    for stack, template in templates.items():
        for action, resource in template_references(stack, template, regions.get(stack, "")):
            by_action.setdefault(action, set()).add(resource)
    return [
        {
            "Sid": "TemplateReferences" + re.sub(r"[^A-Za-z0-9]", "", action),
            "Effect": "Allow",
            "Action": action,
            "Resource": sorted(resources) if "*" not in resources else "*",
        }
        for action, resources in sorted(by_action.items())
    ]
