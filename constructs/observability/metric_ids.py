"""The id Lattice's CloudWatch metrics are keyed on, for every route's service.

Lattice names its metric dimensions after resource ids (Service = svc-...), which the controller assigns when it
reconciles a route, so no name known at synth selects one route's metrics. A custom resource per route
(lambda/lattice_metrics) finds its service after the route exists, by the name config/lattice_names.py predicts.
Target groups need no id: the per-app health alarms read this app's own metrics, keyed on names
(constructs/observability/target_health.py). When the controller recreates a service, the looked-up id goes stale until
the route changes; the target-health publisher counts such ids and an alarm says so
(constructs/observability/monitoring.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct
from constructs.nag import acknowledge
from constructs.provider import CustomResourceProvider
from constructs.python_function import PythonFunction

from config import AppConfig
from config.lattice_names import lattice_service_name
from config.model import App, Route

TIMEOUT_SECONDS = 900  # the controller reconciles a route in well under a minute; the DNS record waited already


SERVICE_ID = "ServiceId"  # the one Data key each lookup answers


@dataclass(frozen=True, kw_only=True)
class TargetGroupRef:
    """One app behind one route: a Lattice target group of its own (the controller makes one per pair)."""

    route: Route
    app: App


def target_groups(config: AppConfig) -> list[TargetGroupRef]:
    """Every (route, app) pair, in route then first-backend order."""
    refs: list[TargetGroupRef] = []
    for route in config.routes:
        apps = dict.fromkeys(b.app for rule in route.rules for b in rule.backends)
        refs += [TargetGroupRef(route=route, app=config.app(a)) for a in apps]
    return refs


def route_digest(route: Route) -> str:
    """A change of the route may make the controller replace its service; as a property of the route's lookup,
    it makes CloudFormation look the id up again."""
    workload = route.model_dump()  # python mode: serializes without warnings
    return hashlib.sha256(json.dumps(workload, sort_keys=True, default=str).encode()).hexdigest()[:16]


class LatticeMetricIds(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        after: list[IConstruct],
        log_retention: logs.RetentionDays,
    ) -> None:
        """after: what must exist before the lookup (the DNS records: each waits until its route's service is
        in Lattice)."""
        super().__init__(scope, construct_id)
        self.config = config

        def function(construct_id: str, handler: str, description: str) -> PythonFunction:
            fn = PythonFunction(
                self,
                construct_id,
                packages=("lattice_metrics",),
                handler=handler,
                description=description,
                timeout=Duration.minutes(1),
                log_retention=log_retention,
            )
            # Read-only, and ListServices takes no resource-level permissions (IAM service authorization
            # reference for VPC Lattice: List*), so "*" is the only resource it accepts.
            fn.role.add_to_policy(iam.PolicyStatement(actions=["vpc-lattice:ListServices"], resources=["*"]))
            acknowledge(
                fn.role,
                "AwsSolutions-IAM5[Resource::*]",
                "vpc-lattice:ListServices supports no resource-level permissions; read-only.",
            )
            return fn

        on_event = function(
            "OnEvent", "lattice_metrics.handler.on_event", "Starts the lookup of the Lattice ids metrics are keyed on"
        )
        is_complete = function(
            "IsComplete",
            "lattice_metrics.handler.is_complete",
            "Finds a route's Lattice service id for the dashboard and alarms",
        )
        provider = CustomResourceProvider(
            self,
            "Provider",
            on_event=on_event.function,
            is_complete=is_complete.function,
            query_interval=Duration.seconds(15),
            total_timeout=Duration.seconds(TIMEOUT_SECONDS + 120),
            log_retention=log_retention,
        )
        # One lookup per route: each answers one id, so CloudFormation's 4,096-byte limit on a custom resource's
        # response holds for any number of routes (tests/test_custom_resource_responses.py), and a changed
        # route looks up only its own service again.
        self.resources: list[CustomResource] = []
        for i, route in enumerate(config.routes):
            resource = CustomResource(
                self,
                "Resource" if i == 0 else f"Resource{i}",
                service_token=provider.service_token,
                resource_type="Custom::LatticeMetricIds",
                properties={
                    "ConfigDigest": route_digest(route),
                    "TimeoutSeconds": str(TIMEOUT_SECONDS),
                    "Services": [{"Key": SERVICE_ID, "Name": lattice_service_name(route, config.cluster_name)}],
                },
            )
            for dependency in after:
                resource.node.add_dependency(dependency)
            self.resources.append(resource)

    def service_id(self, index: int) -> str:
        """The Lattice service id (the `Service` dimension) of config.routes[index]."""
        return self.resources[index].get_att_string(SERVICE_ID)
