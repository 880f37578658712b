"""Whether CloudFormation creates a function's log group before the custom resources that function serves.

A log group CloudFormation creates under the name Lambda writes to (/aws/lambda/<function>, its LogGroupName built
from a Ref to the function: aws-cdk-lib's `@aws-cdk/aws-lambda:useCdkManagedLogGroup` group) depends on the
function only. If a custom resource invokes the function first, Lambda creates that group itself and the
AWS::Logs::LogGroup then fails with "already exists" (aws/aws-cdk#667 describes the race, #34612 the error; read
2026-12-06). A log group the function names in LoggingConfig.LogGroup is safe: the function depends on it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tests.support.template_refs import refs, waits_for

CUSTOM = ("Custom::", "AWS::CloudFormation::CustomResource")


def managed_log_groups(resources: Mapping[str, Any]) -> dict[str, str]:
    """function logical id -> the AWS::Logs::LogGroup named /aws/lambda/<that function> in the same template."""
    found = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Logs::LogGroup":
            continue
        name = resource.get("Properties", {}).get("LogGroupName")
        if "/aws/lambda/" not in json.dumps(name):
            continue
        for ref in refs(name):
            if resources.get(ref, {}).get("Type") == "AWS::Lambda::Function":
                found[ref] = logical_id
    return found


def serving_functions(resources: Mapping[str, Any], logical_id: str) -> set[str]:
    """The functions of this template that run for a custom resource: its ServiceToken's, and every function whose
    ARN a serving function's environment holds (a provider framework's onEvent calls the user's handler)."""
    token = resources[logical_id].get("Properties", {}).get("ServiceToken")
    todo = [ref for ref in refs(token) if resources.get(ref, {}).get("Type") == "AWS::Lambda::Function"]
    found: set[str] = set()
    while todo:
        function = todo.pop()
        if function in found:
            continue
        found.add(function)
        variables = resources[function].get("Properties", {}).get("Environment", {}).get("Variables", {})
        todo += [ref for ref in refs(variables) if resources.get(ref, {}).get("Type") == "AWS::Lambda::Function"]
    return found


def unordered(template: Mapping[str, Any]) -> list[str]:
    """'<custom resource> before <log group>' for each custom resource that does not wait for the CDK-managed log
    group of a function serving it."""
    resources = template.get("Resources", {})
    groups = managed_log_groups(resources)
    found = []
    for logical_id, resource in resources.items():
        if not str(resource.get("Type", "")).startswith(CUSTOM):
            continue
        needs = waits_for(resources, logical_id)
        for function in sorted(serving_functions(resources, logical_id)):
            group = groups.get(function)
            if group is not None and group not in needs:
                found.append(f"{logical_id} before {group}")
    return found
