"""Every maximum lowered since main (issue 24's bounds) has its line in the upgrade bullet of docs/update-safety.md:
a deployment made before it may hold a value the configuration now refuses, and its owner needs the key, the old
and the new bound and the way through. The bounds before are tests/schema_bounds_before.json (main's
config/schema.json, each key's maxLength/maxItems/maxProperties or its pattern's longest match); a key whose old
validation already implied its new bound is in IMPLIED, with what implied it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.conftest import ROOT
from tests.support import docs

BEFORE = json.loads((ROOT / "tests" / "schema_bounds_before.json").read_text())["bounds"]
BULLET = "**Upgrading a deployment made before every key had a maximum**"
KINDS = ("maxLength", "maxItems", "maxProperties")

IMPLIED = {
    "clientVpcCidr maxLength": "an IPv4 CIDR (the model parsed it): at most 18 characters",
    "clusterVpcCidr maxLength": "an IPv4 CIDR",
    "clusterEndpointPublicCidrs[] maxLength": "an IPv4 CIDR",
    "consumers[].vpcCidr maxLength": "an IPv4 CIDR (config/consumers.py)",
    "consumers[].account maxLength": "12 digits (config/consumers.py)",
    "consumers[].vpcId maxLength": "vpc- and 17 hex digits (config/consumers.py)",
    "consumers[].region maxLength": "must equal the app's region, at most 14 characters",
    "consumers[].name maxLength": "config/consumers.py's NAME_PATTERN, 1-20 characters",
    "shareWithOrganization maxLength": "config/consumers.py's ORG_ARN_PATTERN, at most 90 characters",
    "availabilityZones[] maxLength": "a zone of the region, at most 14 characters",
    "nodeInstanceType maxLength": "a type EC2 lists (config/ec2_instance_types.txt), far under 32",
    "clientInstanceType maxLength": "a type EC2 lists",
    "routes[].access.allow[].app maxLength": "names a configured app (63 at most)",
    "routes[].rules[].backends[].app maxLength": "names a configured app (63 at most)",
    "apps[].calls[] maxLength": "names a configured route, <namespace>/<name> of 63 each",
}


def bounds(schema: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """('<path> <kind>', bound) of every bounded key: paths as in tests/largest_config.py ([] items, {} values)."""
    defs = schema["$defs"]

    def walk(node: Any, path: str, seen: tuple[str, ...]) -> Iterator[tuple[str, int]]:
        if not isinstance(node, dict):
            return
        if "$ref" in node and (name := node["$ref"].rsplit("/", 1)[-1]) not in seen:
            yield from walk(defs[name], path, (*seen, name))
        for kind in KINDS:
            if kind in node:
                yield f"{path} {kind}", node[kind]
        for key, sub in node.get("properties", {}).items():
            yield from walk(sub, f"{path}.{key}" if path else key, seen)
        if "items" in node:
            yield from walk(node["items"], path + "[]", seen)
        if isinstance(node.get("additionalProperties"), dict):
            yield from walk(node["additionalProperties"], path + "{}", seen)
        for combinator in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(combinator, []):
                yield from walk(sub, path, seen)

    yield from walk(defs["Context"], "", ())


def lowered() -> dict[str, tuple[int | None, int]]:
    schema = json.loads((ROOT / "config" / "schema.json").read_text())
    found: dict[str, tuple[int | None, int]] = {}
    for key, now in bounds(schema):
        if key in BEFORE and (BEFORE[key] is None or BEFORE[key] > now):
            found[key] = (BEFORE[key], now)
    return found


def _bullet() -> str:
    page = docs.page("update-safety.md").read_text()
    start = page.index(BULLET)
    end = page.index("\n- **", start + 1)
    return " ".join(page[start:end].split())


def test_every_lowered_maximum_has_its_upgrade_line() -> None:
    bullet = _bullet()
    missing = []
    for key, (before, now) in sorted(lowered().items()):
        if key in IMPLIED:
            continue
        path, kind = key.rsplit(" ", 1)
        old = "no maximum" if before is None else str(before)
        line = re.search(rf"`{re.escape(path)}`[^;]*?{re.escape(old)}[^;]*?→ {now}\b", bullet)
        if line is None:
            missing.append(f"`{path}` {old} → {now} ({kind})")
    assert not missing, f"add to the upgrade bullet of docs/update-safety.md: {missing}"


def test_the_check_sees_the_lowerings_the_review_named() -> None:
    found = lowered()
    for key, now in {"routes maxItems": 7, "apps maxItems": 6, "routes[].access.allow maxItems": 6}.items():
        assert found[key] == (None, now)
    assert found["apps[].env maxProperties"] == (None, 16) and found["apps[].env{} maxLength"] == (None, 256)
    assert found["routes[].hostname maxLength"] == (253, 232)
    assert set(IMPLIED) <= set(found), sorted(set(IMPLIED) - set(found))  # no stale exemption


def test_a_missing_line_is_found() -> None:
    bullet = _bullet()
    assert "`routes` no maximum → 7" in bullet
    assert re.search(r"`routes`[^;]*?no maximum[^;]*?→ 8\b", bullet) is None
