"""Every security group of every shared synthesis stays within the rules quota (REVIEW.md fault class 7: a value the
model accepts and the layer below refuses at deploy): its rules' weights, plus the rules the owning service adds
itself, per direction and address family, at most config.limits.SECURITY_GROUP_RULES (60).

How a rule counts (sources in config/limits.py, read 2026-12-05): a CIDR or a security group reference is one rule; a
rule naming an AWS-managed prefix list counts as that list's weight (WEIGHTS). A security group reference and an
``IpProtocol -1`` self rule match both families, so they count in both.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from config import ConfigError, limits, parse_context
from tests.conftest import TODAY, Synthesized, cached_synthesis
from tests.largest_config import PROVIDER_ACCOUNT, PROVIDER_REGION, largest_context, largest_overrides

# AWS-managed prefix list weights by name (VPC User Guide, "AWS-managed prefix lists", weight table,
# https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html, read 2026-12-05).
WEIGHTS = {".vpc-lattice": limits.LATTICE_PREFIX_LIST_WEIGHT, ".ipv6.vpc-lattice": limits.LATTICE_PREFIX_LIST_WEIGHT}
# Rules EKS keeps in the cluster security group it creates (EKS User Guide, sec-group-reqs, "Default cluster security
# group", https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html, read 2026-12-05): inbound all from
# itself; outbound all to 0.0.0.0/0 (IPv4 clusters) and all to itself (EFA).
EKS_CLUSTER_SG_RULES = Counter({("in", "v4"): 1, ("in", "v6"): 1, ("out", "v4"): 2, ("out", "v6"): 1})

Key = tuple[str, str]  # (stack, security group: logical id, or "<cluster logical id>.ClusterSecurityGroupId")


def _group(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        resource, attribute = value["Fn::GetAtt"]
        return resource if attribute == "GroupId" else f"{resource}.{attribute}"
    return None


def _prefix_list_name(template: Mapping[str, Any], value: Any) -> str:
    """The name a rule's prefix list is looked up by (constructs/lattice/prefix_lists.py's AwsCustomResource)."""
    assert isinstance(value, dict) and "Fn::GetAtt" in value, f"a prefix list not looked up by name: {value}"
    lookup = template["Resources"][value["Fn::GetAtt"][0]]
    create = lookup["Properties"]["Create"]
    text = (
        "".join(p if isinstance(p, str) else "" for p in create["Fn::Join"][1]) if isinstance(create, dict) else create
    )
    for suffix in sorted(WEIGHTS, key=len, reverse=True):
        if f'{suffix}"' in text.replace("\\", ""):
            return suffix
    raise AssertionError(f"a prefix list with no weight in WEIGHTS: {text[:200]}")


def _weights(template: Mapping[str, Any], rule: Mapping[str, Any]) -> Iterator[tuple[str, int]]:
    """(family, weight) of one rule."""
    if "CidrIp" in rule:
        yield "v4", 1
    elif "CidrIpv6" in rule:
        yield "v6", 1
    elif "SourcePrefixListId" in rule or "DestinationPrefixListId" in rule:
        suffix = _prefix_list_name(template, rule.get("SourcePrefixListId") or rule.get("DestinationPrefixListId"))
        yield ("v6" if "ipv6" in suffix else "v4"), WEIGHTS[suffix]
    else:
        assert "SourceSecurityGroupId" in rule or "DestinationSecurityGroupId" in rule, rule
        yield "v4", 1
        yield "v6", 1


def rule_load(templates: Mapping[str, Mapping[str, Any]]) -> dict[Key, Counter[tuple[str, str]]]:
    """Per security group, the weight of its rules per (direction, family), the owning service's own included."""
    load: dict[Key, Counter[tuple[str, str]]] = {}
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            kind, props = resource["Type"], resource.get("Properties", {})
            if kind == "AWS::EKS::Cluster":
                load.setdefault((stack, f"{logical_id}.ClusterSecurityGroupId"), Counter()).update(EKS_CLUSTER_SG_RULES)
            elif kind == "AWS::EC2::SecurityGroup":
                counter = load.setdefault((stack, logical_id), Counter())
                for direction, key in (("in", "SecurityGroupIngress"), ("out", "SecurityGroupEgress")):
                    for rule in props.get(key, []):
                        for family, weight in _weights(template, rule):
                            counter[(direction, family)] += weight
            elif kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
                group = _group(props["GroupId"])
                assert group is not None, f"{stack}/{logical_id}: a rule on a group not in the template"
                direction = "in" if kind.endswith("Ingress") else "out"
                counter = load.setdefault((stack, group), Counter())
                for family, weight in _weights(template, props):
                    counter[(direction, family)] += weight
    return load


