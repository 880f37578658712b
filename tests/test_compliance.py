"""cdk-nag (AwsSolutions) and cfn-lint over every synthesized template."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Synthesized

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


def acknowledgments(synth: Synthesized) -> list[tuple[str, str, str]]:
    """(construct path, rule id, reason) for every acknowledgment in the app."""
    found: list[tuple[str, str, str]] = []
    for construct in synth.app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == "aws:cdk:acknowledged-rules":
                found.extend((construct.node.path, rule, reason) for rule, reason in entry.data.items())
    return found


def test_every_acknowledgment_names_rule_resource_and_reason(synth: Synthesized) -> None:
    # (aws-cdk-lib acknowledges some of its own CloudFormation-Validate rules at stack level; ours are cdk-nag's.)
    found = [a for a in acknowledgments(synth) if a[1].startswith("AwsSolutions::AwsSolutions-")]
    assert found, "no acknowledgments found: the metadata format changed?"
    for path, rule, reason in found:
        assert "/" in path, (path, rule)  # attached to a resource, never to a whole stack
        assert len(reason) > 20, (path, rule, reason)


@pytest.mark.parametrize("stack_name", ["EksLatticeGateway-Platform", "EksLatticeGateway-Gateway"])
def test_cfn_lint_finds_nothing(synth: Synthesized, stack_name: str) -> None:
    from cfnlint.api import ManualArgs, lint_file

    path = Path(synth.stacks[stack_name].template_full_path)
    matches = lint_file(path, config=ManualArgs(regions=["ap-northeast-2", "us-east-1"]))
    findings = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id not in CFN_LINT_IGNORES]
    assert findings == []
