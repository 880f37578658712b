"""Every security group of every shared synthesis stays within the rules quota (REVIEW.md fault class 7: a value the
model accepts and the layer below refuses at deploy): its rules' weights, plus the rules the owning service adds
itself, per direction and address family, at most config.limits.SECURITY_GROUP_RULES (60).

How a rule counts (sources in config/limits.py, read 2026-12-05 and 2026-12-06): a CIDR is one rule in its own
family; a security group reference is one rule in each family; a rule naming an AWS-managed prefix list counts as that
list's weight (WEIGHTS), and, as the VPC quotas page says of a rule referencing a prefix list ID, in IPv4 and in IPv6
alike (counted conservatively: config/limits.py PREFIX_LIST_FAMILIES).

Updates too: a changed rule is a new resource that CloudFormation creates before it deletes the old one
(config/limits.py), so two configurations' rules together, an edit in flight (in_flight), must fit as well.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from config import ConfigError, limits, parse_context
from tests.conftest import TODAY, Synthesized, cached_synthesis, protocols_context
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
        assert limits.PREFIX_LIST_FAMILIES == 2
        yield "v4", WEIGHTS[suffix]
        yield "v6", WEIGHTS[suffix]
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


def _over_templates(templates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [
        f"{stack}/{group}: {direction} {family} {weight} > {limits.SECURITY_GROUP_RULES}"
        for (stack, group), counter in rule_load(templates).items()
        for (direction, family), weight in counter.items()
        if weight > limits.SECURITY_GROUP_RULES
    ]


def _over(synth: Synthesized) -> list[str]:
    return _over_templates(synth.templates)


RULE_TYPES = ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")


def in_flight(old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The templates as they stand while CloudFormation updates `old` to `new`: every resource of `old`, and each
    standalone rule of `new` that is not the very same resource (same logical ID and properties) beside it, since a
    rule with a new logical ID or a changed create-only property is created before the old one is deleted."""
    merged: dict[str, dict[str, Any]] = {}
    for stack in old.keys() | new.keys():
        before = dict(old.get(stack, {}).get("Resources", {}))
        resources = dict(before)
        for logical_id, resource in new.get(stack, {}).get("Resources", {}).items():
            if logical_id not in before:
                resources[logical_id] = resource
            elif resource["Type"] in RULE_TYPES and resource != before[logical_id]:
                resources[f"{logical_id}Replacement"] = resource
        merged[stack] = {"Resources": resources}
    return merged


