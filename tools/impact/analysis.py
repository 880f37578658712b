"""Stack by stack: the resources' replacements and updates worked out to a fixpoint, what blocks the deploy,
moved and orphaned stacks, and the comparison of two sets of templates."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from tools.impact.blockers import _Blockers
from tools.impact.cloudformation import Template
from tools.impact.kubernetes import kubernetes_changes
from tools.impact.model import Blocker, Change, Impact, Stranded
from tools.synth import Assembly

Environment = tuple[str, str]  # (account, region) of a stack; "" where its environment leaves it to the credentials


class _Analysis(_Blockers):
    """Replacements and updates of the resources both sides have, to a fixpoint (they propagate by reference),
    and what blocks them."""

    def run(self, stacks: Sequence[str]) -> Impact:
        """Reported for `stacks`; worked out over every stack, since a replacement in one reaches the others."""
        common = [
            (stack, lid)
            for stack in self.new
            for lid in self.resources(self.new, stack)
            if lid in self.resources(self.old, stack)
        ]
        changed = True
        while changed:  # replacements propagate through references, across stacks too: iterate to a fixpoint
            changed = False
            for key in common:
                if key in self.replaced:
                    continue
                old, new = self.resources(self.old, key[0])[key[1]], self.resources(self.new, key[0])[key[1]]
                reasons = self.replacement(key, old, new)
                if reasons:
                    self.replaced[key] = reasons + self.name_kept(key, old, new)
                    self.updated.pop(key, None)
                    changed = True
                    continue
                updates = self.update(key, old, new)
                if updates and self.updated.get(key) != updates:
                    self.updated[key] = updates
                    changed = True
        impact = Impact()
        for stack in stacks:
            if stack not in self.new:
                continue  # the CDK CLI leaves it as it is: orphaned_stacks reports it
            old_resources, new_resources = self.resources(self.old, stack), self.resources(self.new, stack)
            for lid, resource in new_resources.items():
                key, rtype = (stack, lid), str(resource.get("Type"))
                if lid not in old_resources:
                    impact.changes.append(Change(stack, lid, rtype, "add"))
                elif key in self.replaced:
                    impact.changes.append(Change(stack, lid, rtype, "replace", tuple(self.replaced[key])))
                elif key in self.updated:
                    impact.changes.append(Change(stack, lid, rtype, "update", tuple(self.updated[key])))
            for lid, resource in old_resources.items():
                if lid not in new_resources:
                    impact.changes.append(Change(stack, lid, str(resource.get("Type")), "remove"))
            impact.kubernetes += kubernetes_changes(stack, old_resources, new_resources)
        impact.blockers += self.service_token_changes(stacks)
        impact.blockers += self.identity_collisions(stacks)
        impact.blockers += self.unique_key_collisions(stacks)
        blockers, notes = self.cluster_version_steps(stacks)
        impact.blockers += blockers
        impact.notes += notes
        refused = {(b.stack, b.subject) for b in blockers}
        impact.changes = [  # EKS refuses the Version update: not an update in place
            dataclasses.replace(c, reasons=(*c.reasons, "[BLOCKING]: EKS refuses this Version change"))
            if (c.stack, c.logical_id) in refused
            else c
            for c in impact.changes
        ]
        impact.blockers += self.stale_weak_references(stacks)
        impact.blockers += self.held_at_cleanup(stacks)
        return self.consumers_stranded(impact)


def environments(assembly: Assembly) -> dict[str, Environment]:
    """Each stack's environment, as the assembly's manifest.json names it."""
    return {n: (assembly.accounts.get(n, ""), assembly.regions.get(n, "")) for n in assembly.templates}


def moved_stacks(
    old: Mapping[str, Template],
    new: Mapping[str, Template],
    before: Mapping[str, Environment],
    after: Mapping[str, Environment],
) -> dict[str, tuple[Environment, Environment]]:
    """Stacks of both whose account or region (where both sides name it) changes: a stack is keyed by (account,
    region, name), so the CDK CLI deploys a new stack there and leaves the old one as it is."""
    moved = {}
    for name in set(old) & set(new):
        a, b = before.get(name, ("", "")), after.get(name, ("", ""))
        if any(x and y and x != y for x, y in zip(a, b, strict=True)):
            moved[name] = (a, b)
    return moved


def orphaned_stacks(
    old: Mapping[str, Template],
    new: Mapping[str, Template],
    scope: Iterable[str],
    moved: Mapping[str, tuple[Environment, Environment]],
    before: Mapping[str, Environment],
) -> list[Blocker]:
    """Every stack of the baseline (in `scope`) that the proposal no longer has in its environment: the CDK CLI
    deploys only the stacks the app synthesizes and never deletes one it dropped, so the old stack and everything
    in it stays (for a consumer: its VPC, Lattice and zone associations, which the platform, no longer sharing with
    its account, cannot undo). tools/stranded.py finds such consumer stacks in their accounts before a deploy."""
    found = []
    for name in scope:
        if name not in old or (name in new and name not in moved):
            continue
        account, region = before.get(name, ("", ""))
        where = f"account {account or 'of the credentials'}, {region or 'its region'}"
        if name in moved:
            (a0, r0), (a1, r1) = moved[name]
            why = (
                f"its environment changes from {a0 or '?'}/{r0 or '?'} to {a1 or '?'}/{r1 or '?'}: the CDK CLI creates "
                "the stack anew there and never touches the old one"
            )
        else:
            why = "the app no longer synthesizes it, and the CDK CLI never deletes a stack it does not deploy"
        destroy = Stranded(name, account or "<account>", region or "<region>").destroy
        note = (
            f"{why}; the old stack and its resources stay in {where}. Destroy it first, with credentials of its "
            f"account: {destroy}"
        )
        found.append(Blocker(name, "orphaned stack", note, "orphaned stack"))
    return found


def compare(
    old: Mapping[str, Template],
    new: Mapping[str, Template],
    *,
    stacks: Iterable[str] | None = None,
    regions: Mapping[str, str] | None = None,
    old_environments: Mapping[str, Environment] | None = None,
    new_environments: Mapping[str, Environment] | None = None,
) -> Impact:
    """What deploying `new` over `old` does, stack by stack (default: every stack of either). A stack of `old`
    that `new` lacks, or has in another account or region (`*_environments`), is an orphaned stack: its resources
    in `new` are all added, in a new stack."""
    selected = list(stacks) if stacks is not None else [*new, *(n for n in old if n not in new)]
    moved = moved_stacks(old, new, old_environments or {}, new_environments or {})
    kept = {name: template for name, template in old.items() if name not in moved}
    impact = _Analysis(kept, new, regions or {}).run(selected)
    impact.blockers[:0] = orphaned_stacks(old, new, selected, moved, old_environments or {})
    return impact
