"""Everything that runs on the cluster: Gateway API CRDs, the controller, the workload, the DNS records
and the smoke test.

A separate stack so that a failing chart, CRD download or route rolls back only this stack, never the
15-minute cluster; it reads the platform's values through weak references (no exports to get stuck on).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Stack
from constructs import Construct
from constructs.gateway_api_crds import GatewayApiCrds
from constructs.gateway_controller import GatewayController
from constructs.gateway_workload import GatewayWorkload
from constructs.lattice import access_log_group_name
from constructs.lattice_dns_records import LatticeDnsRecords
from constructs.lattice_metric_ids import LatticeMetricIds
from constructs.observability import Observability
from constructs.retention import retention as log_retention
from constructs.smoke_test import SmokeTest

from config import AppConfig
from config.access_policy import Identities
from stacks.platform_stack import PlatformStack


class GatewayStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: AppConfig, platform: PlatformStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        retention = log_retention(config.log_retention_days)
        cluster = platform.eks.icluster
        vpc = platform.cluster_network.vpc

        crds = GatewayApiCrds(
            self,
            "GatewayApiCrds",
            cluster=cluster,
            version=config.gateway_api_version,
            vpc=vpc,
            security_group=platform.eks.api_client_security_group,
            log_retention=retention,
        )
        controller = GatewayController(
            self,
            "Controller",
            cluster=cluster,
            config=config,
            vpc=vpc,
            security_group=platform.eks.api_client_security_group,
            # The controller must outlive the routes, and start only after the network it serves exists.
            after=[crds.resource, *platform.lattice.associations.values()],
            log_retention=retention,
        )
        smoke = SmokeTest(
            self,
            "SmokeTest",
            config=config,
            vpc=platform.client_network.vpc,
            subnets=platform.client_network.host_subnets,
            log_retention=retention,
        )
        identities = Identities(
            account=Aws.ACCOUNT_ID,
            smoke_role_arn=smoke.function.role.role_arn,
            client_host_role_arn=platform.client_host.role.role_arn,
        )
        # After the controller's pods run with their credentials, not merely after the chart installed.
        workload = GatewayWorkload(
            self,
            "Workload",
            cluster=cluster,
            config=config,
            controller=controller.ready,
            vpc=vpc,
            security_group=platform.eks.api_client_security_group,
            log_retention=retention,
            identities=identities,
        )
        dns = LatticeDnsRecords(
            self,
            "Dns",
            cluster=cluster,
            config=config,
            hosted_zone_id=platform.zone.zone.hosted_zone_id,
            vpc=vpc,
            security_group=platform.eks.api_client_security_group,
            routes=workload.routes,
            namespace_manifest=workload.namespaces,
            log_retention=retention,
        )
        # Each DNS record waits until its route's Lattice service exists; then the metric ids can be found.
        ids = LatticeMetricIds(
            self, "MetricIds", config=config, vpc_id=vpc.vpc_id, after=[dns], log_retention=retention
        )
        observability = Observability(
            self,
            "Observability",
            config=config,
            ids=ids,
            access_log_group_name=access_log_group_name(config.service_network_name),
            dashboard_name=self.stack_name,
        )
        CfnOutput(self, "DashboardUrl", value=observability.url, description="CloudWatch dashboard of every route")
