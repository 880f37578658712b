"""A fake Kubernetes API server over real TLS on 127.0.0.1, for tests of the stdlib Kubernetes client.

Usage::

    with FakeKubeApi() as api:
        client = KubeClient(endpoint=api.endpoint, ca_data=api.ca_data, token=lambda: api.token, sleep=lambda s: None)
        api.put_object("/api/v1/namespaces/default/configmaps/x", {...})
        api.fail_next("/api/v1/namespaces/default/configmaps/x", 503, times=2)
        ...
        api.requests  # every request, in arrival order

Objects live in a dict keyed by URL path (no query). GET returns the object or a 404 Status (a collection
path with no object stored there lists the objects directly under it, ignoring selectors); PATCH with
application/apply-patch+yaml (server-side apply) or a merge patch deep-merges the body into the stored
object (creating it); PUT replaces; both ignore `status`, as for resources with a status subresource
(PATCH <path>/status, put_object or an on_get hook set it); POST to a collection stores at
<collection>/<metadata.name>; DELETE removes, except an object with metadata.finalizers: it gets a
deletionTimestamp and goes once a write leaves it without finalizers (a write naming a metadata.resourceVersion
other than the stored one is a 409 Conflict, as optimistic concurrency). Faults, delays, late-appearing objects
and per-GET hooks can be scripted per path. The wire (TLS, recorded requests, Status bodies, EKS tokens) is
tests/support/kube_wire.py.
"""

from __future__ import annotations

import base64
import functools
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

import trustme
import yaml

from .background import BackgroundServer
from .kube_wire import RecordedRequest, Server, failure_status, leaf_cert, looks_like_eks_token, shared_ca

__all__ = ["CRD_PREFIX", "FakeKubeApi", "RecordedRequest", "looks_like_eks_token", "shared_ca"]

# The C loader parses the ~431 KB HTTPRoute CRD in milliseconds instead of seconds.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CRD_PREFIX = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"

GetHook = Callable[[str, dict[str, Any], int], None]


@dataclass
class _Fault:
    path: str
    status: int
    remaining: int
    method: str | None
    headers: dict[str, str]
    message: str


@dataclass
class _Delay:
    path: str
    seconds: float
    remaining: int


@dataclass
class _Pending:
    obj: dict[str, Any]
    gets_left: int


@dataclass
class _State:
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    delays: list[_Delay] = field(default_factory=list)
    pending: dict[str, _Pending] = field(default_factory=dict)
    get_counts: dict[str, int] = field(default_factory=dict)
    get_hooks: list[tuple[str, GetHook]] = field(default_factory=list)


@functools.lru_cache(maxsize=64)
def _yaml_as_json(body: bytes) -> str:
    # Cached: suites apply the same large CRD bodies many times.
    return json.dumps(yaml.load(body.decode("utf-8"), Loader=_YAML_LOADER))


def _is_collection(path: str) -> bool:
    """/api/v1[/namespaces/<ns>]/<resource> or /apis/<group>/<version>[/namespaces/<ns>]/<resource>."""
    parts = path.strip("/").split("/")
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:] if parts[:1] == ["apis"] else []
    return len(rest) in (1, 3) and (len(rest) == 1 or rest[0] == "namespaces")


def _clone(obj: Any) -> Any:
    # Objects are JSON data; a JSON round trip copies them several times faster than deepcopy.
    return json.loads(json.dumps(obj))


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = _clone(value)
    return base


