"""CloudFormation custom resource (provider framework on_event): the pods of a service account carry their EKS
Pod Identity credentials, or are restarted until they do. Used for the controller (Custom::ControllerCredentials)
and for each app that calls routes (Custom::PodCredentials, constructs/access/pod_credentials.py).

EKS documents that a new Pod Identity association "may take several seconds to be effective", and the
credentials are injected only at pod creation (the EKS Pod Identity webhook adds the
AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE variables to every
container). A pod created before the association took effect has no credentials for its whole life, yet
`helm --wait` succeeds, because the controller makes no AWS call at start-up. So after the chart, this
handler lists the pods of the service account, deletes those without the variable (their Deployment
recreates them, now with credentials) and waits until the Deployments' replicas all run with it and are
Ready. A new pod that again lacks it (the association still not in effect) is deleted again, until
TimeoutSeconds or the invocation's time, whichever ends first (every Kubernetes call is bounded by it too).

Ready pods are restarted one at a time, the next only once every replica is Ready again, so with several
replicas at least one ready controller always stays (a not-Ready pod without credentials serves nothing and
goes at once; a single replica has to go).

ResourceProperties: ClusterName, Namespace, ServiceAccount (required); TimeoutSeconds (default 240);
LabelSelector (optional, a Kubernetes label selector): only the Deployments and pods it selects count;
AllowNoReplicas ("true"): a service account whose Deployments want no replicas passes (an app scaled to 0);
otherwise none is a failure (the controller's chart did not install). Any other property (AssociationArn,
ChartVersion) only makes CloudFormation send an Update (a re-check) when it changes.
Create/Update: check (and restart); fails with what it saw on timeout. Delete: nothing (never fails).
Returns Data {Restarted: number of pods deleted}.
Needs AWS_REGION, eks:DescribeCluster, and Kubernetes RBAC to list pods and Deployments and delete pods in
Namespace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from k8s_api import KubeApiError, KubeClient

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

CREDENTIALS_ENV = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
DEFAULT_TIMEOUT_SECONDS = 240.0
# Leave this much of the Lambda's time for reporting a readable failure instead of being killed.
LAMBDA_TIME_RESERVE_SECONDS = 15.0
PHYSICAL_ID_PREFIX = "controller-credentials/"
# The properties whose change gives a new physical id (tools/impact.py reads this; a test keeps it in step).
PHYSICAL_ID_PROPERTIES = ("ClusterName", "Namespace", "ServiceAccount")


class CheckError(RuntimeError):
    """Deployment-time failure; the message is what CloudFormation shows."""


@dataclass(frozen=True)
class Settings:
    cluster_name: str
    namespace: str
    service_account: str
    timeout: float
    label_selector: str = ""
    allow_no_replicas: bool = False


def _default_kube_client(cluster_name: str, time_left: Callable[[], float]) -> KubeClient:
    # DescribeCluster (k8s_api.bounded_eks_config) and the Kubernetes calls end within the invocation's time.
    return KubeClient.for_lambda(cluster_name, error=CheckError, time_left=time_left)


@dataclass
class Deps:
    """Collaborators, replaceable in tests."""

    # (cluster name, seconds the invocation may still spend) -> client whose calls stay within that time
    kube_client: Callable[[str, Callable[[], float]], KubeClient] = _default_kube_client
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    poll_interval: float = 5.0


def parse_properties(props: Mapping[str, Any]) -> Settings:
    values = {key: str(props.get(key) or "").strip() for key in ("ClusterName", "Namespace", "ServiceAccount")}
    for key, value in values.items():
        if not value:
            raise CheckError(f"{key} property is required")
    raw = props.get("TimeoutSeconds")
    try:
        timeout = float(raw) if raw not in (None, "") else DEFAULT_TIMEOUT_SECONDS
    except (TypeError, ValueError):
        raise CheckError(f"TimeoutSeconds must be a number, got {raw!r}") from None
    if timeout <= 0:
        raise CheckError(f"TimeoutSeconds must be positive, got {raw!r}")
    selector = str(props.get("LabelSelector") or "").strip()
    if selector and _selector_labels(selector) is None:
        raise CheckError(f"LabelSelector must be key=value pairs separated by commas, got {selector!r}")
    allow = str(props.get("AllowNoReplicas") or "false").strip().lower()
    if allow not in ("true", "false"):
        raise CheckError(f"AllowNoReplicas must be true or false, got {props.get('AllowNoReplicas')!r}")
    return Settings(
        values["ClusterName"],
        values["Namespace"],
        values["ServiceAccount"],
        timeout,
        label_selector=selector,
        allow_no_replicas=allow == "true",
    )


def _selector_labels(selector: str) -> dict[str, str] | None:
    """The labels an equality selector ("app=a,tier=web") requires, or None when it is not one."""
    labels: dict[str, str] = {}
    for term in selector.split(","):
        key, sep, value = term.replace("==", "=").partition("=")
        if not sep or not key.strip() or "!" in key or "=" in value:
            return None
        labels[key.strip()] = value.strip()
    return labels


def _selected(obj: Mapping[str, Any], labels: Mapping[str, str], *, template: bool = False) -> bool:
    meta = ((obj.get("spec") or {}).get("template") or {}).get("metadata") if template else obj.get("metadata")
    have = (meta or {}).get("labels") or {}
    return all(have.get(k) == v for k, v in labels.items())


# -- what the cluster shows -------------------------------------------------------------------------------------


def has_credentials(pod: Mapping[str, Any]) -> bool:
    """Every container got the Pod Identity variables at admission (the webhook injects them into all)."""
    containers = (pod.get("spec") or {}).get("containers") or []
    return bool(containers) and all(
        any(env.get("name") == CREDENTIALS_ENV for env in container.get("env") or []) for container in containers
    )


def is_ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@dataclass(frozen=True)
class Observation:
    desired: int  # replicas of the Deployments that run as the service account
    pods: list[dict[str, Any]]  # its live pods (not terminating, not finished)
    allow_none: bool = False  # no desired replica is a pass (Settings.allow_no_replicas)

    @property
    def without_credentials(self) -> list[dict[str, Any]]:
        return [p for p in self.pods if not has_credentials(p)]

    @property
    def ready_with_credentials(self) -> list[dict[str, Any]]:
        return [p for p in self.pods if has_credentials(p) and is_ready(p)]

    @property
    def done(self) -> bool:
        wanted = self.desired > 0 or self.allow_none
        return wanted and not self.without_credentials and len(self.ready_with_credentials) >= self.desired

    @property
    def restartable(self) -> list[dict[str, Any]]:
        """The pods without credentials that may be deleted now: every one that is not Ready (it serves
        nothing), and one Ready one only when no restart is in flight (every desired replica Ready) and another
        Ready replica stays, unless there is only one replica."""
        ready = [p for p in self.pods if is_ready(p)]
        chosen = [p for p in self.without_credentials if not is_ready(p)]
        ready_without = [p for p in self.without_credentials if is_ready(p)]
        if ready_without and len(ready) >= self.desired and (len(ready) > 1 or self.desired <= 1):
            chosen.append(ready_without[0])
        return chosen

    def describe(self) -> str:
        return (
            f"{len(self.ready_with_credentials)} of {self.desired} replica(s) ready with credentials; "
            f"{len(self.without_credentials)} pod(s) without: "
            f"{', '.join(_name(p) for p in self.without_credentials) or 'none'}"
        )


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "?")


def _replicas(deployment: Mapping[str, Any]) -> int:
    replicas = (deployment.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)  # Kubernetes defaults an unset replicas to 1


def _items(client: KubeClient, path: str, **query: str) -> list[dict[str, Any]]:
    _, body = client.request("GET", path, query=query or None)
    return list((body or {}).get("items") or [])


def observe(client: KubeClient, settings: Settings) -> Observation:
    ns, sa = quote(settings.namespace, safe=""), settings.service_account
    selector = {"labelSelector": settings.label_selector} if settings.label_selector else {}
    # A Deployment counts by the labels of the pods it makes (its template's), which the API cannot select on.
    deployments = _items(client, f"/apis/apps/v1/namespaces/{ns}/deployments")
    # The selectors narrow the pods' answer; the filters below (service account, labels) are what the check uses.
    labels = _selector_labels(settings.label_selector) or {}
    desired = sum(
        _replicas(d)
        for d in deployments
        if ((d.get("spec") or {}).get("template") or {}).get("spec", {}).get("serviceAccountName") == sa
        and _selected(d, labels, template=True)
    )
    pods = [
        p
        for p in _items(
            client, f"/api/v1/namespaces/{ns}/pods", fieldSelector=f"spec.serviceAccountName={sa}", **selector
        )
        if (p.get("spec") or {}).get("serviceAccountName") == sa
        and _selected(p, labels)
        and not (p.get("metadata") or {}).get("deletionTimestamp")
        and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    return Observation(desired=desired, pods=pods, allow_none=settings.allow_no_replicas)


# -- the check --------------------------------------------------------------------------------------------------


def ensure_credentials(client: KubeClient, settings: Settings, *, deps: Deps, timeout: float) -> int:
    """Restart pods until every replica runs with credentials; returns how many pods were deleted."""
    deadline = deps.clock() + timeout
    restarted: list[str] = []
    granted = False
    while True:
        try:
            try:
                seen = observe(client, settings)
            except KubeApiError as err:
                # A just-created access entry can take a moment to take effect: wait out 401/403 until the
                # first answer (later ones are real) within the same deadline, which is also the Lambda's: a
                # sleep past it would leave no time to call the API, let alone to say why.
                if granted or err.status not in (401, 403):
                    raise
                logger.info("access not yet granted (HTTP %s); retrying: %s", err.status, err)
                if deps.clock() < deadline:
                    deps.sleep(min(deps.poll_interval, deadline - deps.clock()))
                if deps.clock() >= deadline:
                    raise CheckError(
                        f"timed out after {timeout:g}s waiting for the pods of service account "
                        f"{settings.namespace}/{settings.service_account} to run with Pod Identity credentials: "
                        f"the Kubernetes API refused this function throughout (last: {err}); once it is let in, "
                        "the pods are checked: see the Pod Identity association (aws eks "
                        "list-pod-identity-associations) and the eks-pod-identity-agent add-on"
                    ) from err
                continue
            granted = True
            for pod in seen.restartable:
                name = _name(pod)
                path = f"/api/v1/namespaces/{quote(settings.namespace, safe='')}/pods/{quote(name, safe='')}"
                try:
                    client.request("DELETE", path)
                except KubeApiError as err:
                    if err.status != 404:  # already gone: its replacement is what counts
                        raise
                restarted.append(name)
                logger.warning(
                    "pod %s/%s started without Pod Identity credentials (%s missing): deleted, so its Deployment "
                    "recreates it now that the association is in effect",
                    settings.namespace,
                    name,
                    CREDENTIALS_ENV,
                )
        except KubeApiError as err:
            raise CheckError(f"checking the pods of {settings.namespace}/{settings.service_account}: {err}") from err
        if seen.done:
            logger.info("%s; %d pod(s) restarted", seen.describe(), len(restarted))
            return len(restarted)
        if seen.without_credentials and not seen.restartable:
            logger.info("%s; waiting for the replacement to be Ready before restarting the next", seen.describe())
        if deps.clock() >= deadline:
            hint = (
                "no Deployment runs as this service account (did the chart install?)"
                if seen.desired == 0
                else "check the Pod Identity association (aws eks list-pod-identity-associations), the "
                "eks-pod-identity-agent add-on, and `kubectl -n "
                f"{settings.namespace} describe pods`"
            )
            raise CheckError(
                f"timed out after {timeout:g}s waiting for the pods of service account "
                f"{settings.namespace}/{settings.service_account} to run with Pod Identity credentials: "
                f"{seen.describe()}; restarted {len(restarted)} pod(s), one Ready pod at a time. {hint}"
            )
        deps.sleep(min(deps.poll_interval, max(0.0, deadline - deps.clock())))


def _time_left(context: Any) -> Callable[[], float]:
    """Seconds this invocation may still spend, keeping LAMBDA_TIME_RESERVE_SECONDS to report a failure."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining_ms):
        return lambda: float("inf")
    return lambda: remaining_ms() / 1000.0 - LAMBDA_TIME_RESERVE_SECONDS


def on_event(event: Mapping[str, Any], context: Any = None, *, deps: Deps | None = None) -> dict[str, Any]:
    request_type = event.get("RequestType")
    props = event.get("ResourceProperties") or {}
    if request_type == "Delete":
        # Nothing was created: never touch the cluster, never fail.
        return {"PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_ID_PREFIX}
    if request_type not in ("Create", "Update"):
        raise CheckError(f"unknown RequestType {request_type!r}")
    settings = parse_properties(props)
    deps = deps or Deps()
    time_left = _time_left(context)
    try:
        client = deps.kube_client(settings.cluster_name, time_left)
    except KubeApiError as err:
        raise CheckError(str(err)) from err
    budget = max(1.0, min(settings.timeout, time_left()))
    restarted = ensure_credentials(client, settings, deps=deps, timeout=budget)
    return {"PhysicalResourceId": physical_id(settings), "Data": {"Restarted": str(restarted)}}


def physical_id(settings: Settings) -> str:
    """Which service account's pods this resource checks: a change of any part is a new resource."""
    return f"{PHYSICAL_ID_PREFIX}{settings.cluster_name}/{settings.namespace}/{settings.service_account}"
