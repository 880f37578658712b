"""Namespaced objects wait for their Namespace's manifest resource (issue 24 item 7; tests/manifest_order.py).

The DNS reader's RoleBindings, one per namespace, raced the manifest that creates the namespaces on the first
deploy with any namespace but `default`. The check covers every manifest resource; `make fuzz` runs it on every
generated configuration that synthesizes."""

from __future__ import annotations

import copy

from tests.conftest import Synthesized
from tests.manifest_order import namespace_order_problems, namespaced_manifests
from tools.synth import read_assembly


def test_every_namespaced_manifest_follows_its_namespace(namespaced: Synthesized) -> None:
    assembly = read_assembly(namespaced.outdir)
    assert namespaced_manifests(assembly.templates) >= 3  # the app, the route, the DNS readers' bindings
    assert namespace_order_problems(assembly.templates, assembly.dependencies) == []


def test_a_binding_without_the_dependency_is_found(namespaced: Synthesized) -> None:
    """The check sees the fault it was written for: a reader RoleBinding (one manifest per namespace) without its
    DependsOn on the namespaces."""
    assembly = read_assembly(namespaced.outdir)
    templates = copy.deepcopy(assembly.templates)
    (stack,) = [s for s, t in templates.items() if any("RouteReaderBinding" in k for k in t["Resources"])]
    resources = templates[stack]["Resources"]
    bindings = [k for k in resources if "RouteReaderBinding" in k]
    namespaces = [k for k in resources if "WorkloadNamespaces" in k]
    for k in bindings:
        resources[k]["DependsOn"] = [d for d in resources[k].get("DependsOn", []) if d not in namespaces]
    problems = namespace_order_problems(templates, assembly.dependencies)
    assert bindings and sorted(p.split(":")[0] for p in problems) == sorted(f"{stack}/{k}" for k in bindings)
