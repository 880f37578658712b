"""cdk-nag (AwsSolutions) and cfn-lint over every synthesized template."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Synthesized
from tests.support import scans

# cfn-lint rules ignored on purpose, each with its reason. Keep this empty unless a finding is wrong.
CFN_LINT_IGNORES: dict[str, str] = {
    "W3005": "aws-cdk-lib adds DependsOn beside a Ref/GetAtt on purpose (a role and its policy must exist "
    "before the function that uses them); the redundancy is harmless and not ours to remove",
}


def test_cdk_nag_has_no_unacknowledged_findings(synth: Synthesized) -> None:
    """cdk-nag 3.x runs as a policy-validation plugin during synth; the report lists only failing plugins."""
    report = synth.validation_report
    assert report is not None, "cdk-nag did not run (no validation report)"
    violations = [
        (p["pluginName"], v["ruleName"], c["constructPath"])
        for p in report["pluginReports"]
        for v in p["violations"]
        for c in v["violatingConstructs"]
    ]
    assert violations == []


def test_every_acknowledgment_names_rule_resource_and_reason(synth: Synthesized) -> None:
    """cdk-nag writes each acknowledgment into the acknowledged resource's Metadata: rule id and reason."""
    found = [
        (stack, logical_id, rule)
        for stack, template in synth.templates.items()
        for logical_id, resource in template["Resources"].items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    # aws-cdk-lib acknowledges a few of its own CloudFormation-Validate rules; ours are cdk-nag's.
    ours = [f for f in found if not f[2]["id"].startswith("CloudFormation-Validate::")]
    assert ours, "no acknowledgments in the templates: was write_suppressions_to_cloud_formation dropped?"
    for stack, logical_id, rule in ours:
        assert rule["id"].startswith("AwsSolutions::AwsSolutions-"), (stack, logical_id, rule)
        assert len(rule["reason"]) > 20, (stack, logical_id, rule)


@pytest.mark.parametrize("stack_name", ["EksLatticeGateway-Platform", "EksLatticeGateway-Gateway"])
def test_cfn_lint_finds_nothing(synth: Synthesized, stack_name: str) -> None:
    path = Path(synth.stacks[stack_name].template_full_path)
    findings = scans.cfn_lint(path, regions=["ap-northeast-2", "us-east-1"])
    assert [str(f) for f in findings if f.rule not in CFN_LINT_IGNORES] == []


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_no_state_machine_logs_execution_data(request: pytest.FixtureRequest, which: str) -> None:
    """The provider framework's waiter gets the whole CloudFormation event, presigned ResponseURL included,
    as its execution input: logging execution data would let log readers answer for in-flight resources.
    cdk-nag SF1 is about the level (ALL), which stays."""
    synthesized: Synthesized = request.getfixturevalue(which)
    machines = {
        (stack, logical_id): resource["Properties"]
        for stack, template in synthesized.templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
    }
    assert len(machines) >= 2, machines.keys()  # the DNS waiter and the drain waiter at least
    for key, props in machines.items():
        logging_config = props.get("LoggingConfiguration", {})
        assert logging_config.get("Level") == "ALL", key
        assert not logging_config.get("IncludeExecutionData", False), key
