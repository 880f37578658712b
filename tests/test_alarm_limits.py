"""CloudWatch's limits on the alarms this app makes, over the alarms config's whole range (issue 22 review):
the look-back Period x EvaluationPeriods (config/model.py alarm_window_max, from botocore's PutMetricAlarm doc)
and the alarm name's length. Checked on the model for every combination of the keys, and on syntheses of the
alarm-making constructs at the bounds."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_logs as logs
from constructs.observability.metric_ids import LatticeMetricIds
from constructs.observability.monitoring import Observability
from constructs.observability.target_health import TargetHealthPublisher
from pydantic import ValidationError

from config import AppConfig, ConfigError, parse_context
from config.model import ALARM_PERIODS, MAX_TARGET_HEALTH_MINUTES, Alarms, alarm_window_max
from tests.conftest import cdk_json_context

# PutMetricAlarm `Period`: "Valid values are 10, 20, 30, and any multiple of 60" (botocore 1.44.8, read 2026-12-05).
SUB_MINUTE_PERIODS = (10, 20, 30)
MAX_EVALUATION_PERIODS = 60
TODAY = dt.date(2026, 12, 5)


def valid_period(period: int) -> bool:
    return period in SUB_MINUTE_PERIODS or (period > 0 and period % 60 == 0)


def config_with(alarms: dict[str, Any], **context: Any) -> AppConfig:
    return parse_context({**cdk_json_context(), **context, "alarms": alarms}, today=TODAY)


def alarm_resources(config: AppConfig, stack_name: str = "EksLatticeGateway-Gateway") -> dict[str, dict[str, Any]]:
    """The alarms the gateway's alarm-making constructs synthesize for `config` (a stack of just those)."""
    app = App()
    stack = Stack(app, stack_name)
    retention = logs.RetentionDays.ONE_WEEK
    ids = LatticeMetricIds(stack, "MetricIds", config=config, after=[], log_retention=retention)
    health = TargetHealthPublisher(
        stack, "TargetHealth", config=config, vpc_id="vpc-0123456789abcdef0", alarm_prefix=f"{stack_name} ",
        log_retention=retention,
    )  # fmt: skip
    Observability(
        stack, "Observability", config=config, ids=ids, health=health, access_log_group_name="/aws/vpclattice/x",
        dashboard_name=stack_name,
    )  # fmt: skip
    template = app.synth().get_stack_by_name(stack_name).template
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def alarm_periods(alarm: dict[str, Any]) -> set[int]:
    periods = {q["MetricStat"]["Period"] for q in alarm.get("Metrics", []) if "MetricStat" in q}
    periods |= {q["Period"] for q in alarm.get("Metrics", []) if "Period" in q}
    return periods | ({alarm["Period"]} if "Period" in alarm else set())


def test_every_combination_the_model_accepts_fits_and_every_other_is_refused_naming_the_keys() -> None:
    """The class, from the model: all periods x evaluation periods x publisher intervals."""
    accepted = refused = 0
    for period, evaluations, minutes in itertools.product(
        ALARM_PERIODS, range(1, MAX_EVALUATION_PERIODS + 1), range(1, MAX_TARGET_HEALTH_MINUTES + 1)
    ):
        keys = {"periodSeconds": period, "evaluationPeriods": evaluations, "targetHealthMinutes": minutes}
        alarm_periods_here = (period, max(period, 60 * minutes))  # route alarms', health alarms'
        fits = all(p * evaluations <= alarm_window_max(p) for p in alarm_periods_here)
        if not fits:
            with pytest.raises(ValidationError) as caught:
                Alarms.model_validate(keys)
            assert "evaluationPeriods" in str(caught.value) and "targetHealthMinutes" in str(caught.value)
            refused += 1
            continue
        model = Alarms.model_validate(keys)
        assert fits, keys
        assert model.health_period_seconds == alarm_periods_here[1]
        assert all(valid_period(p) for p in alarm_periods_here)
        accepted += 1
    assert accepted and refused  # both sides of the rule are exercised


def test_the_limit_is_the_documented_one() -> None:
    assert (alarm_window_max(60), alarm_window_max(3599), alarm_window_max(3600)) == (86_400, 86_400, 604_800)


