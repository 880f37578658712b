"""The metric-dimension lookup rule by rule, against a plain in-memory Lattice (paged answers, scripted errors):
the poll's time limit at its edge, retries and the no-retry path, paging, what is ignored (deleting resources,
other owners), the newest of overlapping target groups, TimeoutSeconds at both sides, and every message and
log line. Time is the handler's own: time.monotonic is replaced in the handler module only."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from lattice_metrics import handler

from tests.support.clock import FakeClock as Time
from tests.support.clock import FixedContext as Context
from tests.support.fixed_answer import FixedAnswerServer
from tests.support.local_aws import use_local_aws

VPC = "vpc-0123456789abcdef0"
T0 = 1_900_000_000.0
TAG = handler.TAG_BASE
SERVICE = "demo-http-route-default-d0c43d"
ROUTE = "demo-http-route-d0c43d"


class ApiError(Exception):
    """Shaped like botocore's ClientError: the code sits in response["Error"]["Code"]."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code, "Message": "scripted"}}


class Lattice:
    """list_services / list_target_groups / list_tags_for_resource over stored items, `page` items a page."""

    def __init__(self, page: int = 100) -> None:
        self.page = page
        self.services: list[dict[str, Any]] = []
        self.groups: list[dict[str, Any]] = []
        self.tags: dict[str, dict[str, str]] = {}
        self.failures: dict[str, list[Exception]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def fail(self, method: str, error: Exception, times: int = 99) -> None:
        self.failures[method] = [error] * times

    def _answer(self, method: str, kwargs: dict[str, Any]) -> None:
        self.calls.append((method, kwargs))
        pending = self.failures.get(method)
        if pending:
            raise pending.pop(0)

    def _paged(self, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
        start = int(token or 0)
        out: dict[str, Any] = {"items": items[start : start + self.page]}
        if start + self.page < len(items):
            out["nextToken"] = str(start + self.page)
        return out

    def list_services(self, **kwargs: Any) -> dict[str, Any]:
        self._answer("list_services", kwargs)
        return self._paged(self.services, kwargs.get("nextToken"))

    def list_target_groups(self, **kwargs: Any) -> dict[str, Any]:
        self._answer("list_target_groups", kwargs)
        assert kwargs["vpcIdentifier"] == VPC
        return self._paged(self.groups, kwargs.get("nextToken"))

    def list_tags_for_resource(self, **kwargs: Any) -> dict[str, Any]:
        self._answer("list_tags_for_resource", kwargs)
        arn = kwargs["resourceArn"]
        return {"tags": self.tags[arn]} if arn in self.tags else {}

    # -- the controller's side --

    def service(self, name: str = SERVICE, status: str = "ACTIVE") -> str:
        sid = f"svc-{len(self.services):017d}"
        self.services.append({"name": name, "id": sid, "status": status})
        return sid

    def group(
        self, app: str, *, suffix: str = "abcdefghij", created: str | None = "2025-01-01T00:00:00Z", **kw: Any
    ) -> str:
        gid = f"tg-{len(self.groups):017d}"
        group: dict[str, Any] = {"name": f"k8s-default-{app}-{suffix}", "id": gid, "arn": f"arn:{gid}"}
        group |= {"status": kw.pop("status", "ACTIVE")} | ({"createdAt": created} if created else {})
        self.groups.append(group)
        if kw.pop("tagged", True):
            self.tags[group["arn"]] = {
                TAG + "ClusterName": "eks-demo",
                TAG + "ServiceName": app,
                TAG + "ServiceNamespace": "default",
                TAG + "RouteName": ROUTE,
                TAG + "RouteNamespace": "default",
                TAG + "SourceTypeKey": "HTTPRoute",
                **{TAG + k: v for k, v in kw.items()},
            }
        return gid


def want_tg(key: str, app: str) -> dict[str, str]:
    return {"Key": key, "ClusterName": "eks-demo", "RouteName": ROUTE, "RouteNamespace": "default",
            "ServiceName": app, "ServiceNamespace": "default"}  # fmt: skip


PROPS: dict[str, Any] = {
    "VpcId": VPC,
    "Services": [{"Key": "Service0", "Name": SERVICE}],
    "TargetGroups": [want_tg("TargetGroup0x0", "demo-app-a")],
}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Time:
    fake = Time(1000.0)
    monkeypatch.setattr(handler, "time", fake)
    return fake


def event(props: dict[str, Any] | None = None, request: str = "Create", started: float | None = T0) -> dict[str, Any]:
    out: dict[str, Any] = {"RequestType": request, "ResourceProperties": PROPS if props is None else props}
    if started is not None:
        out[handler.STARTED_KEY] = started
    return out


def complete(lattice: Lattice, clock: Time, *, now: float = T0, context: Any = None, **kw: Any) -> dict[str, Any]:
    return handler.is_complete(
        kw.pop("event", None) or event(), context, client=lattice, clock=lambda: now, sleep=clock.sleep
    )


def ready(lattice: Lattice) -> tuple[str, str]:
    return lattice.service(), lattice.group("demo-app-a")


# -- on_event and TimeoutSeconds ------------------------------------------------------------------------------


def test_a_delete_is_never_refused_for_its_properties() -> None:
    bad = {**PROPS, "TimeoutSeconds": "soon"}
    assert handler.on_event(event(bad, "Delete"), None, clock=lambda: 5.0) == {
        "PhysicalResourceId": handler.PHYSICAL_ID,
        handler.STARTED_KEY: 5.0,
    }


@pytest.mark.parametrize(("raw", "value"), [(None, 600), ("1", 1), (" 30 ", 30), (7200, 7200)])
def test_timeout_seconds_accepted(raw: Any, value: int) -> None:
    props = {**PROPS} if raw is None else {**PROPS, "TimeoutSeconds": raw}
    assert handler._timeout(props) == value
    assert handler.on_event(event(props), None, clock=lambda: 1.0)[handler.STARTED_KEY] == 1.0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "TimeoutSeconds must be positive, got 0"),
        ("-5", "TimeoutSeconds must be positive, got -5"),
        ("soon", "TimeoutSeconds must be a whole number of seconds, got 'soon'"),
        ("1.5", "TimeoutSeconds must be a whole number of seconds, got '1.5'"),
        (None, "TimeoutSeconds must be a whole number of seconds, got None"),
    ],
)
def test_timeout_seconds_refused(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match="TimeoutSeconds must be ") as exc:
        handler.on_event(event({**PROPS, "TimeoutSeconds": raw}), None)
    assert str(exc.value) == message