class FakeKubeApi(BackgroundServer):
    """Threaded HTTPS fake of the Kubernetes API; see the module docstring."""

    thread_name = "fake-kube-api"

    def __init__(
        self,
        token: str = "test-token",
        *,
        ca: trustme.CA | None = None,
        host: str = "127.0.0.1",
        cert_names: tuple[str, ...] | None = None,
        accept_token: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        # Extra tokens to accept, e.g. real EKS tokens (they change per signing): see looks_like_eks_token.
        self.accept_token = accept_token
        self.ca = ca or shared_ca()
        self._host = host
        # Names in the server certificate; give others to provoke hostname-mismatch errors.
        self._cert_names = cert_names or (host, "localhost")
        self._lock = threading.Lock()
        self._state = _State()

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def _make_server(self) -> ThreadingHTTPServer:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf_cert(self.ca, self._cert_names).configure_cert(ctx)
        return Server((self._host, 0), ctx, self)

    @property
    def endpoint(self) -> str:
        return f"https://{self._host}:{self.port}"

    @property
    def ca_data(self) -> str:
        """The CA as EKS DescribeCluster returns it: base64 of the PEM bundle."""
        return base64.b64encode(self.ca.cert_pem.bytes()).decode("ascii")

    # -- state and scripting -----------------------------------------------------------------------------------

    @property
    def objects(self) -> dict[str, dict[str, Any]]:
        """Snapshot of the stored objects (copies; change state with put_object / delete_object)."""
        with self._lock:
            snapshot: dict[str, dict[str, Any]] = _clone(self._state.objects)
            return snapshot

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def clear_requests(self) -> None:
        with self._lock:
            self._state.requests.clear()

    def put_object(self, path: str, obj: dict[str, Any]) -> None:
        with self._lock:
            self._state.objects[path] = _clone(obj)

    def get_object(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            obj = self._state.objects.get(path)
            return _clone(obj) if obj is not None else None

    def delete_object(self, path: str) -> None:
        with self._lock:
            self._state.objects.pop(path, None)

    def fail_next(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        """The next `times` requests to `path` (optionally only `method`) get HTTP `status` with a Status body."""
        with self._lock:
            self._state.faults.append(
                _Fault(path, status, times, method, dict(headers or {}), message or f"scripted failure {status}")
            )

    def delay_next(self, path: str, seconds: float, *, times: int = 1) -> None:
        """The next `times` requests to `path` wait `seconds` before answering (to provoke client timeouts)."""
        with self._lock:
            self._state.delays.append(_Delay(path, seconds, times))

    def appear_after(self, path: str, obj: dict[str, Any], *, gets: int) -> None:
        """`path` answers 404 to the next `gets` GETs, then holds `obj` (e.g. a controller filling something in)."""
        with self._lock:
            self._state.objects.pop(path, None)
            self._state.pending[path] = _Pending(_clone(obj), gets)

    def on_get(self, path_prefix: str, hook: GetHook) -> None:
        """Call hook(path, stored_object, get_count) before answering each GET of an existing object under prefix.

        The hook may mutate the stored object in place; get_count counts GETs of that path, starting at 1.
        """
        with self._lock:
            self._state.get_hooks.append((path_prefix, hook))

    def get_count(self, path: str) -> int:
        with self._lock:
            return self._state.get_counts.get(path, 0)

    def establish_crds_after(self, gets: int) -> None:
        """CRDs report condition Established=True from their `gets`-th GET on (0: immediately after apply)."""

        def hook(_path: str, obj: dict[str, Any], count: int) -> None:
            if count >= gets:
                # Upstream CRD files carry `status: {conditions: null, ...}`; treat null as empty.
                status = obj.get("status") or {}
                obj["status"] = status
                conditions = status.get("conditions") or []
                status["conditions"] = conditions
                if not any(c.get("type") == "Established" for c in conditions):
                    conditions.append({"type": "Established", "status": "True", "reason": "InitialNamesAccepted"})

        self.on_get(CRD_PREFIX, hook)

    # -- request handling (called from server threads) ---------------------------------------------------------

    def _handle(self, req: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self._state.requests.append(req)
            delay = self._take_delay(req.path)
        if delay:
            time.sleep(delay)
        with self._lock:
            status, headers, payload = self._route(req)
            # Serialised under the lock: handlers return stored objects without copying them.
            return status, headers, json.dumps(payload).encode("utf-8")

    def _route(self, req: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        if not self._authorized(req.headers.get("authorization", "")):
            return 401, {}, failure_status(401, "Unauthorized", "Unauthorized")
        fault = self._take_fault(req)
        if fault is not None:
            return fault.status, fault.headers, failure_status(fault.status, "Scripted", fault.message)
        handler = getattr(self, f"_do_{req.method.lower()}", None)
        if handler is None:
            return 405, {}, failure_status(405, "MethodNotAllowed", f"{req.method} is not supported by the fake")
        result: tuple[int, dict[str, str], Any] = handler(req)
        return result

    def _authorized(self, header: str) -> bool:
        if header == f"Bearer {self.token}":
            return True
        scheme, _, token = header.partition(" ")
        return scheme == "Bearer" and self.accept_token is not None and self.accept_token(token)

    def _take_delay(self, path: str) -> float:
        for delay in self._state.delays:
            if delay.path == path and delay.remaining > 0:
                delay.remaining -= 1
                return delay.seconds
        return 0.0

    def _take_fault(self, req: RecordedRequest) -> _Fault | None:
        for fault in self._state.faults:
            if fault.path == req.path and fault.remaining > 0 and fault.method in (None, req.method):
                fault.remaining -= 1
                return fault
        return None

    def _not_found(self, path: str) -> tuple[int, dict[str, str], Any]:
        return 404, {}, failure_status(404, "NotFound", f"{path} not found")

    def _do_get(self, req: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        state = self._state
        count = state.get_counts.get(req.path, 0) + 1
        state.get_counts[req.path] = count
        pending = state.pending.get(req.path)
        if pending is not None:
            if pending.gets_left > 0:
                pending.gets_left -= 1
                return self._not_found(req.path)
            state.objects[req.path] = pending.obj
            del state.pending[req.path]
        obj = state.objects.get(req.path)
        if obj is None and _is_collection(req.path):
            return 200, {}, self._list(req.path)
        if obj is None:
            return self._not_found(req.path)
        for prefix, hook in state.get_hooks:
            if req.path.startswith(prefix):
                hook(req.path, obj, count)
        return 200, {}, obj

    def _list(self, collection: str) -> dict[str, Any]:
        """A List of the objects stored directly under `collection` (no selectors: callers filter)."""
        prefix = collection.rstrip("/") + "/"
        items = [
            obj
            for path, obj in sorted(self._state.objects.items())
            if path.startswith(prefix) and "/" not in path.removeprefix(prefix)
        ]
        return {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items}

    def _do_patch(self, req: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        ctype = (req.content_type or "").split(";")[0].strip()
        apply = ctype == "application/apply-patch+yaml"
        if apply and not req.query.get("fieldManager"):
            return 400, {}, failure_status(400, "BadRequest", "PATCH with apply requires fieldManager")
        if ctype not in ("application/apply-patch+yaml", "application/merge-patch+json"):
            return 415, {}, failure_status(415, "UnsupportedMediaType", f"the fake does not handle {ctype!r}")
        try:
            patch = json.loads(_yaml_as_json(req.body) if apply else req.body)
        except (ValueError, yaml.YAMLError) as err:
            return 400, {}, failure_status(400, "BadRequest", f"cannot parse body: {err}")
        if not isinstance(patch, dict):
            return 400, {}, failure_status(400, "BadRequest", "patch body must be an object")
        if req.path.endswith("/status"):
            # The status subresource: only status changes, on the parent object.
            parent = self._state.objects.get(req.path.removesuffix("/status"))
            if parent is None:
                return self._not_found(req.path)
            _deep_merge(parent, {"status": patch.get("status") or {}})
            return 200, {}, parent
        # As for any resource with a status subresource, writes to the main resource leave status alone.
        patch.pop("status", None)
        existing = self._state.objects.get(req.path)
        if existing is None and not apply:
            return self._not_found(req.path)
        created = existing is None
        conflict = self._conflict(req.path, existing, patch)
        if conflict is not None:
            return conflict
        merged = _deep_merge(existing if existing is not None else {}, patch)
        self._state.objects[req.path] = merged
        self._finalize(req.path)
        return (201 if created else 200), {}, merged

    def _conflict(
        self, path: str, existing: dict[str, Any] | None, patch: dict[str, Any]
    ) -> tuple[int, dict[str, str], Any] | None:
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        stored = ((existing or {}).get("metadata") or {}).get("resourceVersion")
        if wanted is not None and stored is not None and str(wanted) != str(stored):
            return 409, {}, failure_status(409, "Conflict", f"{path}: the object has been modified")
        return None

    def _finalize(self, path: str) -> None:
        """A terminating object goes once nothing holds it."""
        meta = (self._state.objects.get(path) or {}).get("metadata") or {}
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            del self._state.objects[path]

    def _do_put(self, req: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        try:
            obj = json.loads(req.body)
        except ValueError as err:
            return 400, {}, failure_status(400, "BadRequest", f"cannot parse body: {err}")
        existing = self._state.objects.get(req.path)
        created = existing is None
        if isinstance(obj, dict):
            obj.pop("status", None)
            if existing is not None and "status" in existing:
                obj["status"] = existing["status"]
        self._state.objects[req.path] = obj
        return (201 if created else 200), {}, obj

    def _do_post(self, req: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        try:
            obj = json.loads(req.body)
            name = obj["metadata"]["name"]
        except (ValueError, KeyError, TypeError) as err:
            return 400, {}, failure_status(400, "BadRequest", f"body needs metadata.name: {err}")
        path = f"{req.path.rstrip('/')}/{name}"
        if path in self._state.objects:
            return 409, {}, failure_status(409, "AlreadyExists", f"{path} already exists")
        self._state.objects[path] = obj
        return 201, {}, obj

    def _do_delete(self, req: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        obj = self._state.objects.get(req.path)
        if obj is None:
            return self._not_found(req.path)
        meta = obj.setdefault("metadata", {})
        if meta.get("finalizers"):
            meta.setdefault("deletionTimestamp", "2025-01-01T00:00:00Z")
            return 200, {}, obj
        del self._state.objects[req.path]
        return 200, {}, {"kind": "Status", "apiVersion": "v1", "status": "Success"}
