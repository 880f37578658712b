"""The printed report and the refusal of --fail-on-stateful."""

from __future__ import annotations

from typing import TextIO

from tools.impact.kubernetes import HOSTNAME_KEPT_HINT, KUBECTL_BLOCKING_HINT, ROUTE_KIND_CHANGED_HINT
from tools.impact.model import Change, Impact


def report(impact: Impact, out: TextIO, *, verbose: bool = False) -> None:
    def line(change: Change) -> str:
        flag = "  [STATEFUL]" if change.stateful and change.action in {"replace", "remove"} else ""
        why = f"  {'; '.join(change.reasons)}" if change.reasons else ""
        return f"{change.action:<8} {change.stack}  {change.logical_id}  {change.type}{why}{flag}"

    for action in ("replace", "remove", "add", *(["update"] if verbose else [])):
        for change in impact.of(action):
            print(line(change), file=out)
    for k in impact.kubernetes:
        if k.action == "update" and not (verbose or k.note):
            continue
        objects = f"{k.old} -> {k.new}" if k.action == "replace" else str(k.new or k.old)
        note = f"  ({k.note})" if k.note else ""
        note += "  [BLOCKING]" if k.blocking else ""
        verb = {
            "replace": "k8s delete+create",
            "delete": "k8s delete",
            "create": "k8s create",
            "orphan": "k8s orphaned",
        }.get(k.action, "k8s update")
        print(f"{verb:<17} {k.stack}  {objects}{note}", file=out)
    for b in impact.blockers:
        print(f"{'blocked':<8} {b.stack}  {b.subject}  {b.note}  [BLOCKING]", file=out)
    for n in impact.notes:
        print(f"{'first':<8} {n.stack}  {n.subject}  {n.note}", file=out)
    if impact.stateful:
        names = ", ".join(f"{c.stack}/{c.logical_id}" for c in impact.stateful)
        print(f"stateful: {len(impact.stateful)} replaced or removed: {names}", file=out)
    print(impact.summary(), file=out)


def refusal(impact: Impact, hint: str) -> str:
    """Why --fail-on-stateful stops. `hint` (how to deploy anyway) follows stateful replacements only: deploying
    a blocking change anyway just fails later."""
    lines: list[str] = []
    if impact.stateful:
        lines.append(f"impact: refusing: {len(impact.stateful)} stateful resource(s) would be replaced or removed:")
        for c in impact.stateful:
            why = "; ".join(c.reasons) if c.reasons else "removed from the template"
            lines.append(f"  {c.stack} {c.logical_id} ({c.type}): {why}")
    hostnames = [k for k in impact.blocking if k.new is not None and k.cause != "kind changed"]
    if hostnames:
        lines.append(
            f"impact: refusing: {len(hostnames)} route(s) would take over a hostname that another route keeps "
            "until after the deploy: each DNS record would wait dnsRecordTimeoutMinutes, then the update rolls back:"
        )
        lines += [f"  {k.stack} {k.new}: {k.note}" for k in hostnames]
        lines.append(HOSTNAME_KEPT_HINT.format(stacks=", ".join(sorted({k.stack for k in hostnames}))))
    if kinds := [k for k in impact.blocking if k.cause == "kind changed"]:
        lines.append(
            f"impact: refusing: {len(kinds)} route(s) would change kind under a Lattice service the old kind holds: "
            "the controller refuses each, its DNS record waits dnsRecordTimeoutMinutes, then the update rolls back:"
        )
        lines += [f"  {k.stack} {k.old} -> {k.new}: {k.note}" for k in kinds]
        lines.append(ROUTE_KIND_CHANGED_HINT.format(stacks=", ".join(sorted({k.stack for k in kinds}))))
    if left := [k for k in impact.blocking if k.new is None]:
        lines.append(f"impact: refusing: {len(left)} Kubernetes object(s) would not end as the templates say:")
        lines += [f"  {k.stack} {k.old}: {k.action}: {k.note}" for k in left]
        lines.append(KUBECTL_BLOCKING_HINT.format(stacks=", ".join(sorted({k.stack for k in left}))))
    if impact.blockers:
        lines.append(
            f"impact: refusing: {len(impact.blockers)} change(s) CloudFormation or the CDK CLI would not carry out:"
        )
        lines += [f"  {b.stack} {b.subject}: {b.note}" for b in impact.blockers]
    if hint and impact.stateful and not impact.blockers:
        lines.append(hint)  # a change CloudFormation or the CLI refuses only fails later: no override is offered
    return "\n".join(lines)
