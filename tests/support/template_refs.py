"""What a CloudFormation resource waits for: the logical ids it references and, transitively, DependsOn and
references (the order CloudFormation creates resources in). Shared by the ordering checks (tests/manifest_order.py,
tests/support/log_group_order.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def refs(node: Any) -> Iterator[str]:
    """Logical ids a value references: Ref, and Fn::GetAtt in its list and its "Id.Attr" string forms."""
    if isinstance(node, dict):
        if "Ref" in node and isinstance(node["Ref"], str):
            yield node["Ref"]
        if "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            yield target[0] if isinstance(target, list) else str(target).split(".")[0]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def _direct(resource: Mapping[str, Any]) -> set[str]:
    depends = resource.get("DependsOn", [])
    return {*([depends] if isinstance(depends, str) else depends), *refs(resource.get("Properties", {}))}


def waits_for(resources: Mapping[str, Any], logical_id: str) -> set[str]:
    """Every resource of `resources` that `logical_id` waits for: DependsOn and references, transitively."""
    seen: set[str] = set()
    todo = [logical_id]
    while todo:
        for need in _direct(resources.get(todo.pop(), {})):
            if need in resources and need not in seen:
                seen.add(need)
                todo.append(need)
    return seen
