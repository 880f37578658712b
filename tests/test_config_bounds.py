"""Every accepted bound of every numeric configuration key passes each of its consumers' own limits (issue 23.8;
REVIEW.md fault class 7): the handler that parses the value, the provider framework that waits on it, and
CloudFormation's limits on custom resources and Lambda functions.

The app is synthesized twice: once with every bounded key at its minimum, once at its maximum (the bounds come from
config/schema.json, so a new key is covered without a change here). The custom resources whose properties differ
between the two are the ones those keys reach: each must have its handler's own parser below, which must accept
both; and every custom resource's provider must give up within CloudFormation's ServiceTimeout. Keys inside list
items (apps, routes) are covered at both ends of their ranges by the Kubernetes schemas, the CRDs and their CEL
rules (test_both_ends_of_every_list_items_range_pass_kubernetes_and_the_crds); and every custom resource of the
largest synthesis, each string at its longest, must pass its handler's own parser (TYPE_PARSERS: a new Custom:: type
fails until it has one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from consumer_link import calls as consumer_link
from controller_credentials import handler as controller_credentials
from crd_installer import handler as crd_installer
from finalizer_guard import handler as finalizer_guard
from lattice_dns import handler as lattice_dns
from lattice_dns import records as lattice_dns_records
from lattice_drain import handler as lattice_drain
from lattice_metrics import handler as lattice_metrics
from ram_share_wait import handler as ram_share_wait
from zone_sweep import handler as zone_sweep

from config import limits
from tests.conftest import ROOT, Synthesized, cached_synthesis
from tools import impact

SCHEMA = json.loads((ROOT / "config" / "schema.json").read_text())
# AWS::CloudFormation::CustomResource ServiceTimeout: "an integer from 1 to 3600. The default value is 3600 seconds"
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html,
# read 2026-12-05): CloudFormation fails a custom resource that has not answered by then.
SERVICE_TIMEOUT_MAX = 3600
# Lambda: "The maximum allowed value is 900 seconds" (AWS::Lambda::Function Timeout; Lambda quotas, read 2026-12-05).
LAMBDA_TIMEOUT_MAX = 900


def _lattice_drain(props: Mapping[str, Any]) -> int:
    timeout = lattice_drain._timeout(props)
    return lattice_drain._cleanup_after(props, timeout)


# Each of this app's handlers' own parser of its resource properties: what the handler refuses, refused here too.
PARSERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "lattice_dns.handler": lattice_dns.Props.parse,
    "controller_credentials.handler": controller_credentials.parse_properties,
    "crd_installer.handler": crd_installer.parse_properties,
    "finalizer_guard.handler": finalizer_guard.parse_properties,
    "lattice_drain.handler": _lattice_drain,
    "lattice_metrics.handler": lattice_metrics._timeout,
}


CONTEXT = SCHEMA["$defs"]["Context"]


def _resolve(prop: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = prop.get("$ref") or next((p["$ref"] for p in prop.get("allOf", []) if "$ref" in p), None)
    return {**prop, **SCHEMA["$defs"][ref.rsplit("/", 1)[-1]]} if ref else prop


def _bounds(prop: Mapping[str, Any]) -> tuple[int | float, int | float] | None:
    """A numeric key's accepted extremes: its minimum and maximum, or its enum's smallest and largest."""
    if prop.get("type") not in ("integer", "number"):
        return None
    if "minimum" in prop and "maximum" in prop:
        return prop["minimum"], prop["maximum"]
    choices = [c for c in prop.get("enum", []) if isinstance(c, int | float)]
    return (min(choices), max(choices)) if choices else None


def bounded_keys() -> Iterator[tuple[tuple[str, ...], int | float, int | float]]:
    """(path, minimum, maximum) of every numeric key with both bounds, top-level or inside an object-valued key."""
    for key, raw in CONTEXT["properties"].items():
        prop = _resolve(raw)
        if bounds := _bounds(prop):
            yield (key,), *bounds
        for sub, inner in (prop.get("properties") or {}).items():
            if bounds := _bounds(_resolve(inner)):
                yield (key, sub), *bounds


def at_bounds(which: int) -> dict[str, Any]:
    """Overrides setting every bounded key to its minimum (which=1) or maximum (which=2)."""
    overrides: dict[str, Any] = {}
    for path, *bounds in bounded_keys():
        if len(path) == 1:
            overrides[path[0]] = bounds[which - 1]
        else:
            default = dict(CONTEXT["properties"][path[0]].get("default") or {})
            overrides.setdefault(path[0], default)[path[1]] = bounds[which - 1]
    return overrides


# What a property that CloudFormation resolves at deploy time (a reference) could be, for the parsers.
STAND_INS = {
    "ClusterName": "eks-demo",
    "HostedZoneId": "Z0123456789ABCDEFGHIJ",
    "ServiceToken": "arn:aws:lambda:x",
    "AssociationArn": "arn:aws:eks:ap-northeast-2:111111111111:podidentityassociation/eks-demo/a-0123456789abcdef0",
    "VpcId": "vpc-0123456789abcdef0",
    "ResourceShareArn": "arn:aws:ram:ap-northeast-2:111111111111:resource-share/0123-4567",
    "ServiceNetworkArn": "arn:aws:vpc-lattice:ap-northeast-2:111111111111:servicenetwork/sn-0123456789abcdef0",
    "ServiceNetworkId": "sn-0123456789abcdef0",
    "ResourceArns": "arn:aws:vpc-lattice:ap-northeast-2:111111111111:servicenetwork/sn-0123456789abcdef0",
    "DefaultSecurityGroupId": "sg-0123456789abcdef0",
}
# Pseudo parameters inside a joined string, and any other reference inside one (a name, an id: plain text).
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "ap-northeast-2", "AWS::AccountId": "111111111111"}
PSEUDO |= {"AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "EksLatticeGateway-Gateway"}
INNER_STAND_IN = "standin0123"


def deployed(props: Mapping[str, Any]) -> dict[str, Any]:
    """The properties as a handler receives them: each reference as a value of its kind (STAND_INS)."""
    tokens = sorted(k for k, v in props.items() if impact.has_token(v))
    assert set(tokens) <= set(STAND_INS), f"add a stand-in for {sorted(set(tokens) - set(STAND_INS))}"
    return {**props, **{k: STAND_INS[k] for k in tokens}}


def resolved(value: Any, key: str | None) -> Any:
    """`value` with every CloudFormation reference replaced by a stand-in: a whole property's by its key
    (STAND_INS), a pseudo parameter by its value, any other reference inside a joined string by plain text."""
    if isinstance(value, list):
        return [resolved(v, key) for v in value]
    if not impact.has_token(value):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolved(p, None)) for p in parts)
    if isinstance(value, dict) and value.get("Ref") in PSEUDO:
        return PSEUDO[value["Ref"]]
    if key is None:
        return INNER_STAND_IN
    assert key in STAND_INS, f"add a stand-in for {key} ({impact.short(value)})"
    return STAND_INS[key]


def _consumer_link(resource_type: str) -> Callable[[Mapping[str, Any]], Any]:
    """consumer_link reads each type's properties with its own _required (lambda/consumer_link/calls.py)."""
    keys = {
        "Custom::LatticeShareAcceptance": ("ResourceShareArn",),
        "Custom::ExistingVpc": ("VpcId",),
        "Custom::CrossAccountZoneAssociation": ("HostedZoneId", "VpcId", "VpcRegion", "AuthorizerRoleArn"),
    }[resource_type]
    return lambda props: [consumer_link._required(props, key) for key in keys]


