"""Every accepted bound of every numeric configuration key passes each of its consumers' own limits (issue 23.8;
REVIEW.md fault class 7): the handler that parses the value, the provider framework that waits on it, and
CloudFormation's limits on custom resources and Lambda functions.

The app is synthesized twice: once with every bounded key at its minimum, once at its maximum (the bounds come from
config/schema.json, so a new key is covered without a change here). The custom resources whose properties differ
between the two are the ones those keys reach: each must have its handler's own parser below, which must accept
both; and every custom resource's provider must give up within CloudFormation's ServiceTimeout. Keys inside list
items (apps, routes) are bounded per item and feed Kubernetes objects, not custom resources: not covered here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from controller_credentials import handler as controller_credentials
from crd_installer import handler as crd_installer
from finalizer_guard import handler as finalizer_guard
from lattice_dns import handler as lattice_dns
from lattice_drain import handler as lattice_drain
from lattice_metrics import handler as lattice_metrics

from tests.conftest import ROOT, Synthesized
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
STAND_INS = {"ClusterName": "eks-demo", "HostedZoneId": "Z0123456789ABCDEFGHIJ", "ServiceToken": "arn:aws:lambda:x"}


def deployed(props: Mapping[str, Any]) -> dict[str, Any]:
    """The properties as a handler receives them: each reference as a value of its kind (STAND_INS)."""
    tokens = sorted(k for k, v in props.items() if impact.has_token(v))
    assert set(tokens) <= set(STAND_INS), f"add a stand-in for {sorted(set(tokens) - set(STAND_INS))}"
    return {**props, **{k: STAND_INS[k] for k in tokens}}


def test_the_bounds_cover_the_keys_this_issue_named() -> None:
    paths = {path for path, _lo, _hi in bounded_keys()}
    assert ("dnsRecordTimeoutMinutes",) in paths and ("nodeDesiredSize",) in paths
    assert at_bounds(1)["dnsRecordTimeoutMinutes"] == 2 and at_bounds(2)["dnsRecordTimeoutMinutes"] == 60


@pytest.fixture(scope="module")
def extremes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synthesized, Synthesized]:
    """The app at every bound's minimum and at every bound's maximum (a refusal here is itself a failure)."""
    low = Synthesized(tmp_path_factory.mktemp("cdk.out.low"), at_bounds(1), nag=False)
    high = Synthesized(tmp_path_factory.mktemp("cdk.out.high"), at_bounds(2), nag=False)
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
    for path, low, _high in bounds:
        _set_first(context, path.replace("[]", ".[]").split("."), low)
    config = parse_context(context, today=TODAY)
    assert config.apps[0].replicas == 0 and config.apps[1].replicas == 100
    assert [r.port for r in config.routes if r.protocol == "TLS"] == [1]
    assert config_fuzz.object_problems(config, reference_dir / "crds") == []
