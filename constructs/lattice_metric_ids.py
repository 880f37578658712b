"""The ids Lattice's CloudWatch metrics are keyed on, for every route's service and target group.

Lattice names its metric dimensions after resource ids (Service = svc-..., TargetGroup = tg-...), which the
controller assigns when it reconciles a route, so no name or SEARCH expression known at synth can select one
route's metrics. A custom resource (lambda/lattice_metrics) finds them after the routes exist: the service by
the name config/lattice_names.py predicts, the target group by the tags the controller writes on it.
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
from config.lattice_names import lattice_service_name, route_object_name
from config.model import App, Route

TIMEOUT_SECONDS = 900  # the controller reconciles a route in well under a minute; the DNS record waited already


@dataclass(frozen=True, kw_only=True)
class TargetGroupRef:
    """One app behind one route: a Lattice target group of its own (the controller makes one per pair)."""

    route: Route
    app: App
    key: str  # the custom resource's attribute with its id


def route_key(index: int) -> str:
    return f"Service{index}"


def target_groups(config: AppConfig) -> list[TargetGroupRef]:
    """Every (route, app) pair, in route then first-backend order."""
    refs: list[TargetGroupRef] = []
    for i, route in enumerate(config.routes):
        apps = dict.fromkeys(b.app for rule in route.rules for b in rule.backends)
        refs += [TargetGroupRef(route=route, app=config.app(a), key=f"TargetGroup{i}x{j}") for j, a in enumerate(apps)]
    return refs


def config_digest(config: AppConfig) -> str:
    """Any change of the apps or routes may make the controller replace a target group (new port, protocol or
    health check) or a service; as a property of the lookup, it makes CloudFormation look the ids up again."""
    workload = config.model_dump(include={"apps", "routes"})  # python mode: env pairs serialize without warnings
    return hashlib.sha256(json.dumps(workload, sort_keys=True).encode()).hexdigest()[:16]


class LatticeMetricIds(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        vpc_id: str,
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
            # Read-only, and none of the three takes resource-level permissions (IAM service authorization
            # reference for VPC Lattice: List* and ListTagsForResource), so "*" is the only resource they accept.
            fn.role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "vpc-lattice:ListServices",
                        "vpc-lattice:ListTargetGroups",
                        "vpc-lattice:ListTagsForResource",
                    ],
                    resources=["*"],
                )
            )
            acknowledge(
                fn.role,
                "AwsSolutions-IAM5[Resource::*]",
                "vpc-lattice:ListServices, ListTargetGroups and ListTagsForResource support no resource-level "
                "permissions; read-only.",
            )
            return fn

        on_event = function(
            "OnEvent", "lattice_metrics.handler.on_event", "Starts the lookup of the Lattice ids metrics are keyed on"
        )
        is_complete = function(
            "IsComplete",
            "lattice_metrics.handler.is_complete",
            "Finds each route's Lattice service and target group ids for the dashboard and alarms",
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
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::LatticeMetricIds",
            properties={
                "ConfigDigest": config_digest(config),
                "VpcId": vpc_id,
                "TimeoutSeconds": str(TIMEOUT_SECONDS),
                "Services": [
                    {"Key": route_key(i), "Name": lattice_service_name(route, config.cluster_name)}
                    for i, route in enumerate(config.routes)
                ],
                "TargetGroups": [
                    {
                        "Key": ref.key,
                        "ClusterName": config.cluster_name,
                        "RouteName": route_object_name(ref.route, config.cluster_name),
                        "RouteNamespace": ref.route.namespace,
                        "ServiceName": ref.app.name,
                        "ServiceNamespace": ref.app.namespace,
                    }
                    for ref in target_groups(config)
                ],
            },
        )
        for dependency in after:
            self.resource.node.add_dependency(dependency)

    def service_id(self, index: int) -> str:
        """The Lattice service id (the `Service` dimension) of config.routes[index]."""
        return self.resource.get_att_string(route_key(index))

    def target_group_id(self, ref: TargetGroupRef) -> str:
        """The Lattice target group id (the `TargetGroup` dimension) of one app behind one route."""
        return self.resource.get_att_string(ref.key)
