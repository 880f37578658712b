"""The target-health publisher: a scheduled function that counts each app's healthy and unhealthy Lattice targets
(ListTargets) and writes them to this app's own CloudWatch namespace (lambda/lattice_metrics/health.py).

VPC Lattice publishes no target-health metric (tests/lattice_cloudwatch.py, from the User Guide), so the
per-app "no healthy targets" alarms and the dashboard's target graphs read these instead. The metrics are keyed
on names known at synth (cluster, route object, app), never on Lattice ids: the function finds the target groups
by the controller's tags on every run, so they follow a target group the controller recreates.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.nag import acknowledge
from constructs.python_function import PythonFunction
from constructs.schedule import run_every

from config import AppConfig
from config.lattice_names import route_object_name
from config.model import App, Route

# This app's own namespace and names (docs/observability.md: Dashboard and alarms); the publisher writes exactly these.
NAMESPACE = "EksLatticeGateway/TargetHealth"
HEALTHY, UNHEALTHY = "HealthyTargetCount", "UnhealthyTargetCount"
STALE, RUNS = "StaleServiceIds", "PublisherRuns"
# A run lists the target groups, their tags (cached while the function is warm) and targets, then writes at most
# a few PutMetricData calls: seconds. Below the shortest schedule (a minute), so two runs never overlap.
TIMEOUT = Duration.seconds(50)


def route_dimension(route: Route, cluster_name: str) -> str:
    """The Route dimension's value: the HTTPRoute object's namespace and name, as the controller tags them."""
    return f"{route.namespace}/{route_object_name(route, cluster_name)}"


def app_dimension(app: App) -> str:
    return f"{app.namespace}/{app.name}"


class TargetHealthPublisher(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        vpc_id: str,
        alarm_prefix: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        """alarm_prefix: how this deployment's alarm names start; the Lattice service ids they watch are checked
        for the stale-id alarm."""
        super().__init__(scope, construct_id)
        self.minutes = config.alarms.target_health_minutes
        self.cluster_name = config.cluster_name
        fn = PythonFunction(
            self,
            "Function",
            packages=("lattice_metrics",),
            handler="lattice_metrics.health.handler",
            description="Counts healthy Lattice targets per route and app for the alarms",
            timeout=TIMEOUT,
            log_retention=log_retention,
            environment={
                "NAMESPACE": NAMESPACE,
                "CLUSTER_NAME": config.cluster_name,
                "VPC_ID": vpc_id,
                "ALARM_PREFIX": alarm_prefix,
            },
        )
        self.function = fn
        # ListTargetGroups, ListServices and ListTagsForResource take no resource-level permissions (IAM Service
        # Authorization Reference for VPC Lattice, as constructs/observability/metric_ids.py cites); read-only.
        fn.role.add_to_policy(
            iam.PolicyStatement(
                actions=["vpc-lattice:ListTargetGroups", "vpc-lattice:ListServices", "vpc-lattice:ListTagsForResource"],
                resources=["*"],
            )
        )
        # ListTargets takes the targetgroup resource type: AWS's own managed policy
        # AmazonECSInfrastructureRolePolicyForVpcLattice grants it on arn:aws:vpc-lattice:*:*:targetgroup/*
        # (AWS Managed Policy reference, read 2026-12-05). The ids come from the controller at run time, so: this
        # account's and region's target groups.
        fn.role.add_to_policy(
            iam.PolicyStatement(
                actions=["vpc-lattice:ListTargets"],
                resources=[f"arn:{Aws.PARTITION}:vpc-lattice:{Aws.REGION}:{Aws.ACCOUNT_ID}:targetgroup/*"],
            )
        )
        # Which service ids the alarms watch: read from the alarms themselves, so the environment stays small
        # whatever the number of routes.
        fn.role.add_to_policy(iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"]))
        # PutMetricData has no resource type; its cloudwatch:namespace condition key holds the function to this
        # app's namespace (as AWS's AWSVpcLatticeServiceRolePolicy holds Lattice to AWS/VpcLattice).
        fn.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
            )
        )
        acknowledge(
            fn.role,
            "AwsSolutions-IAM5[Resource::*]",
            "vpc-lattice:ListTargetGroups, ListServices and ListTagsForResource support no resource-level "
            "permissions (read-only); cloudwatch:DescribeAlarms is read-only; cloudwatch:PutMetricData has no "
            "resource type and is held to this app's namespace by the cloudwatch:namespace condition.",
        )
        acknowledge(
            fn.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:vpc-lattice:<AWS::Region>:<AWS::AccountId>:targetgroup/*]",
            "vpc-lattice:ListTargets (read-only) on the controller's target groups, whose ids exist only at run "
            "time; this account and region only.",
        )
        # No retry (EventBridge's nor Lambda's): the next run is at most an interval away, and a retried run
        # would publish a stale count late.
        self.schedule = run_every(
            self, "Schedule", function=fn.function, minutes=self.minutes, description="Runs the target-health publisher"
        )