def _over(synth: Synthesized) -> list[str]:
    return [
        f"{stack}/{group}: {direction} {family} {weight} > {limits.SECURITY_GROUP_RULES}"
        for (stack, group), counter in rule_load(synth.templates).items()
        for (direction, family), weight in counter.items()
        if weight > limits.SECURITY_GROUP_RULES
    ]


@pytest.fixture(scope="module")
def distinct_ports(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The largest configuration with as many distinct container ports as the model takes."""
    overrides = largest_overrides()
    apps = json.loads(str(overrides["apps"]))
    last = limits.MAX_LATTICE_PORTS - 1
    overrides["apps"] = json.dumps([{**app, "containerPort": 9000 + min(i, last)} for i, app in enumerate(apps)])
    return cached_synthesis(tmp_path_factory, "ports", overrides, (PROVIDER_ACCOUNT, PROVIDER_REGION))


@pytest.mark.parametrize("name", ["synth", "variant", "namespaced", "largest", "distinct_ports"])
def test_every_security_group_fits_the_rules_quota(name: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(name)
    load = rule_load(synth.templates)
    assert load, "no security group found"
    assert _over(synth) == []
    if name == "distinct_ports":
        cluster = next(c for (_s, g), c in load.items() if g.endswith(".ClusterSecurityGroupId"))
        assert cluster[("in", "v4")] == 2 + limits.MAX_LATTICE_PORTS * limits.LATTICE_PREFIX_LIST_WEIGHT


def test_the_rule_count_sees_one_port_too_many(distinct_ports: Synthesized) -> None:
    """The sum is not vacuous: one more Lattice rule on the cluster group goes past the quota."""
    templates = {s: {**t, "Resources": dict(t["Resources"])} for s, t in distinct_ports.templates.items()}
    platform = next(
        t for t in templates.values() if any(k.startswith("LatticeIngressIpv4Port") for k in t["Resources"])
    )
    rule_id = next(k for k in platform["Resources"] if k.startswith("LatticeIngressIpv4Port"))
    platform["Resources"]["OneMore"] = {**platform["Resources"][rule_id]}
    over = [
        (group, key, weight)
        for (_s, group), counter in rule_load(templates).items()
        for key, weight in counter.items()
        if weight > limits.SECURITY_GROUP_RULES
    ]
    assert over and over[0][1] == ("in", "v4"), over


def test_one_distinct_port_too_many_is_refused_naming_the_key() -> None:
    context = largest_context()
    for i, app in enumerate(context["apps"]):
        app["containerPort"] = 9000 + i
    assert len(context["apps"]) > limits.MAX_LATTICE_PORTS
    with pytest.raises(ConfigError, match=rf"apps\[{limits.MAX_LATTICE_PORTS}\]\.containerPort: at most 5 distinct"):
        parse_context(context, today=TODAY)


def test_the_schema_describes_the_cross_field_limit() -> None:
    from tests.conftest import ROOT

    schema = json.loads((ROOT / "config" / "schema.json").read_text())
    assert f"{limits.MAX_LATTICE_PORTS} distinct ports across apps" in json.dumps(schema)