@pytest.fixture(scope="module")
def distinct_ports(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The largest configuration (IPv4 Lattice list only) with as many distinct container ports as the model takes."""
    overrides = largest_overrides()
    overrides["latticeIpv6"] = False
    apps = json.loads(str(overrides["apps"]))
    last = limits.MAX_LATTICE_PORTS - 1
    overrides["apps"] = json.dumps([{**app, "containerPort": 9000 + min(i, last)} for i, app in enumerate(apps)])
    return cached_synthesis(tmp_path_factory, "ports", overrides, (PROVIDER_ACCOUNT, PROVIDER_REGION))


# The port one edit moves, in most_ports' edited configuration: a port no other route or app uses.
EDITED_PORT = 20000


def most_ports_context(*, ipv6: bool, edited: bool) -> dict[str, Any]:
    """examples/all-protocols.json at the maxima of distinct ports: every route the model takes (the extra ones TLS,
    each on a port of its own, as is the example's), so the smoke functions' egress has the most listener ports; and
    as many distinct container ports as the cluster group takes (MAX_LATTICE_PORTS, or MAX_LATTICE_PORTS_IPV6 with
    `ipv6`). `edited`: the same with one container port and one TLS route's port changed (each to EDITED_PORT)."""
    context = protocols_context()
    apps, routes = json.loads(context["apps"]), json.loads(context["routes"])
    most = limits.MAX_LATTICE_PORTS_IPV6 if ipv6 else limits.MAX_LATTICE_PORTS
    while len(apps) < most:
        apps.append({**apps[0], "name": f"extra-app-{len(apps)}"})
    if ipv6:
        apps = [{**app, "containerPort": 3000} for app in apps]
    else:
        ports = [3000 + i for i in range(most)]
        apps = [{**app, "containerPort": ports[min(i, most - 1)]} for i, app in enumerate(apps)]
    tls = next(r for r in routes if r.get("protocol") == "TLS")
    routes = [{**r, "port": 8443} if r is tls else r for r in routes]
    for i in range(limits.MAX_ROUTES - len(routes)):
        routes.append({**tls, "name": f"tls-route-{i}", "hostname": f"tls{i}.example.com", "port": 9443 + 1000 * i})
    if edited:  # with ipv6 the one distinct port moves, so every app's
        for app in apps if ipv6 else apps[-1:]:
            app["containerPort"] = EDITED_PORT
        routes[-1]["port"] = EDITED_PORT
    return {**context, "apps": json.dumps(apps), "routes": json.dumps(routes), "latticeIpv6": ipv6}


def _most_ports(tmp_path_factory: pytest.TempPathFactory, *, ipv6: bool, edited: bool) -> Synthesized:
    name = f"most-ports{'-ipv6' if ipv6 else ''}{'-edited' if edited else ''}"
    context = most_ports_context(ipv6=ipv6, edited=edited)
    return cached_synthesis(tmp_path_factory, name, context, (PROVIDER_ACCOUNT, PROVIDER_REGION))


@pytest.fixture(scope="module")
def most_ports(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _most_ports(tmp_path_factory, ipv6=False, edited=False)


@pytest.fixture(scope="module")
def most_ports_edited(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _most_ports(tmp_path_factory, ipv6=False, edited=True)


@pytest.fixture(scope="module")
def most_ports_ipv6(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _most_ports(tmp_path_factory, ipv6=True, edited=False)


@pytest.fixture(scope="module")
def most_ports_ipv6_edited(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _most_ports(tmp_path_factory, ipv6=True, edited=True)


@pytest.mark.parametrize(
    "name", ["synth", "variant", "namespaced", "largest", "distinct_ports", "protocols_consumers", "most_ports"]
)
def test_every_security_group_fits_the_rules_quota(name: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(name)
    load = rule_load(synth.templates)
    assert load, "no security group found"
    assert _over(synth) == []
    if name == "distinct_ports":
        cluster = next(c for (_s, g), c in load.items() if g.endswith(".ClusterSecurityGroupId"))
        assert cluster[("in", "v4")] == 2 + limits.MAX_LATTICE_PORTS * limits.LATTICE_PREFIX_LIST_WEIGHT


@pytest.mark.parametrize(
    ("old", "new", "groups"),
    [
        ("most_ports", "most_ports_edited", ""),
        ("most_ports_edited", "most_ports", ""),
        ("most_ports_ipv6", "most_ports_ipv6_edited", ""),
        # Three TLS routes added or removed at once (and container ports renumbered, more than one at a time, which
        # the cluster group does not take at its maximum: docs/access-control.md): the smoke groups take any edit.
        ("protocols", "most_ports", "SmokeTest"),
        ("most_ports", "protocols", "SmokeTest"),
    ],
)
def test_every_security_group_fits_the_rules_quota_while_an_edit_deploys(
    old: str, new: str, groups: str, request: pytest.FixtureRequest
) -> None:
    """At the maxima of distinct ports (smoke egress: every route on a listener port of its own; cluster ingress: the
    most container ports the model takes), an edit that moves one port keeps the old and the new rules within the
    quota together."""
    before: Synthesized = request.getfixturevalue(old)
    after: Synthesized = request.getfixturevalue(new)
    over = _over_templates(in_flight(before.templates, after.templates))
    assert [o for o in over if o.split("/", 1)[1].startswith(groups)] == []


def test_the_edit_moves_the_smoke_egress_and_the_cluster_ingress(
    most_ports: Synthesized, most_ports_edited: Synthesized
) -> None:
    """Not vacuous: the edited configuration really adds rules to both groups while the old ones still stand."""
    grown = rule_load(in_flight(most_ports.templates, most_ports_edited.templates))
    steady = rule_load(most_ports.templates)
    cluster = next(k for k in steady if k[1].endswith(".ClusterSecurityGroupId"))
    smoke = next(k for k in steady if k[1].startswith("SmokeTestSecurityGroup"))
    inbound, outbound = ("in", "v4"), ("out", "v4")
    assert steady[cluster][inbound] == limits.CLUSTER_SG_OTHER_INBOUND + limits.MAX_LATTICE_PORTS * 10
    assert grown[cluster][inbound] == steady[cluster][inbound] + limits.LATTICE_PREFIX_LIST_WEIGHT
    assert grown[smoke][outbound] > steady[smoke][outbound]
    # One more distinct port than the model takes would not fit while one of them changes.
    assert grown[cluster][inbound] + limits.LATTICE_PREFIX_LIST_WEIGHT > limits.SECURITY_GROUP_RULES


@pytest.mark.parametrize("ipv6", [False, True])
def test_one_distinct_port_too_many_is_refused_naming_the_key(ipv6: bool) -> None:
    context = largest_context()
    context["latticeIpv6"] = ipv6
    most = limits.MAX_LATTICE_PORTS_IPV6 if ipv6 else limits.MAX_LATTICE_PORTS
    assert (most, ipv6) in ((4, False), (1, True))
    for i, app in enumerate(context["apps"]):
        app["containerPort"] = 9000 + min(i, most - 1)
    parse_context(context, today=TODAY)  # the maximum is taken
    for i, app in enumerate(context["apps"]):
        app["containerPort"] = 9000 + i
    assert len(context["apps"]) > most
    with pytest.raises(ConfigError, match=rf"apps\[{most}\]\.containerPort: at most {most} distinct"):
        parse_context(context, today=TODAY)


def test_the_limits_leave_room_for_one_changed_port() -> None:
    """The arithmetic the limits stand on (config/limits.py): steady state plus what one changed port adds."""
    weight, quota = limits.LATTICE_PREFIX_LIST_WEIGHT, limits.SECURITY_GROUP_RULES
    assert limits.CLUSTER_SG_OTHER_INBOUND + (limits.MAX_LATTICE_PORTS + 1) * weight <= quota
    assert limits.CLUSTER_SG_OTHER_INBOUND + (limits.MAX_LATTICE_PORTS + 2) * weight > quota
    both = limits.PREFIX_LIST_FAMILIES * weight  # one port: a rule per list, each counted in both families
    assert limits.CLUSTER_SG_OTHER_INBOUND + (limits.MAX_LATTICE_PORTS_IPV6 + 1) * both <= quota
    assert limits.CLUSTER_SG_OTHER_INBOUND + (limits.MAX_LATTICE_PORTS_IPV6 + 2) * both > quota
    alive = 1 + 2 * limits.MAX_LATTICE_EGRESS_VARYING  # the standing rule, old and new varying ranges
    assert limits.SMOKE_SG_OTHER_OUTBOUND + alive * weight <= quota
    assert limits.SMOKE_SG_OTHER_OUTBOUND + (alive + 2) * weight > quota


def test_the_schema_describes_the_cross_field_limit() -> None:
    from tests.conftest import ROOT

    schema = json.loads((ROOT / "config" / "schema.json").read_text())
    text = json.dumps(schema)
    ipv6 = limits.MAX_LATTICE_PORTS_IPV6
    assert f"{limits.MAX_LATTICE_PORTS} distinct ports across apps, {ipv6} with latticeIpv6" in text
