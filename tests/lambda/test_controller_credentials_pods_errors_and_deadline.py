"""The controller-credentials check rule by rule, against a plain in-memory API (answers and errors scripted per
call): which pods count, how paths and queries are built, when access errors are waited out and when they are
the answer, the sleeps at the deadline, TimeoutSeconds at both sides, and every message and log line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from controller_credentials import handler as check
from k8s_api import KubeApiError, KubeClient

from tests.support.clock import FakeClock as Clock

NS, SA = "aws-application-networking-system", "gateway-api-controller"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
PODS = f"/api/v1/namespaces/{NS}/pods"
ENV = [{"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"}]
SETTINGS = check.Settings("eks-demo", NS, SA, 60.0)


def pod(name: str, *, env: list[dict[str, str]] | None = None, ready: bool = True, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "metadata": {"name": name, **extra.pop("metadata", {})},
        "spec": {"serviceAccountName": extra.pop("account", SA), "containers": [{"name": "m", "env": env or []}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }
    out["status"].update(extra)
    return out


def deployment(replicas: int | None = 2, account: str = SA) -> dict[str, Any]:
    return {"spec": {"replicas": replicas, "template": {"spec": {"serviceAccountName": account}}}}


class Api:
    """request() as KubeClient has it; answers GETs from `lists`, DELETEs remove the pod; errors are queued."""

    def __init__(self, deployments: list[dict[str, Any]], pods: list[dict[str, Any]]) -> None:
        self.lists = {DEPLOYMENTS: deployments, PODS: pods}
        self.errors: list[tuple[str, str, int, KubeApiError]] = []
        self.calls: list[tuple[str, str, Any]] = []

    def fail(self, method: str, path: str, status: int, message: str = "no", *, after: int = 0) -> None:
        """The next matching call fails (after `after` more that succeed)."""
        self.errors.append((method, path, after, KubeApiError(f"{method} {path}: {message}", status=status)))

    def _remove(self, path: str) -> None:
        collection, _, name = path.rpartition("/")
        self.lists[collection] = [p for p in self.lists[collection] if quote(p["metadata"]["name"], safe="") != name]

    def request(self, method: str, path: str, *, query: Any = None, **_: Any) -> tuple[int, Any]:
        self.calls.append((method, path, query))
        for n, (m, p, after, err) in enumerate(self.errors):
            if (m, p) == (method, path):
                if after:
                    self.errors[n] = (m, p, after - 1, err)
                    break
                del self.errors[n]
                if err.status == 404:  # gone by the time it was asked for
                    self._remove(path)
                raise err
        if method == "DELETE":
            self._remove(path)
            return 200, {}
        return 200, {"items": self.lists.get(path, [])}


def deps(api: Api, clock: Clock, poll: float = 5.0) -> check.Deps:
    def client(_cluster: str, _time_left: Callable[[], float]) -> Any:
        return api

    return check.Deps(kube_client=client, sleep=clock.sleep, clock=clock, poll_interval=poll)


def ensure(api: Api, clock: Clock, timeout: float = 60.0, poll: float = 5.0) -> int:
    return check.ensure_credentials(api, SETTINGS, deps=deps(api, clock, poll), timeout=timeout)  # type: ignore[arg-type]


# -- what counts ------------------------------------------------------------------------------------------------


def test_finished_terminating_and_foreign_pods_do_not_count() -> None:
    pods = [
        pod("live", env=ENV),
        pod("going", metadata={"deletionTimestamp": "2025-01-01T00:00:00Z"}),
        pod("done", phase="Succeeded"),
        pod("crashed", phase="Failed"),
        pod("foreign", account="other"),
        {"spec": {"serviceAccountName": SA}},  # no metadata, no status: live, unnamed, not ready
    ]
    seen = check.observe(Api([deployment(2), deployment(5, "other")], pods), SETTINGS)  # type: ignore[arg-type]
    assert seen.desired == 2
    assert [p.get("metadata", {}).get("name") for p in seen.pods] == ["live", None]
    assert seen.describe() == "1 of 2 replica(s) ready with credentials; 1 pod(s) without: ?"


def test_a_deployment_without_a_pod_template_spec_is_not_ours() -> None:
    seen = check.observe(Api([{"spec": {"template": {}}}, {}], []), SETTINGS)  # type: ignore[arg-type]
    assert seen.desired == 0


def test_queries_and_quoted_paths() -> None:
    api = Api([], [])
    check.observe(api, check.Settings("c", "odd/ns", SA, 1.0))  # type: ignore[arg-type]
    assert api.calls == [
        ("GET", "/apis/apps/v1/namespaces/odd%2Fns/deployments", None),
        ("GET", "/api/v1/namespaces/odd%2Fns/pods", {"fieldSelector": f"spec.serviceAccountName={SA}"}),
    ]


def test_a_pod_is_deleted_at_its_quoted_path() -> None:
    settings = check.Settings("c", "odd/ns", SA, 1.0)
    api = Api([], [])
    api.lists = {
        "/apis/apps/v1/namespaces/odd%2Fns/deployments": [deployment(1)],
        "/api/v1/namespaces/odd%2Fns/pods": [pod("a/b")],
    }
    with pytest.raises(check.CheckError, match="restarted 1 pod"):
        check.ensure_credentials(api, settings, deps=deps(api, Clock()), timeout=1.0)  # type: ignore[arg-type]
    assert ("DELETE", "/api/v1/namespaces/odd%2Fns/pods/a%2Fb", None) in api.calls


@pytest.mark.parametrize(
    ("env", "conditions", "credentials", "ready"),
    [
        (ENV, [{"type": "Ready", "status": "True"}], True, True),
        ([{"name": "OTHER", "value": "x"}], [{"type": "Ready", "status": "False"}], False, False),
        ([], [{"type": "Other", "status": "True"}], False, False),
    ],
)
def test_credentials_and_readiness(
    env: list[dict[str, str]], conditions: list[dict[str, str]], credentials: bool, ready: bool
) -> None:
    p = {"spec": {"containers": [{"name": "m", "env": env}]}, "status": {"conditions": conditions}}
    assert (check.has_credentials(p), check.is_ready(p)) == (credentials, ready)


def test_describe_lists_the_pods_without() -> None:
    seen = check.Observation(desired=3, pods=[pod("a"), pod("b"), pod("c", env=ENV)])
    assert seen.describe() == "1 of 3 replica(s) ready with credentials; 2 pod(s) without: a, b"
    assert check.Observation(desired=1, pods=[]).describe() == (
        "0 of 1 replica(s) ready with credentials; 0 pod(s) without: none"
    )


# -- properties -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "timeout"), [(None, 240.0), ("", 240.0), ("1", 1.0), ("0.5", 0.5), (90, 90.0)])
def test_timeout_seconds_accepted(raw: Any, timeout: float) -> None:
    props = {"ClusterName": "c", "Namespace": NS, "ServiceAccount": SA, "TimeoutSeconds": raw}
    assert check.parse_properties(props).timeout == timeout


def test_cluster_name_is_required_and_negative_timeouts_refused() -> None:
    with pytest.raises(check.CheckError) as exc:
        check.parse_properties({"Namespace": NS, "ServiceAccount": SA})
    assert str(exc.value) == "ClusterName property is required"
    with pytest.raises(check.CheckError) as exc:
        check.parse_properties({"ClusterName": "c", "Namespace": NS, "ServiceAccount": SA, "TimeoutSeconds": "-1"})
    assert str(exc.value) == "TimeoutSeconds must be positive, got '-1'"


# -- access errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_access_errors_before_the_first_answer_are_waited_out(status: int, caplog: pytest.LogCaptureFixture) -> None:
    api = Api([deployment(1)], [pod("p", env=ENV)])
    api.fail("GET", DEPLOYMENTS, status, "denied")
    clock = Clock()
    caplog.set_level(logging.INFO, logger=check.logger.name)
    assert ensure(api, clock) == 0
    assert clock.slept == [5.0]
    assert caplog.messages == [
        f"access not yet granted (HTTP {status}); retrying: GET {DEPLOYMENTS}: denied",
        "1 of 1 replica(s) ready with credentials; 0 pod(s) without: none; 0 pod(s) restarted",
    ]


def test_other_errors_before_the_first_answer_fail_at_once() -> None:
    api = Api([deployment(1)], [])
    api.fail("GET", DEPLOYMENTS, 500, "etcd")
    clock = Clock()
    with pytest.raises(check.CheckError) as exc:
        ensure(api, clock)
    assert str(exc.value) == f"checking the pods of {NS}/{SA}: GET {DEPLOYMENTS}: etcd"
    assert clock.slept == []


def test_an_access_error_at_the_deadline_is_the_answer() -> None:
    api = Api([deployment(1)], [])
    for _ in range(3):
        api.fail("GET", DEPLOYMENTS, 403, "denied")
    clock = Clock()
    with pytest.raises(check.CheckError, match="denied"):
        ensure(api, clock, timeout=10.0)
    assert clock.slept == [5.0, 5.0]  # errors at 0 and 5 s waited out, the one at 10 s (the deadline) not


def test_an_access_error_after_the_first_answer_is_the_answer() -> None:
    api = Api([deployment(1)], [pod("new", env=ENV, ready=False)])
    api.fail("GET", DEPLOYMENTS, 403, "revoked", after=1)
    clock = Clock()
    with pytest.raises(check.CheckError) as exc:
        ensure(api, clock)
    assert str(exc.value) == f"checking the pods of {NS}/{SA}: GET {DEPLOYMENTS}: revoked"
    assert clock.slept == [5.0]


def test_a_pod_already_gone_counts_as_restarted(caplog: pytest.LogCaptureFixture) -> None:
    api = Api([deployment(1)], [pod("old")])
    api.fail("DELETE", f"{PODS}/old", 404)
    caplog.set_level(logging.INFO, logger=check.logger.name)
    with pytest.raises(check.CheckError, match="restarted 1 pod"):
        ensure(api, Clock(), timeout=1.0)
    assert caplog.messages[0] == (
        f"pod {NS}/old started without Pod Identity credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI missing): "
        "deleted, so its Deployment recreates it now that the association is in effect"
    )


# -- the deadline -----------------------------------------------------------------------------------------------


def test_the_last_sleep_ends_at_the_deadline() -> None:
    api = Api([deployment(1)], [pod("p", env=ENV, ready=False)])
    clock = Clock()
    with pytest.raises(check.CheckError) as exc:
        ensure(api, clock, timeout=5.5)
    assert clock.slept == [5.0, 0.5]
    assert str(exc.value) == (
        f"timed out after 5.5s waiting for the pods of service account {NS}/{SA} to run with Pod Identity "
        "credentials: 0 of 1 replica(s) ready with credentials; 0 pod(s) without: none; restarted 0 pod(s), "
        "one Ready pod at a time. check the Pod Identity association (aws eks list-pod-identity-associations), "
        f"the eks-pod-identity-agent add-on, and `kubectl -n {NS} describe pods`"
    )


def test_no_deployment_message() -> None:
    with pytest.raises(check.CheckError) as exc:
        ensure(Api([], []), Clock(), timeout=1.0)
    assert str(exc.value).endswith(
        "restarted 0 pod(s), one Ready pod at a time. no Deployment runs as this service account (did the chart "
        "install?)"
    )


def test_the_lambda_budget_is_at_least_a_second() -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 15_500  # half a second after the 15 s reserve

    api = Api([deployment(1)], [])
    with pytest.raises(check.CheckError, match=r"^timed out after 1s "):
        check.on_event(
            {
                "RequestType": "Create",
                "ResourceProperties": {"ClusterName": "c", "Namespace": NS, "ServiceAccount": SA},
            },
            Context(),
            deps=deps(api, Clock()),
        )


# -- on_event ---------------------------------------------------------------------------------------------------


def event(request_type: str = "Create") -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResourceProperties": {"ClusterName": "eks-demo", "Namespace": NS, "ServiceAccount": SA},
    }


def test_an_unknown_request_type_is_named() -> None:
    with pytest.raises(check.CheckError) as exc:
        check.on_event(event("Frobnicate"), None)
    assert str(exc.value) == "unknown RequestType 'Frobnicate'"


def test_the_client_is_asked_for_the_cluster_and_its_failure_reported() -> None:
    asked: list[str] = []

    def broken(name: str, _time_left: Callable[[], float]) -> KubeClient:
        asked.append(name)
        raise KubeApiError("eks:DescribeCluster for 'eks-demo' failed: AccessDenied")

    with pytest.raises(check.CheckError) as exc:
        check.on_event(event(), None, deps=check.Deps(kube_client=broken))
    assert (asked, str(exc.value)) == (["eks-demo"], "eks:DescribeCluster for 'eks-demo' failed: AccessDenied")


def test_the_default_client_reports_as_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, dict[str, Any]]] = []

    def for_lambda(cluster_name: str, **kwargs: Any) -> str:
        asked.append((cluster_name, kwargs))
        return "client"

    monkeypatch.setattr(KubeClient, "for_lambda", for_lambda)

    def time_left() -> float:
        return 42.0

    assert check._default_kube_client("eks-demo", time_left) == "client"
    # No eks_config: DescribeCluster gets k8s_api's bounded default (tests/lambda/test_k8s_api_lambda.py).
    assert asked == [("eks-demo", {"error": check.CheckError, "time_left": time_left})]
