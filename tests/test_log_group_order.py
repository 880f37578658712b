"""Class test: every custom resource in every shared synthesis waits for the CDK-managed log group of each function
that serves it (tests/support/log_group_order.py says why: otherwise the first invocation may create
/aws/lambda/<function> before CloudFormation does, and the AWS::Logs::LogGroup create fails)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PipelineSynth, Synthesized
from tests.support.egress import templates_under
from tests.support.log_group_order import managed_log_groups, unordered

SYNTHS = ["synth", "variant", "namespaced", "protocols", "protocols_consumers", "largest"]
PIPELINES = ["two_stages", "one_stage"]


def _findings(outdir: Path) -> tuple[list[str], int]:
    """(unordered pairs, how many custom resources a function with a managed log group serves)."""
    found, served = [], 0
    for name, template in templates_under(outdir).items():
        found += [f"{name}: {line}" for line in unordered(template)]
        resources = template.get("Resources", {})
        groups = managed_log_groups(resources)
        served += sum(
            1
            for r in resources.values()
            if r.get("Type") == "Custom::AWS"
            and any(ref[0] in groups for ref in [r["Properties"]["ServiceToken"].get("Fn::GetAtt", [""])])
        )
    return found, served


@pytest.mark.parametrize("which", SYNTHS + PIPELINES)
def test_each_custom_resource_waits_for_its_functions_log_group(request: pytest.FixtureRequest, which: str) -> None:
    synthesized: Synthesized | PipelineSynth = request.getfixturevalue(which)
    found, served = _findings(synthesized.outdir)
    assert found == []
    assert served > 0  # not vacuous: every synthesis has the prefix-list lookups on the shared function


def test_the_largest_pipeline_too(largest_pipeline: Path) -> None:
    found, served = _findings(largest_pipeline)
    assert found == [] and served > 0


def _template(depends_on: list[str]) -> dict[str, Any]:
    fn = {"Fn::GetAtt": ["Fn", "Arn"]}
    return {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Handler": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "OnEvent": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Environment": {"Variables": {"USER_ON_EVENT_FUNCTION_ARN": {"Fn::GetAtt": ["Handler", "Arn"]}}}
                },
            },
            "FnLogs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": {"Fn::Join": ["", ["/aws/lambda/", {"Ref": "Fn"}]]}},
            },
            "HandlerLogs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": {"Fn::Join": ["", ["/aws/lambda/", {"Ref": "Handler"}]]}},
            },
            "Policy": {"Type": "AWS::IAM::Policy", "DependsOn": ["FnLogs"], "Properties": {}},
            "Lookup": {"Type": "Custom::AWS", "DependsOn": depends_on, "Properties": {"ServiceToken": fn}},
            "Framework": {
                "Type": "Custom::Thing",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["OnEvent", "Arn"]}},
            },
        }
    }


def test_the_check_sees_a_custom_resource_that_can_run_before_the_log_group() -> None:
    """Not vacuous: the egress branch's Custom::AWS (DependsOn its policy only) is found, and so is a provider
    framework whose user handler's group nothing waits for; a dependency through another resource counts."""
    assert unordered(_template([])) == ["Lookup before FnLogs", "Framework before HandlerLogs"]
    assert unordered(_template(["Policy"])) == ["Framework before HandlerLogs"]
    assert unordered(_template(["FnLogs"])) == ["Framework before HandlerLogs"]
