"""Every Pod Identity association has a credentials check after it and after the pods it is for (issue 20,
review finding F1). EKS: a new association "may take several seconds to be effective" (EKS API reference,
CreatePodIdentityAssociation), and the Pod Identity webhook injects credentials only when a pod is admitted; a
pod admitted in between never gets them. The controller's check (Custom::ControllerCredentials) restarts such
pods; each app that calls routes gets the same (Custom::PodCredentials).

Class test: in the default synthesis and in one with callers in two namespaces, for every
AWS::EKS::PodIdentityAssociation there is a check of the same namespace and service account whose DependsOn names
the association and the resource that starts that service account's pods (a manifest with a Deployment running as
it, or the Helm chart whose values name it); the check's Kubernetes access covers exactly the namespaces of the
service accounts it checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from constructs.access.pod_credentials import APP_CHECK_ROLE, APP_CREDENTIALS_CHECK_GROUP, RESOURCE_TYPE
from constructs.controller.gateway_controller import CREDENTIALS_CHECK_GROUP

from config.loader import DEFAULTS
from tests.conftest import Synthesized, cached_synthesis
from tests.service_constraints import k8s_objects, parse_json
from tools import impact

CHECK_TYPES = ("Custom::ControllerCredentials", RESOURCE_TYPE)
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
HELM = "Custom::AWSCDK-EKS-HelmChart"
DEMO = {k: v for k, v in DEFAULTS["apps"][0].items() if k != "name"}


def _callers_config(*, team_calls: bool = True) -> dict[str, Any]:
    """Callers in default and in team; without `team_calls`, team's apps stay but call nothing (its last callers
    gone, the namespace kept)."""
    team_caller = {"calls": ["default/demo-http-route"]} if team_calls else {}
    idle_caller = {"calls": ["demo-http-route"]} if team_calls else {}
    apps = [
        *DEFAULTS["apps"],
        {"name": "caller", **DEMO, "calls": ["demo-http-route"]},
        {"name": "team-caller", **DEMO, "namespace": "team", **team_caller},
        {"name": "idle-caller", **DEMO, "namespace": "team", "replicas": 0, **idle_caller},
    ]
    return {"apps": json.dumps(apps)}


# Each synthesized with cdk-nag once per session, or read from the synthesis cache (its key holds the overrides).
@pytest.fixture(scope="module")
def callers(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return cached_synthesis(tmp_path_factory, "pod-callers", _callers_config(), nag=True)


@pytest.fixture(scope="module")
def quiet_team(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return cached_synthesis(tmp_path_factory, "pod-quiet-team", _callers_config(team_calls=False), nag=True)


def _pod_starters(resource: dict[str, Any]) -> set[tuple[str, str]]:
    """(namespace, service account) of the pods a manifest or chart resource starts."""
    props = resource.get("Properties", {})
    if resource["Type"] == MANIFEST:
        return {
            (obj.get("metadata", {}).get("namespace", "default"), spec.get("serviceAccountName", "default"))
            for _, obj in k8s_objects(props)
            if obj.get("kind") == "Deployment"
            for spec in [obj.get("spec", {}).get("template", {}).get("spec", {})]
        }
    if resource["Type"] == HELM:
        values = parse_json(props.get("Values")) or {}
        account = (values.get("serviceAccount") or {}).get("name")
        return {(props.get("Namespace"), account)} if account else set()
    return set()


def _depends_on(resource: dict[str, Any]) -> set[str]:
    found = resource.get("DependsOn", [])
    return {found} if isinstance(found, str) else set(found)


def _rbac_namespaces(template: dict[str, Any], group: str) -> set[str]:
    """The namespaces where `group` is bound to a Role."""
    return {
        obj["metadata"]["namespace"]
        for resource in template["Resources"].values()
        if resource["Type"] == MANIFEST
        for _, obj in k8s_objects(resource.get("Properties", {}))
        if obj.get("kind") == "RoleBinding" and any(s.get("name") == group for s in obj.get("subjects", []))
    }


def _assert_every_association_is_checked(template: dict[str, Any]) -> int:
    resources = template["Resources"]
    associations = {lid: r for lid, r in resources.items() if r["Type"] == "AWS::EKS::PodIdentityAssociation"}
    checks = {lid: r for lid, r in resources.items() if r["Type"] in CHECK_TYPES}
    for lid, association in associations.items():
        props = association["Properties"]
        account = (props["Namespace"], props["ServiceAccount"])
        starters = {other for other, r in resources.items() if account in _pod_starters(r)}
        assert starters, f"{lid}: nothing starts pods as {account}"
        found = [
            check_id
            for check_id, check in checks.items()
            if (check["Properties"]["Namespace"], check["Properties"]["ServiceAccount"]) == account
            and lid in _depends_on(check)
            and starters & _depends_on(check)
        ]
        assert len(found) == 1, f"{lid} ({account}): no credentials check after it and its pods' manifest"
    return len(associations)


def test_the_controllers_association_is_checked(synth: Synthesized) -> None:
    template = synth.templates["EksLatticeGateway-Gateway"]
    assert _assert_every_association_is_checked(template) == 1
    assert _rbac_namespaces(template, CREDENTIALS_CHECK_GROUP) == {"aws-application-networking-system"}
    assert _rbac_namespaces(template, APP_CREDENTIALS_CHECK_GROUP) == set()  # no caller, no app check


def test_every_callers_association_is_checked_with_access_to_its_namespace_only(callers: Synthesized) -> None:
    template = callers.templates["EksLatticeGateway-Gateway"]
    assert _assert_every_association_is_checked(template) == 1 + 3
    assert _rbac_namespaces(template, APP_CREDENTIALS_CHECK_GROUP) == {"default", "team"}
    app_checks = [r["Properties"] for r in template["Resources"].values() if r["Type"] == RESOURCE_TYPE]
    assert sorted((p["Namespace"], p["LabelSelector"], p["AllowNoReplicas"]) for p in app_checks) == [
        ("default", "app=caller", "true"),
        ("team", "app=idle-caller", "true"),
        ("team", "app=team-caller", "true"),
    ]


def test_the_app_checks_kubernetes_rights_are_the_controller_checks(callers: Synthesized) -> None:
    """Least privilege, as for the controller: list/delete pods and read Deployments, nothing cluster-wide."""
    template = callers.templates["EksLatticeGateway-Gateway"]
    rules = {}
    for resource in template["Resources"].values():
        if resource["Type"] == MANIFEST:
            for _, obj in k8s_objects(resource.get("Properties", {})):
                name = obj.get("metadata", {}).get("name")
                if obj.get("kind") in ("Role", "ClusterRole") and name in (APP_CREDENTIALS_CHECK_GROUP, APP_CHECK_ROLE):
                    assert obj["kind"] == "Role"
                    rules[obj["metadata"]["namespace"]] = obj["rules"]
    assert rules.keys() == {"default", "team"}
    assert all(
        r
        == [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
        ]
        for r in rules.values()
    )
    entries = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::EKS::AccessEntry"
        and r["Properties"].get("KubernetesGroups") == [APP_CREDENTIALS_CHECK_GROUP]
    ]
    assert len(entries) == 1 and "AccessPolicies" not in entries[0]


def test_the_app_check_passes_cdk_nag(callers: Synthesized) -> None:
    report = callers.validation_report
    assert report is not None, "cdk-nag did not run (no validation report)"
    assert [v["ruleName"] for p in report["pluginReports"] for v in p["violations"]] == []


GATEWAY = "EksLatticeGateway-Gateway"


def test_adding_or_removing_a_namespaces_callers_leaves_no_object_behind(
    synth: Synthesized, callers: Synthesized, quiet_team: Synthesized
) -> None:
    """Issue 23 item 2, its class: over EVERY KubernetesManifest of the synthesized gateway stack (not only the
    workload's), a change that gives a namespace its first caller or takes its last one (the namespace stays, or
    goes) orphans nothing and deletes nothing the new template keeps; and the team's RBAC really comes and goes."""
    pairs = [(callers, quiet_team), (quiet_team, callers), (synth, callers), (callers, synth)]
    for old, new in pairs:
        found = impact.compare(old.templates, new.templates, stacks=[GATEWAY]).kubernetes
        assert not [c for c in found if c.action == "orphan" or (c.blocking and c.old is not None)], found
    assert "team" in _rbac_namespaces(callers.templates[GATEWAY], APP_CREDENTIALS_CHECK_GROUP)
    assert _rbac_namespaces(quiet_team.templates[GATEWAY], APP_CREDENTIALS_CHECK_GROUP) == {"default"}
    gone = {
        (c.old.kind, c.old.namespace)
        for c in impact.compare(callers.templates, quiet_team.templates, stacks=[GATEWAY]).kubernetes
        if c.action == "delete" and c.old
    }
    assert {("Role", "team"), ("RoleBinding", "team")} <= gone  # deleted with their own manifest resource


def test_each_namespaces_app_check_rbac_is_its_own_manifest(callers: Synthesized) -> None:
    """One manifest resource per namespace, so that losing a namespace's callers removes a resource (whose Delete
    deletes the objects) rather than updating a shared one (whose prune would leave them)."""
    template = callers.templates[GATEWAY]
    by_manifest = [
        {obj["metadata"]["namespace"] for _, obj in k8s_objects(r.get("Properties", {})) if obj.get("kind") == "Role"}
        for r in template["Resources"].values()
        if r["Type"] == MANIFEST
        and any(
            obj.get("kind") == "Role" and obj["metadata"].get("name") == APP_CHECK_ROLE
            for _, obj in k8s_objects(r.get("Properties", {}))
        )
    ]
    assert sorted(map(sorted, by_manifest)) == [["default"], ["team"]]
