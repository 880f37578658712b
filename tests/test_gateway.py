"""The gateway stack: CRD installer, controller with Pod Identity, workload objects, DNS records, and the
deletion order read from the synthesized dependency graph (SPEC §4)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from constructs.workload.routes import gateway, gateway_class, route_object

from config.versions import GATEWAY_API_RELEASES
from tests.conftest import Synthesized
from tests.controller_finalizers import finalizer_of
from tests.support.smoke_assets import smoke_functions

STACK = "EksLatticeGateway-Gateway"
PLATFORM = "EksLatticeGateway-Platform"


@pytest.fixture(scope="module")
def gw(synth: Synthesized) -> dict[str, Any]:
    return synth.templates[STACK]


def of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def manifest_objects(resource: dict[str, Any], synth: Synthesized) -> list[dict[str, Any]]:
    """The objects a KubernetesManifest applies (Fn::Join'ed JSON with tokens for cross-stack values)."""
    value = resource["Properties"]["Manifest"]
    text = (
        value if isinstance(value, str) else "".join(p if isinstance(p, str) else "TOKEN" for p in value["Fn::Join"][1])
    )
    objects: list[dict[str, Any]] = json.loads(text)
    for obj in objects:  # aws_eks_v2 labels every object for pruning; not part of what we emit
        labels = obj["metadata"].get("labels", {})
        for key in [k for k in labels if k.startswith("aws.cdk.eks/prune-")]:
            del labels[key]
        if "labels" in obj["metadata"] and not labels:
            del obj["metadata"]["labels"]
    return objects


def by_kind(synth: Synthesized, gw: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for logical_id, resource in of_type(gw, "Custom::AWSCDK-EKS-KubernetesResource").items():
        for obj in manifest_objects(resource, synth):
            found.setdefault(obj["kind"], []).append((logical_id, obj))
    return found


def depends_on(template: dict[str, Any], logical_id: str) -> set[str]:
    deps = template["Resources"][logical_id].get("DependsOn", [])
    return {deps} if isinstance(deps, str) else set(deps)


def reaches(template: dict[str, Any], start: str, goal: str) -> bool:
    """True when `start` (transitively) depends on `goal`, i.e. CloudFormation deletes `start` first."""
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            text = json.dumps(template["Resources"][node])
            refs = {k for k in template["Resources"] if f'"{k}"' in text and k != node}
            todo.extend(depends_on(template, node) | refs)
    return False


def test_crds_are_fetched_at_deploy_time_never_inlined(synth: Synthesized, gw: dict[str, Any]) -> None:
    (crds,) = of_type(gw, "Custom::GatewayApiCrds").values()
    release = GATEWAY_API_RELEASES["v1.5.1"]
    assert crds["Properties"]["Version"] == "v1.5.1"
    assert [(f["name"], f["sha256"]) for f in crds["Properties"]["Files"]] == [
        (f.name, f.sha256) for f in release.files
    ]
    assert all(
        f["url"].startswith("https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.5.1/")
        for f in crds["Properties"]["Files"]
    )
    for template in synth.templates.values():
        assert "openAPIV3Schema" not in json.dumps(template)


def test_crd_installer_has_cluster_admin_access_entry(gw: dict[str, Any]) -> None:
    entries = [e["Properties"] for e in of_type(gw, "AWS::EKS::AccessEntry").values()]
    admin = [e for e in entries if "AmazonEKSClusterAdminPolicy" in json.dumps(e)]
    assert len(admin) == 1
    assert admin[0]["AccessPolicies"][0]["AccessScope"]["Type"] == "cluster"


def test_controller_pod_identity_and_chart(gw: dict[str, Any]) -> None:
    (association,) = of_type(gw, "AWS::EKS::PodIdentityAssociation").values()
    assert association["Properties"]["Namespace"] == "aws-application-networking-system"
    assert association["Properties"]["ServiceAccount"] == "gateway-api-controller"
    role_id = association["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    trust = gw["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    (chart_id, chart) = next(iter(of_type(gw, "Custom::AWSCDK-EKS-HelmChart").items()))
    props = chart["Properties"]
    assert props["Repository"] == "oci://public.ecr.aws/aws-application-networking-k8s/aws-gateway-controller-chart"
    assert (props["Version"], props["Namespace"], props["Wait"]) == (
        "v2.1.3",
        "aws-application-networking-system",
        True,
    )
    # Namespace/ServiceAccount, the association and the CRDs come first.
    needs = depends_on(gw, chart_id)
    assert {
        k
        for k, v in gw["Resources"].items()
        if v["Type"] in ("AWS::EKS::PodIdentityAssociation", "Custom::GatewayApiCrds")
    } <= needs
    (policy,) = [
        p for p in of_type(gw, "AWS::IAM::ManagedPolicy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    assert "Lattice DNS" not in json.dumps(policy)


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_controller_pods_run_with_credentials_before_anything_needs_them(
    request: pytest.FixtureRequest, which: str
) -> None:
    """Pod Identity credentials are injected at pod creation, and an association takes seconds to be in
    effect: the chart comes after the association, the credentials check after the chart, and every object
    the controller must act on (GatewayClass, apps, routes, DNS records) after the check."""
    synthesized: Synthesized = request.getfixturevalue(which)
    gw = synthesized.templates[STACK]
    (association_id,) = of_type(gw, "AWS::EKS::PodIdentityAssociation")
    (chart_id,) = of_type(gw, "Custom::AWSCDK-EKS-HelmChart")
    ((check_id, check),) = of_type(gw, "Custom::ControllerCredentials").items()
    assert association_id in depends_on(gw, chart_id)
    assert {chart_id, association_id} <= depends_on(gw, check_id)

    props = check["Properties"]
    association = gw["Resources"][association_id]["Properties"]
    assert (props["Namespace"], props["ServiceAccount"]) == (association["Namespace"], association["ServiceAccount"])
    assert props["AssociationArn"] == {"Fn::GetAtt": [association_id, "AssociationArn"]}  # re-checked if replaced

    # Its Kubernetes access is in place first, and is only list/delete pods, read Deployments, one namespace.
    entries = {k: v for k, v in of_type(gw, "AWS::EKS::AccessEntry").items() if k in depends_on(gw, check_id)}
    ((_, entry),) = entries.items()
    assert "AccessPolicies" not in entry["Properties"]
    (group,) = entry["Properties"]["KubernetesGroups"]
    rbac = [
        (logical_id, obj)
        for logical_id, resource in of_type(gw, "Custom::AWSCDK-EKS-KubernetesResource").items()
        for obj in manifest_objects(resource, synthesized)
        if obj["kind"] in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding") and group in json.dumps(obj)
    ]
    assert sorted(obj["kind"] for _, obj in rbac) == ["Role", "RoleBinding"]
    assert {obj["metadata"]["namespace"] for _, obj in rbac} == {association["Namespace"]}
    (role,) = [obj for _, obj in rbac if obj["kind"] == "Role"]
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
    ]
    assert {logical_id for logical_id, _ in rbac} <= depends_on(gw, check_id)

    kinds = by_kind(synthesized, gw)
    needs_controller = [
        logical_id for kind in ("GatewayClass", "TargetGroupPolicy", "HTTPRoute") for logical_id, _ in kinds[kind]
    ]
    needs_controller += list(of_type(gw, "Custom::LatticeDnsRecord"))
    assert len(needs_controller) >= 4
    for logical_id in needs_controller:
        assert reaches(gw, logical_id, check_id), f"{logical_id} may start before the controller has credentials"
        assert not reaches(gw, check_id, logical_id)


def test_workload_objects_are_the_configured_ones(synth: Synthesized, gw: dict[str, Any]) -> None:
    kinds = by_kind(synth, gw)
    cfg = synth.config
    assert [o for _, o in kinds["GatewayClass"]] == [gateway_class()]
    assert [o for _, o in kinds["Gateway"]] == [gateway(cfg)]
    assert [o for _, o in kinds["HTTPRoute"]] == [route_object(cfg, r) for r in cfg.routes]
    assert sorted(o["metadata"]["name"] for _, o in kinds["Deployment"]) == ["demo-app-a", "demo-app-b"]
    assert sorted(o["metadata"]["name"] for _, o in kinds["TargetGroupPolicy"]) == [
        "tg-policy-demo-app-a",
        "tg-policy-demo-app-b",
    ]


def test_deletion_order_routes_gateway_class_controller_crds(synth: Synthesized, gw: dict[str, Any]) -> None:
    """CloudFormation deletes a resource before the ones it depends on: the dependency chain is the order."""
    kinds = by_kind(synth, gw)
    ((route_id, _),) = kinds["HTTPRoute"]
    ((gateway_id, _),) = kinds["Gateway"]
    ((class_id, _),) = kinds["GatewayClass"]
    (chart_id,) = of_type(gw, "Custom::AWSCDK-EKS-HelmChart")
    (crds_id,) = of_type(gw, "Custom::GatewayApiCrds")
    (record_id,) = of_type(gw, "Custom::LatticeDnsRecord")
    chain = [record_id, route_id, gateway_id, class_id, chart_id, crds_id]
    for first, then in itertools.pairwise(chain):
        assert reaches(gw, first, then), f"{first} is not deleted before {then}"
        assert not reaches(gw, then, first)


@pytest.mark.parametrize("which", ["synth", "variant", "protocols"])
def test_every_object_the_controller_finalizes_is_released_by_its_guard_before_kubectl_deletes_it(
    request: pytest.FixtureRequest, which: str
) -> None:
    """A controller that is down cannot hold destroy: every emitted object of a kind the pinned controller
    finalizes (tests/controller_finalizers.py, read from its source) has a FinalizerGuard for exactly that
    finalizer, deleted just before the object's manifest (it depends on it); the routes are gone before the
    Gateway's guard runs; the guards' Kubernetes access covers each guarded kind and outlives them all. Default
    synth (AWS_IAM: IAMAuthPolicies) and the variant (NONE, two routes)."""
    app: Synthesized = request.getfixturevalue(which)
    gw = app.templates[STACK]
    kinds = by_kind(app, gw)
    guards = {g["Properties"]["Path"]: (k, g) for k, g in of_type(gw, "Custom::FinalizerGuard").items()}
    finalized = [
        (manifest_id, obj, finalizer)
        for found in kinds.values()
        for manifest_id, obj in found
        if (finalizer := finalizer_of(obj["apiVersion"], obj["kind"])) is not None
    ]
    assert {o["kind"] for _, o, _ in finalized} >= {"Gateway", "HTTPRoute"}
    if app.config.service_network_auth_type == "AWS_IAM":
        assert "IAMAuthPolicy" in {o["kind"] for _, o, _ in finalized}
    assert len(guards) == len(finalized), "one guard per finalized object, and none for anything else"
    ((rbac_id, role),) = [
        (k, o) for k, o in kinds["ClusterRole"] if o["metadata"]["name"] == "eks-lattice-gateway-finalizer-guard"
    ]
    ((_, gateway_obj),) = kinds["Gateway"]
    for manifest_id, obj, finalizer in finalized:
        meta, group = obj["metadata"], obj["apiVersion"].rsplit("/", 1)[0]
        path_prefix = f"/apis/{obj['apiVersion']}/namespaces/{meta['namespace']}/"
        (path,) = [
            p
            for p in guards
            if p.startswith(path_prefix)
            and p.endswith(f"/{meta['name']}")
            and p.count("/") == path_prefix.count("/") + 1
        ]
        resource = path.split("/")[-2]
        assert resource.lower().startswith(obj["kind"].lower()[:-1]), f"{path} is not a {obj['kind']}"
        guard_id, guard = guards[path]
        assert guard["Properties"]["Finalizer"] == finalizer
        assert reaches(gw, guard_id, manifest_id) and reaches(gw, guard_id, rbac_id)
        assert any(
            group in rule["apiGroups"]
            and resource in rule["resources"]
            and {"get", "delete", "patch"} <= set(rule["verbs"])
            for rule in role["rules"]
        ), f"the guard may not get, delete and patch {group}/{resource}"
        if obj["kind"] != "Gateway":
            gateway_guard_id, _ = guards[
                f"/apis/{gateway_obj['apiVersion']}/namespaces/{gateway_obj['metadata']['namespace']}/gateways/"
                f"{gateway_obj['metadata']['name']}"
            ]
            assert reaches(gw, manifest_id, gateway_guard_id), "routes must be gone before the Gateway is released"
    # The role names the guarded kinds (/apis/<group>/<version>/namespaces/<ns>/<resource>/) and nothing else the
    # workload could not emit; it does not follow the config (see the next test).
    guarded = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert guarded >= {(p.split("/")[2], p.split("/")[-2]) for p in guards}
    assert guarded == {
        ("gateway.networking.k8s.io", "httproutes"),
        # Route kinds of the other protocols (issue 26): named whatever the config emits now.
        ("gateway.networking.k8s.io", "grpcroutes"),
        ("gateway.networking.k8s.io", "tlsroutes"),
        ("gateway.networking.k8s.io", "gateways"),
        ("application-networking.k8s.aws", "iamauthpolicies"),
    }
    function = next(
        f for f in of_type(gw, "AWS::Lambda::Function").values() if "finalizer_guard" in f["Properties"]["Handler"]
    )
    assert function["Properties"]["Timeout"] > int(next(iter(guards.values()))[1]["Properties"]["GraceSeconds"])


def test_the_guards_rbac_does_not_follow_the_config(synth: Synthesized, variant: Synthesized) -> None:
    """A config change that drops a guarded kind (AWS_IAM -> NONE drops the IAMAuthPolicies; the variant has NONE)
    deletes those guards in the update's cleanup, after the RBAC manifest was updated: the rules must still let
    them act, so they are the same whatever the config."""

    def role(app: Synthesized) -> dict[str, Any]:
        kinds = by_kind(app, app.templates[STACK])
        ((_, found),) = [
            (k, o) for k, o in kinds["ClusterRole"] if o["metadata"]["name"] == "eks-lattice-gateway-finalizer-guard"
        ]
        return found

    assert synth.config.service_network_auth_type != variant.config.service_network_auth_type
    assert role(synth)["rules"] == role(variant)["rules"]


def test_gateway_stack_is_deleted_before_the_platform(synth: Synthesized) -> None:
    """Controller before the service network associations: the whole gateway stack goes first."""
    gateway_stack = synth.stacks[STACK]
    platform_stack = synth.stacks[PLATFORM]
    assert [d.id for d in gateway_stack.dependencies if not d.id.endswith(".assets")] == [platform_stack.id]


def test_dns_record_per_route_with_timeout_and_outputs(synth: Synthesized, gw: dict[str, Any]) -> None:
    (record,) = of_type(gw, "Custom::LatticeDnsRecord").values()
    props = record["Properties"]
    assert (props["Namespace"], props["RouteName"], props["Hostname"], props["TimeoutSeconds"]) == (
        "default",
        "demo-http-route-06a7ea",
        "api.example.com",
        "1200",
    )
    outputs = gw["Outputs"]
    assert any("LatticeDomain" in k for k in outputs) and any("CustomDomain" in k for k in outputs)
    machines = of_type(gw, "AWS::StepFunctions::StateMachine")
    # The DNS waiter, the metric-id lookup's (constructs/observability/metric_ids.py) and the Lattice sweep's
    assert sorted(k.split("Provider")[0] for k in machines) == ["Dns", "LatticeSweep", "MetricIds"]


def test_dns_reader_access_is_namespace_scoped_view(gw: dict[str, Any]) -> None:
    entries = [
        e["Properties"] for e in of_type(gw, "AWS::EKS::AccessEntry").values() if "AmazonEKSViewPolicy" in json.dumps(e)
    ]
    assert len(entries) == 2  # on_event and is_complete roles
    for entry in entries:
        scope = entry["AccessPolicies"][0]["AccessScope"]
        assert scope["Type"] == "namespace"
        assert scope["Namespaces"] == ["aws-application-networking-system", "default"]


def test_smoke_test_functions_live_in_the_client_vpc(gw: dict[str, Any], synth: Synthesized) -> None:
    assert gw["Outputs"]["SmokeTestFunctionName"] and gw["Outputs"]["SmokeTestSecondIdentityFunctionName"]
    smoke = smoke_functions(synth.outdir, {STACK: gw})
    assert len(smoke) == 2  # the smoke test and the second identity (issue 12)
    assert all(name.startswith(f"{STACK}/SmokeTest") for name, _, _ in smoke)
    for _, props, checks in smoke:
        assert all(c["url"].startswith("http://api.example.com/") for c in checks)  # shipped in its code
        assert props["VpcConfig"]["SubnetIds"]


def test_hostname_change_replaces_the_route_resource_and_repoints_the_record(
    synth: Synthesized, variant: Synthesized
) -> None:
    """VARIANT gives demo-http-route a new hostname. Its manifest must be a new resource holding a new object:
    CloudFormation creates it, then its cleanup runs `kubectl delete` on the old one (updating in place would
    leave the old route, since kubectl's --prune skips custom resources; deleting an object of the same name
    would delete the new route). The DNS record keeps its logical id and follows the new object."""

    def routes(app: Synthesized) -> dict[str, tuple[str, dict[str, Any]]]:
        found = by_kind(app, app.templates[STACK])["HTTPRoute"]
        return {obj["spec"]["hostnames"][0]: (logical_id, obj) for logical_id, obj in found}

    def records(app: Synthesized) -> dict[str, dict[str, Any]]:
        found = of_type(app.templates[STACK], "Custom::LatticeDnsRecord")
        return {k: v["Properties"] for k, v in found.items() if v["Properties"]["RouteName"].startswith("demo-")}

    old_id, old_route = routes(synth)["api.example.com"]
    new_id, new_route = routes(variant)["api2.example.com"]
    assert old_id != new_id
    assert old_id not in variant.templates[STACK]["Resources"]
    assert old_route["metadata"]["name"] != new_route["metadata"]["name"]
    ((old_record_id, old_record),) = records(synth).items()
    ((new_record_id, new_record),) = records(variant).items()
    assert old_record_id == new_record_id
    assert (old_record["RouteName"], new_record["RouteName"]) == (
        old_route["metadata"]["name"],
        new_route["metadata"]["name"],
    )


def test_dns_lambda_call_bounds_fit_their_timeouts(gw: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow answer must end in another poll or a clear failure, never a Lambda timeout. The handlers start a
    Route 53 or Kubernetes call only when it fits in the time left (tests/lambda); what must fit each function's
    timeout is the one call started regardless (DescribeCluster, first thing in is_complete) plus one of each
    other, and the time to answer. The production clients must be sized as the handler assumes."""
    from k8s_api.client import MIN_ATTEMPT_SECONDS
    from lattice_dns import handler

    timeouts = {
        f["Properties"]["Handler"].rsplit(".", 1)[-1]: f["Properties"]["Timeout"]
        for f in of_type(gw, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler", "").startswith("lattice_dns.handler.")
    }
    monkeypatch.setattr(handler, "_CACHED", None)
    monkeypatch.setenv("AWS_REGION", "ap-northeast-2")
    clients = handler._clients()
    route53, eks = clients.route53.meta.config, clients.eks.meta.config
    assert route53.retries["total_max_attempts"] == 1
    assert route53.connect_timeout + route53.read_timeout <= handler.ROUTE53_CALL_SECONDS
    assert eks.retries["total_max_attempts"] * (eks.connect_timeout + eks.read_timeout) < handler.EKS_CALL_SECONDS
    reserve = handler.RESPONSE_RESERVE_SECONDS
    assert reserve + handler.ROUTE53_CALL_SECONDS <= timeouts["on_event"]
    assert (
        reserve + handler.EKS_CALL_SECONDS + MIN_ATTEMPT_SECONDS + handler.ROUTE53_CALL_SECONDS
        <= (timeouts["is_complete"])
    )
