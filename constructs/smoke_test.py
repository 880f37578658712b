"""The routing smoke test: a small Lambda in the client VPC (no standing cost, no inbound access) that
resolves each route's hostname through the private zone and requests every rule (`make smoke`)."""

from __future__ import annotations

import json

from aws_cdk import Aws, CfnOutput, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.lattice_sharing import grant_invoke
from constructs.python_function import PythonFunction
from constructs.smoke_checks import smoke_checks

from config import AppConfig


class SmokeTest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        log_retention: logs.RetentionDays,
        sign_for: str | None = None,
        description: str = "Routing smoke test from the client VPC through Lattice",
    ) -> None:
        """`sign_for`: the provider account whose Lattice services the requests are SigV4-signed for (a
        consumer VPC's callers are admitted by account, not by source VPC); the role may invoke them."""
        super().__init__(scope, construct_id)
        security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Smoke test: HTTP out to Lattice services only, nothing in",
            allow_all_outbound=False,
        )
        security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(80), "HTTP to Lattice services")
        self.function = PythonFunction(
            self,
            "Function",
            packages=("smoke",),
            handler="smoke.handler.handler",
            description=description,
            timeout=Duration.minutes(5),
            log_retention=log_retention,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[security_group],
            environment={
                "CHECKS": json.dumps(smoke_checks(config), separators=(",", ":")),
                **({"SIGV4_REGION": Aws.REGION} if sign_for else {}),
            },
        )
        if sign_for:
            grant_invoke(self.function.role, provider_account=sign_for)
        CfnOutput(
            self,
            "SmokeTestFunctionName",
            key="SmokeTestFunctionName",
            value=self.function.function.function_name,
            description="Run with `make smoke`",
        )
