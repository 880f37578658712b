"""One CloudWatch dashboard per deployment, alarms per route and app, and saved access-log queries.

Metrics: namespace AWS/VpcLattice (VPC Lattice User Guide, "CloudWatch metrics for Amazon VPC Lattice"; the
data and its source: tests/lattice_cloudwatch.py): service metrics under the `Service` dimension, holding the id
constructs/observability/metric_ids.py resolves at deploy time. Lattice publishes them only once a service has had
traffic, so their alarms treat missing data as not breaching. Lattice has no target-health metric: the per-app
alarms read this app's own (constructs/observability/target_health.py). The publisher writes a pair's count once its
target group has targets past INITIAL, and 0 when the target group has not appeared MISSING_GRACE_SECONDS after the
alarm (lambda/lattice_metrics/health.py), so a per-app alarm treats missing data as not breaching: nothing is
known yet while the controller creates the route, and a first deploy or an added route mails no alarm. The
publisher's own silence is the one breaching alarm ("publisher silent"). An app with 0 replicas has no per-app
alarm: it has no targets by design. Access-log fields: the same guide, "Access logs".

Alarm names are "<stack name> <what>"; one longer than CloudWatch's 255 characters (botocore 1.44.8 cloudwatch
AlarmName: max 255) keeps its start and end and puts a digest of the whole name in the middle (alarm_name).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from urllib.parse import quote

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct
from constructs.observability.metric_ids import LatticeMetricIds, TargetGroupRef, target_groups
from constructs.observability.target_health import (
    HEALTHY,
    RUNS,
    STALE,
    UNHEALTHY,
    TargetHealthPublisher,
    app_dimension,
    route_dimension,
)
from constructs.observability.target_health import NAMESPACE as HEALTH_NAMESPACE

from config import AppConfig
from config.model import Route

NAMESPACE = "AWS/VpcLattice"
WIDTH = 24  # a dashboard's grid is 24 columns wide
MAX_ALARM_NAME = 255  # botocore 1.44.8 cloudwatch service model, shape AlarmName: min 1, max 255 (read 2026-12-05)
KEPT_TAIL = 60  # characters kept from a long name's end: what the alarm is about ("... no healthy targets")
ROW_HEIGHT = 6

# Saved Logs Insights queries on the service network's access log group (VPC Lattice User Guide, "Access log
# contents": requestPath, responseCode, duration (ms), callerPrincipal, authDeniedReason, ...).
QUERIES: dict[str, str] = {
    "top paths by 5XX": (
        "filter responseCode >= 500 and responseCode <= 599"
        "\n| stats count(*) as errors by serviceArn, requestMethod, requestPath"
        "\n| sort errors desc\n| limit 25"
    ),
    "slowest requests": (
        "fields startTime, duration, requestToTargetDuration, responseCode, requestMethod, requestPath, serviceArn,"
        " targetGroupArn\n| sort duration desc\n| limit 50"
    ),
    "requests by caller principal": (
        "stats count(*) as requests, sum(responseCode >= 400) as failed by callerPrincipal, sourceVpcArn"
        "\n| sort requests desc\n| limit 50"
    ),
    "requests denied by auth policy": (
        'filter responseCode = 403 and ispresent(authDeniedReason) and authDeniedReason != "" '
        'and authDeniedReason != "-"'
        "\n| fields startTime, callerPrincipal, sourceVpcArn, requestMethod, requestPath, serviceArn, authDeniedReason"
        "\n| sort startTime desc\n| limit 100"
    ),
}


def alarm_name(full: str) -> str:
    """`full` when it fits CloudWatch's limit; else its start, a digest of all of it, and its end (unique, and
    the start keeps the "<stack name> " prefix the publisher reads alarms by)."""
    if len(full) <= MAX_ALARM_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:12]
    head = MAX_ALARM_NAME - KEPT_TAIL - len(digest) - 2
    return f"{full[:head]}~{digest}~{full[-KEPT_TAIL:]}"


def dashboard_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


def _console_path(text: str) -> str:
    """The CloudWatch console's escaping of a path inside its #fragment ('/' -> $252F)."""
    return quote(quote(text, safe=""), safe="").replace("%", "$")