def _zone_sweep(props: Mapping[str, Any]) -> Any:
    return zone_sweep.on_event({"RequestType": "Create", "ResourceProperties": props}, None)


def _ram_share_wait(props: Mapping[str, Any]) -> Any:
    return ram_share_wait._share(props), ram_share_wait._resources(props), ram_share_wait._timeout(props)


def _json_properties(*keys: str, required: bool = True) -> Callable[[Mapping[str, Any]], Any]:
    """aws-cdk-lib 2.273.0's own handlers json-parse these properties: kubectl-handler/apply/__init__.py
    `json.loads(manifest_text)`, kubectl-handler/helm/__init__.py `json.loads(values_text)`,
    aws-custom-resource-handler/index.js `JSON.parse` of Create/Update/Delete (read in the jsii bundle, 2026-12-05)."""

    def parse(props: Mapping[str, Any]) -> Any:
        present = [k for k in keys if k in props]
        assert present or not required, f"none of {keys} in {sorted(props)}"
        return [json.loads(props[k]) for k in present]

    return parse


def _restrict_default_sg(props: Mapping[str, Any]) -> Any:
    # restrict-default-security-group-handler/index.js reads ResourceProperties.DefaultSecurityGroupId and .Account.
    assert str(props["DefaultSecurityGroupId"]).startswith("sg-") and re.fullmatch(r"\d{12}", str(props["Account"]))


