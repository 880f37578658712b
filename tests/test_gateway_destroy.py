"""Replays a Gateway-only destroy (`make destroy STACKS=...-Gateway`, the README's recovery for a kept hostname) of
the synthesized Gateway stack with the controller down (and, for contrast, healthy), and then its redeploy's
precondition: nothing of this
cluster's controller is left in Lattice, so the new services can take the custom domains again (issue 23.9).

CloudFormation deletes in reverse dependency order (tests/support/cfn_replay.py's dependency_order). Modelled:
- Custom::FinalizerGuard: the real finalizer_guard handler against the fake Kubernetes API (real TLS, the real
  KubeClient), with no controller Deployment or pod (the controller is down);
- Custom::AWSCDK-EKS-KubernetesResource: `kubectl delete` of each object the controller finalizes
  (tests/controller_finalizers.py); one still there after it (held by a finalizer) is what would time the
  kubectl handler out and fail the stack's delete;
- Custom::LatticeServiceSweep: the real lattice_drain handler (on_event, then is_complete every 15 s) against
  tests/support/fake_lattice.py, the stack DELETE_IN_PROGRESS in the fake CloudFormation;
- everything else (the chart's uninstall: the controller is down already) changes nothing here.

Lattice before the destroy: what the controller made for each route (tagged with this cluster's ManagedBy, v2.1.3
pkg/aws/cloud.go TagManagedBy = "application-networking.k8s.aws/ManagedBy", value account/cluster/VPC from
getManagedByTag; pkg/model/lattice/targetgroup.go's RouteName tag key), plus what is not this app's to delete: the
Platform stack's network and VPC association, another cluster's service and a consumer's resource association.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from constructs.workload.finalizer_guard import object_path
from finalizer_guard import handler as guard
from k8s_api import KubeClient
from lattice_drain import handler as drain
from stack_removal.status import read_status

from tests.conftest import Synthesized
from tests.controller_finalizers import finalizer_of
from tests.support.cfn_replay import dependency_order
from tests.support.fake_cloudformation import FakeCloudFormation
from tests.support.fake_kube import FakeKubeApi
from tests.support.fake_lattice import ACCOUNT, REGION, FakeLattice
from tests.support.iam_policy import Decision, Request, evaluate, role_statements, token_key
from tests.support.local_aws import local_client

STACK = "EksLatticeGateway-Gateway"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{STACK}/0d1e2f3a"
CLUSTER_VPC = "vpc-0abc"
MANAGED_BY = "application-networking.k8s.aws/ManagedBy"
ROUTE_NAME = "application-networking.k8s.aws/RouteName"
QUERY_INTERVAL = 15.0


def _objects(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """A manifest's objects (the tokens aws-cdk-lib joins in stand as text: names and kinds have none)."""
    value = resource["Properties"]["Manifest"]
    if not isinstance(value, str):
        value = "".join(p if isinstance(p, str) else "TOKEN" for p in value["Fn::Join"][1])
    return list(json.loads(value))


