"""Data files in a Lambda's code asset (constructs/python_function.py): what travels there instead of the 4 KB
environment, laid out so the asset's hash follows the code and the data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Aws, Stack
from constructs.python_function import lambda_asset_with_files


def _asset(outdir: Path, files: dict[str, str]) -> Path:
    stack = Stack(App(outdir=str(outdir)), "S")
    code = lambda_asset_with_files(stack, ("smoke",), files)
    config = code.bind(stack)
    assert config.s3_location is not None
    return outdir / f"asset.{config.s3_location.object_key.split('.', 1)[0]}"


def test_the_asset_holds_the_package_and_the_data_and_its_hash_follows_the_data(tmp_path: Path) -> None:
    first = _asset(tmp_path / "a", {"smoke/checks.json": "[1]"})
    again = _asset(tmp_path / "b", {"smoke/checks.json": "[1]"})
    other = _asset(tmp_path / "c", {"smoke/checks.json": "[2]"})
    assert (first / "smoke" / "handler.py").is_file() and (first / "smoke" / "__init__.py").is_file()
    assert (first / "smoke" / "checks.json").read_text() == "[1]"
    assert first.name == again.name != other.name
    assert not list(first.rglob("__pycache__")) and sorted(p.name for p in first.iterdir()) == ["smoke"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"smoke/handler.py": "x"}, "would overwrite code or leave the asset"),
        ({"../escape.json": "x"}, "would overwrite code or leave the asset"),
        ({"smoke/checks.json": f"[{Aws.ACCOUNT_ID!r}]"}, "hold deploy-time values"),
    ],
)
def test_data_that_cannot_ship_is_refused(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _asset(tmp_path, files)


def test_every_cluster_client_is_made_by_cluster_function() -> None:
    """A Lambda that calls the cluster's API is made by one block (python_function.cluster_function): where it runs and
    its eks:DescribeCluster are written once, not again in each construct (four did before)."""
    root = Path(__file__).resolve().parent.parent / "constructs"
    writers = sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*.py") if '"eks:DescribeCluster"' in p.read_text()
    )
    assert writers == ["python_function.py"]
    callers = {p.relative_to(root).as_posix() for p in root.rglob("*.py") if "cluster_function(" in p.read_text()}
    assert {
        "access/pod_credentials.py",
        "controller/gateway_api_crds.py",
        "controller/gateway_controller.py",
        "dns/records.py",
        "workload/finalizer_guard.py",
    } <= callers


def test_cluster_function_runs_in_the_private_subnets_and_describes_only_its_cluster() -> None:
    from aws_cdk import Duration
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_eks_v2 as eks
    from aws_cdk import aws_logs as logs
    from aws_cdk.assertions import Match, Template
    from constructs.python_function import cluster_function

    stack = Stack(App(), "S")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    group = ec2.SecurityGroup(stack, "Clients", vpc=vpc)
    cluster = eks.Cluster.from_cluster_attributes(stack, "Cluster", cluster_name="c")
    cluster_function(
        stack,
        "Fn",
        cluster=cluster,
        vpc=vpc,
        security_group=group,
        packages=("k8s_api",),
        handler="k8s_api.client.handler",
        description="d",
        timeout=Duration.minutes(1),
        log_retention=logs.RetentionDays.ONE_DAY,
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "VpcConfig": {
                "SecurityGroupIds": [{"Fn::GetAtt": [Match.string_like_regexp("Clients"), "GroupId"]}],
                "SubnetIds": [
                    {"Ref": Match.string_like_regexp("VpcPrivateSubnet1")},
                    {"Ref": Match.string_like_regexp("VpcPrivateSubnet2")},
                ],
            }
        },
    )
    statements = [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "eks:DescribeCluster"
    ]
    assert len(statements) == 1
    assert "cluster/c" in json.dumps(stack.resolve(statements[0]["Resource"]))