# Every custom resource type the app synthesizes, with the parser of its handler: a new type fails until added.
TYPE_PARSERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "Custom::LatticeDnsRecord": PARSERS["lattice_dns.handler"],
    "Custom::ControllerCredentials": PARSERS["controller_credentials.handler"],
    "Custom::PodCredentials": PARSERS["controller_credentials.handler"],
    "Custom::GatewayApiCrds": PARSERS["crd_installer.handler"],
    "Custom::FinalizerGuard": PARSERS["finalizer_guard.handler"],
    "Custom::LatticeServiceNetworkDrain": PARSERS["lattice_drain.handler"],
    "Custom::LatticeServiceSweep": PARSERS["lattice_drain.handler"],
    "Custom::LatticeMetricIds": PARSERS["lattice_metrics.handler"],
    "Custom::LatticeShareAcceptance": _consumer_link("Custom::LatticeShareAcceptance"),
    "Custom::ExistingVpc": _consumer_link("Custom::ExistingVpc"),
    "Custom::CrossAccountZoneAssociation": _consumer_link("Custom::CrossAccountZoneAssociation"),
    "Custom::PrivateZoneSweep": _zone_sweep,
    "Custom::RamShareAssociation": _ram_share_wait,
    "Custom::AWSCDK-EKS-KubernetesResource": _json_properties("Manifest"),
    "Custom::AWSCDK-EKS-HelmChart": _json_properties("Values", required=False),
    "Custom::AWS": _json_properties("Create", "Update", "Delete"),
    "Custom::VpcRestrictDefaultSG": _restrict_default_sg,
}


def test_every_custom_resource_of_the_largest_synthesis_passes_its_handlers_parser(largest: Synthesized) -> None:
    """Every string at its longest reaches some handler: each custom resource of the largest configuration, its
    references replaced by stand-ins, must pass the parser of the handler that will receive it (a route hostname
    of 233-253 characters once passed the model and failed lattice_dns's marker-length check at deploy)."""
    seen: dict[str, int] = {}
    for _stack, logical_id, resource in _custom_resources(largest):
        kind = resource["Type"]
        assert kind in TYPE_PARSERS, f"{kind} ({logical_id}) has no parser in TYPE_PARSERS: add its handler's"
        props = {k: resolved(v, k) for k, v in resource["Properties"].items()}
        try:
            TYPE_PARSERS[kind](props)
        except Exception as err:
            pytest.fail(f"{kind} {logical_id}: its handler refuses the largest configuration: {err}")
        seen[kind] = seen.get(kind, 0) + 1
    assert seen.get("Custom::LatticeDnsRecord", 0) == limits.MAX_ROUTES, seen


def test_the_route_hostname_maximum_leaves_room_for_the_dns_marker() -> None:
    """config/limits.py's copy of the DNS handler's marker prefix is the handler's, and a hostname at the maximum
    passes the handler while one character more is refused by the model, naming the key."""
    from config import ConfigError, parse_context
    from tests.conftest import TODAY

    assert limits.DNS_MARKER_PREFIX == lattice_dns_records.MARKER_PREFIX
    assert limits.MAX_DNS_NAME == lattice_dns_records.MAX_DNS_NAME
    assert limits.MAX_ROUTE_HOSTNAME == 232
    from tests.largest_config import largest_context

    context = largest_context()
    hostname = context["routes"][0]["hostname"]
    assert len(hostname) == limits.MAX_ROUTE_HOSTNAME
    lattice_dns_records.validate_hostname(hostname)
    labels = hostname.split(".")
    short = next(i for i, label in enumerate(labels) if len(label) < 63)
    labels[short] += "x"
    longer = ".".join(labels)
    with pytest.raises(ValueError, match="too long"):
        lattice_dns_records.validate_hostname(longer)
    context["routes"][0]["hostname"] = longer
    with pytest.raises(ConfigError, match=r"routes\[0\]\.hostname: .* at most 232 characters"):
        parse_context(context, today=TODAY)


def test_the_bounds_cover_the_keys_this_issue_named() -> None:
    paths = {path for path, _lo, _hi in bounded_keys()}
    assert ("dnsRecordTimeoutMinutes",) in paths and ("nodeDesiredSize",) in paths
    assert at_bounds(1)["dnsRecordTimeoutMinutes"] == 2 and at_bounds(2)["dnsRecordTimeoutMinutes"] == 60


@pytest.fixture(scope="module")
def extremes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synthesized, Synthesized]:
    """The app at every bound's minimum and at every bound's maximum (a refusal here is itself a failure): once per
    session, or read from the synthesis cache."""
    low = cached_synthesis(tmp_path_factory, "bounds-low", at_bounds(1))
    high = cached_synthesis(tmp_path_factory, "bounds-high", at_bounds(2))
    return low, high


