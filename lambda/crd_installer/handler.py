"""CloudFormation custom resource (CDK provider framework on_event) installing Gateway API CRDs.

The CRD files are too big for a template (HTTPRoute alone is ~431 KB), so they are fetched at deploy time,
checked against pinned sha256 values, and applied with server-side apply, as upstream's
`kubectl apply --server-side` does. Delete leaves the CRDs in place: removing them would delete every
Gateway API object in the cluster, and they disappear with the cluster anyway.

ResourceProperties: ClusterName, Version, Files ([{name, url, sha256}], or that list as a JSON string),
FieldManager (default eks-lattice-gateway), EstablishedTimeoutSeconds (default 180).
Returns PhysicalResourceId gateway-api-crds/<cluster> and Data {Version, Objects}.
Needs AWS_REGION, eks:DescribeCluster, and an EKS access entry allowing it to write CRDs and admission policies.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from k8s_api import KubeApiError, KubeClient

from .download import DownloadError, download, sha256_hex
from .manifests import Document, ManifestError, parse_file

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

DEFAULT_FIELD_MANAGER = "eks-lattice-gateway"
# The ResourceProperties the PhysicalResourceId is made of (see physical_id): changing one replaces the resource.
# tools/impact.py reads this; a test keeps it true.
PHYSICAL_ID_PROPERTIES = ("ClusterName",)
DEFAULT_ESTABLISHED_TIMEOUT = 180.0
# Leave this much of the Lambda's time for reporting a readable failure instead of being killed: downloads,
# Kubernetes API calls and the Established wait all end this long before the Lambda's own timeout.
LAMBDA_TIME_RESERVE_SECONDS = 15.0
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_FILE_NAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")


class InstallError(RuntimeError):
    """Deployment-time failure; the message is what CloudFormation shows."""


@dataclass(frozen=True)
class ManifestFile:
    name: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Settings:
    cluster_name: str
    version: str
    files: tuple[ManifestFile, ...]
    field_manager: str
    established_timeout: float


# Seconds the invocation may still spend (its remaining time less LAMBDA_TIME_RESERVE_SECONDS).
TimeLeft = Callable[[], float]


class Fetch(Protocol):
    def __call__(self, url: str, /, *, time_left: TimeLeft) -> bytes: ...


def _default_kube_client(cluster_name: str, time_left: TimeLeft) -> KubeClient:
    # applying the HTTPRoute CRD sends ~431 KB: 30 s an attempt, cut to the time the invocation has left
    return KubeClient.for_lambda(cluster_name, error=InstallError, timeout=30.0, time_left=time_left)


@dataclass
class Deps:
    """Collaborators, replaceable in tests."""

    kube_client: Callable[[str, TimeLeft], KubeClient] = _default_kube_client
    # 30 s an attempt and 3 attempts at most, both cut to the time the invocation has left
    fetch: Fetch = field(default=functools.partial(download, timeout=30.0, attempts=3))
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    poll_interval: float = 3.0
    # Access entries can take a little while to take effect after CloudFormation creates them.
    access_wait_seconds: float = 60.0


# -- properties -------------------------------------------------------------------------------------------------


def parse_properties(props: Mapping[str, Any]) -> Settings:
    """ResourceProperties -> Settings. CloudFormation delivers every scalar as a string."""
    cluster = str(props.get("ClusterName") or "").strip()
    version = str(props.get("Version") or "").strip()
    if not cluster:
        raise InstallError("ClusterName property is required")
    if not version:
        raise InstallError("Version property is required")

    raw_files: Any = props.get("Files")
    if isinstance(raw_files, str):
        try:
            raw_files = json.loads(raw_files)
        except ValueError as err:
            raise InstallError(f"Files property is not a JSON list: {err}") from err
    if not isinstance(raw_files, list) or not raw_files:
        raise InstallError("Files property must be a non-empty list of {name, url, sha256}")
    files: list[ManifestFile] = []
    for i, entry in enumerate(raw_files):
        if not isinstance(entry, Mapping):
            raise InstallError(f"Files[{i}] must be an object with name, url and sha256")
        name, url, digest = (str(entry.get(k) or "").strip() for k in ("name", "url", "sha256"))
        if not _FILE_NAME_RE.match(name):
            raise InstallError(f"Files[{i}]: name {name!r} must be a plain file name")
        if not url:
            raise InstallError(f"{name}: url is required")
        if not _SHA256_RE.match(digest):
            raise InstallError(f"{name}: sha256 must be 64 hex characters, got {digest!r}")
        files.append(ManifestFile(name, url, digest.lower()))
    if len({f.name for f in files}) != len(files):
        raise InstallError("Files property lists the same file name twice")

    field_manager = str(props.get("FieldManager") or DEFAULT_FIELD_MANAGER).strip()
    raw_timeout = props.get("EstablishedTimeoutSeconds")
    try:
        timeout = float(raw_timeout) if raw_timeout not in (None, "") else DEFAULT_ESTABLISHED_TIMEOUT
    except (TypeError, ValueError) as err:
        raise InstallError(f"EstablishedTimeoutSeconds must be a number, got {raw_timeout!r}") from err
    if timeout <= 0:
        raise InstallError(f"EstablishedTimeoutSeconds must be positive, got {raw_timeout!r}")
    return Settings(cluster, version, tuple(files), field_manager, timeout)


def physical_id(cluster_name: str) -> str:
    # Stable per cluster: a version bump is an Update (re-apply), never a replacement (whose Delete is a no-op).
    return f"gateway-api-crds/{cluster_name}"


# -- steps ------------------------------------------------------------------------------------------------------


def fetch_and_verify(files: tuple[ManifestFile, ...], fetch: Fetch, time_left: TimeLeft) -> list[Document]:
    """Download, hash-check and identify every file; raises before anything is applied."""
    documents: list[Document] = []
    for f in files:
        try:
            data = fetch(f.url, time_left=time_left)
        except DownloadError as err:
            raise InstallError(f"{f.name}: {err}") from err
        actual = sha256_hex(data)
        if actual != f.sha256:
            raise InstallError(f"{f.name}: sha256 mismatch (expected {f.sha256}, got {actual}) from {f.url}")
        try:
            docs = parse_file(data, source=f.name)
        except ManifestError as err:
            raise InstallError(str(err)) from err
        logger.info("verified %s (%d bytes, %d object(s))", f.name, len(data), len(docs))
        documents.extend(docs)
    seen: dict[str, Document] = {}
    for doc in documents:
        if doc.path in seen:
            raise InstallError(f"{doc} appears in both {seen[doc.path].source} and {doc.source}")
        seen[doc.path] = doc
    return documents


def apply_all(client: KubeClient, documents: list[Document], *, field_manager: str, deps: Deps) -> None:
    access_deadline = deps.clock() + deps.access_wait_seconds
    for position, doc in enumerate(documents):
        while True:
            try:
                client.server_side_apply(doc.path, doc.body, field_manager=field_manager)
                break
            except KubeApiError as err:
                # Only the first call waits out a just-created access entry; later 401/403 are real.
                if position == 0 and err.status in (401, 403) and deps.clock() < access_deadline:
                    logger.info("access not yet granted (HTTP %s); retrying: %s", err.status, err)
                    deps.sleep(deps.poll_interval)
                    continue
                raise InstallError(f"applying {doc} from {doc.source} failed: {err}") from err
        logger.info("applied %s", doc)


def _established(obj: Any) -> tuple[bool, str]:
    """(is Established=True, short note on why not) for a CRD as returned by GET."""
    if not isinstance(obj, dict):
        return False, "not found"
    conditions = (obj.get("status") or {}).get("conditions") or []
    notes = []
    for cond in conditions:
        if not isinstance(cond, dict):
            continue
        if cond.get("type") == "Established" and cond.get("status") == "True":
            return True, ""
        if cond.get("status") != "True":  # Established=True returned above
            detail = f": {cond['message']}" if cond.get("message") else ""
            notes.append(f"{cond.get('type')}={cond.get('status')}{detail}")
    return False, "; ".join(notes) or "no Established condition yet"


def wait_established(client: KubeClient, crds: list[Document], *, timeout: float, deps: Deps) -> None:
    deadline = deps.clock() + timeout
    pending = {doc.name: doc for doc in crds}
    notes: dict[str, str] = {}
    while True:
        for name, doc in list(pending.items()):
            try:
                ok, note = _established(client.get(doc.path))
            except KubeApiError as err:
                raise InstallError(f"reading {doc} while waiting for Established failed: {err}") from err
            if ok:
                del pending[name]
            else:
                notes[name] = note
        if not pending:
            return
        if deps.clock() >= deadline:
            waiting = ", ".join(f"{name} ({notes[name]})" for name in sorted(pending))
            raise InstallError(
                f"timed out after {timeout:g}s waiting for CRDs to become Established: {waiting}. "
                "Check the CRD status with kubectl get crd <name> -o yaml"
            )
        deps.sleep(min(deps.poll_interval, max(0.0, deadline - deps.clock())))


# -- entry point ------------------------------------------------------------------------------------------------


def _time_left(context: Any) -> TimeLeft:
    """Seconds this invocation may still spend, keeping LAMBDA_TIME_RESERVE_SECONDS to report a failure; unlimited
    without a Lambda context (local runs)."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining_ms):
        return lambda: math.inf
    return lambda: remaining_ms() / 1000.0 - LAMBDA_TIME_RESERVE_SECONDS


