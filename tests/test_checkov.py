"""checkov, the second scanner security teams run, over every template the suite synthesizes: one process.

checkov pins a boto3 that conflicts with the app's, so it lives in its own virtualenv, `.venv-checkov`
(requirements-scan.txt; `make test` creates it). Findings kept on purpose are acknowledged in the templates
themselves (constructs/compliance/checkov.py), where checkov reads them; this test fails on any other finding and on any
acknowledgment without a reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import Synthesized
from tests.support import scans

if TYPE_CHECKING:
    from tests.test_pipeline import PipelineSynth

# Under xdist this module is collected first, so the scan starts early on one worker while the other takes the
# rest (not --dist loadgroup: with pytest 9.2 and xdist 3.8 it silently stops grouping, pytest-xdist#1386).
# Templates unchanged since their last scan are not scanned again (tests/support/scans.py).
NO_REASON = {"", "No comment provided"}  # what checkov reports for a skip without a comment


def _templates(label: str, outdir: Path) -> dict[str, bytes]:
    """Every template of one cloud assembly, nested stage assemblies included, by a flat unique name."""
    return {
        f"{label}--{'--'.join(path.relative_to(outdir).parts)}": path.read_bytes()
        for path in sorted(outdir.rglob("*.template.json"))
    }


def test_checkov_finds_nothing_unacknowledged(
    synth: Synthesized,
    variant: Synthesized,
    protocols: Synthesized,
    two_stages: PipelineSynth,
    one_stage: PipelineSynth,
) -> None:
    templates: dict[str, bytes] = {}
    for label, outdir in (
        ("default", synth.outdir),
        ("variant", variant.outdir),
        ("protocols", protocols.outdir),
        ("pipeline-two", two_stages.outdir),
        ("pipeline-one", one_stage.outdir),
    ):
        templates |= _templates(label, outdir)
    # The app's two stacks twice, each pipeline with its stages' stacks, SmokeAccess and the cross-region stack.
    assert len(templates) >= 14, sorted(templates)

    if not scans.CHECKOV.is_file():
        pytest.fail(f"checkov not found at {scans.CHECKOV}: `make test` creates .venv-checkov (requirements-scan.txt)")
    results = scans.checkov(templates)
    assert results["parsing_errors"] == 0, results["parsing_errors"]
    checked = results["passed_checks"] + results["failed_checks"] + results["skipped_checks"]
    assert {c["file_path"] for c in checked} == set(templates), "checkov did not read every template"

    failed = [f"{c['check_id']} {c['file_path']} {c['resource']}" for c in results["failed_checks"]]
    assert failed == [], (
        "unacknowledged checkov findings (fix them, or acknowledge in constructs/compliance/checkov.py)"
    )
    no_reason = [
        f"{c['check_id']} {c['file_path']} {c['resource']}"
        for c in results["skipped_checks"]
        if (c.get("check_result", {}).get("suppress_comment") or "").strip() in NO_REASON
    ]
    assert no_reason == []
    assert results["skipped_checks"], "no acknowledgments read: was the Metadata.checkov.skip form dropped?"


# ------------------------------------------------------------------- what was fixed, and how it is acknowledged


def _resources(synth: Synthesized, kind: str, stack: str | None = None) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for name, template in synth.templates.items()
        if stack in (None, name)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def _ref(value: Any) -> str:
    """The logical id in a Ref or Fn::GetAtt."""
    return str(value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0])


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_request_and_flow_logs_use_the_rotating_log_key(request: pytest.FixtureRequest, which: str) -> None:
    app: Synthesized = request.getfixturevalue(which)
    groups = _resources(app, "AWS::Logs::LogGroup")
    # The provider's two VPCs and its access logs share one key; a consumer stack's VPC has its own.
    for stack, template in app.templates.items():
        for flow_log in (r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::FlowLog"):
            assert "KmsKeyId" in groups[_ref(flow_log["Properties"]["LogGroupName"])]["Properties"], stack
    platform = "EksLatticeGateway-Platform"
    flow = [_ref(f["Properties"]["LogGroupName"]) for f in _resources(app, "AWS::EC2::FlowLog", platform).values()]
    access = [
        _ref(s["Properties"]["DestinationArn"])
        for s in _resources(app, "AWS::VpcLattice::AccessLogSubscription", platform).values()
    ]
    assert len(flow) == 2 and len(access) == 1
    (key_id,) = {_ref(groups[g]["Properties"]["KmsKeyId"]) for g in flow + access}
    for group in flow + access:
        assert "CKV_AWS_158" not in {
            s["id"] for s in groups[group].get("Metadata", {}).get("checkov", {}).get("skip", [])
        }

    key = _resources(app, "AWS::KMS::Key")[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    (logs,) = [s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "CloudWatchLogsOfThisAccountAndRegion"]
    assert logs["Principal"] == {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":logs:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":log-group:*",
                    ],
                ]
            }
        }
    }
    assert not any(a.startswith("kms:Create") or a in ("kms:*", "kms:PutKeyPolicy") for a in logs["Action"])


# What each acknowledged check reads in the template: the finding is there only if this holds.
_FINDING = {
    "CKV_AWS_116": lambda p: "DeadLetterConfig" not in p,
    "CKV_AWS_115": lambda p: "ReservedConcurrentExecutions" not in p,
    "CKV_AWS_117": lambda p: "VpcConfig" not in p,
    "CKV_AWS_173": lambda p: "Environment" in p and "KmsKeyArn" not in p,
    "CKV_AWS_158": lambda p: "KmsKeyId" not in p,
    "CKV_AWS_111": lambda p: any(_writes_anything(s) for s in p["PolicyDocument"]["Statement"]),
    "CKV_AWS_109": lambda p: any(_writes_anything(s) for s in p["PolicyDocument"]["Statement"]),
    "CKV_AWS_18": lambda p: "LoggingConfiguration" not in p,
    "CKV_AWS_21": lambda p: "VersioningConfiguration" not in p,
    "CKV_AWS_60": lambda p: any(
        (s.get("Principal") or {}).get("AWS") == "*" for s in p["AssumeRolePolicyDocument"]["Statement"]
    ),
}


def _writes_anything(statement: dict[str, Any]) -> bool:
    """An unconditional Allow of an action that is not Get/List/Describe on any resource."""
    actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
    resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
    reads = ("Get", "List", "Describe", "Head", "BatchGet")
    return (
        statement["Effect"] == "Allow"
        and "Condition" not in statement
        and "*" in resources
        and any(not a.split(":", 1)[-1].startswith(reads) for a in actions)
    )


@pytest.mark.parametrize("which", ["synth", "variant", "two_stages", "one_stage"])
def test_acknowledgments_only_where_the_finding_is(request: pytest.FixtureRequest, which: str) -> None:
    """No resource carries an acknowledgment it does not need (e.g. CKV_AWS_117 on a function in a VPC)."""
    outdir: Path = request.getfixturevalue(which).outdir
    seen = set()
    for path in outdir.rglob("*.template.json"):
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            skips = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
            assert len({s["id"] for s in skips}) == len(skips), logical_id
            for skip in skips:
                seen.add(skip["id"])
                assert len(skip["comment"]) > 20, (logical_id, skip)
                assert _FINDING[skip["id"]](resource.get("Properties", {})), (path.name, logical_id, skip["id"])
    assert seen


def test_lambda_network_interface_writes_are_held_to_the_account_and_region(synth: Synthesized) -> None:
    writes = {"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses"}
    scoped = 0
    for policy in _resources(synth, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])
            if actions & writes:
                assert statement["Resource"] == {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":ec2:",
                            {"Ref": "AWS::Region"},
                            ":",
                            {"Ref": "AWS::AccountId"},
                            ":*/*",
                        ],
                    ]
                }
                scoped += 1
    # the CRD installer, both DNS handlers, both smoke functions, the controller credentials check, the finalizer guard
    assert scoped == 7


def test_an_acknowledgment_needs_a_checkov_id_and_a_reason() -> None:
    from constructs.compliance.checkov import Acknowledgment, CheckovAcknowledgments

    def row(check: str, reason: str) -> Acknowledgment:
        return Acknowledgment(
            check=check,
            resource_type="AWS::Logs::LogGroup",
            owner=lambda _: True,
            applies=lambda _: True,
            reason=reason,
        )

    CheckovAcknowledgments((row("CKV_AWS_158", "A reason long enough to say why."),))
    for check, reason in (("CKV_AWS_158", " "), ("AwsSolutions-IAM5", "A reason long enough to say why.")):
        with pytest.raises(ValueError, match="needs a checkov id and a reason"):
            CheckovAcknowledgments((row(check, reason),))


def test_resource_type_read_per_class_matches_each_resources_own() -> None:
    """The aspect takes an L1's CloudFormation type from its class, once per class (a jsii round trip per
    resource otherwise): for L1s of several modules, an L2's default child, a Python subclass of an L1, a raw
    CfnResource and a custom resource's, it must equal what the resource itself reports."""
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_sqs as sqs
    from constructs.compliance.checkov import resource_type_of

    class MyQueue(sqs.CfnQueue):
        pass

    stack = cdk.Stack(cdk.App(), "Types")
    logs.CfnLogGroup(stack, "L1Group")
    logs.LogGroup(stack, "L2Group")
    iam.CfnRole(stack, "Role", assume_role_policy_document={})
    MyQueue(stack, "Queue")
    cdk.CfnResource(stack, "Raw", type="AWS::SNS::Topic")
    cdk.CustomResource(stack, "Custom", service_token="arn:aws:lambda:::function:x", resource_type="Custom::Thing")
    resources = [node for node in stack.node.find_all() if isinstance(node, cdk.CfnResource)]
    reported = {node.node.path: node.cfn_resource_type for node in resources}
    assert {node.node.path: resource_type_of(node) for node in resources} == reported
    assert sorted(reported.values()) == sorted(
        ["AWS::Logs::LogGroup"] * 2 + ["AWS::IAM::Role", "AWS::SQS::Queue", "AWS::SNS::Topic", "Custom::Thing"]
    )
    # read again from the per-class cache: still each resource's own
    assert {node.node.path: resource_type_of(node) for node in resources} == reported