# -- what is found ---------------------------------------------------------------------------------------------


def test_every_page_is_read(clock: Time, caplog: pytest.LogCaptureFixture) -> None:
    lattice = Lattice(page=2)
    for n in range(5):
        lattice.service(f"other-{n}")
        lattice.group(f"other-{n}")
    svc, tg = ready(lattice)  # on the third page of each
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    assert complete(lattice, clock) == {"IsComplete": True, "Data": {"Service0": svc, "TargetGroup0x0": tg}}
    tokens = [kw.get("nextToken") for m, kw in lattice.calls if m == "list_services"]
    assert tokens == [None, "2", "4"]
    assert caplog.messages == [f"resolved {{'Service0': '{svc}', 'TargetGroup0x0': '{tg}'}}"]


def test_a_page_without_items_is_an_empty_page(clock: Time) -> None:
    class Bare(Lattice):
        def list_services(self, **kwargs: Any) -> dict[str, Any]:
            return {} if "nextToken" not in kwargs else super().list_services(**kwargs)

    lattice = Bare()
    lattice.service()
    props = {**PROPS, "TargetGroups": []}
    assert complete(lattice, clock, event=event(props))["IsComplete"] is False


def test_properties_without_services_or_target_groups_need_nothing(clock: Time) -> None:
    assert complete(Lattice(), clock, event=event({"VpcId": VPC})) == {"IsComplete": True, "Data": {}}


@pytest.mark.parametrize("status", handler.GONE)
@pytest.mark.parametrize("gone", ["service", "group"])
def test_resources_being_deleted_do_not_count(clock: Time, status: str, gone: str) -> None:
    lattice = Lattice()
    lattice.service(status=status if gone == "service" else "ACTIVE")
    lattice.group("demo-app-a", status=status if gone == "group" else "ACTIVE")
    assert complete(lattice, clock) == {"IsComplete": False}


def test_a_group_without_tags_is_not_ours(clock: Time) -> None:
    lattice = Lattice()
    lattice.service()
    lattice.group("demo-app-a", tagged=False)
    assert complete(lattice, clock) == {"IsComplete": False}


def test_the_newest_of_overlapping_target_groups_wins(clock: Time) -> None:
    lattice = Lattice()
    lattice.service()
    lattice.group("demo-app-a", suffix="aaaaaaaaaa", created=None)
    newest = lattice.group("demo-app-a", suffix="bbbbbbbbbb", created="2025-06-01T00:00:00Z")
    lattice.group("demo-app-a", suffix="cccccccccc", created="2025-01-01T00:00:00Z")
    assert complete(lattice, clock)["Data"]["TargetGroup0x0"] == newest


def test_the_service_name_is_cut_and_stripped_like_the_namespace() -> None:
    assert handler.target_group_prefix("default", "s" * 54 + "-tail") == f"k8s-default-{'s' * 54}-"
    assert handler.target_group_prefix("-default-", "-app-") == "k8s-default-app-"


# -- waiting and failing ---------------------------------------------------------------------------------------


