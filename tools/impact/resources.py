"""How one resource's change plays out: replaced (a create-only property, a service rule, a reference to a
replaced resource), updated in place, or refused because the replacement keeps its custom name."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tools.impact.cloudformation import (
    ABSENT,
    NAME_SETTINGS,
    SAME_VPC_ONLY,
    SAME_ZONES_ONLY,
    SERVICE_CREATE_ONLY,
    SUBNET_ZONE_PROPERTIES,
    VERSION_ATTRIBUTES,
    Ref,
    Template,
    TypeSchema,
    _is_custom,
    declared_physical_id_properties,
    first_difference,
    handler_module,
    has_token,
    project,
    references,
    short,
    type_schema,
)

Key = tuple[str, str]  # (stack, logical id)


class _Resources:
    """Replacements and updates of the resources both sides have, to a fixpoint (they propagate by reference)."""

    def __init__(self, old: Mapping[str, Template], new: Mapping[str, Template], regions: Mapping[str, str]) -> None:
        self.old, self.new, self.regions = old, new, regions
        self.replaced: dict[Key, list[str]] = {}
        self.replaced_by: dict[Key, set[tuple[str, ...]]] = {}  # the create-only paths that force it
        self.updated: dict[Key, list[str]] = {}

    def schema(self, stack: str, resource_type: str) -> TypeSchema:
        return type_schema(resource_type, self.regions.get(stack, "us-east-1"))

    @staticmethod
    def resources(templates: Mapping[str, Template], stack: str) -> dict[str, Any]:
        resources: dict[str, Any] = templates.get(stack, {}).get("Resources", {})
        return resources

    def output_changed(self, ref: Ref, *, create_only: bool, seen: frozenset[Ref]) -> str | None:
        old_value = self.old.get(ref.stack, {}).get("Outputs", {}).get(ref.target, {}).get("Value", ABSENT)
        new_value = self.new.get(ref.stack, {}).get("Outputs", {}).get(ref.target, {}).get("Value", ABSENT)
        if old_value is ABSENT:
            return None  # a new output: whatever reads it is new or changed itself
        if old_value != new_value:
            return f"output {ref.stack}.{ref.target} changed"
        reasons = (
            self.changed_target(r, create_only=create_only, seen=seen | {ref}) for r in references(new_value, ref.stack)
        )
        return next((why for why in reasons if why), None)

    def changed_target(self, ref: Ref, *, create_only: bool, seen: frozenset[Ref] = frozenset()) -> str | None:
        """Why the value a reference resolves to would change at deploy time, or None."""
        if ref in seen:
            return None
        if ref.output:
            return self.output_changed(ref, create_only=create_only, seen=seen)
        key = (ref.stack, ref.target)
        if key in self.replaced:
            return f"{ref.target} replaced"
        # A version attribute changes with any in-place update of its resource: for a create-only property too
        # (an instance's LaunchTemplate that reads LatestVersionNumber is replaced, not updated).
        if key in self.updated and ref.attribute in VERSION_ATTRIBUTES:
            return f"{ref.target}.{ref.attribute} changes"
        # Any attribute of an updated custom resource is what its handler returns this time: it may change.
        if create_only and key in self.updated and ref.attribute and self.is_custom_target(ref):
            return f"{ref.target}.{ref.attribute} may change (its custom resource is updated)"
        return None

    def is_custom_target(self, ref: Ref) -> bool:
        resource = self.resources(self.new, ref.stack).get(ref.target)
        return resource is not None and _is_custom(resource)

    def why_changed(self, stack: str, old: Any, new: Any, path: Sequence[str], *, create_only: bool) -> str | None:
        """Why the property at `path` changes: its template value differs, or what it refers to changes."""
        before, after = project(old, path), project(new, path)
        if before != after:
            where, old_part, new_part, count = first_difference(before, after)
            label = ".".join((*path, *where))
            token = " (token: resolved at deploy time)" if has_token(old_part) or has_token(new_part) else ""
            more = f" (+{count - 1} more)" if count > 1 else ""
            return f"{label}: {short(old_part)} -> {short(new_part)}{token}{more}"
        for ref in references(after, stack):
            why = self.changed_target(ref, create_only=create_only)
            if why:
                return f"{'.'.join(path)} ({why})"
        return None

    def create_only_paths(self, stack: str, resource: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
        rtype = str(resource.get("Type"))
        if rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource":
            module = handler_module(self.new, stack, resource)
            declared = declared_physical_id_properties(module, resource_type=rtype) if module else None
            return tuple((p,) for p in sorted(declared or ()))
        return self.schema(stack, rtype).create_only + SERVICE_CREATE_ONLY.get(rtype, ())

    def replacement(self, key: Key, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
        stack = key[0]
        if old.get("Type") != new.get("Type"):
            return [f"Type: {old.get('Type')} -> {new.get('Type')}"]
        old_props, new_props = old.get("Properties", {}), new.get("Properties", {})
        custom = " [its handler issues a new physical id]" if str(new.get("Type")).startswith("Custom::") else ""
        reasons: list[str] = []
        forcing: set[tuple[str, ...]] = set()
        for path in self.create_only_paths(stack, new):
            why = self.why_changed(stack, old_props, new_props, path, create_only=True)
            if why:
                reasons.append(why + custom)
                forcing.add(path)
        for (rtype, path), constraint in SAME_VPC_ONLY.items():
            if new.get("Type") != rtype:
                continue
            moved = [
                r
                for r in references(project(new_props, path), stack)
                if ("VpcId",) in self.replaced_by.get((r.stack, r.target), set())
            ]
            if moved:
                reasons.append(f"{'.'.join(path)} ({moved[0].target} moves to another VPC: {constraint})")
                forcing.add(path)
        for (rtype, path), constraint in SAME_ZONES_ONLY.items():
            if new.get("Type") == rtype and path not in forcing:
                added = self.zones_added(stack, project(old_props, path), project(new_props, path))
                if added:
                    reasons.append(f"{'.'.join(path)} (subnets in {', '.join(added)}: {constraint})")
                    forcing.add(path)
        self.replaced_by[key] = forcing
        return reasons

    def subnet_zones(self, templates: Mapping[str, Template], stack: str, value: Any) -> set[str] | None:
        """The zones (as written) of the subnets a value refers to, or None when one is not a subnet of ours."""
        zones: set[str] = set()
        for ref in references(value, stack):
            subnet = self.resources(templates, ref.stack).get(ref.target) if not ref.output else None
            if subnet is None or subnet.get("Type") != "AWS::EC2::Subnet":
                return None
            props = subnet.get("Properties", {})
            zone = next((props[p] for p in SUBNET_ZONE_PROPERTIES if p in props), ABSENT)
            if zone is ABSENT:
                return None
            zones.add(json.dumps(zone, sort_keys=True, separators=(",", ":")))
        return zones

    def zones_added(self, stack: str, old_value: Any, new_value: Any) -> list[str]:
        """Zones of the new subnets that none of the old ones is in (both as written, tokens included)."""
        before = self.subnet_zones(self.old, stack, old_value)
        after = self.subnet_zones(self.new, stack, new_value)
        if before is None or after is None:
            return []
        return sorted(after - before)

    def update(self, key: Key, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
        stack = key[0]
        old_props, new_props = old.get("Properties", {}), new.get("Properties", {})
        reasons, paths = [], set()
        for name in sorted(set(old_props) | set(new_props)):
            why = self.why_changed(stack, old_props, new_props, (name,), create_only=False)
            if why:
                reasons.append(why)
                paths.add(name)
        conditional = {p[0] for p in self.schema(stack, str(new.get("Type"))).conditional if p}
        if paths & conditional:
            names = ", ".join(sorted(paths & conditional))
            reasons.append(f"{names}: may interrupt or replace it (conditionally create-only in the schema)")
        return reasons

    def name_kept(self, key: Key, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
        """CloudFormation creates the replacement before deleting the original, so a resource that keeps its custom
        name cannot be replaced (the create fails) unless the name's scope, its cluster, is replaced as well."""
        rtype = str(new.get("Type"))
        short_type = rtype.rsplit("::", 1)[-1]
        create_only = self.schema(key[0], rtype).create_only
        if ("ClusterName",) in self.replaced_by.get(key, set()):
            return []
        for path in create_only:
            if len(path) == 1 and path[0] in {"Name", f"{short_type}Name"}:
                before = old.get("Properties", {}).get(path[0], ABSENT)
                after = new.get("Properties", {}).get(path[0], ABSENT)
                if after is not ABSENT and before == after:
                    setting = NAME_SETTINGS.get((rtype, path[0]))
                    remedy = (
                        f"set a new `{setting}` in the same change, or delete the stack first"
                        if setting
                        else "no setting renames it: delete the stack first"
                    )
                    return [
                        f"keeps its name {short(after)}: CloudFormation cannot replace a custom-named resource "
                        f"(the update fails); {remedy}"
                    ]
        return []