def _custom_resources(synth: Synthesized) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for stack, template in synth.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"].startswith("Custom::"):
                yield stack, logical_id, resource


def _waiter_seconds(templates: Mapping[str, Any], stack: str, resource: Mapping[str, Any]) -> int | None:
    """How long the provider framework keeps polling isComplete: its waiter's IntervalSeconds x MaxAttempts."""
    found = impact._function_resource(templates, stack, resource["Properties"].get("ServiceToken"))
    if found is None:
        return None
    fn_stack, function = found
    waiter = (function["Properties"].get("Environment") or {}).get("Variables", {}).get("WAITER_STATE_MACHINE_ARN")
    if waiter is None:
        return None
    machine = templates[fn_stack]["Resources"][waiter["Ref"]]
    definition = impact.render_string(machine["Properties"]["DefinitionString"]) or ""
    retry = re.search(r'"IntervalSeconds":(\d+),"MaxAttempts":(\d+),"BackoffRate":1\b', definition)
    assert retry, definition
    return int(retry[1]) * int(retry[2])


def test_every_bound_passes_each_handlers_own_parser(extremes: tuple[Synthesized, Synthesized]) -> None:
    low, high = extremes
    reached = []
    for stack, logical_id, resource in _custom_resources(low):
        other = high.templates[stack]["Resources"].get(logical_id)
        if other is None or other["Properties"] == resource["Properties"]:
            continue
        module = impact.handler_module(low.templates, stack, resource)
        assert module in PARSERS, f"{resource['Type']} ({module}) takes a bounded config value: add its parser"
        for props in (resource["Properties"], other["Properties"]):
            PARSERS[module](deployed(props))  # raises what the handler would refuse
        reached.append(resource["Type"])
    assert "Custom::LatticeDnsRecord" in reached  # dnsRecordTimeoutMinutes reaches the DNS records


@pytest.mark.parametrize("side", [0, 1], ids=["minimum", "maximum"])
def test_every_bound_fits_the_provider_framework_and_cloudformation(
    extremes: tuple[Synthesized, Synthesized], side: int
) -> None:
    """Each custom resource's provider gives up, and its handler's own wait ends, within the resource's
    ServiceTimeout (at most 3,600 s); no Lambda function's timeout exceeds Lambda's 900 s."""
    synth = extremes[side]
    waited = 0
    for stack, logical_id, resource in _custom_resources(synth):
        limit = int(resource["Properties"].get("ServiceTimeout", SERVICE_TIMEOUT_MAX))
        assert limit <= SERVICE_TIMEOUT_MAX, (logical_id, limit)
        seconds = _waiter_seconds(synth.templates, stack, resource)
        if seconds is not None:
            assert seconds <= limit, f"{logical_id}: its provider polls {seconds}s, CloudFormation waits {limit}s"
            waited += 1
        if resource["Type"] == "Custom::LatticeDnsRecord":
            timeout = lattice_dns.Props.parse(deployed(resource["Properties"])).timeout_seconds
            assert timeout <= limit, f"{logical_id}: waits {timeout}s, CloudFormation {limit}s"
    assert waited >= 2  # the DNS records' and the metric ids' waiters were found and checked
    for template in synth.templates.values():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::Lambda::Function":
                assert int(resource["Properties"].get("Timeout", 3)) <= LAMBDA_TIMEOUT_MAX, logical_id


def test_the_old_dns_timeout_bounds_would_have_been_caught() -> None:
    """What the class test stands on, shown on the values the model once accepted (1 and 120 minutes): the
    handler refuses the first, and the second outlasts CloudFormation's ServiceTimeout."""
    with pytest.raises(ValueError, match=r"TimeoutSeconds 60 is outside 120\.\.7200"):
        lattice_dns.Props.parse(
            {
                "ClusterName": "eks-demo",
                "Namespace": "default",
                "RouteName": "r",
                "Hostname": "api.example.com",
                "HostedZoneId": "Z0123456789ABCDEFGHIJ",
                "TimeoutSeconds": "60",
            }
        )
    assert SERVICE_TIMEOUT_MAX < 120 * 60


def _holds(value: Any, parts: list[str]) -> bool:
    head, *rest = parts
    if head == "[]":
        return any(_holds(item, rest) for item in value)
    return isinstance(value, dict) and head in value and (not rest or _holds(value[head], rest))