def test_waiting_logs_what_is_missing(clock: Time, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    assert complete(Lattice(), clock) == {"IsComplete": False}
    assert caplog.messages == [
        f"waiting for service {SERVICE}; target group for default/demo-app-a of route default/{ROUTE}"
    ]


def test_the_timeout_message_names_everything_missing(clock: Time) -> None:
    with pytest.raises(RuntimeError) as exc:
        complete(Lattice(), clock, now=T0 + 600, event=event({**PROPS, "TimeoutSeconds": "600"}))
    assert str(exc.value) == (
        f"after 600 s, Lattice still has no service {SERVICE}; no target group for default/demo-app-a of route "
        f"default/{ROUTE}: the controller has not created them (check the routes' status: kubectl get httproutes "
        "-A, and the controller's log)"
    )


def test_without_a_start_time_the_wait_starts_now(clock: Time) -> None:
    assert complete(Lattice(), clock, now=T0 + 10_000, event=event(started=None)) == {"IsComplete": False}


# -- retries and the poll's time limit ----------------------------------------------------------------------------


def test_retries_are_1_2_4_seconds_then_not_yet(clock: Time, caplog: pytest.LogCaptureFixture) -> None:
    lattice = Lattice()
    ready(lattice)
    lattice.fail("list_services", ApiError("ThrottlingException"))
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    assert complete(lattice, clock) == {"IsComplete": False}
    assert clock.slept == [1.0, 2.0, 4.0]
    assert [m for m, _ in lattice.calls] == ["list_services"] * 4
    assert caplog.messages == [
        "not yet: list_services: ThrottlingException",
        "waiting for (Lattice did not answer in this poll)",
    ]


def test_lattice_silent_past_the_timeout_fails_saying_so(clock: Time) -> None:
    lattice = Lattice()
    lattice.fail("list_target_groups", ApiError("InternalServerException"))
    with pytest.raises(RuntimeError) as exc:
        complete(lattice, clock, now=T0 + 600)
    assert str(exc.value).startswith("after 600 s, Lattice still has no (Lattice did not answer in this poll): ")


@pytest.mark.parametrize("code", sorted(handler.TRANSIENT_CODES))
def test_each_transient_code_is_retried(clock: Time, code: str) -> None:
    lattice = Lattice()
    svc, tg = ready(lattice)
    lattice.fail("list_tags_for_resource", ApiError(code), times=1)
    assert complete(lattice, clock)["Data"] == {"Service0": svc, "TargetGroup0x0": tg}
    assert clock.slept == [1.0]


@pytest.mark.parametrize(
    "error", [ApiError("AccessDeniedException"), ApiError("ValidationException"), RuntimeError("no response")]
)
def test_other_errors_are_not_retried(clock: Time, error: Exception) -> None:
    lattice = Lattice()
    lattice.fail("list_services", error)
    with pytest.raises(type(error)) as exc:
        complete(lattice, clock)
    assert exc.value is error
    assert (clock.slept, len(lattice.calls)) == ([], 1)


def test_an_error_without_an_error_code_is_not_retried(clock: Time) -> None:
    error = ApiError("x")
    error.response = {}
    lattice = Lattice()
    lattice.fail("list_services", error)
    with pytest.raises(ApiError):
        complete(lattice, clock)
    assert clock.slept == []


@pytest.mark.parametrize("method", ["list_services", "list_target_groups", "list_tags_for_resource"])
@pytest.mark.parametrize(("ms", "slept"), [(24_000, [1.0, 2.0, 4.0]), (23_999, [1.0, 2.0])])
def test_no_retry_wait_runs_into_the_polls_margin(clock: Time, method: str, ms: int, slept: list[float]) -> None:
    # 24 s left less the 10 s margin: the poll may run until +14 s, so the 4 s wait after 1 + 2 s still fits with
    # the call after it at its longest (handler.CALL_SECONDS_MAX, 7 s): 3 + 4 + 7 = 14.
    lattice = Lattice()
    ready(lattice)
    lattice.fail(method, ApiError("ThrottlingException"))
    assert complete(lattice, clock, context=Context(ms)) == {"IsComplete": False}
    assert clock.slept == slept


def test_the_default_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    client = handler._client()
    assert client.meta.service_model.service_name == "vpc-lattice"
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (handler.CONNECT_SECONDS, handler.READ_SECONDS)
    assert config.connect_timeout + config.read_timeout == handler.CALL_SECONDS_MAX


def test_without_a_client_the_default_one_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    lattice = Lattice()
    monkeypatch.setattr(handler, "_client", lambda: lattice)
    assert handler.is_complete(event(), None, clock=lambda: T0) == {"IsComplete": False}
    assert lattice.calls[0] == ("list_services", {})


def Throttling() -> FixedAnswerServer:
    """VPC Lattice answering every call with 429 ThrottlingException; counts the requests."""
    body = json.dumps({"message": "Rate exceeded"}).encode()
    headers = {"x-amzn-ErrorType": "ThrottlingException", "Content-Type": "application/json"}
    return FixedAnswerServer(429, body, headers)


def test_the_default_client_makes_one_attempt_per_call(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The handler's own retries (1/2/4 s, bounded by the poll's margin) are the only ones: botocore adding a
    retry with its own backoff would double the calls while throttled and wait outside the margin."""
    with Throttling() as server:
        use_local_aws(monkeypatch, tmp_path, {"VPC_LATTICE": f"http://127.0.0.1:{server.port}"}, region="eu-west-1")
        with pytest.raises(Exception, match="ThrottlingException") as exc:
            handler._client().list_services()
    assert exc.value.response["Error"]["Code"] == "ThrottlingException"  # type: ignore[attr-defined]
    assert server.hits == 1