def test_a_too_long_look_back_is_refused_as_a_config_error_naming_both_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        config_with({"evaluationPeriods": 60, "targetHealthMinutes": 30})
    message = str(caught.value)
    assert message.startswith("alarms.evaluationPeriods:") and "targetHealthMinutes" in message, message
    assert "108000 s" in message and "86400" in message


def largest_accepted(period: int, minutes: int) -> int:
    for evaluations in range(MAX_EVALUATION_PERIODS, 0, -1):
        try:
            Alarms.model_validate(
                {"periodSeconds": period, "evaluationPeriods": evaluations, "targetHealthMinutes": minutes}
            )
        except ValidationError:  # refused: try fewer
            continue
        return evaluations
    raise AssertionError("no evaluationPeriods accepted")


@pytest.mark.parametrize(("period", "minutes"), [(60, 1), (60, 59), (60, 60), (3600, 1), (900, 30)])
def test_synthesized_alarms_at_the_bounds_fit(period: int, minutes: int) -> None:
    """The class, from the templates: at the longest accepted look-back of each bound, every alarm's period is one
    CloudWatch takes and its look-back fits."""
    evaluations = largest_accepted(period, minutes)
    config = config_with({"periodSeconds": period, "evaluationPeriods": evaluations, "targetHealthMinutes": minutes})
    found = alarm_resources(config)
    assert found
    for logical_id, alarm in found.items():
        assert alarm["EvaluationPeriods"] == evaluations
        for p in alarm_periods(alarm):
            assert valid_period(p), (logical_id, p)
            assert p * alarm["EvaluationPeriods"] <= alarm_window_max(p), (logical_id, p)


# ------------------------------------------------------------------------------------------ names, replicas

LONG = "n" * 62 + "x"  # a Kubernetes name at its 63-character maximum
LONG_APP = "a" * 62 + "z"


def long_names_config(**app_overrides: Any) -> AppConfig:
    apps = [
        {"name": LONG_APP, "namespace": LONG, "image": "rlawnsdud/demo:latest", "containerPort": 3000,
         "healthPath": "/health", **app_overrides},
        {"name": LONG_APP[:-1] + "y", "namespace": LONG, "image": "rlawnsdud/demo:latest", "containerPort": 3000,
         "healthPath": "/health"},
    ]  # fmt: skip
    routes = [
        {"name": LONG, "namespace": LONG, "hostname": "api.example.com",
         "rules": [{"pathPrefix": "/a", "backends": [{"app": apps[0]["name"]}]},
                   {"pathPrefix": "/b", "backends": [{"app": apps[1]["name"]}]}]},
    ]  # fmt: skip
    return config_with({}, apps=apps, routes=routes)


def test_alarm_names_fit_at_the_longest_names_and_stay_distinct() -> None:
    """The class: at the longest stack, namespace, route and app names every alarm name is within CloudWatch's
    255 characters (botocore cloudwatch AlarmName max), starts with the stack's prefix and keeps what it is
    about at its end."""
    stack_name = "S" * 128  # CloudFormation's longest stack name
    found = alarm_resources(long_names_config(), stack_name)
    names = [a["AlarmName"] for a in found.values()]
    assert any(len(f"{stack_name} {LONG}/{LONG} {LONG}/{LONG_APP} no healthy targets") > 255 for _ in names)
    assert len(set(names)) == len(names)
    for name in names:
        assert 1 <= len(name) <= 255, name
        assert name.startswith(stack_name + " ")
    assert sum(n.endswith("no healthy targets") for n in names) == 2


def test_an_app_with_no_replicas_has_no_no_healthy_targets_alarm() -> None:
    """replicas 0: no targets by design, so its alarm would sit in ALARM; the other app keeps its alarm."""
    import json

    apps = json.loads(cdk_json_context()["apps"]) if isinstance(cdk_json_context()["apps"], str) else None
    apps = apps or list(cdk_json_context()["apps"])
    apps = [{**a, "replicas": 0} if a["name"] == "demo-app-a" else a for a in apps]
    found = [a["AlarmName"] for a in alarm_resources(config_with({}, apps=apps)).values()]
    assert [n.rsplit(" ", 4)[-4] for n in found if n.endswith("no healthy targets")] == ["default/demo-app-b"]
