"""The routing smoke test: a small Lambda in the client VPC (no standing cost, no inbound access) that
resolves each route's hostname through the private zone and requests every rule (`make smoke`).

Under AWS_IAM it signs with its own role (which every route's policy names) and also sends each route an
unsigned request that must be refused; a second function, with a role of its own that no route names, sends
each route a signed request that must be refused too. (Each signs with its own role: the client VPC has no STS
endpoint, so neither could assume another.)"""

from __future__ import annotations

import json

from aws_cdk import Aws, CfnOutput, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.lattice import LatticePrefixListEgress, LatticePrefixLists
from constructs.python_function import PythonFunction
from constructs.sharing import grant_invoke
from constructs.smoke.checks import SECOND_IDENTITY, UNSIGNED, ca_bundle_files, denial_checks, smoke_checks

from config import AppConfig
from config.routes import SERVICE_PORT_HTTP

# Where the checks travel: a file in the function's code asset that lambda/smoke/handler.py reads (CHECKS_FILE
# there). Not the environment: Lambda allows 4 KB of variables in all, which the checks of seven routes exceed.
CHECKS_FILE = "smoke/checks.json"


def smoke_ports(config: AppConfig) -> tuple[int, ...]:
    """The listener ports the smoke functions connect to: HTTP's 80 always, and the other protocols' routes' ports."""
    return (SERVICE_PORT_HTTP, *sorted({r.listener_port for r in config.routes if r.protocol != "HTTP"}))


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
        prefix_lists: LatticePrefixLists,
        sign_for: str | None = None,
        consumer: tuple[str, str] | None = None,
        description: str = "Routing smoke test from the client VPC through Lattice",
    ) -> None:
        """`sign_for`: the provider account whose Lattice services the requests are SigV4-signed for (a
        consumer VPC's callers are admitted by account, not by source VPC); the role may invoke them.
        `consumer`: (name, account) of the consumer this test runs for; routes that do not admit its account
        must refuse it. Without it (the provider's own test), AWS_IAM signs and adds the denial checks.
        `prefix_lists`: the stack's lookup of Lattice's managed prefix lists, the only destination of its egress (IPv4
        only: the functions don't set Ipv6AllowedForDualStack, so they send no IPv6 even from a dual-stack subnet)."""
        super().__init__(scope, construct_id)
        iam_auth = config.service_network_auth_type == "AWS_IAM"
        provider = Aws.ACCOUNT_ID if consumer is None else sign_for
        sign = sign_for is not None or iam_auth
        if consumer is not None:
            checks = smoke_checks(config, caller=f"consumer {consumer[0]}", account=consumer[1])
        else:
            checks = smoke_checks(config) + denial_checks(config, caller=UNSIGNED)
        security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            # Unchanged since the first release: a new description would replace the group (create-only).
            description="Smoke test: HTTP out to Lattice services only, nothing in",
            allow_all_outbound=False,
        )
        # Out only to Lattice's addresses (its managed prefix lists), on HTTP's 80 and the other protocols' listener
        # ports (HTTPS and gRPC on 443, TLS passthrough on its own), only when used; past three ports some are
        # joined into ranges (egress_ranges). The handler opens no other connection: name resolution goes to the
        # Amazon DNS server, which security groups don't filter (unlike a VPC's own DNS servers: egress.py), and it
        # signs with the credentials Lambda puts in its environment.
        LatticePrefixListEgress(
            self,
            "LatticeEgress",
            prefix_lists=prefix_lists,
            security_group_id=security_group.security_group_id,
            standing_port=SERVICE_PORT_HTTP,
            ports=smoke_ports(config),
        )
        # Private CAs' bundles, beside the handler, named as the checks' caBundle says.
        ca_files = {f"smoke/{name}": text for name, text in ca_bundle_files(config).items()}

        def function(construct_id: str, checks: list[dict[str, object]], what: str) -> PythonFunction:
            fn = PythonFunction(
                self,
                construct_id,
                packages=("smoke",),
                handler="smoke.handler.handler",
                description=what,
                timeout=Duration.minutes(5),
                log_retention=log_retention,
                vpc=vpc,
                vpc_subnets=subnets,
                security_groups=[security_group],
                environment={"SIGV4_REGION": Aws.REGION} if sign else None,
                files={CHECKS_FILE: json.dumps(checks, indent=1, ensure_ascii=False) + "\n", **ca_files},
            )
            if sign and provider is not None:
                # The identity half; the route policies decide (the second identity has it too, so its 403
                # proves the route policy refuses it, not a missing permission of its own).
                grant_invoke(fn.role, provider_account=provider)
            return fn

        self.function = function("Function", checks, description)
        CfnOutput(
            self,
            "SmokeTestFunctionName",
            key="SmokeTestFunctionName",
            value=self.function.function.function_name,
            description="Run with `make smoke`",
        )
        self.second_identity: PythonFunction | None = None
        if consumer is None and iam_auth:
            self.second_identity = function(
                "SecondIdentityFunction",
                denial_checks(config, caller=SECOND_IDENTITY),
                "Smoke test as a second identity no route admits: every route must refuse it (403)",
            )
            CfnOutput(
                self,
                "SmokeTestSecondIdentityFunctionName",
                key="SmokeTestSecondIdentityFunctionName",
                value=self.second_identity.function.function_name,
                description="Run by `make smoke` after SmokeTestFunctionName",
            )
