"""A Python Lambda function built from one package under `lambda/`, with the project's defaults."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Aws, Duration, RemovalPolicy, Stage, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.nag import acknowledge

LAMBDA_ROOT = Path(__file__).resolve().parent.parent / "lambda"
RUNTIME = lambda_.Runtime.PYTHON_3_14  # the newest Lambda runtime (cdk-nag AwsSolutions-L1)


def lambda_asset(*packages: str) -> lambda_.Code:
    """Only the named packages of `lambda/` (plus nothing else), so an unrelated change keeps the hash."""
    for package in packages:
        if not (LAMBDA_ROOT / package / "__init__.py").is_file():
            raise FileNotFoundError(f"lambda/{package} is not a Python package")
    keep = [f"!{p}" for p in packages] + [f"!{p}/**" for p in packages]
    return lambda_.Code.from_asset(str(LAMBDA_ROOT), exclude=["*", *keep, "**/__pycache__", "**/*.pyc"])


def _package_files(packages: tuple[str, ...]) -> list[Path]:
    return sorted(
        f
        for p in packages
        for f in (LAMBDA_ROOT / p).rglob("*")
        if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc"
    )


def lambda_asset_with_files(scope: Construct, packages: tuple[str, ...], files: Mapping[str, str]) -> lambda_.Code:
    """The named packages plus data `files` (path inside the asset -> text), for data a handler reads that would
    outgrow the environment (4 KB in all). They are laid out in a source folder of their own in the assembly
    (named by the hash of what it holds, so a re-synth reuses it and staging-disabled synths still find it), and
    the asset's hash changes exactly when the code or the data does."""
    lambda_asset(*packages)  # the same checks on the package names
    if unresolved := [name for name, text in files.items() if Token.is_unresolved(text)]:
        raise ValueError(f"data files {unresolved} hold deploy-time values; pass those in the environment")
    sources = _package_files(packages)
    digest = hashlib.sha256(json.dumps(sorted(files.items())).encode())
    for source in sources:
        digest.update(str(source.relative_to(LAMBDA_ROOT)).encode() + b"\0" + source.read_bytes())
    # No "." in the name: CDK would take what follows it for a file extension and put it in the asset's name.
    target = Path(Stage.of(scope).asset_outdir) / f"source-{digest.hexdigest()[:32]}"  # type: ignore[union-attr]
    if not target.is_dir():
        scratch = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        shutil.rmtree(scratch, ignore_errors=True)
        for source in sources:
            dest = scratch / source.relative_to(LAMBDA_ROOT)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
        for name, text in files.items():
            dest = scratch / name
            if dest.exists() or not dest.resolve().is_relative_to(scratch.resolve()):
                raise ValueError(f"data file {name!r} would overwrite code or leave the asset")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
        try:
            scratch.rename(target)
        except OSError:  # another synth in this assembly laid out the same folder first
            shutil.rmtree(scratch, ignore_errors=True)
    return lambda_.Code.from_asset(str(target))


class PythonFunction(Construct):
    """Lambda with an explicit role (inline policies only), its own log group with retention, and ARM64."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        packages: tuple[str, ...],
        handler: str,
        description: str,
        timeout: Duration,
        log_retention: logs.RetentionDays,
        environment: dict[str, str] | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: list[ec2.ISecurityGroup] | None = None,
        memory_size: int = 256,
        role_name: str | None = None,
        files: Mapping[str, str] | None = None,
    ) -> None:
        """`role_name`: a fixed name, for a role another account's trust policy names (else generated).
        `files`: data files shipped in the code asset (path -> text), for data too large for the environment."""
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} (Lambda)",
            role_name=role_name,
        )
        # Logging is granted to this function's own log group only (no AWSLambdaBasicExecutionRole).
        self.log_group.grant_write(self.role)
        if vpc is not None:
            # Lambda manages the function's network interfaces with this role. DescribeNetworkInterfaces works
            # only on "*" (read-only); the writes are held to this account and region, the scope the Lambda
            # developer guide gives for them (arn:...:ec2:<region>:<account>:*/*).
            self.role.add_to_policy(iam.PolicyStatement(actions=["ec2:DescribeNetworkInterfaces"], resources=["*"]))
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=[f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:*/*"],
                )
            )
            acknowledge(
                self.role,
                "AwsSolutions-IAM5[Resource::*]",
                "Lambda VPC networking: ec2:DescribeNetworkInterfaces supports no resource-level permissions.",
            )
            acknowledge(
                self.role,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:*/*]",
                "Lambda VPC networking: the function's network interfaces get their IDs at run time; "
                "this account and region only.",
            )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_asset_with_files(self, packages, files) if files else lambda_asset(*packages),
            handler=handler,
            description=description,
            timeout=timeout,
            memory_size=memory_size,
            role=self.role,
            log_group=self.log_group,
            environment=environment,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
        )
        self.function.node.add_dependency(self.role)


def cluster_function(
    scope: Construct,
    construct_id: str,
    *,
    cluster: eks.ICluster,
    vpc: ec2.IVpc,
    security_group: ec2.ISecurityGroup,
    packages: tuple[str, ...],
    handler: str,
    description: str,
    timeout: Duration,
    log_retention: logs.RetentionDays,
    environment: dict[str, str] | None = None,
    files: Mapping[str, str] | None = None,
) -> PythonFunction:
    """A PythonFunction (made in `scope` under `construct_id`, so its logical ids are a PythonFunction's) that calls
    `cluster`'s Kubernetes API, as every cluster client here: in the cluster VPC's private subnets with the cluster
    clients' security group, so it reaches a private-only API endpoint too (and the internet through the NAT
    gateway), and allowed eks:DescribeCluster (its endpoint and CA) on this cluster only. Its Kubernetes rights
    come from the caller's access entry."""
    function = PythonFunction(
        scope,
        construct_id,
        packages=packages,
        handler=handler,
        description=description,
        timeout=timeout,
        log_retention=log_retention,
        environment=environment,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        security_groups=[security_group],
        files=files,
    )
    function.role.add_to_policy(iam.PolicyStatement(actions=["eks:DescribeCluster"], resources=[cluster.cluster_arn]))
    return function
