"""Namespaced Kubernetes objects are applied after their Namespace exists (issue 24 item 7).

The kubectl handler applies each manifest resource once and does not retry "namespace not found", so a manifest
resource that holds an object in namespace N must come after the resource that creates N: in the same manifest
(kubectl applies a list in order, the Namespace first), or a resource it depends on, transitively through
DependsOn and references, or in a stack its stack depends on. `default` and the system namespaces exist with
the cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tests.service_constraints import parse_json
from tests.support.template_refs import waits_for

MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
CHART = "Custom::AWSCDK-EKS-HelmChart"
# Namespaces every EKS cluster starts with (https://kubernetes.io/docs/concepts/overview/working-with-objects/
# namespaces/#initial-namespaces, read 2026-12-05).
BUILT_IN = {"default", "kube-system", "kube-public", "kube-node-lease"}

Template = dict[str, Any]


def _closure(template: Template, logical_id: str) -> set[str]:
    return waits_for(template.get("Resources", {}), logical_id)


def _objects(resource: dict[str, Any]) -> list[dict[str, Any]]:
    manifest = parse_json(resource.get("Properties", {}).get("Manifest"))
    return [o for o in manifest if isinstance(o, dict)] if isinstance(manifest, list) else []


def _created(resource: dict[str, Any]) -> list[str]:
    """The namespaces a manifest or chart resource creates."""
    if resource["Type"] == CHART:
        props = resource.get("Properties", {})
        return [props["Namespace"]] if props.get("CreateNamespace") and isinstance(props.get("Namespace"), str) else []
    return [o["metadata"]["name"] for o in _objects(resource) if o.get("kind") == "Namespace"]


def namespace_order_problems(templates: Mapping[str, Template], stack_deps: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Each namespaced object applied before its Namespace could exist, as `stack/resource: kind name in ns`;
    also the namespaced manifest resources found, for the caller to check it saw some."""
    creators: dict[str, list[tuple[str, str]]] = {}
    for stack, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] in (MANIFEST, CHART):
                for ns in _created(resource):
                    creators.setdefault(ns, []).append((stack, logical_id))

    def before(stack: str, other: str) -> bool:
        todo, seen = list(stack_deps.get(stack, ())), set()
        while todo:
            if (name := todo.pop()) == other:
                return True
            if name not in seen:
                seen.add(name)
                todo.extend(stack_deps.get(name, ()))
        return False

    problems: list[str] = []
    for stack, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] != MANIFEST:
                continue
            objects, closure = _objects(resource), _closure(template, logical_id)
            for i, obj in enumerate(objects):
                ns = obj.get("metadata", {}).get("namespace")
                if not isinstance(ns, str) or ns in BUILT_IN:
                    continue
                earlier_here = any(o.get("kind") == "Namespace" and o["metadata"]["name"] == ns for o in objects[:i])
                made_before = any(
                    (s == stack and lid in closure) or (s != stack and before(stack, s))
                    for s, lid in creators.get(ns, [])
                )
                if not (earlier_here or made_before):
                    what = f"{obj.get('kind')} {obj.get('metadata', {}).get('name')} in namespace {ns}"
                    problems.append(f"{stack}/{logical_id}: {what} {json.dumps(creators.get(ns, []))}")
    return problems


def namespaced_manifests(templates: Mapping[str, Template]) -> int:
    """How many manifest resources hold an object in a namespace the app creates (the check's reach)."""
    return sum(
        any(o.get("metadata", {}).get("namespace") not in (None, *BUILT_IN) for o in _objects(r))
        for t in templates.values()
        for r in t.get("Resources", {}).values()
        if r["Type"] == MANIFEST
    )
