"""The dashboard, alarms, notification topic and saved access-log queries (constructs/observability/monitoring.py),
checked in the default synth and the variant (two routes, an email, other thresholds)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape

import pytest
from constructs.observability import target_health
from constructs.observability.metric_ids import SERVICE_ID, route_digest, target_groups
from constructs.observability.monitoring import QUERIES

from config import AppConfig, ConfigError, parse_context
from config.lattice_names import SERVICE_NAME_OVERRIDE_ANNOTATION, lattice_service_name, route_object_name
from tests import lattice_cloudwatch as documented
from tests.conftest import VARIANT, PipelineSynth, Synthesized, cdk_json_context

GATEWAY, PLATFORM = "EksLatticeGateway-Gateway", "EksLatticeGateway-Platform"
# This app's own metrics (constructs/observability/target_health.py) -> their dimension sets. The publisher writes each
# on every run (lambda/lattice_metrics/health.py), so each is always published while it runs.
OWN_METRICS: dict[str, tuple[str, ...]] = {
    target_health.HEALTHY: ("Cluster", "Route", "App"),
    target_health.UNHEALTHY: ("Cluster", "Route", "App"),
    target_health.STALE: ("Cluster",),
    target_health.RUNS: ("Cluster",),
}


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def flatten(node: Any) -> str:
    """A property as text, each intrinsic replaced by a readable placeholder (<Service0>, <Region>)."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and "Fn::Join" in node:
        sep, parts = node["Fn::Join"]
        return str(sep).join(flatten(p) for p in parts)
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        logical_id, attribute = node["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>" if attribute == SERVICE_ID else f"<{attribute}>"
    if isinstance(node, dict) and "Ref" in node:
        return f"<{node['Ref'].split('::')[-1]}>"
    if isinstance(node, dict) and "Fn::GetStackOutput" in node:  # a Platform value (e.g. a role in a route's policy)
        return f"<{node['Fn::GetStackOutput']['OutputName']}>"
    raise AssertionError(f"unexpected intrinsic {node}")


def dashboard(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    (resource,) = of_type(synth.templates[GATEWAY], "AWS::CloudWatch::Dashboard").values()
    props = resource["Properties"]
    return props["DashboardName"], json.loads(flatten(props["DashboardBody"]))


def alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    found = of_type(synth.templates[GATEWAY], "AWS::CloudWatch::Alarm").values()
    return {a["Properties"]["AlarmName"]: a["Properties"] for a in found}


def config_of(synth: Synthesized) -> AppConfig:
    return synth.config


def lookups(synth: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    """The per-route lookups, in route order (each is named by the service it looks up)."""
    found = of_type(synth.templates[GATEWAY], "Custom::LatticeMetricIds").items()
    by_name = {r["Properties"]["Services"][0]["Name"]: (k, r["Properties"]) for k, r in found}
    config = config_of(synth)
    return [by_name[lattice_service_name(route, config.cluster_name)] for route in config.routes]


def alarm_metrics(alarm: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of every metric an alarm reads, plain or in metric math."""
    if "MetricName" in alarm:
        yield alarm["Namespace"], alarm["MetricName"], {d["Name"]: flatten(d["Value"]) for d in alarm["Dimensions"]}
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            dims = {d["Name"]: flatten(d["Value"]) for d in metric["Dimensions"]}
            yield metric["Namespace"], metric["MetricName"], dims
        else:
            assert not flatten(query["Expression"]).lstrip().upper().startswith(("SELECT", "SEARCH")), query


def metric_uses(synth: Synthesized) -> Iterator[tuple[str, str, str, tuple[str, ...], dict[str, str]]]:
    """(where, namespace, metric, dimension names, dimensions) of every metric the dashboard and alarms read."""
    _, body = dashboard(synth)
    for widget in body["widgets"]:
        for entry in widget["properties"].get("metrics", []):
            if isinstance(entry[0], str):
                namespace, metric, *rest = [e for e in entry if not isinstance(e, dict)]
                dims = dict(zip(rest[0::2], rest[1::2], strict=True))
                yield widget["properties"]["title"], namespace, metric, tuple(dims), dims
            else:
                assert not entry[0]["expression"].lstrip().upper().startswith(("SELECT", "SEARCH")), entry
    for name, alarm in alarms(synth).items():
        for namespace, metric, dims in alarm_metrics(alarm):
            yield name, namespace, metric, tuple(dims), dims


@pytest.fixture(params=["synth", "variant"])
def any_synth(request: pytest.FixtureRequest) -> Synthesized:
    synth: Synthesized = request.getfixturevalue(request.param)
    return synth


# --------------------------------------------------------------------------------------------- dashboard


def test_one_dashboard_named_after_the_stack_with_a_url_output(synth: Synthesized) -> None:
    name, body = dashboard(synth)
    assert name == GATEWAY
    assert [w["type"] for w in body["widgets"][:3]] == ["text", "metric", "alarm"]
    url = flatten(synth.templates[GATEWAY]["Outputs"]["DashboardUrl"]["Value"])
    assert url == f"https://<Region>.console.aws.amazon.com/cloudwatch/home?region=<Region>#dashboards/dashboard/{name}"
    assert not of_type(synth.templates[PLATFORM], "AWS::CloudWatch::Dashboard")


def test_widgets_fit_the_grid_without_overlapping(any_synth: Synthesized) -> None:
    _, body = dashboard(any_synth)
    cells: set[tuple[int, int]] = set()
    for w in body["widgets"]:
        assert w["x"] + w["width"] <= 24
        mine = {(x, y) for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])}
        assert not cells & mine, w
        cells |= mine


def test_every_metric_and_dimension_is_one_lattice_documents_or_this_apps_own(any_synth: Synthesized) -> None:
    uses = list(metric_uses(any_synth))
    assert {namespace for _, namespace, *_ in uses} == {documented.NAMESPACE, target_health.NAMESPACE}
    for where, namespace, metric, dims, _ in uses:
        if namespace == documented.NAMESPACE:
            assert metric in documented.METRICS, (where, metric)
            assert set(dims) in [set(d) for d in documented.METRICS[metric]], (where, metric, dims)
        else:
            assert namespace == target_health.NAMESPACE, (where, namespace)
            assert set(dims) == set(OWN_METRICS.get(metric, ("?",))), (where, metric, dims)


def test_a_wrong_metric_name_would_be_caught() -> None:
    """The check above compares against the cited data: ELB's names (the first review found them here) and a
    target-health metric Lattice does not publish are not in it."""
    for elb in ("HealthyHostCount", "UnhealthyHostCount", "UnHealthyHostCount", "RequestCount", "NewConnectionCount",
                "ProcessedBytes"):  # fmt: skip
        assert elb not in documented.METRICS
    assert ("ServiceName",) not in documented.METRICS["TotalRequestCount"]
    assert "serverNameIndicator" not in documented.ACCESS_LOG_FIELDS
    assert "serverNameIndication" in documented.ACCESS_LOG_FIELDS


def test_this_apps_names_are_the_ones_the_publisher_writes() -> None:
    from lattice_metrics import health

    assert tuple(OWN_METRICS) == (health.HEALTHY, health.UNHEALTHY, health.STALE, health.RUNS)
    assert target_health.NAMESPACE != documented.NAMESPACE and not target_health.NAMESPACE.startswith("AWS/")


def test_every_route_and_app_has_its_widgets_and_alarms(any_synth: Synthesized) -> None:
    config = config_of(any_synth)
    _, body = dashboard(any_synth)
    titles = [w["properties"].get("title", "") for w in body["widgets"]]
    names = set(alarms(any_synth))
    for i, route in enumerate(config.routes):
        name = f"{route.namespace}/{route.name}"
        assert [t for t in titles if t.startswith(f"{name}: ")] == [
            f"{name}: requests and responses",
            f"{name}: request time (ms)",
            f"{name}: targets per app",
        ]
        assert {f"{GATEWAY} {name} 5XX rate", f"{GATEWAY} {name} p99 latency"} <= names
        # The route's widgets read its own service's metrics, nobody else's.
        row = [w for w in body["widgets"] if w["properties"].get("title", "").startswith(f"{name}: ")]
        values = {v for w in row[:2] for *_, v in _widget_uses(w)}
        assert values == {f"<{lookups(any_synth)[i][0]}.{SERVICE_ID}>"}
    for ref in target_groups(config):
        app = f"{ref.app.namespace}/{ref.app.name}"
        route_name = f"{ref.route.namespace}/{ref.route.name}"
        assert f"{GATEWAY} {route_name} {app} no healthy targets" in names
    assert {a.name for a in config.apps} <= {ref.app.name for ref in target_groups(config)}


def _widget_uses(widget: dict[str, Any]) -> Iterator[tuple[str, tuple[str, ...], str]]:
    for entry in widget["properties"]["metrics"]:
        if isinstance(entry[0], str):
            yield entry[1], (entry[2],), entry[3]


def test_adding_a_route_adds_its_row_and_alarms(synth: Synthesized, variant: Synthesized) -> None:
    """The variant has one more route (extra-route, to demo-app-a) than the defaults."""
    assert len(config_of(variant).routes) == len(config_of(synth).routes) + 1
    (_, base), (_, more) = dashboard(synth), dashboard(variant)
    assert len(more["widgets"]) == len(base["widgets"]) + 3
    extra = {n for n in alarms(variant) if "default/extra-route" in n}
    assert extra == {
        f"{GATEWAY} default/extra-route 5XX rate",
        f"{GATEWAY} default/extra-route p99 latency",
        f"{GATEWAY} default/extra-route default/demo-app-a no healthy targets",
    }
    assert len(alarms(variant)) == len(alarms(synth)) + 3


def test_the_service_looked_up_is_the_one_the_controller_names_for_each_route(any_synth: Synthesized) -> None:
    """Lattice keys metrics on the service's id; each route's lookup finds it by the name the controller will
    give the route: the service-name-override annotation on the HTTPRoute object the app emits. The health
    alarms name the same object and its backends, as the controller tags the target groups."""
    config = config_of(any_synth)
    routes = {
        (m["metadata"]["namespace"], m["metadata"]["name"]): m
        for r in of_type(any_synth.templates[GATEWAY], "Custom::AWSCDK-EKS-KubernetesResource").values()
        for m in json.loads(flatten(r["Properties"]["Manifest"]))
        if m["kind"] == "HTTPRoute"
    }
    found = lookups(any_synth)
    assert len(routes) == len(config.routes) == len(found)
    health = {n: m[2] for n, a in alarms(any_synth).items() for m in alarm_metrics(a) if m[1] == target_health.HEALTHY}
    for i, route in enumerate(config.routes):
        manifest = routes[(route.namespace, route_object_name(route, config.cluster_name))]
        annotated = manifest["metadata"]["annotations"][SERVICE_NAME_OVERRIDE_ANNOTATION]
        assert found[i][1]["Services"] == [{"Key": SERVICE_ID, "Name": annotated}]
        assert annotated == lattice_service_name(route, config.cluster_name)
        assert found[i][1]["ConfigDigest"] == route_digest(route)
        backends = {b["name"] for rule in manifest["spec"]["rules"] for b in rule["backendRefs"]}
        route_value = f"{manifest['metadata']['namespace']}/{manifest['metadata']['name']}"
        mine = [d for d in health.values() if d["Route"] == route_value]
        assert {d["App"] for d in mine} == {f"{route.namespace}/{b}" for b in backends}
        assert {d["Cluster"] for d in mine} == {config.cluster_name}


def test_each_lookup_runs_after_the_dns_records(synth: Synthesized) -> None:
    gw = synth.templates[GATEWAY]
    records = of_type(gw, "Custom::LatticeDnsRecord")
    assert records
    for logical_id, _ in lookups(synth):
        assert set(records) <= set(gw["Resources"][logical_id].get("DependsOn", []))


# ------------------------------------------------------------------------------------------------ alarms


def single_stat(alarm: dict[str, Any]) -> tuple[str, str]:
    """(metric, statistic) of an alarm on one metric, in either form CloudFormation takes."""
    if "MetricName" in alarm:
        return alarm["MetricName"], alarm["Statistic"]
    (query,) = alarm["Metrics"]
    return query["MetricStat"]["Metric"]["MetricName"], query["MetricStat"]["Stat"]


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_alarm_thresholds_and_periods_follow_config(request: pytest.FixtureRequest, which: str) -> None:
    synth: Synthesized = request.getfixturevalue(which)
    cfg = config_of(synth).alarms
    # The health alarms' period: never shorter than the publisher's interval (a period without a run breaches).
    health_period = max(cfg.period_seconds, 60 * cfg.target_health_minutes)
    for name, alarm in alarms(synth).items():
        assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == cfg.evaluation_periods
        own = any(ns == target_health.NAMESPACE for ns, *_ in alarm_metrics(alarm))
        periods = {q.get("Period") or q.get("MetricStat", {}).get("Period") for q in alarm.get("Metrics", [])}
        periods |= {alarm.get("Period")}
        assert periods - {None} == {health_period if own else cfg.period_seconds}, name
        if name.endswith("5XX rate"):
            assert alarm["Threshold"] == cfg.error_rate_percent
            assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        elif name.endswith("p99 latency"):
            assert alarm["Threshold"] == cfg.latency_p99_ms
            assert alarm["Metrics"][0]["MetricStat"]["Stat"] == "p99"
        elif name.endswith("no healthy targets"):
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "LessThanThreshold")
            assert single_stat(alarm) == (target_health.HEALTHY, "Minimum")
        elif name.endswith("publisher silent"):
            assert single_stat(alarm) == (target_health.RUNS, "Sum")
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "LessThanThreshold")
        else:
            assert name.endswith("Lattice service ids stale"), name
            assert single_stat(alarm) == (target_health.STALE, "Maximum")
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    if which == "variant":  # other values than the defaults, so the check above is not passing by accident
        assert (cfg.error_rate_percent, cfg.latency_p99_ms, cfg.evaluation_periods, cfg.period_seconds) != (
            5,
            1000,
            3,
            60,
        )
        assert health_period == 600  # the publisher's interval, longer than periodSeconds


def test_missing_data_breaches_only_on_metrics_that_are_always_published(
    synth: Synthesized, variant: Synthesized, two_stages: PipelineSynth, one_stage: PipelineSynth
) -> None:
    """The class, over every alarm of every synthesis (default, variant, both pipelines' stages): an alarm that
    treats missing data as breaching must read only metrics published whatever the traffic. Lattice publishes
    none so (its page: "from the time the resource receives traffic"); this app's own are written on every
    publisher run. Every alarm states its choice."""
    from tests.service_constraints import assembly_templates

    always = set(OWN_METRICS) if not documented.ALWAYS_PUBLISHED else set(OWN_METRICS) | set(documented.METRICS)
    found = {
        f"{where}:{r['Properties']['AlarmName']}": r["Properties"]
        for where, outdir in (
            ("default", synth.outdir),
            ("variant", variant.outdir),
            ("pipeline-two", two_stages.outdir),
            ("pipeline-one", one_stage.outdir),
        )
        for _, template in assembly_templates(outdir)
        for r in template.get("Resources", {}).values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert {k.split(":")[0] for k in found} == {"default", "variant", "pipeline-two", "pipeline-one"}
    for name, alarm in found.items():
        assert alarm["TreatMissingData"] in ("breaching", "notBreaching"), name
        if alarm["TreatMissingData"] == "breaching":
            for namespace, metric, _ in alarm_metrics(alarm):
                assert namespace == target_health.NAMESPACE and metric in always, (name, metric)
    breaching = {n for n, a in found.items() if a["TreatMissingData"] == "breaching"}
    # The per-app alarms have no count while their target group is created (constructs/observability/monitoring.py):
    # only the publisher's heartbeat breaches when missing.
    assert breaching == {n for n in found if n.endswith("publisher silent")}


def test_error_rate_is_5xx_over_requests_of_the_same_service(synth: Synthesized) -> None:
    (alarm,) = [a for n, a in alarms(synth).items() if n.endswith("5XX rate")]
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    (expression,) = [q for q in alarm["Metrics"] if "Expression" in q]
    assert expression["Expression"] == "100 * FILL(errors, 0) / requests" and expression["ReturnData"]
    assert queries["errors"]["MetricStat"]["Metric"]["MetricName"] == "HTTPCode_5XX_Count"
    assert queries["requests"]["MetricStat"]["Metric"]["MetricName"] == "TotalRequestCount"
    dims = {json.dumps(queries[k]["MetricStat"]["Metric"]["Dimensions"]) for k in ("errors", "requests")}
    assert len(dims) == 1


def test_without_email_no_topic_and_no_actions(synth: Synthesized) -> None:
    gw = synth.templates[GATEWAY]
    assert not of_type(gw, "AWS::SNS::Topic")
    assert all("AlarmActions" not in a for a in alarms(synth).values())


def test_with_email_an_encrypted_topic_mails_it_and_every_alarm_notifies(variant: Synthesized) -> None:
    gw = variant.templates[GATEWAY]
    ((topic_id, topic),) = of_type(gw, "AWS::SNS::Topic").items()
    key_ref = topic["Properties"]["KmsMasterKeyId"]
    assert key_ref["Fn::GetAtt"][0] in of_type(gw, "AWS::KMS::Key")
    (subscription,) = of_type(gw, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == VARIANT["alarms"]["email"]  # type: ignore[index]
    for name, alarm in alarms(variant).items():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}], name
    # CloudWatch may use the key to publish (a topic under the AWS-managed SNS key would drop every alarm).
    (key,) = of_type(gw, "AWS::KMS::Key").values()
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com" for s in statements)


# ----------------------------------------------------------------------------------------------- queries


def test_saved_queries_are_on_the_access_log_group(any_synth: Synthesized) -> None:
    queries = of_type(any_synth.templates[GATEWAY], "AWS::Logs::QueryDefinition")
    (log_group,) = [
        g["Properties"]["LogGroupName"]
        for g in of_type(any_synth.templates[PLATFORM], "AWS::Logs::LogGroup").values()
        if "vpclattice" in str(g["Properties"].get("LogGroupName"))
    ]
    assert sorted(q["Properties"]["Name"] for q in queries.values()) == sorted(f"{GATEWAY}/{t}" for t in QUERIES)
    for query in queries.values():
        assert query["Properties"]["LogGroupNames"] == [log_group]


KEYWORDS = {"fields", "filter", "stats", "sort", "limit", "by", "as", "and", "or", "not", "desc", "asc", "count",
            "sum", "ispresent", "errors", "requests", "failed"}  # fmt: skip


@pytest.mark.parametrize("title", list(QUERIES))
def test_every_query_reads_documented_access_log_fields(title: str) -> None:
    text = re.sub(r'"[^"]*"', "", QUERIES[title])  # string literals are values, not fields
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)) - KEYWORDS
    assert words and words <= documented.ACCESS_LOG_FIELDS, words - documented.ACCESS_LOG_FIELDS


# ------------------------------------------------------------------------------------------------ config


BAD_ALARMS: list[tuple[Any, str]] = [
    ({"email": "ops"}, "alarms.email: 'ops' is not an email address"),
    ({"email": "ops@localhost"}, "alarms.email: 'ops@localhost' is not an email address"),
    ({"email": "a b@example.com"}, "alarms.email: 'a b@example.com' is not an email address"),
    ({"errorRatePercent": 0}, "alarms.errorRatePercent: 0 must be above 0 and at most 100"),
    ({"errorRatePercent": 101}, "alarms.errorRatePercent: 101 must be above 0 and at most 100"),
    ({"errorRatePercent": "5"}, 'alarms.errorRatePercent: expected number, got "5"'),
    ({"latencyP99Ms": 0}, "alarms.latencyP99Ms: 0 is out of range 1..600000"),
    ({"latencyP99Ms": 1.5}, "alarms.latencyP99Ms: expected int, got 1.5"),
    ({"evaluationPeriods": 61}, "alarms.evaluationPeriods: 61 is out of range 1..60"),
    ({"periodSeconds": 30}, "alarms.periodSeconds: 30 is not one of 60, 300, 900, 3600"),
    ({"threshold": 5}, "alarms.threshold: unknown field"),
    ([], "alarms: expected dict, got []"),
    ("{", "alarms: expected JSON (dict)"),
]


@pytest.mark.parametrize(("value", "message"), BAD_ALARMS, ids=[m for _, m in BAD_ALARMS])
def test_a_bad_alarms_value_is_refused_naming_the_key(value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_context({**cdk_json_context(), "alarms": value}, today=dt.date(2026, 11, 28))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value) and "Input should" not in str(caught.value)


def test_alarms_keys_left_out_take_the_defaults() -> None:
    config = parse_context({**cdk_json_context(), "alarms": '{"email": "ops@example.com"}'}, today=dt.date(2026, 1, 1))
    assert config.alarms.email == "ops@example.com"
    assert (config.alarms.error_rate_percent, config.alarms.latency_p99_ms) == (5, 1000)


# ------------------------------------------------------------------------------------- cost and make target


def test_cost_prices_the_dashboard_alarms_and_free_queries(synth: Synthesized, variant: Synthesized) -> None:
    from tools import cost

    region = "ap-northeast-2"
    prices = cost.load_prices()["regions"][region]
    for key in ("cloudwatch_dashboard_month", "cloudwatch_alarm_metric_month", "kms_key_month", "sns_email_100k"):
        assert prices[key]["source"].startswith("https://aws.amazon.com/") and prices[key]["date"]
    est = {line.key: line for line in cost.estimate(synth.templates, region=region, config=synth.config).lines}
    assert est["cloudwatch_dashboards"].monthly_usd == 3.00
    # 5XX rate: errors and requests; p99: one metric; each app's health: one; the publisher's two alarms.
    pairs = len(target_groups(config_of(synth)))
    assert est["cloudwatch_alarms"].quantity == 2 + 1 + pairs + 2
    assert est["cloudwatch_alarms"].monthly_usd == round(est["cloudwatch_alarms"].quantity * 0.10, 2)
    assert (est["query_definitions"].quantity, est["query_definitions"].monthly_usd) == (len(QUERIES), 0.0)
    assert est["kms_keys"].monthly_usd == 2.00  # the two customer-managed keys (cluster secrets, logs); no topic
    more = {line.key: line for line in cost.estimate(variant.templates, region=region, config=variant.config).lines}
    assert more["cloudwatch_alarms"].quantity == est["cloudwatch_alarms"].quantity + 2 + 1 + 1
    assert more["kms_keys"].monthly_usd == 3.00  # and the alarm topic's key


def test_cost_prices_the_target_health_publisher(synth: Synthesized, variant: Synthesized) -> None:
    """Metrics, invocations, duration and API requests of the publisher, from the synthesized schedule."""
    from tools import cost

    region = "us-east-1"
    prices = cost.load_prices()["regions"][region]
    keys = ("cloudwatch_custom_metric_month", "cloudwatch_api_1k_requests", "lambda_million_requests",
            "lambda_arm_gb_second")  # fmt: skip
    for key in keys:
        assert prices[key]["source"].startswith("https://aws.amazon.com/") and prices[key]["date"]
    est = {line.key: line for line in cost.estimate(synth.templates, region=region, config=synth.config).lines}
    pairs = len(target_groups(config_of(synth)))
    assert est["target_health_metrics"].quantity == 2 * pairs + 2
    assert est["target_health_metrics"].monthly_usd == round((2 * pairs + 2) * 0.30, 2)
    runs = 730 * 60  # every minute by default
    assert est["target_health_invocations"].quantity == round(runs / 1e6, 4)
    assert est["target_health_api_calls"].quantity == round(runs * 3 / 1000, 1)  # 2 PutMetricData + 1 DescribeAlarms
    assert (
        est["target_health_duration"].quantity == round(runs * 1.0 * 256 / 1024)
        and est["target_health_duration"].assumption
    )
    more = {line.key: line for line in cost.estimate(variant.templates, region=region, config=variant.config).lines}
    assert more["target_health_invocations"].quantity == round(730 * 6 / 1e6, 4)  # every 10 minutes
    assert more["target_health_metrics"].quantity == 2 * len(target_groups(config_of(variant))) + 2


def test_make_dashboard_prints_the_url_the_stack_outputs(synth: Synthesized, tmp_path: Any) -> None:
    from tools import dashboard as tool

    name, _ = dashboard(synth)
    output = flatten(synth.templates[GATEWAY]["Outputs"]["DashboardUrl"]["Value"])
    env = {"AWS_CONFIG_FILE": str(tmp_path / "none")}
    assert tool.dashboards(cdk_json_context(), region="eu-west-1", environ=env) == [
        ("", output.replace("<Region>", "eu-west-1"))
    ]
    assert name in output
    # Offline defaults: the environment, else the AWS CLI's config file.
    assert tool.default_region({"AWS_DEFAULT_REGION": "us-west-2"}) == "us-west-2"
    (tmp_path / "config").write_text("[default]\nregion = ap-northeast-2\n[profile ops]\nregion = eu-central-1\n")
    assert tool.default_region({"AWS_CONFIG_FILE": str(tmp_path / "config")}) == "ap-northeast-2"
    assert tool.default_region({"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_PROFILE": "ops"}) == "eu-central-1"
    assert tool.default_region({"AWS_CONFIG_FILE": str(tmp_path / "none")}) is None


def test_make_dashboard_names_each_pipeline_stages_dashboard(tmp_path: Any) -> None:
    """A stage's stacks are `<PREFIX>-<stage>-…` (stacks/pipeline_stack.py SystemStage), in its own region."""
    from stacks.system import PREFIX
    from tests.conftest import PIPELINE_REGION, PROD_REGION, TWO_STAGES
    from tools import dashboard as tool

    assert tool.PREFIX == PREFIX  # repeated there so the tool needn't load the CDK
    context = {**cdk_json_context(), "pipeline": {**TWO_STAGES, "region": PIPELINE_REGION}}
    found = tool.dashboards(context, region=None, environ={"AWS_CONFIG_FILE": str(tmp_path / "none")})
    assert found == [
        ("dev", tool.dashboard_url(PIPELINE_REGION, f"{PREFIX}-dev-Gateway")),
        ("prod", tool.dashboard_url(PROD_REGION, f"{PREFIX}-prod-Gateway")),
    ]


def test_make_dashboard_without_a_region_or_with_a_bad_config_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools import dashboard as tool

    assert tool.main([], environ={"AWS_CONFIG_FILE": str(tmp_path / "none")}) == 2
    assert (
        capsys.readouterr().err.strip() == 'dashboard: no region: pass --region (ARGS="--region ...") or set AWS_REGION'
    )
    monkeypatch.setattr(tool, "cdk_json_context", lambda: {**cdk_json_context(), "alarms": {"email": "x"}})
    assert tool.main(["--region", "us-east-1"]) == 2
    assert capsys.readouterr().err.strip().startswith("dashboard: alarms.email: 'x' is not an email address")


def test_the_readme_picture_is_drawn_from_the_current_dashboard(synth: Synthesized) -> None:
    from tools import dashboard_svg

    picture = dashboard_svg.render(synth.templates[GATEWAY])
    assert dashboard_svg.OUT.read_text() == picture, "stale: run python tools/dashboard_svg.py"
    _, body = dashboard(synth)
    assert picture.count("<rect x=") >= len(body["widgets"])
    words = " ".join(re.findall(r">([^<]*)</text>", picture))
    for name in alarms(synth):  # the alarm widget lists every alarm by name (wrapped)
        assert escape(name.split(" ", 1)[-1]) in words


def test_a_routes_lookup_runs_again_when_that_route_changes(synth: Synthesized) -> None:
    """A changed route can make the controller replace its service: new properties, new lookup of that route
    only. Apps and alarms don't touch it (target groups have no looked-up id)."""
    route = config_of(synth).routes[0]
    assert route_digest(route.model_copy(update={"hostname": "other.example.com"})) != route_digest(route)
    assert route_digest(route.model_copy()) == route_digest(route)