def _set_first(value: Any, parts: list[str], new: Any) -> None:
    """Set the key at `parts` in the first item of each list on the way that holds it (every list keeps its other
    items): a key only some routes take (a TLS route's port) is set where the largest configuration sets it."""
    head, *rest = parts
    if head == "[]":
        _set_first(next(item for item in value if _holds(item, rest)), rest, new)
    elif not rest:
        value[head] = new
    else:
        _set_first(value[head], rest, new)


def item_bounds() -> list[tuple[str, int | float, int | float]]:
    """(path, minimum, maximum) of every numeric key inside list items (apps[].replicas, routes[].rules[].backends[]
    .weight ...), from config/schema.json: the keys bounded_keys() leaves to this test."""
    from tests.largest_config import context_schema_top, paths

    return [
        (path, *bounds)
        for path, node in paths(context_schema_top(), "", frozenset())
        if "[]" in path and (bounds := _bounds(node))
    ]


def test_both_ends_of_every_list_items_range_pass_kubernetes_and_the_crds(reference_dir: Path) -> None:
    """The largest configuration (every key at its maximum) with the first item of each list at every minimum:
    both ends in one config, which the model must accept and whose Kubernetes objects the Kubernetes schemas, the
    CRDs' structural schemas and their CEL rules (the places these values go) must take. The maxima also
    synthesize and pass the service-constraint table in tests/test_largest_config.py (which also checks the
    objects of the maxima alone: a key one item carries, the TLS route's port, is here at its minimum)."""
    from config import parse_context
    from tests import config_fuzz
    from tests.conftest import TODAY
    from tests.largest_config import largest_context

    bounds = item_bounds()
    assert {p for p, *_ in bounds} >= {"apps[].replicas", "apps[].containerPort", "routes[].rules[].backends[].weight"}
    context = largest_context()
    # Both ends of apps[].containerPort are two distinct ports: more than latticeIpv6's cluster group takes
    # (config/limits.py MAX_LATTICE_PORTS_IPV6), so this one runs with the IPv4 list alone.
    context["latticeIpv6"] = False
    for path, low, _high in bounds:
        _set_first(context, path.replace("[]", ".[]").split("."), low)
    config = parse_context(context, today=TODAY)
    assert config.apps[0].replicas == 0 and config.apps[1].replicas == 100
    assert [r.port for r in config.routes if r.protocol == "TLS"] == [1]
    assert config_fuzz.object_problems(config, reference_dir / "crds") == []


# Where each list item's numeric key goes in Lattice (the controller's TargetGroupPolicy and HTTPRoute become these
# vpc-lattice API fields): botocore 1.44.8 vpc-lattice 2022-11-30 service-2.json shapes, read 2026-12-05.
ITEM_SHAPES = {
    "apps[].containerPort": ("Port", "HealthCheckPort"),
    "apps[].healthCheck.intervalSeconds": ("HealthCheckIntervalSeconds",),
    "apps[].healthCheck.timeoutSeconds": ("HealthCheckTimeoutSeconds",),
    "apps[].healthCheck.healthyThresholdCount": ("HealthyThresholdCount",),
    "apps[].healthCheck.unhealthyThresholdCount": ("UnhealthyThresholdCount",),
    "routes[].rules[].backends[].weight": ("TargetGroupWeight",),
    "routes[].port": ("Port",),  # a TLS route's listener port (CreateListener port)
}
# Keys that reach no Lattice field, with where they go instead.
NOT_LATTICE = {"apps[].replicas": "a Deployment's spec.replicas: the Kubernetes schemas (test above)"}


def test_both_ends_of_every_list_items_range_fit_lattices_api() -> None:
    """Each numeric key inside list items lies, at both ends, within the botocore vpc-lattice shape it becomes; a new
    key fails until it is mapped here or named in NOT_LATTICE."""
    import gzip

    import botocore

    path = Path(botocore.__file__).parent / "data" / "vpc-lattice" / "2022-11-30" / "service-2.json.gz"
    shapes = json.loads(gzip.decompress(path.read_bytes()))["shapes"]
    checked = []
    for key, low, high in item_bounds():
        assert key in ITEM_SHAPES or key in NOT_LATTICE, f"{key}: map it to its vpc-lattice shape in ITEM_SHAPES"
        for shape in ITEM_SHAPES.get(key, ()):
            lo, hi = shapes[shape].get("min"), shapes[shape].get("max")
            assert lo is not None and hi is not None and lo <= low <= high <= hi, (key, shape, (low, high), (lo, hi))
            checked.append(key)
    assert set(checked) == set(ITEM_SHAPES)
