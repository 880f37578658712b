"""Every Gateway listener port is reachable: admitted by every VPC association's security group (the provider's
own VPCs and each consumer's) and by the smoke test's egress, in every configuration the tests synthesize
(review of issue 26: a TLS route on a port other than 443 was unreachable).

A client reaches a Lattice service only through what its VPC association's security groups admit
(https://docs.aws.amazon.com/vpc-lattice/latest/ug/security-groups.html, read 2026-12-05)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Synthesized
from tests.support.egress import egress_rules
from tools import impact

SYNTHS = ["synth", "variant", "protocols", "protocols_consumers"]


def _listener_ports(synth: Synthesized) -> set[int]:
    ports: set[int] = set()
    for template in synth.templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] != impact.KUBERNETES_MANIFEST:
                continue
            for obj, doc in (impact.manifest_objects(resource) or {}).items():
                if obj.kind == "Gateway":
                    ports |= {int(listener["port"]) for listener in doc["spec"]["listeners"]}
    return ports


def _groups(synth: Synthesized, marker: str) -> dict[str, dict[str, Any]]:
    return {
        f"{stack}/{lid}": r["Properties"]
        for stack, template in synth.templates.items()
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::EC2::SecurityGroup" and r["Properties"].get("GroupDescription", "").startswith(marker)
    }


def _admits(rules: list[dict[str, Any]], port: int) -> bool:
    return any(r["IpProtocol"] in ("tcp", "-1") and r["FromPort"] <= port <= r["ToPort"] for r in rules)


@pytest.mark.parametrize("which", SYNTHS)
def test_every_listener_port_is_admitted_by_every_association_and_the_smoke_test(
    request: pytest.FixtureRequest, which: str
) -> None:
    synth: Synthesized = request.getfixturevalue(which)
    ports = _listener_ports(synth)
    assert ports >= {r.listener_port for r in synth.config.routes}, ports
    associations = _groups(synth, "Lattice association")
    smokes = _groups(synth, "Smoke test")
    consumers = {c.name for c in synth.config.consumers}
    assert len(associations) == 2 + len(consumers), associations.keys()  # the cluster's, the client's, consumers'
    assert len(smokes) >= 1 + sum(1 for c in synth.config.consumers if c.test_host), smokes.keys()
    for name, group in associations.items():
        missing = {p for p in ports if not _admits(group.get("SecurityGroupIngress", []), p)}
        assert not missing, f"{name} does not admit listener port(s) {sorted(missing)}"
    for name in smokes:
        stack, logical_id = name.split("/")
        # Inline and standalone rules alike (the smoke test's are AWS::EC2::SecurityGroupEgress resources).
        rules = [r for g, r in egress_rules(synth.templates[stack]) if g == logical_id]
        missing = {p for p in ports if not _admits(rules, p)}
        assert not missing, f"{name} cannot reach listener port(s) {sorted(missing)}"


def test_some_synthesis_has_a_listener_on_a_port_other_than_80_and_443(protocols_consumers: Synthesized) -> None:
    """What makes the class test above bite: a listener on neither of the ports that were always open, with
    consumers."""
    assert _listener_ports(protocols_consumers) - {80, 443}
    assert protocols_consumers.config.consumers