def _time_budget(context: Any, wanted: float) -> float:
    """The wait the Lambda can afford: `wanted`, cut short so we can still report before the hard timeout."""
    return max(1.0, min(wanted, _time_left(context)()))


def install(settings: Settings, *, deps: Deps, context: Any = None) -> dict[str, Any]:
    start = deps.clock()
    time_left = _time_left(context)
    documents = fetch_and_verify(settings.files, deps.fetch, time_left)
    logger.info("all %d file(s) verified: %d object(s) to apply", len(settings.files), len(documents))
    try:
        client = deps.kube_client(settings.cluster_name, time_left)
    except KubeApiError as err:
        raise InstallError(str(err)) from err
    apply_all(client, documents, field_manager=settings.field_manager, deps=deps)
    crds = [doc for doc in documents if doc.is_crd]
    wait_established(client, crds, timeout=_time_budget(context, settings.established_timeout), deps=deps)
    logger.info("%d CRD(s) established in %.1fs", len(crds), deps.clock() - start)
    return {
        "PhysicalResourceId": physical_id(settings.cluster_name),
        "Data": {"Version": settings.version, "Objects": str(len(documents))},
    }


def on_event(event: Mapping[str, Any], context: Any = None, *, deps: Deps | None = None) -> dict[str, Any]:
    request_type = event.get("RequestType")
    props = event.get("ResourceProperties") or {}
    logger.info(
        "%s gateway-api-crds cluster=%s version=%s", request_type, props.get("ClusterName"), props.get("Version")
    )
    if request_type == "Delete":
        # Never fail a Delete and never touch the cluster (see module docstring).
        cluster = str(props.get("ClusterName") or "")
        return {"PhysicalResourceId": event.get("PhysicalResourceId") or physical_id(cluster)}
    if request_type not in ("Create", "Update"):
        raise InstallError(f"unknown RequestType {request_type!r}")
    settings = parse_properties(props)
    return install(settings, deps=deps or Deps(), context=context)
