"""Every alarm on a route watches only metrics that route's protocol can publish (tests/lattice_cloudwatch.py,
published_by, with its sources): a TLS passthrough route gets no 5XX-rate or p99 alarm, whose series would never
exist (and `make smoke`'s metrics check, which waits for every series the alarms watch, would wait in vain)."""

from __future__ import annotations

from typing import Any

import pytest

from tests import lattice_cloudwatch
from tests.conftest import Synthesized

GATEWAY = "EksLatticeGateway-Gateway"


def _lattice_metrics(alarm: dict[str, Any]) -> set[str]:
    found = set()
    if alarm.get("Namespace") == lattice_cloudwatch.NAMESPACE:
        found.add(alarm["MetricName"])
    for query in alarm.get("Metrics", []):
        metric = query.get("MetricStat", {}).get("Metric", {})
        if metric.get("Namespace") == lattice_cloudwatch.NAMESPACE:
            found.add(metric["MetricName"])
    return found


@pytest.mark.parametrize("which", ["synth", "protocols"])
def test_every_route_alarm_watches_a_metric_its_protocol_publishes(request: pytest.FixtureRequest, which: str) -> None:
    synth: Synthesized = request.getfixturevalue(which)
    alarms = [
        r["Properties"] for r in synth.templates[GATEWAY]["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"
    ]
    watched: dict[str, set[str]] = {}
    for route in synth.config.routes:
        name = f"{route.namespace}/{route.name} "
        mine = [a for a in alarms if name in str(a.get("AlarmName", ""))]
        metrics = set().union(*(_lattice_metrics(a) for a in mine)) if mine else set()
        allowed = lattice_cloudwatch.published_by(route.protocol)
        assert metrics <= allowed, f"{route.name} ({route.protocol}) alarms on {sorted(metrics - allowed)}"
        watched[route.protocol] = watched.get(route.protocol, set()) | metrics
    # The request alarms stay where the series exist.
    assert {"HTTPCode_5XX_Count", "RequestTime"} <= watched["HTTP"]
    if which == "protocols":
        assert "TLS" in watched and {"HTTPCode_5XX_Count", "RequestTime"} <= watched["GRPC"]