class Destroy:
    """One Gateway-stack destroy against the fakes; `stuck` collects objects a `kubectl delete` would wait on."""

    def __init__(self, synth: Synthesized, api: FakeKubeApi, fake: FakeLattice, stacks: FakeCloudFormation) -> None:
        self.template = synth.templates[STACK]
        self.cluster = synth.config.cluster_name
        self.owner = f"{ACCOUNT}/{self.cluster}/{CLUSTER_VPC}"
        self.api, self.fake, self.stacks = api, fake, stacks
        self.now = 0.0
        self.stuck: list[str] = []
        self.deleted: list[str] = []
        self.lattice = local_client("vpc-lattice", f"http://127.0.0.1:{fake.port}")
        self.cloudformation = local_client("cloudformation", stacks.endpoint)
        stacks.statuses[STACK_ID] = "DELETE_IN_PROGRESS"

    def client(self, *_: Any) -> KubeClient:
        return KubeClient(
            endpoint=self.api.endpoint, ca_data=self.api.ca_data, token=lambda: self.api.token, sleep=lambda _: None
        )

    def finalized_objects(self) -> Iterator[tuple[str, dict[str, Any], str]]:
        """(manifest logical id, object, its finalizer) for each emitted object the controller finalizes."""
        for lid, res in self.template["Resources"].items():
            if res["Type"] == "Custom::AWSCDK-EKS-KubernetesResource":
                for obj in _objects(res):
                    finalizer = finalizer_of(obj["apiVersion"], obj["kind"])
                    if finalizer is not None:
                        yield lid, obj, finalizer

    def seed_cluster(self) -> None:
        """The objects as the controller left them while it ran: each with its finalizer."""
        for _, obj, finalizer in self.finalized_objects():
            path, _ = object_path(obj)
            meta = {**obj["metadata"], "finalizers": [finalizer], "resourceVersion": "1"}
            self.api.put_object(path, {**obj, "metadata": meta})

    def run(self) -> None:
        for lid in reversed(dependency_order(self.template)):
            res = self.template["Resources"][lid]
            if res["Type"] == "Custom::FinalizerGuard":
                self._guard(lid, res)
            elif res["Type"] == "Custom::AWSCDK-EKS-KubernetesResource":
                self._kubectl_delete(lid, res)
            elif res["Type"] == "Custom::LatticeServiceSweep":
                self._sweep(lid, res)
            else:
                continue
            self.deleted.append(lid)

    def _guard(self, lid: str, res: dict[str, Any]) -> None:
        props = {**res["Properties"], "ClusterName": self.cluster}
        event = {
            "RequestType": "Delete",
            "StackId": STACK_ID,
            "PhysicalResourceId": f"finalizer-guard/{lid}",
            "ResourceProperties": props,
        }
        deps = guard.Deps(
            kube_client=self.client,
            # The real DescribeStacks (botocore) against the fake CloudFormation, which knows the stack's status.
            stack_status=lambda stack: read_status(self.cloudformation.describe_stacks, stack),
            sleep=self._sleep,
            clock=lambda: self.now,
        )
        guard.on_event(event, None, deps=deps)

    def _sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.controller is not None:
            self.controller(self)

    controller: Any = None  # called at each of the guard's sleeps: a healthy controller doing its work

    def _kubectl_delete(self, lid: str, res: dict[str, Any]) -> None:
        client = self.client()
        for obj in _objects(res):
            if finalizer_of(obj["apiVersion"], obj["kind"]) is None:
                continue  # nothing holds it: kubectl's delete goes through
            path, _ = object_path(obj)
            if client.get(path) is None:
                continue
            client.request("DELETE", path)
            if client.get(path) is not None:
                self.stuck.append(f"{lid}: {path}")

    def _sweep(self, lid: str, res: dict[str, Any]) -> None:
        props = dict(res["Properties"])
        # The cross-stack values, as the Platform stack resolves them here.
        props["ServiceNetworkId"] = self.fake.network_arn(self.network)
        props["ControllerManagedBy"] = self.owner
        request = {
            "RequestType": "Delete",
            "StackId": STACK_ID,
            "LogicalResourceId": lid,
            "PhysicalResourceId": f"lattice-drain-{self.network}",
            "ResourceProperties": props,
        }
        event = {**request, **drain.on_event(request, None, clock=lambda: self.now)}
        for _ in range(int(drain.DEFAULT_TIMEOUT_SECONDS * 3 / QUERY_INTERVAL)):
            result = drain.is_complete(
                event,
                None,
                client=self.lattice,
                clock=lambda: self.now,
                sleep=lambda _: None,
                cloudformation=self.cloudformation,
            )
            if result["IsComplete"]:
                return
            self.fake.tick()
            self.now += QUERY_INTERVAL
        raise AssertionError(f"{lid}: isComplete never finished")

    network = ""


NS, SA = "aws-application-networking-system", "gateway-api-controller"


def healthy_controller(api: FakeKubeApi) -> Any:
    """A ready controller replica with Pod Identity credentials (what the guard looks for) that finalizes what is
    being deleted: a route's Lattice service, its association and target groups go, then its finalizer."""
    api.put_object(
        f"/apis/apps/v1/namespaces/{NS}/deployments/{SA}",
        {"metadata": {"name": SA}, "spec": {"replicas": 1, "template": {"spec": {"serviceAccountName": SA}}}},
    )
    env = [{"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"}]
    api.put_object(
        f"/api/v1/namespaces/{NS}/pods/{SA}-1",
        {
            "metadata": {"name": f"{SA}-1"},
            "spec": {"serviceAccountName": SA, "containers": [{"name": "manager", "env": env}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        },
    )

    def finalize(destroy: Destroy) -> None:
        for _, obj, _ in destroy.finalized_objects():
            path, _ = object_path(obj)
            stored = api.get_object(path)
            if not stored or not stored["metadata"].get("deletionTimestamp"):
                continue
            if obj["kind"] == "HTTPRoute":
                name = obj["metadata"]["name"]
                fake = destroy.fake
                for table in (fake.associations, fake.services, fake.target_groups):
                    for key in [k for k, v in table.items() if v.tags.get(ROUTE_NAME) == name]:
                        del table[key]
            api.delete_object(path)

    return finalize


@pytest.fixture
def fakes() -> Iterator[tuple[FakeKubeApi, FakeLattice, FakeCloudFormation]]:
    with FakeKubeApi() as api, FakeLattice(page_size=2) as fake, FakeCloudFormation() as stacks:
        yield api, fake, stacks


@pytest.mark.parametrize("controller", ["down", "healthy"])
def test_a_gateway_only_destroy_leaves_nothing_of_this_app_in_lattice(
    synth: Synthesized, fakes: tuple[FakeKubeApi, FakeLattice, FakeCloudFormation], controller: str
) -> None:
    """Down: the guards release the objects and the sweep removes the Lattice leftovers. Healthy: the controller
    finalizes everything itself, and the sweep finds nothing of ours and deletes nothing (no race with it)."""
    api, fake, stacks = fakes
    destroy = Destroy(synth, api, fake, stacks)
    if controller == "healthy":
        destroy.controller = healthy_controller(api)
    destroy.network = network = fake.add_network(synth.config.service_network_name)
    # The Platform stack's VPC association (stays: the network stays), a consumer's resource association, and
    # another cluster's route on the same network: none of them this Gateway stack's to remove.
    fake.vpc_associations["snva-platform"] = {
        "id": "snva-platform",
        "vpcId": CLUSTER_VPC,
        "status": "ACTIVE",
        "serviceNetworkId": network,
    }
    fake.resource_associations.append(
        {"id": "snra-consumer", "status": "ACTIVE", "createdBy": "444455556666", "serviceNetworkId": network}
    )
    other = {MANAGED_BY: f"{ACCOUNT}/other-cluster/vpc-0def"}
    theirs, their_assoc = fake.add_associated_service("theirs-default", tags=other, network=network)
    their_group = fake.add_target_group("theirs", vpc="vpc-0def", tags=other, services=(theirs,), targets=2)
    # What the controller made for each route of this cluster before it went down.
    routes = [obj for _, obj, _ in destroy.finalized_objects() if obj["kind"] == "HTTPRoute"]
    assert routes, "the default config has routes"
    for route in routes:
        tags = {MANAGED_BY: destroy.owner, ROUTE_NAME: route["metadata"]["name"]}
        service, _ = fake.add_associated_service(
            f"{route['metadata']['name'][:20]}-default", tags=tags, network=network
        )
        for i in range(2):  # one target group per backend
            fake.add_target_group(f"k8s-{i}", vpc=CLUSTER_VPC, tags=tags, services=(service,), targets=2)
    destroy.seed_cluster()
    known = {
        item.id: (item.arn, dict(item.tags))
        for table in (fake.associations, fake.services, fake.target_groups)
        for item in table.values()
    }

    destroy.run()

    if controller == "healthy":
        assert not [op for op, _ in fake.calls if op.startswith(("Delete", "Deregister"))]
    assert destroy.stuck == [], "kubectl delete would wait on these: the stack's delete would fail"
    for _, obj, _ in destroy.finalized_objects():
        assert api.get_object(object_path(obj)[0]) is None
    ours = [
        item
        for table in (fake.associations, fake.services, fake.target_groups)
        for item in table.values()
        if item.tags.get(MANAGED_BY) == destroy.owner
    ]
    assert ours == [], "this cluster's Lattice leftovers outlived the Gateway stack"
    # Nothing that is not this app's went, and the network with its Platform association stays.
    assert fake.associations.keys() == {their_assoc.id}
    assert fake.services.keys() == {theirs.id}
    assert fake.target_groups.keys() == {their_group.id}
    assert network in fake.networks and "snva-platform" in fake.vpc_associations
    assert [a["id"] for a in fake.resource_associations] == ["snra-consumer"]
    touched = {target for op, target in fake.calls if op.startswith(("Delete", "Deregister"))}
    assert touched.isdisjoint({their_assoc.id, theirs.id, their_group.id, network, "snra-consumer"})
    # Every call the sweep made is one its role may make (the project's IAM evaluator, the synthesized policy).
    statements = sweep_statements(synth)
    for operation, target in set(fake.calls):
        arn, tags = known.get(target, ("*", {}))  # List* and ListTagsForResource: no resource-level permissions
        context = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
        request = Request(f"vpc-lattice:{operation}", arn, context)
        assert evaluate(statements, request) is Decision.ALLOW, (operation, target)
    assert evaluate(statements, Request("cloudformation:DescribeStacks", STACK_ID)) is Decision.ALLOW
    for operation in ("DeleteService", "DeleteServiceNetworkServiceAssociation"):
        item = theirs if operation == "DeleteService" else their_assoc
        context = {f"aws:ResourceTag/{k}": v for k, v in item.tags.items()}
        denied = evaluate(statements, Request(f"vpc-lattice:{operation}", item.arn, context))
        assert denied is Decision.IMPLICIT_DENY, "the policy itself must refuse another cluster's resources"
    assert evaluate(statements, Request("vpc-lattice:DeleteServiceNetwork", fake.network_arn(network))) is not (
        Decision.ALLOW
    )
    # A Delete replayed (CloudFormation retrying the stack's delete) finds nothing and changes nothing.
    calls = len(fake.calls)
    destroy.run()
    assert destroy.stuck == []
    assert not [op for op, _ in fake.calls[calls:] if op.startswith(("Delete", "Deregister"))]


def sweep_statements(synth: Synthesized) -> list[dict[str, Any]]:
    """The sweep waiter's statements, with this test's account, region, stack and cluster VPC for the tokens."""
    template = synth.templates[STACK]
    resources = template["Resources"]
    (sweep,) = [r for r in resources.values() if r["Type"] == "Custom::LatticeServiceSweep"]
    (waiter,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == "lattice_drain.handler.is_complete"
    ]
    *_, vpc = sweep["Properties"]["ControllerManagedBy"]["Fn::Join"][1]
    table = {
        token_key({"Ref": "AWS::Region"}): REGION,
        token_key({"Ref": "AWS::AccountId"}): ACCOUNT,
        token_key({"Ref": "AWS::StackId"}): STACK_ID,
        token_key(vpc): CLUSTER_VPC,
    }
    return role_statements(template, waiter["Properties"]["Role"]["Fn::GetAtt"][0], table)


def test_the_sweep_runs_after_the_controller_and_everything_it_finalizes_is_gone(synth: Synthesized) -> None:
    """Deleted after the chart (so no controller can recreate what it sweeps) and so after every guard and route."""
    template = synth.templates[STACK]
    order = list(reversed(dependency_order(template)))
    (sweep,) = [k for k, r in template["Resources"].items() if r["Type"] == "Custom::LatticeServiceSweep"]
    (chart,) = [k for k, r in template["Resources"].items() if r["Type"] == "Custom::AWSCDK-EKS-HelmChart"]
    guards = [k for k, r in template["Resources"].items() if r["Type"] == "Custom::FinalizerGuard"]
    manifests = [k for k, r in template["Resources"].items() if r["Type"] == "Custom::AWSCDK-EKS-KubernetesResource"]
    assert order.index(chart) < order.index(sweep)
    assert all(order.index(k) < order.index(sweep) for k in guards)
    deps = template["Resources"][chart].get("DependsOn", [])
    assert sweep in deps, "the chart must depend on the sweep, or CloudFormation may delete them in either order"
    assert guards and manifests
    props = template["Resources"][sweep]["Properties"]
    assert props["Mode"] == "sweep"
    assert int(props["CleanupAfterSeconds"]) < int(props["TimeoutSeconds"])


def _guard_paths(template: dict[str, Any]) -> dict[str, str]:
    """Each finalizer guard's logical id -> the API path of its object (with the cluster, its physical id)."""
    return {
        lid: str(r["Properties"]["Path"])
        for lid, r in template["Resources"].items()
        if r["Type"] == "Custom::FinalizerGuard"
    }


@pytest.mark.parametrize(
    "status", ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"]
)
def test_an_updates_cleanup_with_the_controller_down_leaves_lattice_to_the_controller_when_it_returns(
    synth: Synthesized,
    variant: Synthesized,
    fakes: tuple[FakeKubeApi, FakeLattice, FakeCloudFormation],
    status: str,
) -> None:
    """Issue 23, the guard in an update: the default config updated to the variant (serviceNetworkAuthType NONE, the
    demo route under a new hostname, so a new route object) deletes, in the update's cleanup, the old route's
    guard and every IAMAuthPolicy's. With the controller down the guards delete the objects but keep the
    controller's finalizers (the stack is not removed, so no sweep comes); the modelled controller, back, then
    removes the old route's Lattice service and resets the kept services' auth type: Lattice ends as the new config
    says. Had a guard stripped a finalizer, the controller would never see the object and the test would fail."""
    api, fake, stacks = fakes
    old, new = synth.templates[STACK], variant.templates[STACK]
    update = Destroy(synth, api, fake, stacks)
    stacks.statuses[STACK_ID] = status
    network = fake.add_network(synth.config.service_network_name)
    routes = [obj for _, obj, _ in update.finalized_objects() if obj["kind"] == "HTTPRoute"]
    auth: dict[str, str] = {}  # service id -> its auth type (the fake does not model it)
    for route in routes:
        tags = {MANAGED_BY: update.owner, ROUTE_NAME: route["metadata"]["name"]}
        service, _ = fake.add_associated_service(route["metadata"]["name"][:20], tags=tags, network=network)
        auth[service.id] = "AWS_IAM"
    update.seed_cluster()
    before, after = _guard_paths(old), _guard_paths(new)
    cleanup = [lid for lid, path in before.items() if after.get(lid) != path]
    kinds = {before[lid].split("/")[-2] for lid in cleanup}
    assert kinds == {"httproutes", "iamauthpolicies"}, "the variant should drop a route and the auth policies"

    for lid in sorted(cleanup):
        update._guard(lid, old["Resources"][lid])

    assert not [r for r in api.requests if r.method == "PATCH"], "a finalizer was removed outside a stack removal"
    held = {lid: api.get_object(before[lid]) for lid in cleanup}
    for lid, obj in held.items():
        assert obj is not None and obj["metadata"].get("deletionTimestamp"), lid
        assert obj["metadata"]["finalizers"], f"{lid}: the controller's finalizer is gone"
    assert update.now == 0.0, "with the controller down there is nothing to wait for"

    # The controller is back and finalizes what is Terminating.
    for path in (before[lid] for lid in cleanup):
        obj = api.get_object(path)
        assert obj is not None
        if path.split("/")[-2] == "httproutes":
            for sid in [k for k, s in fake.services.items() if s.tags.get(ROUTE_NAME) == obj["metadata"]["name"]]:
                for aid in [a for a, assoc in fake.associations.items() if assoc.service == sid]:
                    del fake.associations[aid]
                del fake.services[sid]
        else:  # an IAMAuthPolicy: its route's service back to auth type NONE
            target = obj["spec"]["targetRef"]["name"]
            for sid, service in fake.services.items():
                if service.tags.get(ROUTE_NAME) == target:
                    auth[sid] = "NONE"
        api.delete_object(path)

    kept = {obj["metadata"]["name"] for _, obj, _ in Destroy(variant, api, fake, stacks).finalized_objects()}
    assert {s.tags[ROUTE_NAME] for s in fake.services.values()} <= kept, "a dropped route's service is left"
    assert variant.config.service_network_auth_type == "NONE"
    assert {auth[sid] for sid in fake.services} <= {"NONE"}


def test_the_guard_may_read_its_own_stacks_status_only(synth: Synthesized) -> None:
    template = synth.templates[STACK]
    (function,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == "finalizer_guard.handler.on_event"
    ]
    table = {token_key({"Ref": "AWS::StackId"}): STACK_ID}
    statements = role_statements(template, function["Properties"]["Role"]["Fn::GetAtt"][0], table)
    assert evaluate(statements, Request("cloudformation:DescribeStacks", STACK_ID)) is Decision.ALLOW
    other = STACK_ID.replace(STACK, "EksLatticeGateway-Platform")
    assert evaluate(statements, Request("cloudformation:DescribeStacks", other)) is Decision.IMPLICIT_DENY
