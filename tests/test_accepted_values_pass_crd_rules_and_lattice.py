"""Values the model accepts are values the next layer accepts (issue 24 item 6).

Each config string that becomes an HTTPRoute match or a Lattice health check is generated from its own
config/schema.json definition (hypothesis-jsonschema); every value the model accepts must then keep the
HTTPRoute CRD's x-kubernetes-validations rules (evaluated as CEL, tests/crd_rules.py) on the object the app
builds, and the botocore vpc-lattice shape the controller sends it in (pattern and length).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import botocore.loaders
import pytest
import regex
from constructs.workload.manifests import workload_objects
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from config import ConfigError, parse_context
from config.model import AppConfig
from tests.crd_rules import rules, violations

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "config" / "schema.json").read_text())
TODAY = dt.date(2026, 11, 28)


def _route_rule(**fields: Any) -> dict[str, Any]:
    """The default configuration with its first route's first rule replaced."""
    route = json.loads(json.dumps(_defaults()["routes"][0]))
    route["rules"][0] = {"backends": [{"app": "demo-app-a"}], **fields}
    return {"routes": [route]}


@cache
def _defaults() -> dict[str, Any]:
    from config.loader import DEFAULTS

    return DEFAULTS


def _health_path(value: str) -> dict[str, Any]:
    apps = json.loads(json.dumps(_defaults()["apps"]))
    apps[0]["healthPath"] = value
    return {"apps": apps}


# config key -> (its schema definition, a config that puts a value there, the botocore shapes it reaches)
FIELDS: dict[str, tuple[str, str, Callable[[str], dict[str, Any]], tuple[str, ...]]] = {
    "pathPrefix": ("RouteRule", "pathPrefix", lambda v: _route_rule(pathPrefix=v), ("PathMatchPrefix",)),
    "path": ("RouteRule", "path", lambda v: _route_rule(path=v), ("PathMatchExact",)),
    "healthPath": ("App", "healthPath", _health_path, ("HealthCheckPath",)),
    "headers.name": (
        "HeaderMatch",
        "name",
        lambda v: _route_rule(pathPrefix="/v1", headers=[{"name": v, "value": "x"}]),
        ("HeaderMatchName",),
    ),
    "headers.value": (
        "HeaderMatch",
        "value",
        lambda v: _route_rule(pathPrefix="/v1", headers=[{"name": "x-a", "value": v}]),
        ("HeaderMatchExact",),
    ),
}


@cache
def _shape(name: str) -> dict[str, Any]:
    shapes: dict[str, Any] = botocore.loaders.Loader().load_service_model("vpc-lattice", "service-2")["shapes"]
    return dict(shapes[name])


def shape_problems(name: str, value: str) -> list[str]:
    """Why botocore's vpc-lattice shape `name` would refuse `value` (its min, max and pattern; the service
    matches the pattern against the whole value)."""
    shape, found = _shape(name), []
    if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
        found.append(f"{name}: length {len(value)} outside {shape.get('min', 0)}..{shape.get('max')}")
    if "pattern" in shape and not regex.fullmatch(shape["pattern"], value):
        found.append(f"{name}: does not match {shape['pattern']}")
    return found


def accepted(overrides: dict[str, Any]) -> AppConfig | None:
    try:
        return parse_context(overrides, today=TODAY)
    except ConfigError:
        return None


def next_layer_problems(config: AppConfig, crd_root: Path) -> list[str]:
    """The CRD rules every custom object the app builds for `config` breaks."""
    found: list[str] = []
    for obj in workload_objects(config):
        if "/" in obj["apiVersion"] and not obj["apiVersion"].startswith("apps/"):
            found += violations(obj, crd_root)
    return found


def _values(definition: str, key: str) -> st.SearchStrategy[str]:
    prop = SCHEMA["$defs"][definition]["properties"][key]
    strings = [p for p in prop.get("anyOf", [prop]) if p.get("type") == "string"]
    return st.one_of(*(from_schema(s) for s in strings))


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_generated_values_the_model_accepts_pass_the_crd_rules_and_lattice(field: str, reference_dir: Path) -> None:
    definition, key, place, shapes = FIELDS[field]
    crd_root = reference_dir / "crds"
    counts = {"accepted": 0, "refused": 0}

    @seed(24)
    @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(_values(definition, key))
    def check(value: str) -> None:
        config = accepted(place(value))
        if config is None:
            counts["refused"] += 1
            return
        counts["accepted"] += 1
        problems = next_layer_problems(config, crd_root) + [p for s in shapes for p in shape_problems(s, value)]
        assert problems == [], (field, value)

    check()
    assert counts["accepted"] > 0  # the schema's own pattern generates values the model takes


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pathPrefix", "/v1//x"),
        ("pathPrefix", "/v1#frag"),
        ("path", "/a!b"),
        ("path", "/a(b)"),
        ("pathPrefix", "/%zz"),
        ("pathPrefix", "/é"),
        ("pathPrefix", "/a/./b"),
        ("pathPrefix", "/a/.."),
        ("path", "/a%2Fb"),
        ("healthPath", "/health?x=1"),
        ("headers.name", "h" * 101),
        ("headers.value", "v" * 201),
    ],
)
def test_values_a_layer_below_refuses_are_refused_with_the_key_named(field: str, value: str) -> None:
    """The review's examples: each breaks a CRD rule or a Lattice shape, and the model names the key."""
    _, key, place, _ = FIELDS[field]
    with pytest.raises(ConfigError) as err:
        parse_context(place(value), today=TODAY)
    assert err.value.key.endswith(key.split(".")[-1]), err.value.lines


def test_a_refused_path_would_break_a_crd_rule_or_lattice(reference_dir: Path) -> None:
    """The examples above are really refused below: the CRD's rules (evaluated here) or botocore's shape."""
    config = parse_context({}, today=TODAY)
    (route,) = [o for o in workload_objects(config) if o["kind"] == "HTTPRoute"]
    for value in ("/v1//x", "/v1#frag", "/a!b", "/a(b)", "/%zz", "/é", "/a/./b", "/a/..", "/a%2Fb"):
        bad = copy.deepcopy(route)
        bad["spec"]["rules"][0]["matches"][0]["path"]["value"] = value
        below = violations(bad, reference_dir / "crds") + shape_problems("PathMatchPrefix", value)
        assert below, value


def test_the_httproute_path_rules_are_evaluated_not_transcribed(reference_dir: Path) -> None:
    """The walk reads every rule from the CRD text: the path match carries the rules the model mirrors."""
    import yaml

    crd = yaml.load(
        (reference_dir / "crds" / "gateway-api-v1.5.1" / "gateway.networking.k8s.io_httproutes.yaml").read_text(),
        Loader=yaml.CSafeLoader,
    )
    (v1,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    path_rules = [r["rule"] for where, r in rules(v1["schema"]["openAPIV3Schema"]) if where.endswith("matches[].path")]
    assert any("contains('//')" in r for r in path_rules) and any("matches(" in r for r in path_rules)
