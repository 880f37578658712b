"""Everything that runs on the cluster: Gateway API CRDs, the controller, the workload, the DNS records
and the smoke test.

A separate stack so that a failing chart, CRD download or route rolls back only this stack, never the
15-minute cluster; it reads the platform's values through weak references (no exports to get stuck on).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, CfnResource, Stack, Token
from constructs import Construct
from constructs.controller import GatewayApiCrds, GatewayController, controller_managed_by
from constructs.dns import LatticeDnsRecords
from constructs.lattice import LatticePrefixLists, LatticeServiceSweep, access_log_group_name
from constructs.observability import LatticeMetricIds, Observability, TargetHealthPublisher
from constructs.observability import retention as log_retention
from constructs.sharing import ProducerInputs
from constructs.smoke import SmokeTest
from constructs.workload import GatewayWorkload

from config import AppConfig, ConfigError
from config.access_policy import Identities
from config.model import certificate_environment_problems
from stacks.platform_stack import PlatformStack

# aws-cdk-lib 2.273.0 core/lib/stack.js: MAX_RESOURCES = 500, CloudFormation's per-stack maximum ("CloudFormation
# quotas", Resources: 500); beyond it the synth throws TooManyResourcesInStack. Read 2026-12-05.
MAX_RESOURCES = 500


class GatewayStack(Stack):
    def _certificates_in_environment(self, config: AppConfig) -> None:
        """Lattice takes an ACM certificate of its own account and region only: checked where the synth knows the
        stack's account or region (a pipeline stage's, or the CLI's with credentials); every stage gets the same
        routes, so a stage in another account or region is refused here (config.model.certificate_arns)."""
        account, region = (None if Token.is_unresolved(v) else v for v in (self.account, self.region))
        if problems := certificate_environment_problems(config, account, region):
            key, why = problems[0]
            name = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in key).lstrip(".")
            raise ConfigError(name, f"{why} ({self.stack_name})")

    def __init__(
        self, scope: Construct, construct_id: str, *, config: AppConfig, platform: PlatformStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._config = config
        self._certificates_in_environment(config)
        retention = log_retention(config.log_retention_days)
        # Every configuration change updates this stack, so its weak references to the platform are resolved again
        # (a replaced client VPC or cluster would otherwise stay referenced; issue 23.3).
        ProducerInputs(self, "PlatformInputs", config=config)
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
        # Deleted after the controller (which comes after it): sweeps what a controller that was down or without
        # credentials left in Lattice, so that a Gateway-only destroy strands no service or custom domain.
        sweep = LatticeServiceSweep(
            self,
            "LatticeSweep",
            network_id=platform.lattice.network.attr_id,
            controller_managed_by=controller_managed_by(
                account=Aws.ACCOUNT_ID, cluster_name=config.cluster_name, vpc_id=vpc.vpc_id
            ),
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
            after=[crds.resource, sweep.resource, *platform.lattice.associations.values()],
            log_retention=retention,
        )
        smoke = SmokeTest(
            self,
            "SmokeTest",
            config=config,
            vpc=platform.client_network.vpc,
            subnets=platform.client_network.host_subnets,
            log_retention=retention,
            # This stack's own lookup (the platform stack's serves its ingress); IPv4 only (SmokeTest).
            prefix_lists=LatticePrefixLists(self, "LatticePrefixLists", ipv6=False),
        )
        identities = Identities(
            account=Aws.ACCOUNT_ID,
            smoke_role_arn=smoke.function.role.role_arn,
            client_host_role_arn=platform.client_host.role.role_arn,
            vpc_ids=(platform.cluster_network.vpc.vpc_id, platform.client_network.vpc.vpc_id),
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
        if workload.namespaces is not None:  # a RoleBinding needs its namespace
            for binding in dns.bindings:
                binding.node.add_dependency(workload.namespaces)
        # Each DNS record waits until its route's Lattice service exists; then the metric ids can be found.
        ids = LatticeMetricIds(self, "MetricIds", config=config, after=[dns], log_retention=retention)
        health = TargetHealthPublisher(
            self,
            "TargetHealth",
            config=config,
            vpc_id=vpc.vpc_id,
            alarm_prefix=f"{self.stack_name} ",  # constructs/observability/monitoring.py names every alarm so
            log_retention=retention,
        )
        observability = Observability(
            self,
            "Observability",
            config=config,
            ids=ids,
            health=health,
            access_log_group_name=access_log_group_name(config.service_network_name),
            dashboard_name=self.stack_name,
        )
        CfnOutput(self, "DashboardUrl", value=observability.url, description="CloudWatch dashboard of every route")
        self._refuse_too_many_resources()

    def _refuse_too_many_resources(self) -> None:
        """Each route and app adds resources here (its manifests, guard, DNS record, alarms, a caller's role):
        refuse a config past CloudFormation's per-stack maximum by its keys, not with CDK's synth-time trace."""
        count = sum(1 for c in self.node.find_all() if isinstance(c, CfnResource))  # no nested stacks here
        if count > MAX_RESOURCES:
            raise ConfigError(
                "routes",
                f"{len(self._config.routes)} routes and {len(self._config.apps)} apps need {count} CloudFormation "
                f"resources in the gateway stack; a stack holds at most {MAX_RESOURCES}: use fewer routes or apps",
            )
