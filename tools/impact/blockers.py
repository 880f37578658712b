"""What CloudFormation or the CDK CLI refuses, or carries out otherwise than planned: reported [BLOCKING]."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from tools.impact.cloudformation import (
    ABSENT,
    CONSUMED_TYPES,
    CONSUMER_MARKER,
    EKS_VERSION_SOURCE,
    IN_USE_UNDELETABLE,
    SERVICE_UNIQUE_KEYS,
    Ref,
    _is_custom,
    minor_step,
    project,
    references,
    short,
)
from tools.impact.model import Blocker, Impact, Note
from tools.impact.resources import _Resources


class _Blockers(_Resources):
    """The checks of a change that no deploy carries out as planned."""

    # -------------------------------------------------------------------- what CloudFormation or the CLI refuses

    def held_at_cleanup(self, stacks: Sequence[str]) -> list[Blocker]:
        """A stack that reads a VPC, subnet or security group of another stack through a weak reference is
        deployed after it: the producer's cleanup deletes the replaced or removed old instance while the reader's
        resources (its security groups, its functions' network interfaces) still use it, EC2 refuses, and the old
        one is left behind. Unlike an export, a weak reference does not stop the producer's update."""
        found = []
        for stack in stacks:
            readers: dict[Ref, list[str]] = {}
            for lid, resource in self.resources(self.old, stack).items():
                if lid in self.resources(self.new, stack):
                    for ref in references(resource.get("Properties", {}), stack):
                        if ref.output:
                            readers.setdefault(ref, []).append(lid)
            for ref, lids in sorted(readers.items()):
                value = self.old.get(ref.stack, {}).get("Outputs", {}).get(ref.target, {}).get("Value", ABSENT)
                for target in references(value, ref.stack):
                    old = self.resources(self.old, target.stack).get(target.target)
                    gone = (target.stack, target.target) in self.replaced or target.target not in self.resources(
                        self.new, target.stack
                    )
                    if old is None or not gone or old.get("Type") not in IN_USE_UNDELETABLE:
                        continue
                    note = (
                        f"{target.stack}'s cleanup deletes the old {target.target} ({old.get('Type')}) before {stack} "
                        f"is deployed, while {len(lids)} of its resource(s) ({', '.join(sorted(lids)[:3])}"
                        f"{', ...' * (len(lids) > 3)}) still use it: EC2 refuses (DependencyViolation) and it is left "
                        f"behind; destroy {stack} first, then deploy"
                    )
                    found.append(Blocker(stack, f"{ref.stack}.{ref.target}", note, "deleted while in use"))
        return found

    def service_token_changes(self, stacks: Sequence[str]) -> list[Blocker]:
        """CloudFormation refuses to update a custom resource whose ServiceToken changes ("Modifying service token
        is not allowed"; AWS::CloudFormation::CustomResource, ServiceToken: "Updates aren't supported",
        https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html,
        read 2026-12-05): only a new logical id (a new resource) can move to another provider."""
        found = []
        for stack in stacks:
            old_resources = self.resources(self.old, stack)
            for lid, new in self.resources(self.new, stack).items():
                old = old_resources.get(lid)
                if old is None or not _is_custom(new) or not _is_custom(old):
                    continue
                why = self.why_changed(
                    stack, old.get("Properties", {}), new.get("Properties", {}), ("ServiceToken",), create_only=True
                )
                if why:
                    note = (
                        f"{why}: CloudFormation refuses to change a custom resource's ServiceToken ('Modifying "
                        "service token is not allowed'); give the resource a new logical id instead"
                    )
                    found.append(Blocker(stack, lid, note, "ServiceToken changed"))
        return found

    def identity_collisions(self, stacks: Sequence[str]) -> list[Blocker]:
        """A new instance (added, or the replacement of a replaced resource) whose primary identifier, set by the
        template, equals that of an old instance of the stack: CloudFormation creates the new one first and deletes
        the old ones only in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, so the create fails on the duplicate."""
        found = []
        for stack in stacks:
            old_resources = self.resources(self.old, stack)
            for lid, new in self.resources(self.new, stack).items():
                if lid in old_resources and (stack, lid) not in self.replaced:
                    continue  # kept or updated in place: the same instance
                rtype = str(new.get("Type"))
                identifier = self.schema(stack, rtype).identifier
                if not identifier:
                    continue
                for old_lid, old in old_resources.items():
                    if old.get("Type") != rtype or not self.same_identity(stack, old, new, identifier):
                        continue
                    names = ", ".join(".".join(p) for p in identifier)
                    whose = "its own old instance" if old_lid == lid else old_lid
                    note = (
                        f"its identity ({names}) equals that of {whose}, which CloudFormation deletes only after "
                        "creating this one: the create fails and the update rolls back"
                    )
                    found.append(Blocker(stack, lid, note, f"{rtype.removeprefix('AWS::')} identity taken"))
        return found

    def unique_keys(self, stack: str, resource: Mapping[str, Any]) -> set[str]:
        """The SERVICE_UNIQUE_KEYS of an instance, each as JSON of its values as written; none when a value is absent
        or refers to something that changes at deploy time (then it is not known to be the same)."""
        entry = SERVICE_UNIQUE_KEYS.get(str(resource.get("Type")))
        if entry is None:
            return set()
        props = resource.get("Properties", {})
        parts: list[list[Any]] = []
        for path in entry[0]:
            value = project(props, path)
            values = value if "*" in path and isinstance(value, list) else [value]
            values = [v for v in values if v is not ABSENT]
            if not values or any(self.changed_target(r, create_only=True) for r in references(values, stack)):
                return set()
            parts.append(values)
        keys: set[str] = set()
        for combination in itertools.product(*parts):
            normal = [
                v.rstrip(".").lower() if isinstance(v, str) and p == ("Name",) else v
                for p, v in zip(entry[0], combination, strict=True)
            ]
            keys.add(json.dumps(normal, sort_keys=True, separators=(",", ":")))
        return keys

    def unique_key_collisions(self, stacks: Sequence[str]) -> list[Blocker]:
        """identity_collisions for the keys a service keeps unique that are not the primary identifier
        (SERVICE_UNIQUE_KEYS): a new instance whose key equals that of an old one of the stack, alive until cleanup."""
        found = []
        for stack in stacks:
            old_resources = self.resources(self.old, stack)
            for lid, new in self.resources(self.new, stack).items():
                if lid in old_resources and (stack, lid) not in self.replaced:
                    continue
                rtype = str(new.get("Type"))
                keys = self.unique_keys(stack, new)
                if not keys:
                    continue
                paths, constraint = SERVICE_UNIQUE_KEYS[rtype]
                for old_lid, old in old_resources.items():
                    if old.get("Type") != rtype or not keys & self.unique_keys(stack, old):
                        continue
                    names = ", ".join(".".join(p) for p in paths)
                    whose = "its own old instance" if old_lid == lid else old_lid
                    note = (
                        f"its {names} equals that of {whose}, which CloudFormation deletes only after creating this "
                        f"one, and {constraint}: the create fails and the update rolls back"
                    )
                    found.append(Blocker(stack, lid, note, f"{rtype.removeprefix('AWS::')} key taken"))
        return found

    def cluster_version_steps(self, stacks: Sequence[str]) -> tuple[list[Blocker], list[Note]]:
        """An EKS cluster updated in place may only go up by one minor version (EKS_VERSION_SOURCE); and before
        that, its managed node groups must run the cluster's version: one whose template names no Version keeps
        whatever its nodes run, which the templates cannot tell, so the step is named."""
        blockers: list[Blocker] = []
        notes: list[Note] = []
        for stack in stacks:
            old_resources = self.resources(self.old, stack)
            new_resources = self.resources(self.new, stack)
            for lid, new in new_resources.items():
                old = old_resources.get(lid)
                if new.get("Type") != "AWS::EKS::Cluster" or old is None or (stack, lid) in self.replaced:
                    continue
                before = old.get("Properties", {}).get("Version")
                after = new.get("Properties", {}).get("Version")
                if before == after or not isinstance(before, str) or not isinstance(after, str):
                    continue
                step = minor_step(before, after)
                if step != 1:
                    down = step is not None and step < 1
                    why = "a downgrade" if down else f"not one minor version up from {before}"
                    instead = (
                        "recreate the cluster (destroy, then deploy)"
                        if down
                        else "upgrade one minor version per deploy, the node group after each"
                    )
                    note = (
                        f"Version {before} -> {after} is {why}: EKS upgrades a cluster in place one minor version at "
                        "a time and never downgrades it (a rollback to the previous minor is an EKS API call within "
                        f"7 days of an upgrade, not a template change; {EKS_VERSION_SOURCE}); the update fails. "
                        f"Instead, {instead}"
                    )
                    blockers.append(Blocker(stack, lid, note, "EKS version step"))
                    continue
                for group_lid, group in sorted(new_resources.items()):
                    if group.get("Type") == "AWS::EKS::Nodegroup" and "Version" not in group.get("Properties", {}):
                        name = group.get("Properties", {}).get("NodegroupName", group_lid)
                        notes.append(
                            Note(
                                stack,
                                group_lid,
                                f"before upgrading the cluster to {after}, node group {short(name)} must run {before} "
                                "(UpdateClusterVersion: node groups' versions must match the cluster's); its template "
                                "names no Version, so its nodes keep the version they have: run `aws eks "
                                "update-nodegroup-version` for it first if an earlier upgrade left it behind, and "
                                "again after this deploy",
                            )
                        )
        return blockers, notes

    def same_identity(
        self, stack: str, old: Mapping[str, Any], new: Mapping[str, Any], paths: Sequence[tuple[str, ...]]
    ) -> bool:
        for path in paths:
            before, after = project(old.get("Properties", {}), path), project(new.get("Properties", {}), path)
            if after is ABSENT or before != after:
                return False
            if any(self.changed_target(r, create_only=True) for r in references(after, stack)):
                return False  # written alike, resolved differently (a replaced cluster's new name)
        return True

    def stale_weak_references(self, stacks: Sequence[str]) -> list[Blocker]:
        """A stack whose template does not change is skipped by the CDK CLI (aws-cdk 2.1148.1,
        lib/index.js canSkipDeploy: "template has changed" is its only template test), so its Fn::GetStackOutput
        references keep the values they resolved to at its last update (Fn::GetStackOutput: "resolved at stack
        create or update time ... the consuming stack is not automatically updated",
        https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html,
        read 2026-12-05). An output it reads that changes value leaves it pointing at the old resource."""
        found = []
        for stack in stacks:
            if stack not in self.old or self.old[stack] != self.new.get(stack):
                continue
            readers: dict[Ref, list[str]] = {}
            for lid, resource in self.resources(self.new, stack).items():
                for ref in references(resource.get("Properties", {}), stack):
                    if ref.output:
                        readers.setdefault(ref, []).append(lid)
            for ref, lids in sorted(readers.items()):
                why = self.output_changed(ref, create_only=False, seen=frozenset())
                if why:
                    note = (
                        f"read by {len(lids)} resource(s) ({', '.join(sorted(lids)[:3])}{', ...' * (len(lids) > 3)})"
                        f" through a weak reference; its value changes ({why}), but {stack}'s template does not: the "
                        "CDK CLI skips the stack and it keeps the old value"
                    )
                    found.append(Blocker(stack, f"{ref.stack}.{ref.target}", note, "weak reference not followed"))
        return found

    def consumers_stranded(self, impact: Impact) -> Impact:
        consumers = sorted(
            stack
            for stack in {*self.old, *self.new}
            if any(r.get("Type") == CONSUMER_MARKER for r in self.resources(self.old, stack).values())
        )
        if not consumers:
            return impact
        note = (
            f"strands consumer stack(s) {', '.join(consumers)}: destroy them first "
            "(docs/sharing.md: Removing one consumer)"
        )
        impact.changes = [
            dataclasses.replace(c, reasons=(*c.reasons, note))
            if c.type in CONSUMED_TYPES and c.action in {"replace", "remove"}
            else c
            for c in impact.changes
        ]
        return impact
