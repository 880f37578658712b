"""Every string the app emits, against what its service accepts (the table is tests/service_constraints.py).

Issue 9: an apostrophe in a security-group rule description passed cfn-lint and cdk-nag, then EC2 refused it
15 minutes into the first deploy. One pass over every template of every synthesis the suite makes: the default
app, the variant, and both pipelines (each holds the whole app in every stage).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PipelineSynth, Synthesized
from tests.service_constraints import (
    ROWS,
    TOKEN,
    Report,
    Row,
    Template,
    assembly_templates,
    check_templates,
    uncovered_name_properties,
)


@pytest.fixture(scope="module")
def all_templates(
    synth: Synthesized, variant: Synthesized, two_stages: PipelineSynth, one_stage: PipelineSynth
) -> list[tuple[str, Template]]:
    templates: list[tuple[str, Template]] = []
    for label, outdir in (
        ("default", synth.outdir),
        ("variant", variant.outdir),
        ("pipeline-two", two_stages.outdir),
        ("pipeline-one", one_stage.outdir),
    ):
        templates += [(f"{label}:{name}", template) for name, template in assembly_templates(outdir)]
    return templates


@pytest.fixture(scope="module")
def report(all_templates: list[tuple[str, Template]]) -> Report:
    return check_templates(all_templates)


def test_every_synthesis_is_read(all_templates: list[tuple[str, Template]]) -> None:
    """Default (2 stacks) and variant (2 + its two consumer stacks), the two-stage pipeline (pipeline, support
    stack, 2 x 2 stage stacks, the prod smoke-access stack, and per stage two consumer stacks with their
    smoke-access stacks) and the one-stage pipeline (pipeline, 2 stage stacks)."""
    by_label: dict[str, int] = {}
    for name, _ in all_templates:
        label = name.split(":")[0]
        by_label[label] = by_label.get(label, 0) + 1
    assert by_label == {"default": 2, "variant": 4, "pipeline-two": 15, "pipeline-one": 3}


def test_every_emitted_string_is_accepted_by_its_service(report: Report) -> None:
    print(f"\n{report.table()}")
    assert [str(f) for f in report.findings] == []


def test_every_row_checks_something(report: Report) -> None:
    """A row whose property the app no longer emits (or only as one intrinsic) is dead: fix or drop it."""
    dead = [row.key for row in ROWS if report.rows_hit[row.key] == 0]
    assert dead == []


def test_no_name_property_goes_unchecked(all_templates: list[tuple[str, Template]]) -> None:
    """A new resource type or property with literal names/descriptions needs a row (or a reasoned EXEMPT)."""
    assert uncovered_name_properties(all_templates) == set()


def test_table_counts_by_resource_type(report: Report) -> None:
    table = report.table()
    for kind in ("AWS::EC2::SecurityGroupIngress", "AWS::IAM::Role", "Custom::AWSCDK-EKS-KubernetesResource"):
        assert kind in table
    assert sum(report.checked.values()) > 1000  # every stack of four syntheses
    assert report.partial["AWS::Logs::LogGroup"] > 0  # Fn::Join literal parts: /aws/lambda/<function>
    assert report.partial["AWS::VpcLattice::AuthPolicy"] > 0  # a policy naming the network by GetAtt


# ------------------------------------------------------------------------------------- the checker can fail


def _row(key: str) -> Row:
    (row,) = (r for r in ROWS if r.key == key)
    return row


def _one(kind: str, props: dict[str, Any]) -> Template:
    return {"Resources": {"R": {"Type": kind, "Properties": props}}}


OLD_RULE = "Kubernetes API from this app's Lambda functions"


def test_rejects_the_old_security_group_rule_description() -> None:
    """The description that would have rolled back the first deploy, as constructs/cluster/eks.py emitted it."""
    template = _one("AWS::EC2::SecurityGroupIngress", {"Description": OLD_RULE, "IpProtocol": "tcp"})
    report = check_templates([("old", template)])
    (finding,) = report.findings
    assert finding.location == "old/R/Description"
    assert '"\'"' in str(finding)
    assert "EC2 API reference" in str(finding)
    fixed = _one("AWS::EC2::SecurityGroupIngress", {"Description": OLD_RULE.replace("this app's", "this app")})
    assert check_templates([("fixed", fixed)]).findings == []


def _manifest(*objects: dict[str, Any]) -> dict[str, Any]:
    import json

    return {"Manifest": json.dumps(list(objects))}


def _deployment(labels: dict[str, str], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "demo", "namespace": "default", "labels": labels}
    if annotations is not None:
        metadata["annotations"] = annotations
    return {"kind": "Deployment", "metadata": metadata, "spec": {"selector": {"matchLabels": labels}}}


K8S = "Custom::AWSCDK-EKS-KubernetesResource"
BAD: list[tuple[str, dict[str, Any], str]] = [
    # (resource type, properties, expected problem) -- one per kind of row
    ("AWS::EC2::SecurityGroup", {"GroupDescription": "Lattice's group"}, "outside"),
    ("AWS::EC2::SecurityGroup", {"SecurityGroupIngress": [{"Description": "x & y"}]}, "outside"),
    ("AWS::EC2::SecurityGroup", {"GroupDescription": "x" * 256}, "256 chars > 255"),
    ("AWS::IAM::Role", {"RoleName": "role name"}, "does not match"),
    ("AWS::IAM::Role", {"RoleName": "r" * 65}, "65 chars > 64"),
    ("AWS::IAM::Role", {"Description": "smart \u201cquotes\u201d"}, "does not match"),
    ("AWS::IAM::Policy", {"PolicyName": "a/b"}, "does not match"),
    ("AWS::IAM::ManagedPolicy", {"Path": "no-slashes"}, "does not match"),
    ("AWS::Lambda::Function", {"Description": "d" * 257}, "257 chars > 256"),
    ("AWS::Lambda::Function", {"Environment": {"Variables": {"BIG": "v" * 4090}}}, "bytes > 4096"),
    ("AWS::Logs::LogGroup", {"LogGroupName": {"Fn::Join": ["", ["/aws/lambda:", {"Ref": "F"}]]}}, "':'"),
    ("AWS::VpcLattice::ServiceNetwork", {"Name": "Demo_SN"}, "does not match"),
    ("AWS::VpcLattice::ServiceNetwork", {"Name": "demo--sn"}, "does not match"),
    ("AWS::VpcLattice::AuthPolicy", {"Policy": {"Statement": [{"Sid": "s" * 10240}]}}, "bytes > 10000"),
    ("AWS::Route53::HostedZone", {"Name": f"{'a' * 64}.example.com."}, "longer than 63"),
    ("AWS::Route53::HostedZone", {"Name": "api example.com"}, "outside"),
    ("AWS::EKS::Cluster", {"Name": "-cluster"}, "does not match"),
    ("AWS::EKS::Nodegroup", {"NodegroupName": "ng.1"}, "outside"),
    ("AWS::EKS::Addon", {"AddonName": "vpc_cni"}, "does not match"),
    ("AWS::EKS::PodIdentityAssociation", {"Namespace": "Kube-System"}, "does not match"),
    ("AWS::KMS::Alias", {"AliasName": "alias/aws/mine"}, "alias/aws/"),
    ("AWS::KMS::Key", {"Description": "k" * 8193}, "8193 chars > 8192"),
    ("AWS::StepFunctions::StateMachine", {"DefinitionString": '{"States":{"wait: 10s":{}}}'}, "outside"),
    ("AWS::EC2::VPC", {"Tags": [{"Key": "aws:owner", "Value": "x"}]}, "reserved prefix"),
    ("AWS::EC2::VPC", {"Tags": [{"Key": "Name", "Value": "a;b"}]}, "does not match"),
    ("AWS::EKS::Cluster", {"Name": "c", "Tags": {"k" * 128: "v"}}, "128 chars > 127"),
    ("AWS::CodePipeline::Pipeline", {"Stages": [{"Name": "deploy prod", "Actions": []}]}, "does not match"),
    ("AWS::CodeBuild::Project", {"Name": "_build"}, "does not match"),
    ("AWS::S3::Bucket", {"BucketName": "My-Bucket"}, "does not match"),
    ("AWS::S3::Bucket", {"BucketName": "xn--bucket"}, "reserved prefix"),
    (K8S, _manifest(_deployment({"app": "-bad-"})), "does not match"),
    (K8S, _manifest(_deployment({"app": "a" * 64})), "64 chars > 63"),
    (K8S, _manifest(_deployment({"example.com/app/x": "a"})), "more than one '/'"),
    (K8S, _manifest(_deployment({f"example.com/{'a' * 64}": "a"})), "is not 1-63"),
    (K8S, {"Manifest": "[]", "PruneLabel": "aws.cdk.eks/prune-"}, "is not 1-63"),
    (K8S, _manifest(_deployment({"app": "a"}, {"big": "x" * 262142})), "bytes > 262144"),
    (K8S, _manifest({"kind": "Service", "metadata": {"name": "1st-service"}}), "does not match"),
    (K8S, _manifest({"kind": "Namespace", "metadata": {"name": "team.a"}}), "does not match"),
    (K8S, _manifest({"kind": "ConfigMap", "metadata": {"name": "Config", "namespace": "default"}}), "does not"),
    (K8S, _manifest({"kind": "Gateway", "metadata": {"name": "svc-sn-"}}), "does not match"),
    (K8S, _manifest({"kind": "HTTPRoute", "metadata": {"name": "r"}, "spec": {"hostnames": ["a..com"]}}), "label"),
    (K8S, _manifest({"kind": "IAMAuthPolicy", "metadata": {"name": "p"}, "spec": {"policy": "p" * 10001}}), "> 10000"),
    ("Custom::AWSCDK-EKS-HelmChart", {"Release": "r" * 54}, "54 chars > 53"),
    ("Custom::AWSCDK-EKS-HelmChart", {"Values": '{"serviceAccount":{"name":"SA"}}'}, "does not match"),
    ("Custom::LatticeDnsRecord", {"RouteName": "Route_1"}, "does not match"),
    # a manifest the checker can't read (an intrinsic outside a JSON string) fails rather than passing unread
    (
        K8S,
        {"Manifest": {"Fn::Join": ["", ['[{"kind":"Deployment","spec":{"replicas":', {"Ref": "N"}, "}}]"]]}},
        "not JSON",
    ),
]


@pytest.mark.parametrize(("kind", "props", "problem"), BAD, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(BAD)])
def test_rejects_known_bad_values(kind: str, props: dict[str, Any], problem: str) -> None:
    report = check_templates([("bad", _one(kind, props))])
    assert report.findings, f"{kind} {props} passed"
    assert any(problem in p for f in report.findings for p in f.problems), [str(f) for f in report.findings]


def test_rejects_bad_outputs_and_template_descriptions() -> None:
    template = {"Description": "d" * 1025, "Outputs": {"O": {"Description": "o" * 1025, "Value": "v"}}}
    findings = {f.location: f.problems for f in check_templates([("t", template)]).findings}
    assert findings == {"t/O/Description": ("1025 chars > 1024",), "t//Description": ("1025 bytes > 1024",)}


def test_patterns_are_read_from_botocore() -> None:
    """The IAM role-name row holds botocore's current pattern, not a copy."""
    import botocore.loaders

    shapes = botocore.loaders.Loader().load_service_model("iam", "service-2")["shapes"]
    constraint = _row("AWS::IAM::Role RoleName").constraint
    assert constraint.pattern == shapes["roleNameType"]["pattern"]
    assert constraint.max_len == shapes["roleNameType"]["max"]


def test_values_with_intrinsics_check_literal_parts_and_count_the_rest() -> None:
    props = {"LogGroupName": {"Fn::Join": ["", ["/aws/lambda/", {"Ref": "F"}]]}}
    only_token = {"LogGroupName": {"Ref": "Name"}}
    report = check_templates(
        [("a", _one("AWS::Logs::LogGroup", props)), ("b", _one("AWS::Logs::LogGroup", only_token))]
    )
    assert report.findings == []
    assert (report.checked["AWS::Logs::LogGroup"], report.partial["AWS::Logs::LogGroup"]) == (0, 1)
    assert report.skipped["AWS::Logs::LogGroup"] == 1
    assert TOKEN not in report.table()


def test_uncovered_name_property_is_reported() -> None:
    template = _one("AWS::SNS::Topic", {"TopicName": "alerts", "DisplayName": {"Ref": "X"}})
    assert uncovered_name_properties([("t", template)]) == {"AWS::SNS::Topic TopicName"}