def publishes_requests(protocol: str) -> bool:
    """Whether a route of `protocol` has a listener that reads requests (HTTP, HTTPS, gRPC), hence Lattice's
    request metrics; a TLS passthrough listener does not (Observability._request_alarms)."""
    return protocol != "TLS"


class Observability(Construct):
    """The dashboard (named `dashboard_name`), the alarms on it, an optional notification topic, the queries."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        ids: LatticeMetricIds,
        health: TargetHealthPublisher,
        access_log_group_name: str,
        dashboard_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        alarms_cfg = config.alarms
        self.period = Duration.seconds(alarms_cfg.period_seconds)
        self.config = config
        self.ids = ids
        # A health period never shorter than the publisher's interval: a period without a run would breach.
        self.health_period = Duration.seconds(alarms_cfg.health_period_seconds)
        self.topic = self._topic(alarms_cfg.email) if alarms_cfg.email else None

        self.route_alarms: dict[str, list[cw.Alarm]] = {}
        self.health_alarms: dict[str, cw.Alarm] = {}
        rows: list[list[cw.IWidget]] = []
        groups = target_groups(config)
        for i, route in enumerate(config.routes):
            mine = [g for g in groups if g.route is route]
            rows.append(self._route_row(i, route, mine))
        self.publisher_alarms = self._publisher_alarms()
        # Its data source first: the publisher and its schedule exist before the alarm on its silence, which also
        # waits for the routes' services (minutes, while the publisher already runs), so it starts with a heartbeat.
        self.publisher_alarms[0].node.add_dependency(health.schedule, *ids.resources)

        self.queries = [
            logs.CfnQueryDefinition(
                self,
                f"Query{n}",
                name=f"{dashboard_name}/{title}",
                query_string=query,
                log_group_names=[access_log_group_name],
            )
            for n, (title, query) in enumerate(QUERIES.items())
        ]
        header = self._header(access_log_group_name, dashboard_name)
        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.hours(3),
            widgets=[header, *rows],
        )
        self.url = dashboard_url(Aws.REGION, dashboard_name)

    # ------------------------------------------------------------------------------------------ widgets

    def _service_metric(self, i: int, metric: str, statistic: str, label: str) -> cw.Metric:
        return cw.Metric(
            namespace=NAMESPACE,
            metric_name=metric,
            dimensions_map={"Service": self.ids.service_id(i)},
            statistic=statistic,
            period=self.period,
            label=label,
        )

    def _health_metric(self, ref: TargetGroupRef, metric: str, statistic: str, label: str) -> cw.Metric:
        """This app's own count for one app behind one route (constructs/observability/target_health.py), keyed on
        names."""
        return cw.Metric(
            namespace=HEALTH_NAMESPACE,
            metric_name=metric,
            dimensions_map={
                "Cluster": self.config.cluster_name,
                "Route": route_dimension(ref.route, self.config.cluster_name),
                "App": app_dimension(ref.app),
            },
            statistic=statistic,
            period=self.health_period,
            label=label,
        )

    def _publisher_metric(self, metric: str, statistic: str, label: str) -> cw.Metric:
        """The target-health publisher's own series about itself, per cluster."""
        return cw.Metric(
            namespace=HEALTH_NAMESPACE,
            metric_name=metric,
            dimensions_map={"Cluster": self.config.cluster_name},
            statistic=statistic,
            period=self.health_period,
            label=label,
        )

    def _publisher_alarms(self) -> list[cw.Alarm]:
        return [
            self._alarm(
                "target-health publisher silent",
                self._publisher_metric(RUNS, "Sum", "publisher runs"),
                threshold=1,
                comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                # Every run that publishes writes 1: no data means no run, or a failing one.
                missing=cw.TreatMissingData.BREACHING,
                description="the target-health function has published nothing: the no-healthy-targets alarms "
                "have no data (its log group says why)",
            ),
            self._alarm(
                "Lattice service ids stale",
                self._publisher_metric(STALE, "Maximum", "stale service ids"),
                threshold=1,
                comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                # The publisher alarm above covers its silence.
                missing=cw.TreatMissingData.NOT_BREACHING,
                description="a Lattice service the route alarms watch no longer exists (the controller recreated "
                "it): the 5XX and latency alarms and graphs watch a dead id until a deploy looks it up again "
                "(docs/observability.md: Dashboard and alarms)",
            ),
        ]

    def _request_alarms(self, i: int, route: Route, error_rate: cw.IMetric, p99: cw.IMetric) -> list[cw.Alarm]:
        """The route's 5XX-rate and p99 alarms, on series only a listener that reads requests publishes: a TLS
        passthrough listener never decrypts the traffic ("all traffic remains encrypted from the client to the
        target": VPC Lattice User Guide, https://docs.aws.amazon.com/vpc-lattice/latest/ug/tls-listeners.html,
        read 2026-12-05), so it has no request count, response code or request time
        (https://docs.aws.amazon.com/vpc-lattice/latest/ug/monitoring-cloudwatch.html lists them per request): no
        alarm there would ever have data, and `make smoke`'s metrics check would wait for them in vain."""
        if not publishes_requests(route.protocol):
            return []
        name = f"{route.namespace}/{route.name}"
        alarms = self.config.alarms
        error_alarm = self._alarm(
            f"{name} 5XX rate",
            error_rate,
            threshold=alarms.error_rate_percent,
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            # No requests is no data, not an outage: the route may simply be idle.
            missing=cw.TreatMissingData.NOT_BREACHING,
            description=f"5XX responses of route {name} ({route.hostname}) above {alarms.error_rate_percent:g} %",
        )
        latency_alarm = self._alarm(
            f"{name} p99 latency",
            p99,
            threshold=alarms.latency_p99_ms,
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            missing=cw.TreatMissingData.NOT_BREACHING,
            description=f"p99 request time of route {name} ({route.hostname}) above {alarms.latency_p99_ms} ms",
        )
        return [error_alarm, latency_alarm]

    def _route_row(self, i: int, route: Route, groups: Sequence[TargetGroupRef]) -> list[cw.IWidget]:
        name = f"{route.namespace}/{route.name}"
        requests = self._service_metric(i, "TotalRequestCount", "Sum", "requests")
        codes = [self._service_metric(i, f"HTTPCode_{c}XX_Count", "Sum", f"{c}XX") for c in (2, 4, 5)]
        p50, p99 = (self._service_metric(i, "RequestTime", s, s) for s in ("p50", "p99"))
        error_rate = cw.MathExpression(
            expression="100 * FILL(errors, 0) / requests",
            using_metrics={"errors": codes[2], "requests": requests},
            period=self.period,
            label="5XX % of requests",
        )
        alarms = self.config.alarms
        self.route_alarms[name] = self._request_alarms(i, route, error_rate, p99)

        healthy: list[cw.IMetric] = []
        unhealthy: list[cw.IMetric] = []
        for ref in groups:
            app = app_dimension(ref.app)
            healthy.append(self._health_metric(ref, HEALTHY, "Average", f"{ref.app.name} healthy"))
            unhealthy.append(self._health_metric(ref, UNHEALTHY, "Average", f"{ref.app.name} unhealthy"))
            if ref.app.replicas == 0:  # no targets by design: an alarm would sit in ALARM
                continue
            if ref.route.protocol in ("GRPC", "TLS"):
                # Their target groups have Lattice's health check off (constructs/workload/apps.py,
                # target_group_policy), so every target reads UNAVAILABLE ("Health checks are unavailable for the
                # target group": VPC Lattice API Reference, TargetSummary, read 2026-12-05), never HEALTHY: an
                # alarm would sit in ALARM. The pods' readiness probes and the smoke test watch them instead.
                continue
            health_alarm = self._alarm(
                f"{name} {app} no healthy targets",
                self._health_metric(ref, HEALTHY, "Minimum", f"{ref.app.name} healthy"),
                threshold=1,
                comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                # No count yet (target group being created, targets still INITIAL) is not an outage; a target
                # group that never appears is published as 0, and the publisher's silence has its own alarm.
                missing=cw.TreatMissingData.NOT_BREACHING,
                description=f"app {app} has no healthy Lattice target behind route {name}",
            )
            # Created once the route's service exists (its lookup waits for it): the grace for the target group
            # runs from here.
            health_alarm.node.add_dependency(self.ids.resources[i])
            self.health_alarms[f"{name} {app}"] = health_alarm
        third = WIDTH // 3
        return [
            cw.GraphWidget(
                title=f"{name}: requests and responses",
                left=[requests, *codes],
                width=third,
                height=ROW_HEIGHT,
                stacked=False,
            ),
            cw.GraphWidget(
                title=f"{name}: request time (ms)",
                left=[p50, p99],
                left_annotations=[cw.HorizontalAnnotation(value=alarms.latency_p99_ms, label="p99 alarm")],
                right=[error_rate],
                right_annotations=[cw.HorizontalAnnotation(value=alarms.error_rate_percent, label="5XX alarm")],
                width=third,
                height=ROW_HEIGHT,
            ),
            cw.GraphWidget(
                title=f"{name}: targets per app",
                left=[*healthy, *unhealthy],
                width=WIDTH - 2 * third,
                height=ROW_HEIGHT,
            ),
        ]

    def _header(self, log_group: str, dashboard_name: str) -> list[cw.IWidget]:
        """The service network's totals (every route of this deployment), alarm states and where to look next."""
        totals: list[cw.IMetric] = []
        routes = range(len(self.config.routes))
        series = (("TotalRequestCount", "requests", "req"), *((f"HTTPCode_{c}XX_Count", f"{c}XX", f"s{c}xx") for c in
                                                                (2, 4, 5)))  # fmt: skip
        for metric, label, prefix in series:
            # Ids unique within the graph, as CloudWatch requires of every metric in one widget.
            parts = {f"{prefix}{i}": self._service_metric(i, metric, "Sum", label) for i in routes}
            totals.append(
                cw.MathExpression(
                    expression=" + ".join(f"FILL({k}, 0)" for k in parts),
                    using_metrics=parts,
                    period=self.period,
                    label=label,
                )
            )
        region = Aws.REGION
        logs_url = (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#logsV2:log-groups/log-group/{_console_path(log_group)}"
        )
        queries_url = f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:logs-insights"
        text = "\n".join(
            [
                f"# {dashboard_name}",
                f"Service network **{self.config.service_network_name}**: "
                f"{len(self.config.routes)} route(s), one Lattice service each.",
                "",
                f"* Access logs: [{log_group}]({logs_url})",
                f"* Saved queries ({', '.join(QUERIES)}): [Logs Insights]({queries_url}), folder {dashboard_name}",
                "* What each graph and alarm means: docs/observability.md, *Dashboard and alarms*",
            ]
        )
        every_alarm = [
            *(a for pair in self.route_alarms.values() for a in pair),
            *self.health_alarms.values(),
            *self.publisher_alarms,
        ]
        return [
            cw.TextWidget(markdown=text, width=8, height=ROW_HEIGHT),
            cw.GraphWidget(title="All routes: requests and responses", left=totals, width=10, height=ROW_HEIGHT),
            cw.AlarmStatusWidget(title="Alarms", alarms=every_alarm, width=6, height=ROW_HEIGHT),
        ]

    # ------------------------------------------------------------------------------------------- alarms

    def _alarm(
        self,
        name: str,
        metric: cw.IMetric,
        *,
        threshold: float,
        comparison: cw.ComparisonOperator,
        missing: cw.TreatMissingData,
        description: str,
    ) -> cw.Alarm:
        periods = self.config.alarms.evaluation_periods
        alarm = cw.Alarm(
            self,
            "Alarm" + "".join(c for c in name.title() if c.isalnum()),
            alarm_name=alarm_name(f"{Stack.of(self).stack_name} {name}"),
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=missing,
        )
        if self.topic is not None:
            action = cw_actions.SnsAction(self.topic)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        return alarm

    def _topic(self, email: str) -> sns.Topic:
        """Encrypted with a key of our own: CloudWatch can't publish to a topic under the AWS-managed SNS key."""
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the eks-lattice-gateway alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
        topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic
