"""The controller-credentials check against the fake Kubernetes API (real TLS, the real KubeClient).

The test plays the cluster around it: a Deployment's ReplicaSet recreates deleted pods, and the EKS Pod
Identity webhook injects the credential variables only into pods created once the association is in
effect (`effective_at` on the simulated clock). Time passes only through the handler's own sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import k8s_api.client
import pytest
from controller_credentials import handler as check
from k8s_api import KubeClient

from tests.support.budget import assert_within_budget
from tests.support.fake_kube import FakeKubeApi

NS, SA = "aws-application-networking-system", "gateway-api-controller"
PODS = f"/api/v1/namespaces/{NS}/pods"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
CREDENTIAL_ENV = [
    {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
    {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/var/run/secrets/pods.eks.amazonaws.com/token"},
]


class Cluster:
    """The ReplicaSet controller, the Pod Identity webhook and the kubelet, advanced by the handler's sleeps."""

    def __init__(self, api: FakeKubeApi, *, effective_at: float | None, replicas: int = 2) -> None:
        self.api, self.effective_at, self.now, self.serial = api, effective_at, 0.0, 0
        self.deployment(SA, "gateway-api-controller", replicas)
        self.deployment("other", "other-app", 1)
        self.reconcile()  # the chart's pods: created at t=0, before the association took effect
        self.ready_all()

    def deployment(self, service_account: str, name: str, replicas: int) -> None:
        self.api.put_object(
            f"{DEPLOYMENTS}/{name}",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": NS},
                "spec": {"replicas": replicas, "template": {"spec": {"serviceAccountName": service_account}}},
            },
        )

    def pods(self, service_account: str = SA) -> list[dict[str, Any]]:
        return [
            obj
            for path, obj in self.api.objects.items()
            if path.startswith(f"{PODS}/") and obj["spec"]["serviceAccountName"] == service_account
        ]

    def reconcile(self) -> None:
        """The ReplicaSet fills up each Deployment; the webhook injects credentials once effective."""
        for path, deployment in self.api.objects.items():
            if not path.startswith(f"{DEPLOYMENTS}/"):
                continue
            account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
            for _ in range(deployment["spec"]["replicas"] - len(self.pods(account))):
                self.serial += 1
                name = f"{deployment['metadata']['name']}-{self.serial}"
                injected = account == SA and self.effective_at is not None and self.now >= self.effective_at
                self.api.put_object(
                    f"{PODS}/{name}",
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {"name": name, "namespace": NS},
                        "spec": {
                            "serviceAccountName": account,
                            "containers": [{"name": "manager", "env": CREDENTIAL_ENV if injected else []}],
                        },
                        "status": {"phase": "Pending", "conditions": []},
                    },
                )

    def ready_all(self) -> None:
        for path, pod in self.api.objects.items():
            if path.startswith(f"{PODS}/") and pod["status"]["phase"] == "Pending":
                pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
                self.api.put_object(path, pod)

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.ready_all()  # pods created at the last step are up now
        self.reconcile()

    def clock(self) -> float:
        return self.now


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as server:
        yield server


class Watched(KubeClient):
    """The real client, noting at each pod delete how many *other* pods of the service account were Ready."""

    def __init__(self, cluster: Cluster, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster
        self.others_ready_at_delete: list[tuple[bool, int]] = []  # (the deleted pod was Ready, others Ready)

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        if method == "DELETE" and path.startswith(f"{PODS}/"):
            name = path.rsplit("/", 1)[-1]
            pods = {p["metadata"]["name"]: p for p in self.cluster.pods()}
            others = sum(check.is_ready(p) for n, p in pods.items() if n != name)
            self.others_ready_at_delete.append((name in pods and check.is_ready(pods[name]), others))
        return super().request(method, path, **kwargs)


def deps(api: FakeKubeApi, cluster: Cluster) -> check.Deps:
    return watched_deps(api, cluster)[0]


def watched_deps(api: FakeKubeApi, cluster: Cluster) -> tuple[check.Deps, list[Watched]]:
    """Deps whose client is built as the handler asks, with the invocation's time_left; the list gets it."""
    made: list[Watched] = []

    def client(_: str, time_left: Callable[[], float]) -> KubeClient:
        made.append(
            Watched(
                cluster,
                endpoint=api.endpoint,
                ca_data=api.ca_data,
                token=lambda: api.token,
                sleep=lambda _: None,
                time_left=time_left,
            )
        )
        return made[-1]

    return check.Deps(kube_client=client, sleep=cluster.sleep, clock=cluster.clock, poll_interval=5.0), made


def event(request_type: str = "Create", **props: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResourceProperties": {"ClusterName": "eks-demo", "Namespace": NS, "ServiceAccount": SA, **props},
    }


def deleted(api: FakeKubeApi) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in api.requests if r.method == "DELETE"]


def test_pods_started_before_the_association_took_effect_are_restarted_until_they_have_credentials(
    api: FakeKubeApi,
) -> None:
    cluster = Cluster(api, effective_at=12.0)
    before = [p["metadata"]["name"] for p in cluster.pods()]
    other = [p["metadata"]["name"] for p in cluster.pods("other")]

    result = check.on_event(event(), None, deps=deps(api, cluster))

    pods = cluster.pods()
    assert len(pods) == 2 and all(check.has_credentials(p) and check.is_ready(p) for p in pods)
    # The chart's two pods (one at a time), and their replacements created before t=12 s: each deleted once.
    restarted = deleted(api)
    assert restarted[0] == before[0] and set(before) <= set(restarted)
    assert len(restarted) == len(set(restarted)) == int(result["Data"]["Restarted"])
    assert len(restarted) > 2  # the association was still not in effect for the first replacements
    assert not set(restarted) & {p["metadata"]["name"] for p in pods}
    assert not set(restarted) & set(other)  # another service account's pods are not ours to restart
    assert result["PhysicalResourceId"] == f"controller-credentials/eks-demo/{NS}/{SA}"


def test_pods_with_credentials_are_left_alone(api: FakeKubeApi) -> None:
    cluster = Cluster(api, effective_at=0.0)
    result = check.on_event(event("Update"), None, deps=deps(api, cluster))
    assert deleted(api) == [] and result["Data"] == {"Restarted": "0"}
    assert cluster.now == 0.0  # no waiting either


def test_unset_replicas_count_as_one() -> None:
    assert check._replicas({"spec": {}}) == 1
    assert check._replicas({"spec": {"replicas": None}}) == 1
    assert check._replicas({"spec": {"replicas": 0}}) == 0


def test_waits_for_the_replacements_to_be_ready(api: FakeKubeApi) -> None:
    cluster = Cluster(api, effective_at=0.0)
    api.delete_object(f"{PODS}/{cluster.pods()[0]['metadata']['name']}")
    cluster.reconcile()  # a replacement with credentials, not Ready yet
    check.on_event(event(), None, deps=deps(api, cluster))
    assert cluster.now == 5.0 and deleted(api) == []


def test_an_association_that_never_takes_effect_fails_with_what_it_saw(api: FakeKubeApi) -> None:
    cluster = Cluster(api, effective_at=None)
    with pytest.raises(check.CheckError) as err:
        check.on_event(event(TimeoutSeconds="60"), None, deps=deps(api, cluster))
    message = str(err.value)
    assert f"timed out after 60s waiting for the pods of service account {NS}/{SA}" in message
    assert "0 of 2 replica(s) ready with credentials; 2 pod(s) without" in message
    assert "check the Pod Identity association" in message
    assert 60.0 <= cluster.now <= 65.0


def test_no_deployment_for_the_service_account_is_reported(api: FakeKubeApi) -> None:
    cluster = Cluster(api, effective_at=0.0, replicas=0)
    with pytest.raises(check.CheckError, match="no Deployment runs as this service account"):
        check.on_event(event(TimeoutSeconds="10"), None, deps=deps(api, cluster))


def test_a_just_created_access_entry_is_waited_for(api: FakeKubeApi) -> None:
    cluster = Cluster(api, effective_at=0.0)
    api.fail_next(DEPLOYMENTS, 403, times=2)
    check.on_event(event(), None, deps=deps(api, cluster))
    assert cluster.now == 10.0


@pytest.mark.parametrize("bound", ["TimeoutSeconds", "the invocation's time"])
def test_access_never_granted_times_out_with_a_readable_reason_at_the_deadline(api: FakeKubeApi, bound: str) -> None:
    """401/403 until the end: the wait stops at the deadline, not a poll interval past it (where, at the
    invocation's end, no time would be left even to call the API), and says what it waited for and why."""
    cluster = Cluster(api, effective_at=0.0)
    api.fail_next(DEPLOYMENTS, 403, times=1000)

    class Context:  # 12 s of the invocation left after the reserve, on the cluster's clock
        def get_remaining_time_in_millis(self) -> int:
            return int((check.LAMBDA_TIME_RESERVE_SECONDS + 12.0 - cluster.now) * 1000)

    context, props = (None, {"TimeoutSeconds": "12"}) if bound == "TimeoutSeconds" else (Context(), {})
    with pytest.raises(check.CheckError) as err:
        check.on_event(event(**props), context, deps=deps(api, cluster))
    message = str(err.value)
    assert message.startswith(f"timed out after 12s waiting for the pods of service account {NS}/{SA}"), message
    assert "refused this function throughout" in message and "(HTTP 403)" in message and "access entry" in message
    assert "list-pod-identity-associations" in message
    assert "no time left" not in message and "\n" not in message, message
    assert cluster.now == 12.0


def test_later_access_errors_fail_with_the_cause(api: FakeKubeApi) -> None:
    cluster = Cluster(api, effective_at=5.0)
    pod = cluster.pods()[0]["metadata"]["name"]
    api.fail_next(f"{PODS}/{pod}", 403, method="DELETE")
    with pytest.raises(check.CheckError, match=f"checking the pods of {NS}/{SA}: DELETE .*403"):
        check.on_event(event(), None, deps=deps(api, cluster))


def test_lambda_time_bounds_the_wait(api: FakeKubeApi) -> None:
    cluster = Cluster(api, effective_at=None)

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 45_000  # 15 s reserve leaves 30 s

    with pytest.raises(check.CheckError, match="timed out after 30s"):
        check.on_event(event(TimeoutSeconds="240"), Context(), deps=deps(api, cluster))


@pytest.mark.parametrize("replicas", [2, 3])
@pytest.mark.parametrize("effective_at", [1.0, 12.0])
def test_ready_pods_are_restarted_one_at_a_time_keeping_ready_replicas(
    api: FakeKubeApi, replicas: int, effective_at: float
) -> None:
    """Never all the controller's pods at once: a Ready pod is deleted only while every other replica is Ready
    (so at least one ready controller stays), and the next only once its replacement is Ready."""
    cluster = Cluster(api, effective_at=effective_at, replicas=replicas)
    handler_deps, made = watched_deps(api, cluster)
    result = check.on_event(event(), None, deps=handler_deps)
    (client,) = made
    pods = cluster.pods()
    assert len(pods) == replicas and all(check.has_credentials(p) and check.is_ready(p) for p in pods)
    ready_deletes = [others for was_ready, others in client.others_ready_at_delete if was_ready]
    assert len(ready_deletes) == replicas  # each of the chart's pods, once
    assert min(ready_deletes) >= replicas - 1 >= 1, client.others_ready_at_delete
    assert int(result["Data"]["Restarted"]) == len(client.others_ready_at_delete)


def test_a_single_replica_is_restarted_all_the_same(api: FakeKubeApi) -> None:
    cluster = Cluster(api, effective_at=0.0, replicas=1)
    check.on_event(event(), None, deps=deps(api, cluster))
    (pod,) = cluster.pods()
    assert check.has_credentials(pod) and check.is_ready(pod)


def test_kubernetes_calls_stay_within_the_invocations_time(api: FakeKubeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Kubernetes API that stops answering costs at most the invocation's time (less the reserve to report),
    not the client's attempts and timeouts, and the failure says why."""
    # The time left and the least time an attempt needs, scaled down together (test_k8s_api_client_budget.py pins
    # the real MIN_ATTEMPT_SECONDS): one attempt fits, a second does not.
    monkeypatch.setattr(k8s_api.client, "MIN_ATTEMPT_SECONDS", 0.2)
    cluster = Cluster(api, effective_at=0.0)
    budget = 0.3  # the invocation's time less the reserve
    ends = time.monotonic() + check.LAMBDA_TIME_RESERVE_SECONDS + budget

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return int((ends - time.monotonic()) * 1000)

    api.delay_next(DEPLOYMENTS, 3.0)
    started = time.monotonic()
    with pytest.raises(check.CheckError) as err:
        check.on_event(event(), Context(), deps=deps(api, cluster))
    assert_within_budget(time.monotonic() - started, budget)
    assert f"checking the pods of {NS}/{SA}: GET {DEPLOYMENTS}" in str(err.value)
    assert "out of time" in str(err.value) and "\n" not in str(err.value)


def test_delete_never_touches_the_cluster() -> None:
    def no_cluster(_: str, __: Callable[[], float]) -> KubeClient:
        raise AssertionError("Delete must not reach the cluster")

    result = check.on_event(
        {**event("Delete"), "PhysicalResourceId": "controller-credentials/x"}, None, deps=check.Deps(no_cluster)
    )
    assert result == {"PhysicalResourceId": "controller-credentials/x"}


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"Namespace": ""}, "Namespace property is required"),
        ({"ServiceAccount": ""}, "ServiceAccount property is required"),
        ({"TimeoutSeconds": "soon"}, "TimeoutSeconds must be a number"),
        ({"TimeoutSeconds": "0"}, "TimeoutSeconds must be positive"),
    ],
)
def test_bad_properties_fail_the_create(props: dict[str, str], message: str) -> None:
    with pytest.raises(check.CheckError, match=message):
        check.on_event(event(**props), None, deps=check.Deps(lambda _, __: pytest.fail("no cluster call expected")))


def test_physical_id_properties_declaration_matches_the_handler() -> None:
    """PHYSICAL_ID_PROPERTIES (read by tools/impact.py) is exactly the set of properties whose change alone
    changes the physical id the handler returns."""
    base = event()["ResourceProperties"] | {"TimeoutSeconds": "60"}
    alternatives = {
        "ClusterName": "eks-other",
        "Namespace": "other-ns",
        "ServiceAccount": "other-sa",
        "TimeoutSeconds": "90",
    }
    assert set(alternatives) == set(base)  # every property is tried
    physical = check.physical_id(check.parse_properties(base))
    renaming = {
        key
        for key, value in alternatives.items()
        if check.physical_id(check.parse_properties({**base, key: value})) != physical
    }
    assert renaming == set(check.PHYSICAL_ID_PROPERTIES)


# -- the same check for an app's pods (Custom::PodCredentials): a label selector, and an app scaled to zero --------


def _labelled(api: FakeKubeApi, name: str, labels: dict[str, str], replicas: int) -> None:
    """A Deployment running as SA whose pods carry `labels`, and its pods, started without credentials."""
    api.put_object(
        f"{DEPLOYMENTS}/{name}",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {
                "replicas": replicas,
                "template": {"metadata": {"labels": labels}, "spec": {"serviceAccountName": SA}},
            },
        },
    )
    for index in range(replicas):
        api.put_object(
            f"{PODS}/{name}-{index}",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"{name}-{index}", "namespace": NS, "labels": labels},
                "spec": {"serviceAccountName": SA, "containers": [{"name": "app", "env": []}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
            },
        )


def test_a_label_selector_limits_the_check_to_the_pods_it_selects(api: FakeKubeApi) -> None:
    _labelled(api, "mine", {"app": "mine"}, 1)
    _labelled(api, "theirs", {"app": "theirs"}, 3)
    settings = check.parse_properties(event(LabelSelector="app=mine")["ResourceProperties"])
    client = KubeClient(endpoint=api.endpoint, ca_data=api.ca_data, token=lambda: api.token, sleep=lambda _: None)
    seen = check.observe(client, settings)
    assert seen.desired == 1 and [check._name(p) for p in seen.pods] == ["mine-0"]
    (pods,) = [r for r in api.requests if r.method == "GET" and r.path == PODS]
    assert pods.query["labelSelector"] == "app=mine"


@pytest.mark.parametrize("selector", ["app", "app!=x", "app in (a)", "=x", "a=b=c"])
def test_only_equality_selectors_are_taken(selector: str) -> None:
    with pytest.raises(check.CheckError, match="LabelSelector must be key=value pairs"):
        check.parse_properties(event(LabelSelector=selector)["ResourceProperties"])


def test_an_app_scaled_to_zero_passes_only_when_allowed(api: FakeKubeApi) -> None:
    client = KubeClient(endpoint=api.endpoint, ca_data=api.ca_data, token=lambda: api.token, sleep=lambda _: None)
    _labelled(api, "idle", {"app": "idle"}, 0)
    allowed = check.parse_properties(event(LabelSelector="app=idle", AllowNoReplicas="true")["ResourceProperties"])
    assert check.observe(client, allowed).done
    strict = check.parse_properties(event(LabelSelector="app=idle")["ResourceProperties"])
    assert not check.observe(client, strict).done
    with pytest.raises(check.CheckError, match="AllowNoReplicas must be true or false"):
        check.parse_properties(event(AllowNoReplicas="yes")["ResourceProperties"])
