"""lattice_dns.handler pinned rule by rule with plain fakes (an in-memory Route 53 zone, a scripted Kubernetes
API): every ResourceProperties limit on both sides, the message CloudFormation shows for each failure path, the
wait's deadline and auth grace on both sides, Delete's retry count and its no-retry answers, and the resync's
per-record outcomes. No moto, no servers: the file runs in well under a second."""

from __future__ import annotations

import copy
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from k8s_api import KubeApiError
from lattice_dns import handler
from lattice_dns.props import DEFAULT_TIMEOUT_SECONDS
from lattice_dns.records import DnsError, Marker, OwnershipError
from lattice_dns.routes import ANNOTATION, CONTROLLER_NAMESPACE

from tests.support.clock import FakeClock
from tests.support.clock import FixedContext as Context
from tests.support.kube_gets import KubeGets as FakeKube

ZONE = "Z0123456789ABCDEFGHIJ"
HOST = "api.example.com"
MARKER = f"_eks-lattice-gateway.{HOST}"
CLUSTER = "eks-demo"
NS = "default"
ROUTE = "demo"
ROUTE_ID = f"{CLUSTER}/{NS}/{ROUTE}"
ROUTE_PATH = f"/apis/gateway.networking.k8s.io/v1/namespaces/{NS}/httproutes/{ROUTE}"
DOMAIN = "demo-default-0a1b2c3d4e5f6a7b8.7d67968.vpc-lattice-svcs.ap-northeast-2.on.aws"
NEW_DOMAIN = "demo-default-0ffff0000ffff0000.7d67968.vpc-lattice-svcs.ap-northeast-2.on.aws"
STACK_ID = "arn:aws:cloudformation:ap-northeast-2:123456789012:stack/LatticeStack/4b1f2c30-0000-11f0-9000-0a1b2c3d4e5f"
OWNER = "LatticeStack/ApiDns"
PHYSICAL = f"lattice-dns:{ZONE}:{HOST}"
START = 1_800_000_000.0


def client_error(code: str, message: str = "it failed") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "ChangeResourceRecordSets")


class MemoryRoute53:
    """One hosted zone in memory: UPSERT/DELETE applied atomically, a DELETE must match exactly (as Route 53
    wants); `fail[operation]` lists errors raised by the next calls of that operation."""

    def __init__(self) -> None:
        self.rrsets: list[dict[str, Any]] = []
        self.batches: list[dict[str, Any]] = []
        self.fail: dict[str, list[Exception]] = {}
        self.calls: list[str] = []

    def _enter(self, operation: str) -> None:
        self.calls.append(operation)
        assert len(self.calls) <= 100, "runaway loop"
        errors = self.fail.get(operation)
        if errors:
            raise errors.pop(0)

    def get_hosted_zone(self, *, Id: str) -> dict[str, Any]:  # noqa: N803 - boto3's parameter names
        self._enter("get_hosted_zone")
        return {"HostedZone": {"Id": f"/hostedzone/{Id}", "Name": "example.com."}}

    def list_resource_record_sets(self, *, StartRecordName: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        self._enter("list_resource_record_sets")
        found = [r for r in self.rrsets if r["Name"].rstrip(".") == StartRecordName]
        return {"ResourceRecordSets": copy.deepcopy(found), "IsTruncated": False}

    def change_resource_record_sets(self, *, ChangeBatch: dict[str, Any], **_: Any) -> dict[str, Any]:  # noqa: N803
        self._enter("change_resource_record_sets")
        rrsets = copy.deepcopy(self.rrsets)
        for change in ChangeBatch["Changes"]:
            wanted = {**change["ResourceRecordSet"], "Name": change["ResourceRecordSet"]["Name"] + "."}
            same = [r for r in rrsets if (r["Name"], r["Type"]) == (wanted["Name"], wanted["Type"])]
            if change["Action"] == "DELETE":
                if same != [wanted]:
                    raise client_error("InvalidChangeBatch", "record not found or values differ")
                rrsets.remove(wanted)
            else:
                rrsets = [r for r in rrsets if r not in same] + [wanted]
        self.rrsets = rrsets
        self.batches.append(ChangeBatch)
        return {"ChangeInfo": {"Id": f"/change/C{len(self.batches)}"}}

    def put(self, name: str, rtype: str, value: str, ttl: int = 60) -> None:
        self.rrsets.append({"Name": f"{name}.", "Type": rtype, "TTL": ttl, "ResourceRecords": [{"Value": value}]})

    def put_ours(self, target: str = DOMAIN, *, owner: str = OWNER, route: str = ROUTE_ID, ttl: int = 60) -> None:
        self.put(HOST, "CNAME", target, ttl)
        self.put(MARKER, "TXT", Marker(owner=owner, route=route, target=target).txt_value(), ttl)

    def at(self, name: str) -> dict[str, dict[str, Any]]:
        return {r["Type"]: r for r in self.rrsets if r["Name"] == f"{name}."}

    def cname(self) -> tuple[str, int] | None:
        rrset = self.at(HOST).get("CNAME")
        return (rrset["ResourceRecords"][0]["Value"], rrset["TTL"]) if rrset else None

    def marker(self) -> Marker | None:
        rrset = self.at(MARKER).get("TXT")
        return Marker.parse([r["Value"] for r in rrset["ResourceRecords"]]) if rrset else None


@dataclass
class Env:
    r53: MemoryRoute53
    kube: FakeKube
    clock: FakeClock
    kubes_made: list[str]
    kube_time_left: list[Any] = field(default_factory=list)  # the time_left each _kube call was given

    def route(self, annotation: str | None = DOMAIN, **extra: Any) -> None:
        meta: dict[str, Any] = {"name": ROUTE, "namespace": NS}
        if annotation is not None:
            meta["annotations"] = {ANNOTATION: annotation}
        self.kube.objects[ROUTE_PATH] = {"kind": "HTTPRoute", "metadata": meta, **extra}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Env:
    r53, kube, clock, made = MemoryRoute53(), FakeKube(), FakeClock(START), []
    clients = handler.Clients(route53=r53, eks=None, sts=None)

    def make_kube(cluster: str, _clients: handler.Clients, time_left: Any) -> FakeKube:
        made.append(cluster)
        environment.kube_time_left.append(time_left)
        return kube

    monkeypatch.setattr(handler, "_clients", lambda: clients)
    monkeypatch.setattr(handler, "_kube", make_kube)
    monkeypatch.setattr(handler, "_clock", clock)
    monkeypatch.setattr(handler, "_sleep", clock.sleep)
    monkeypatch.delenv("RECORDS", raising=False)
    monkeypatch.setattr(handler, "RECORDS_FILE", Path("/nonexistent/records.json"))
    environment = Env(r53=r53, kube=kube, clock=clock, kubes_made=made)
    ENV[:] = [environment]
    return environment


ENV: list[Env] = []  # the current test's, for delete()
POLLS: list[float] = []  # when each isComplete of the last delete() began


def props(**overrides: Any) -> dict[str, Any]:
    base = {
        "ServiceToken": "arn:aws:lambda:ap-northeast-2:123456789012:function:provider",
        "ClusterName": CLUSTER,
        "Namespace": NS,
        "RouteName": ROUTE,
        "Hostname": HOST,
        "HostedZoneId": ZONE,
    }
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def event(request: str = "Create", *, started: float | None = START, **overrides: Any) -> dict[str, Any]:
    built: dict[str, Any] = {
        "RequestType": request,
        "StackId": STACK_ID,
        "LogicalResourceId": "ApiDns",
        "PhysicalResourceId": PHYSICAL,
        "ResourceProperties": props(**overrides),
    }
    if started is not None:
        built["Data"] = {"WaitStartedAt": f"{started:.0f}"}
    return built


# -- ResourceProperties ------------------------------------------------------------------------------------------------


def parse(**overrides: Any) -> handler.Props:
    return handler.Props.parse(props(**overrides))


def refused(**overrides: Any) -> str:
    with pytest.raises(ValueError, match=r".") as err:
        parse(**overrides)
    return str(err.value)


def test_defaults_and_derived_names() -> None:
    parsed = parse()
    assert parsed == handler.Props(
        cluster_name=CLUSTER, namespace=NS, route_name=ROUTE, hostname=HOST, zone_id=ZONE, timeout_seconds=1200, ttl=60
    )
    assert parsed.route_id == ROUTE_ID
    assert parsed.route_path == ROUTE_PATH


def test_values_are_trimmed_and_normalized() -> None:
    parsed = parse(
        ClusterName=f" {CLUSTER} ",
        HostedZoneId=f"/hostedzone/{ZONE}",
        Hostname=" API.Example.com. ",
        TimeoutSeconds=" 300 ",
        Ttl=300,
    )
    assert (parsed.cluster_name, parsed.zone_id, parsed.hostname) == (CLUSTER, ZONE, HOST)
    assert (parsed.timeout_seconds, parsed.ttl) == (300, 300)
    assert parse(TimeoutSeconds="", Ttl="  ").timeout_seconds == 1200
    assert parse(TimeoutSeconds="", Ttl="  ").ttl == 60


@pytest.mark.parametrize(
    ("key", "low", "high"),
    [("TimeoutSeconds", 120, 7200), ("Ttl", 0, 2_147_483_647)],
)
def test_number_limits_on_both_sides(key: str, low: int, high: int) -> None:
    attribute = {"TimeoutSeconds": "timeout_seconds", "Ttl": "ttl"}[key]
    assert getattr(parse(**{key: str(low)}), attribute) == low
    assert getattr(parse(**{key: str(high)}), attribute) == high
    assert refused(**{key: str(low - 1)}) == f"{key} {low - 1} is outside {low}..{high}"
    assert refused(**{key: str(high + 1)}) == f"{key} {high + 1} is outside {low}..{high}"


@pytest.mark.parametrize("value", ["soon", "1.5", "12s"])
def test_numbers_must_be_whole(value: str) -> None:
    assert refused(TimeoutSeconds=value) == f"TimeoutSeconds {value!r} is not a whole number"
    assert refused(Ttl=value) == f"Ttl {value!r} is not a whole number"


@pytest.mark.parametrize("key", ["ClusterName", "Namespace", "RouteName", "HostedZoneId"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_required_keys(key: str, value: str | None) -> None:
    assert refused(**{key: value}) == f"{key} is required"


@pytest.mark.parametrize(
    ("key", "good", "bad", "expected"),
    [
        ("ClusterName", "c" * 100, "c" * 101, "an EKS cluster name"),
        ("ClusterName", "Eks_demo-1", "-eks", "an EKS cluster name"),
        ("Namespace", "n" * 63, "n" * 64, "a Kubernetes namespace name"),
        ("Namespace", "team-a", "Team-A", "a Kubernetes namespace name"),
        ("RouteName", "r" * 253, "r" * 254, "a Kubernetes object name"),
        ("RouteName", "demo.v1", "demo_v1", "a Kubernetes object name"),
        ("HostedZoneId", "Z" * 32, "Z" * 33, "a Route 53 hosted zone id"),
        ("HostedZoneId", "/hostedzone/Z1", "hostedzone/Z1", "a Route 53 hosted zone id"),
    ],
)
def test_name_limits_on_both_sides(key: str, good: str, bad: str, expected: str) -> None:
    parse(**{key: good})
    assert refused(**{key: bad}) == f"{key} {bad!r} is not {expected}"


def test_hostname_errors_name_the_key() -> None:
    assert refused(Hostname=None) == "Hostname: Hostname is empty"
    assert refused(Hostname="*.example.com") == (
        "Hostname: Hostname '*.example.com': wildcard names cannot be a Lattice custom domain"
    )


def test_physical_id_round_trip_and_what_is_not_ours() -> None:
    assert handler.physical_id(parse()) == PHYSICAL
    assert handler.parse_physical_id(PHYSICAL) == (ZONE, HOST)
    for other in (
        None,
        "",
        f"lattice-dns:{ZONE}",
        f"lattice-dns:{ZONE}:{HOST}:x",
        f"other:{ZONE}:{HOST}",
        f"lattice-dns:z-lower:{HOST}",
        f"lattice-dns:{ZONE}:*.example.com",
        "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED",
    ):
        assert handler.parse_physical_id(other) is None, other


@pytest.mark.parametrize(
    ("fields", "owner"),
    [
        ({"StackId": STACK_ID, "LogicalResourceId": "ApiDns"}, OWNER),
        ({"StackId": "LatticeStack", "LogicalResourceId": "ApiDns"}, "LatticeStack/ApiDns"),
        ({"StackId": "arn:aws:cloudformation:r:1:stack/Solo", "LogicalResourceId": "X"}, "Solo/X"),
        ({}, "unknown-stack/unknown-resource"),
        ({"StackId": "", "LogicalResourceId": ""}, "unknown-stack/unknown-resource"),
    ],
)
def test_owner_is_stack_name_and_logical_id(fields: dict[str, str], owner: str) -> None:
    assert handler.owner_of(fields) == owner


# -- clients and time --------------------------------------------------------------------------------------------------


def test_clients_need_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "_CACHED", None)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(handler.LatticeDnsError) as err:
        handler._clients()
    assert str(err.value) == "AWS_REGION is not set; the Lambda runtime sets it, set it by hand elsewhere"


class RecordingSession:
    """Stands in for boto3's Session (building real clients loads service models: a second per test); keeps
    each client's settings, which are what is checked here."""

    def __init__(self, *, region_name: str) -> None:
        self.region_name = region_name
        self.clients: dict[str, dict[str, Any]] = {}

    def client(self, service: str, **settings: Any) -> dict[str, Any]:
        self.clients[service] = {"service": service, "region": self.region_name, **settings}
        return self.clients[service]


def test_clients_are_sized_and_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "_CACHED", None)
    monkeypatch.setattr(handler.boto3.session, "Session", RecordingSession)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    clients = handler._clients()
    assert handler._clients() is clients
    r53, eks, sts = clients.route53, clients.eks, clients.sts
    assert (r53["service"], eks["service"], sts["service"]) == ("route53", "eks", "sts")
    assert (r53["region"], eks["region"], sts["region_name"]) == ("eu-west-1", "eu-west-1", "eu-west-1")
    r53_config, eks_config = r53["config"], eks["config"]
    assert (r53_config.connect_timeout, r53_config.read_timeout) == (3, 10)
    assert (eks_config.connect_timeout, eks_config.read_timeout) == (3, 10)
    assert r53_config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert eks_config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert sts["endpoint_url"] == "https://sts.eu-west-1.amazonaws.com"
    assert (clients.route53_call_seconds, clients.eks_call_seconds) == (13, 27)
    monkeypatch.setenv("AWS_REGION", "ap-northeast-2")  # the Lambda runtime's variable wins
    monkeypatch.setattr(handler, "_CACHED", None)
    assert handler._clients().route53["region"] == "ap-northeast-2"


def test_time_left_keeps_a_reserve_for_the_answer() -> None:
    assert handler._time_left(Context(30_000))() == 25.0
    assert handler._time_left(None)() == math.inf
    assert handler._time_left(object())() == math.inf


def test_deadline_margin() -> None:
    # A quarter of short timeouts, at most 60 s: our explanation reaches CloudFormation before its own timeout.
    assert handler._deadline(START, 120) == START + 90
    assert handler._deadline(START, 122) == START + 92  # a whole-second margin: 122 // 4
    assert handler._deadline(START, 240) == START + 180
    assert handler._deadline(START, 244) == START + 184
    assert handler._deadline(START, 1200) == START + 1140


# -- onEvent -----------------------------------------------------------------------------------------------------------


def test_create_returns_the_physical_id_and_the_wait_start(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.clock.now = START + 0.6
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    out = handler.on_event(event(ServiceToken="secret-ish", TimeoutSeconds="300"), None)
    assert out == {"PhysicalResourceId": PHYSICAL, "Data": {"WaitStartedAt": "1800000001"}}
    assert env.r53.batches == []  # nothing is written before the route has its domain
    assert caplog.records[0].getMessage().startswith("event {")
    logged = json.loads(caplog.records[0].getMessage().removeprefix("event "))
    assert logged == {
        "RequestType": "Create",
        "LogicalResourceId": "ApiDns",
        "PhysicalResourceId": PHYSICAL,
        "ResourceProperties": {k: v for k, v in props(TimeoutSeconds="300").items() if k != "ServiceToken"},
    }


def test_update_to_a_new_name_logs_the_replacement(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    old = {**props(Hostname="old.example.com"), "Tags": {"team", "a"}}  # not JSON: logged as its str()
    update = {
        **event("Update"),
        "PhysicalResourceId": f"lattice-dns:{ZONE}:old.example.com",
        "OldResourceProperties": old,
    }
    assert handler.on_event(update, None)["PhysicalResourceId"] == PHYSICAL
    logged = json.loads(caplog.records[0].getMessage().removeprefix("event "))
    assert logged["OldResourceProperties"] == {**old, "Tags": str(old["Tags"])}
    assert caplog.records[-1].getMessage() == (
        f"zone or hostname changed (lattice-dns:{ZONE}:old.example.com -> {PHYSICAL}): CloudFormation deletes the "
        "old record afterwards"
    )
    caplog.clear()
    handler.on_event(event("Update"), None)
    assert "zone or hostname changed" not in caplog.text
    caplog.clear()
    handler.on_event({**event("Create"), "PhysicalResourceId": "x"}, None)
    assert "zone or hostname changed" not in caplog.text


@pytest.mark.parametrize("request_type", ["Foo", None])
def test_unknown_request_type(env: Env, request_type: str | None) -> None:
    with pytest.raises(handler.LatticeDnsError) as err:
        handler.on_event({**event(), "RequestType": request_type}, None)
    assert str(err.value) == f"unknown RequestType {request_type!r}"


@pytest.mark.parametrize("entry", [handler.on_event, handler.is_complete])
def test_invalid_properties_are_reported_with_the_key(env: Env, entry: Any) -> None:
    with pytest.raises(handler.LatticeDnsError) as err:
        entry(event(Ttl="-1"), None)
    assert str(err.value) == "invalid ResourceProperties: Ttl -1 is outside 0..2147483647"
    with pytest.raises(handler.LatticeDnsError) as err:
        entry({**event(), "ResourceProperties": None}, None)
    assert str(err.value) == "invalid ResourceProperties: Hostname: Hostname is empty"
    assert env.r53.calls == []


def test_create_refuses_a_name_taken_by_someone_else(env: Env) -> None:
    env.r53.put(HOST, "CNAME", "elsewhere.example")
    with pytest.raises(OwnershipError) as err:
        handler.on_event(event(), None)
    assert str(err.value) == (
        f"refusing to manage {HOST} in zone {ZONE}: {HOST} already exists (CNAME elsewhere.example) and was not "
        f"created by this stack (no ownership marker TXT at {MARKER}); delete it by hand if this stack should manage "
        "it, or choose another hostname"
    )


def test_create_refuses_the_zone_apex(env: Env) -> None:
    with pytest.raises(DnsError, match=r"is the apex of zone example\.com"):
        handler.on_event(event(Hostname="example.com"), None)


def test_create_adopts_our_own_record(env: Env) -> None:
    env.r53.put_ours()
    assert handler.on_event(event(), None)["PhysicalResourceId"] == PHYSICAL


# -- isComplete --------------------------------------------------------------------------------------------------------


def test_delete_is_complete_at_once(env: Env) -> None:
    assert handler.is_complete({"RequestType": "Delete"}, None) == {"IsComplete": True}
    assert env.r53.calls == []


def test_annotated_route_gets_its_cname(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.route(DOMAIN.upper() + ".")
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    assert handler.is_complete(event(Ttl="300"), None) == {
        "IsComplete": True,
        "Data": {"LatticeDomainName": DOMAIN, "Hostname": HOST},
    }
    assert env.r53.cname() == (DOMAIN, 300)
    assert env.r53.marker() == Marker(owner=OWNER, route=ROUTE_ID, target=DOMAIN)
    assert caplog.records[-1].getMessage() == f"{HOST} CNAME {DOMAIN} (TTL 300), was nothing"


def test_nothing_changes_when_the_record_is_already_right(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.route()
    env.r53.put_ours()
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    assert handler.is_complete(event(), None)["IsComplete"] is True
    assert env.r53.batches == []
    assert caplog.records[-1].getMessage() == f"{HOST} already CNAME {DOMAIN} (TTL 60); nothing to change"


@pytest.mark.parametrize(
    ("ours", "why"),
    [
        ({"target": DOMAIN, "ttl": 300}, "TTL"),
        ({"target": DOMAIN, "route": "eks-demo/default/old"}, "marker route"),
        ({"target": NEW_DOMAIN}, "target"),
    ],
)
def test_any_difference_rewrites_cname_and_marker(env: Env, ours: dict[str, Any], why: str) -> None:
    env.route()
    env.r53.put_ours(**ours)
    assert handler.is_complete(event(), None)["IsComplete"] is True, why
    assert len(env.r53.batches) == 1
    assert env.r53.cname() == (DOMAIN, 60)
    assert env.r53.marker() == Marker(owner=OWNER, route=ROUTE_ID, target=DOMAIN)


def test_a_record_of_another_stack_is_not_pointed(env: Env) -> None:
    env.route()
    env.r53.put_ours(owner="OtherStack/ApiDns")
    with pytest.raises(OwnershipError) as err:
        handler.is_complete(event(), None)
    assert str(err.value).startswith(
        f"refusing to point {HOST} at {DOMAIN}: {HOST} is claimed by another eks-lattice-gateway resource "
        f"(owner OtherStack/ApiDns, route {ROUTE_ID},"
    )
    assert env.r53.batches == []


def test_an_invalid_annotation_is_refused(env: Env) -> None:
    env.route("not a name")
    with pytest.raises(handler.LatticeDnsError) as err:
        handler.is_complete(event(), None)
    assert str(err.value) == (
        f"HTTPRoute {NS}/{ROUTE}: annotation {ANNOTATION} holds 'not a name', which is not a DNS name; refusing to "
        "point DNS at it"
    )


def test_busy_route53_means_another_poll_until_the_deadline(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.route()
    busy = [client_error("Throttling", "Rate exceeded") for _ in range(20)]
    env.r53.fail["change_resource_record_sets"] = busy
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    env.clock.now = START + 1139  # deadline: START + 1140
    assert handler.is_complete(event(), None) == {"IsComplete": False}
    assert env.r53.calls.count("change_resource_record_sets") == 6  # Zone's own attempts within one poll
    assert caplog.records[-1].getMessage() == (
        f"Route 53 busy or slow, trying again at the next poll: route53:ChangeResourceRecordSets on hosted zone "
        f"{ZONE} failed: Throttling: Rate exceeded"
    )
    env.clock.now = START + 1140
    with pytest.raises(DnsError) as err:
        handler.is_complete(event(), None)
    assert (err.value.code, err.value.transient) == ("Throttling", True)


def test_a_route53_error_that_waiting_cannot_fix_fails_at_once(env: Env) -> None:
    env.route()
    env.r53.fail["change_resource_record_sets"] = [client_error("AccessDenied", "not allowed")]
    with pytest.raises(DnsError) as err:
        handler.is_complete(event(), None)
    assert str(err.value).startswith(
        f"route53:ChangeResourceRecordSets on hosted zone {ZONE} failed: AccessDenied: not allowed; the Lambda's role "
        "needs route53:ChangeResourceRecordSets"
    )
    assert env.r53.calls.count("change_resource_record_sets") == 1


def test_waiting_for_the_route_until_the_deadline(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    env.clock.now = START + 1139
    assert handler.is_complete(event(), None) == {"IsComplete": False}
    assert caplog.records[-1].getMessage() == f"HTTPRoute {NS}/{ROUTE} missing; waiting (1139 s elapsed)"
    env.route(annotation=None)
    assert handler.is_complete(event(), None) == {"IsComplete": False}
    assert caplog.records[-1].getMessage() == f"HTTPRoute {NS}/{ROUTE} not annotated yet; waiting (1139 s elapsed)"
    env.clock.now = START + 1140
    with pytest.raises(handler.WaitTimeoutError):
        handler.is_complete(event(), None)


def test_short_timeouts_keep_a_quarter_as_margin(env: Env) -> None:
    env.clock.now = START + 89
    assert handler.is_complete(event(TimeoutSeconds="120"), None) == {"IsComplete": False}
    env.clock.now = START + 90
    with pytest.raises(handler.WaitTimeoutError, match="gave up after 90 s"):
        handler.is_complete(event(TimeoutSeconds="120"), None)


@pytest.mark.parametrize("data", [None, {}, {"WaitStartedAt": "soon"}, {"WaitStartedAt": None}])
def test_without_a_wait_start_the_wait_starts_now(env: Env, data: Any, caplog: pytest.LogCaptureFixture) -> None:
    env.clock.now = START + 10_000
    built = {**event(started=None), "Data": data}
    assert handler.is_complete(built, None) == {"IsComplete": False}
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "no WaitStartedAt in the event (not merged from on_event?); the wait starts now"
    ]


def test_auth_errors_are_fatal_only_after_the_grace(env: Env) -> None:
    env.kube.objects[ROUTE_PATH] = KubeApiError("401 Unauthorized: check the access entry", status=401)
    env.clock.now = START + 119
    assert handler.is_complete(event(), None) == {"IsComplete": False}
    env.clock.now = START + 120
    with pytest.raises(handler.LatticeDnsError) as err:
        handler.is_complete(event(), None)
    assert str(err.value) == (
        f"cannot read HTTPRoute {NS}/{ROUTE} on EKS cluster {CLUSTER} (still failing 120 s after the start): "
        "401 Unauthorized: check the access entry"
    )


def test_server_errors_are_waited_out_then_named(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.kube.objects[ROUTE_PATH] = KubeApiError("503 Service Unavailable", status=503)
    env.clock.now = START + 500
    assert handler.is_complete(event(), None) == {"IsComplete": False}
    assert caplog.records[0].getMessage() == f"reading HTTPRoute {NS}/{ROUTE}: 503 Service Unavailable"
    env.clock.now = START + 1140
    with pytest.raises(handler.WaitTimeoutError) as err:
        handler.is_complete(event(), None)
    assert str(err.value) == (
        f"gave up after 1140 s waiting for the VPC Lattice domain name of HTTPRoute {NS}/{ROUTE} on EKS cluster "
        f"{CLUSTER} (needed for the CNAME {HOST} in hosted zone {ZONE}): the Kubernetes API could not be read. "
        "Last error: 503 Service Unavailable"
    )


def test_no_time_for_describe_cluster_is_an_observation_not_a_crash(env: Env) -> None:
    # eks_call_seconds is 27: 32 s of Lambda time (27 after the reserve) is just enough, 31.9 s is not.
    env.route()
    assert handler.is_complete(event(), Context(32_000))["IsComplete"] is True
    assert env.kubes_made == [CLUSTER]
    env.kubes_made.clear()
    env.clock.now = START + 1140
    with pytest.raises(handler.WaitTimeoutError) as err:
        handler.is_complete(event(), Context(31_900))
    assert env.kubes_made == []
    assert str(err.value).endswith(
        "the Kubernetes API could not be read. Last error: 27 s left of this invocation, too little for "
        "eks:DescribeCluster"
    )


def test_timeout_message_for_a_missing_route(env: Env) -> None:
    gateway_api = "/apis/gateway.networking.k8s.io/v1"
    env.clock.now = START + 1140
    head = (
        f"gave up after 1140 s waiting for the VPC Lattice domain name of HTTPRoute {NS}/{ROUTE} on EKS cluster "
        f"{CLUSTER} (needed for the CNAME {HOST} in hosted zone {ZONE}): the HTTPRoute does not exist (GET "
        f"{ROUTE_PATH} answered 404). Is the workload deployed? Check: kubectl get httproute -n {NS} {ROUTE}."
    )
    with pytest.raises(handler.WaitTimeoutError) as err:
        handler.is_complete(event(), None)
    assert str(err.value) == head + (
        " The API server does not serve gateway.networking.k8s.io/v1 httproutes: are the Gateway API CRDs installed?"
    )
    env.kube.objects[gateway_api] = {"resources": [{"name": "httproutes"}]}
    with pytest.raises(handler.WaitTimeoutError) as err:
        handler.is_complete(event(), None)
    assert str(err.value) == head
    env.kube.objects[gateway_api] = KubeApiError("403", status=403)  # cannot tell: say nothing about CRDs
    with pytest.raises(handler.WaitTimeoutError) as err:
        handler.is_complete(event(), None)
    assert str(err.value) == head


def test_timeout_message_for_a_route_without_annotation(env: Env) -> None:
    env.route(annotation=None)
    env.clock.now = START + 1140
    deployments = f"/apis/apps/v1/namespaces/{CONTROLLER_NAMESPACE}/deployments"
    env.kube.objects[deployments] = {"items": []}
    with pytest.raises(handler.WaitTimeoutError) as err:
        handler.is_complete(event(), None)
    assert str(err.value).endswith(
        f"the HTTPRoute exists but has no {ANNOTATION} annotation, which the AWS Gateway API Controller adds once "
        f"it has created the Lattice service. Is the controller running? Controller ({CONTROLLER_NAMESPACE}): no "
        f"Deployment in namespace {CONTROLLER_NAMESPACE}: is the AWS Gateway API Controller installed?. Route "
        "status: no parent status (no controller has processed the route: does its parentRef name the Gateway, and "
        "does the GatewayClass name controller application-networking.k8s.aws/gateway-api-controller?)."
    )
    parents = [
        {"parentRef": {"name": "demo-sn"}, "conditions": [{"type": "Accepted", "status": "True"}]},
        {"parentRef": {"name": "other-sn"}},
    ]
    env.route(annotation=None, status={"parents": parents})
    with pytest.raises(handler.WaitTimeoutError) as err:
        handler.is_complete(event(), None)
    assert str(err.value).endswith("Route status: parent demo-sn: Accepted=True; parent other-sn: no conditions.")


def test_timeout_message_names_the_controller_as_unknown_without_a_client(env: Env) -> None:
    props_ = handler.Props.parse(props())
    seen = handler.Observation(route={"metadata": {}}, kube=None)
    assert "Controller (aws-application-networking-system): unknown. Route status" in handler._timeout_message(
        props_, seen, 5
    )


# -- Delete ------------------------------------------------------------------------------------------------------------


def delete(**fields: Any) -> dict[str, Any]:
    """The provider framework's Delete: onEvent, then isComplete every query interval until done; returns the
    PhysicalResourceId onEvent answered."""
    request = {**event("Delete", started=None), **fields}
    out = handler.on_event(request, None)
    POLLS.clear()
    for _ in range(200):
        POLLS.append(ENV[-1].clock.now)
        if handler.is_complete({**request, **out}, None)["IsComplete"]:
            return {"PhysicalResourceId": out["PhysicalResourceId"]}
        ENV[-1].clock.now += handler.QUERY_INTERVAL_SECONDS
    raise AssertionError("is_complete never finished")


def test_delete_removes_our_cname_and_marker(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.r53.put_ours()
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    assert delete() == {"PhysicalResourceId": PHYSICAL}
    assert caplog.records[-1].getMessage() == f"deleted {HOST} CNAME {DOMAIN} and its ownership marker"
    assert env.r53.rrsets == []
    assert len(env.r53.batches) == 1
    assert env.r53.batches[0]["Comment"] == f"eks-lattice-gateway: delete {HOST} ({OWNER})"


def test_delete_of_an_id_we_never_issued_touches_nothing(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.r53.put_ours()
    for physical in ("AWSCDK::CustomResourceProviderFramework::CREATE_FAILED", None):
        assert delete(PhysicalResourceId=physical) == {"PhysicalResourceId": physical or ""}
    assert env.r53.calls == []
    assert caplog.records[-1].getMessage() == (
        "nothing to delete: PhysicalResourceId '' was not issued by this handler (failed create?)"
    )


def test_delete_of_a_repointed_record_only_releases_our_marker(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.r53.put(HOST, "CNAME", "elsewhere.example")
    env.r53.put(MARKER, "TXT", Marker(owner=OWNER, route=ROUTE_ID, target=DOMAIN).txt_value())
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    delete()
    assert (
        caplog.records[-1]
        .getMessage()
        .startswith(f"left {HOST} alone ({HOST} was changed outside this stack: it points to elsewhere.example")
    )
    assert caplog.records[-1].getMessage().endswith("); removed our ownership marker")
    assert env.r53.cname() == ("elsewhere.example", 60)
    assert env.r53.marker() is None
    assert env.r53.batches[0]["Comment"] == f"eks-lattice-gateway: release {HOST} ({OWNER})"


@pytest.mark.parametrize("whose", ["another owner", "no marker"])
def test_delete_leaves_a_record_that_is_not_ours(env: Env, whose: str, caplog: pytest.LogCaptureFixture) -> None:
    if whose == "no marker":
        env.r53.put(HOST, "CNAME", DOMAIN)
    else:
        env.r53.put_ours(owner="OtherStack/ApiDns")
    before = copy.deepcopy(env.r53.rrsets)
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    assert delete() == {"PhysicalResourceId": PHYSICAL}
    assert env.r53.rrsets == before
    assert env.r53.batches == []
    assert caplog.records[-1].getMessage().startswith(f"nothing of ours at {HOST}: {HOST} ")


def test_delete_when_the_zone_is_gone(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.r53.fail["list_resource_record_sets"] = [client_error("NoSuchHostedZone", "gone")]
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    assert delete() == {"PhysicalResourceId": PHYSICAL}
    assert caplog.records[-1].getMessage() == f"hosted zone {ZONE} is gone, and {HOST} with it"


def test_delete_rereads_when_the_records_changed_underneath(env: Env) -> None:
    env.r53.put_ours()
    env.r53.fail["change_resource_record_sets"] = [client_error("InvalidChangeBatch") for _ in range(2)]
    delete()
    assert env.r53.calls.count("change_resource_record_sets") == 3
    assert env.r53.rrsets == []


def test_three_mismatches_end_the_poll_and_the_next_poll_reads_again(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    env.r53.put_ours()
    env.r53.fail["change_resource_record_sets"] = [client_error("InvalidChangeBatch", "values differ")] * 3
    caplog.set_level(logging.WARNING, logger=handler.LOG.name)
    started = env.clock.now
    assert delete() == {"PhysicalResourceId": PHYSICAL}
    assert env.r53.calls.count("change_resource_record_sets") == 4
    assert env.clock.now == started + handler.QUERY_INTERVAL_SECONDS  # one poll more
    assert caplog.records[-1].getMessage() == (
        f"trying the delete again at the next poll: could not delete {HOST} (CNAME and its {MARKER} TXT) from "
        f"hosted zone {ZONE}: route53:ChangeResourceRecordSets on hosted zone {ZONE} failed: InvalidChangeBatch: "
        "values differ. Fix the cause and retry; a record left behind would stop the zone's deletion"
    )
    assert env.r53.rrsets == []


@pytest.mark.parametrize("timeout", ["120", "180"])
def test_a_delete_that_keeps_failing_gives_up_at_the_deadline_with_the_reason(env: Env, timeout: str) -> None:
    """Polled like Create: the deadline is TimeoutSeconds (the provider's total timeout) less the margin that lets
    this message, not the framework's bare timeout, reach CloudFormation."""
    env.r53.put_ours()
    env.r53.fail["change_resource_record_sets"] = [client_error("Throttling", "slow down")] * 10_000
    started = env.clock.now
    with pytest.raises(handler.LatticeDnsError) as err:
        delete(ResourceProperties=props(TimeoutSeconds=timeout))
    # Given up in the first poll that ends past the deadline (Zone's own retries within a poll take time too).
    deadline = handler._deadline(started, int(timeout))
    assert env.clock.now >= deadline
    assert POLLS[-2] < deadline, "a poll that ended past the deadline was followed by another"
    assert str(err.value).startswith(
        f"gave up after {env.clock.now - started:.0f} s of retries: could not delete {HOST} (CNAME and its "
        f"{MARKER} TXT) from hosted zone {ZONE}: "
    )
    assert "Throttling" in str(err.value)
    assert env.r53.cname() == (DOMAIN, 60)


def test_the_delete_deadline_of_unreadable_properties_is_the_shortest_create_accepts() -> None:
    assert handler._delete_timeout(props()) == DEFAULT_TIMEOUT_SECONDS  # the default, as Create reads it
    assert handler._delete_timeout(props(TimeoutSeconds="300")) == 300
    assert handler._delete_timeout({}) == handler.MIN_TIMEOUT_SECONDS
    assert handler._delete_timeout(props(Hostname="not a host name!")) == handler.MIN_TIMEOUT_SECONDS
    with pytest.raises(ValueError, match=r"TimeoutSeconds 119 is outside 120\.\."):
        handler.Props.parse(props(TimeoutSeconds=str(handler.MIN_TIMEOUT_SECONDS - 1)))
    assert handler.Props.parse(props(TimeoutSeconds=str(handler.MIN_TIMEOUT_SECONDS))).timeout_seconds == 120


def test_on_event_only_starts_the_delete(env: Env) -> None:
    env.r53.put_ours()
    out = handler.on_event(event("Delete", started=None), None)
    assert out == {"PhysicalResourceId": PHYSICAL, "Data": {"WaitStartedAt": f"{START:.0f}"}}
    assert env.r53.calls == []


def test_delete_does_not_retry_access_denied(env: Env) -> None:
    env.r53.put_ours()
    env.r53.fail["change_resource_record_sets"] = [client_error("AccessDenied", "no")]
    with pytest.raises(handler.LatticeDnsError, match="AccessDenied: no; the Lambda's role needs"):
        delete()
    assert env.r53.calls.count("change_resource_record_sets") == 1
    assert env.r53.cname() == (DOMAIN, 60)


# -- resync ------------------------------------------------------------------------------------------------------------


def spec(**overrides: Any) -> dict[str, Any]:
    return {k: v for k, v in props(**overrides).items() if k != "ServiceToken"}


def test_resync_needs_records(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(handler.LatticeDnsError) as err:
        handler.resync({}, None)
    assert str(err.value) == (
        "no records to maintain: ship records.json or set RECORDS to a JSON list (or pass Records in the event)"
    )
    monkeypatch.setenv("RECORDS", "  ")
    with pytest.raises(handler.LatticeDnsError, match="no records to maintain"):
        handler.resync(None, None)  # type: ignore[arg-type]
    monkeypatch.setenv("RECORDS", "[{")
    with pytest.raises(handler.LatticeDnsError) as err:
        handler.resync({}, None)
    assert str(err.value).startswith("environment variable RECORDS is not valid JSON: ")


@pytest.mark.parametrize("records", [{"Hostname": HOST}, [HOST], [spec(), 3]])
def test_resync_records_must_be_a_list_of_objects(env: Env, records: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = "must be a JSON list of objects with ClusterName, Namespace, RouteName, Hostname, HostedZoneId"
    with pytest.raises(handler.LatticeDnsError) as err:
        handler.resync({"Records": records}, None)
    assert str(err.value) == f"event Records {shape}"
    monkeypatch.setenv("RECORDS", json.dumps(records))
    with pytest.raises(handler.LatticeDnsError) as err:
        handler.resync({}, None)
    assert str(err.value) == f"environment variable RECORDS {shape}"


def test_resync_reads_the_routes_it_ships_with_and_the_shared_values_from_the_environment(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As deployed: the routes in records.json (the code asset), the deploy-time values they share in
    RECORD_DEFAULTS, so the environment does not grow with the routes."""
    env.route()
    env.r53.put_ours()
    shared = ("ClusterName", "HostedZoneId")
    (tmp_path / "records.json").write_text(json.dumps([{k: v for k, v in spec().items() if k not in shared}]))
    monkeypatch.setattr(handler, "RECORDS_FILE", tmp_path / "records.json")
    monkeypatch.setenv("RECORD_DEFAULTS", json.dumps({k: spec()[k] for k in shared}))
    report = handler.resync({"detail-type": "Scheduled Event"}, None)
    assert report["Results"] == [{"Record": f"{HOST} <- {ROUTE_ID}", "Result": "unchanged", "Target": DOMAIN}]
    (tmp_path / "records.json").write_text("[{")
    with pytest.raises(handler.LatticeDnsError, match=r"^records.json is not valid JSON: "):
        handler.resync({}, None)


def test_resync_reads_records_from_the_environment(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.route()
    env.r53.put_ours()
    monkeypatch.setenv("RECORDS", json.dumps([spec()]))
    report = handler.resync({"detail-type": "Scheduled Event"}, None)
    assert report["Results"] == [{"Record": f"{HOST} <- {ROUTE_ID}", "Result": "unchanged", "Target": DOMAIN}]


def test_resync_outcomes(env: Env) -> None:
    env.route(NEW_DOMAIN)
    env.r53.put_ours(ttl=300)
    report = handler.resync({"Records": [spec()]}, None)
    assert report == {
        "Checked": 1,
        "Failed": 0,
        "Results": [{"Record": f"{HOST} <- {ROUTE_ID}", "Result": "repointed", "From": DOMAIN, "Target": NEW_DOMAIN}],
    }
    assert env.r53.cname() == (NEW_DOMAIN, 300)  # no Ttl in the record: the current TTL stays
    assert env.r53.marker() == Marker(owner=OWNER, route=ROUTE_ID, target=NEW_DOMAIN)  # the owner stays too

    # A TTL alone is the stack's business (its Update rewrites it), not the resync's.
    assert handler.resync({"Records": [spec(Ttl="30")]}, None)["Results"][0]["Result"] == "unchanged"
    assert env.r53.cname() == (NEW_DOMAIN, 300)
    env.route(DOMAIN)
    assert handler.resync({"Records": [spec(Ttl="30")]}, None)["Results"][0]["Result"] == "repointed"
    assert env.r53.cname() == (DOMAIN, 30)  # an explicit Ttl wins when the record is rewritten
    env.route(NEW_DOMAIN)

    env.r53.rrsets = [r for r in env.r53.rrsets if r["Type"] != "CNAME"]
    assert handler.resync({"Records": [spec()]}, None)["Results"][0] == {
        "Record": f"{HOST} <- {ROUTE_ID}",
        "Result": "restored",
        "Target": NEW_DOMAIN,
    }
    assert env.r53.cname() == (NEW_DOMAIN, 60)  # no CNAME to take the TTL from: the default


def test_resync_failures_are_collected_and_reported(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    other_route = "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/other"
    env.kube.objects[other_route] = TypeError("boom")
    records = [
        spec(),  # the route is missing
        spec(RouteName="other"),  # an unexpected error
        spec(Ttl="x"),  # invalid
    ]
    with pytest.raises(handler.ResyncError) as err:
        handler.resync({"Records": records}, None)
    assert str(err.value) == (
        f"3 of 3 record(s) failed: {HOST} <- {ROUTE_ID}: HTTPRoute not found on the cluster (GET {ROUTE_PATH} "
        f"answered 404); record left as is; {HOST} <- {CLUSTER}/{NS}/other: TypeError: boom; "
        f"{HOST} <- {ROUTE_ID}: Ttl 'x' is not a whole number"
    )
    assert env.kubes_made == [CLUSTER]  # one client per cluster
    unexpected = [r for r in caplog.records if r.exc_info]
    assert [r.getMessage() for r in unexpected] == [f"resync of {HOST} <- {CLUSTER}/{NS}/other"]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("no-annotation", f"HTTPRoute has no {ANNOTATION} annotation (is the controller running?); record left as is"),
        ("no-record", f"no record at {HOST}; the stack creates it on deploy, resync only maintains it"),
        ("other-route", f"left alone: {HOST} is claimed by another eks-lattice-gateway resource (owner {OWNER}, "),
        ("foreign", f"left alone: {HOST} already exists (CNAME elsewhere.example) and was not created"),
    ],
)
def test_resync_leaves_what_it_cannot_maintain(env: Env, setup: str, reason: str) -> None:
    env.route(None if setup == "no-annotation" else NEW_DOMAIN)
    if setup == "other-route":
        env.r53.put_ours(route="eks-demo/default/other")
    elif setup == "foreign":
        env.r53.put(HOST, "CNAME", "elsewhere.example")
    elif setup == "no-annotation":
        env.r53.put_ours()
    with pytest.raises(handler.ResyncError) as err:
        handler.resync({"Records": [spec()]}, None)
    assert str(err.value).startswith(f"1 of 1 record(s) failed: {HOST} <- {ROUTE_ID}: {reason}")
    assert env.r53.batches == []


def test_resync_one_failure_does_not_stop_the_others(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.route()
    env.r53.put_ours()
    caplog.set_level(logging.INFO, logger=handler.LOG.name)
    with pytest.raises(handler.ResyncError, match=r"^1 of 2 record\(s\) failed: "):
        handler.resync({"Records": [spec(ClusterName="bad name"), spec()]}, None)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("resync ")]
    assert json.loads(lines[1].removeprefix("resync ")) == {
        "Record": f"{HOST} <- {ROUTE_ID}",
        "Result": "unchanged",
        "Target": DOMAIN,
    }


# -- the invocation's time reaches every client ----------------------------------------------------------------------


def test_the_wait_passes_its_time_left_to_the_kubernetes_client(env: Env) -> None:
    env.route()
    handler.is_complete(event(), Context(60_000))
    assert [time_left() for time_left in env.kube_time_left] == [55.0]


def test_kube_client_gets_the_injected_sleep_and_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, dict[str, Any]]] = []

    def for_eks_cluster(cluster: str, **kwargs: Any) -> str:
        made.append((cluster, kwargs))
        return "kube"

    monkeypatch.setattr(handler.KubeClient, "for_eks_cluster", for_eks_cluster)
    clients = handler.Clients(route53=None, eks="eks", sts="sts")

    def time_left() -> float:
        return 42.0

    assert handler._kube(CLUSTER, clients, time_left) == "kube"
    assert made == [
        (CLUSTER, {"eks_client": "eks", "sts_client": "sts", "sleep": handler._sleep, "time_left": time_left})
    ]


def test_delete_with_too_little_time_left_tries_at_the_next_poll_then_fails_with_the_reason(env: Env) -> None:
    env.r53.put_ours()
    request = {**event("Delete", started=None)}
    merged = {**request, **handler.on_event(request, Context(10_000))}
    assert handler.is_complete(merged, Context(10_000)) == {"IsComplete": False}
    env.clock.now += DEFAULT_TIMEOUT_SECONDS
    with pytest.raises(handler.LatticeDnsError) as err:
        handler.is_complete(merged, Context(10_000))
    assert str(err.value) == (
        f"gave up after {DEFAULT_TIMEOUT_SECONDS} s of retries: "
        f"could not delete {HOST} (CNAME and its {MARKER} TXT) from hosted zone {ZONE}: route53 "
        f"list_resource_record_sets on zone {ZONE}: 5.0 s left of this invocation, too little for another call "
        "(up to 13 s). Fix the cause and retry; a record left behind would stop the zone's deletion"
    )
    assert env.r53.calls == []


def test_resync_spends_only_the_invocations_time(env: Env) -> None:
    env.route(NEW_DOMAIN)
    env.r53.put_ours()
    with pytest.raises(handler.ResyncError) as err:
        handler.resync({"Records": [spec()]}, Context(10_000))
    assert str(err.value) == (
        f"1 of 1 record(s) failed: {HOST} <- {ROUTE_ID}: route53 list_resource_record_sets on zone {ZONE}: 5.0 s "
        "left of this invocation, too little for another call (up to 13 s)"
    )
    assert [time_left() for time_left in env.kube_time_left] == [5.0]


def test_resync_of_an_event_that_is_not_an_object_uses_the_environment(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.route()
    env.r53.put_ours()
    monkeypatch.setenv("RECORDS", json.dumps([spec()]))
    assert handler.resync(["not", "an", "object"], None)["Checked"] == 1  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("resource", "path_part"), [(None, "/httproutes/"), ("grpcroutes", "/grpcroutes/"), ("tlsroutes", "/tlsroutes/")]
)
def test_each_route_kind_is_read_at_its_own_path(resource: str | None, path_part: str) -> None:
    """GRPC and TLS routes (issue 26) carry the same Lattice annotation; their records name their resource."""
    parsed = handler.Props.parse(props(**({"RouteResource": resource} if resource else {})))
    assert path_part in parsed.route_path and parsed.route_path.endswith("/" + parsed.route_name)


def test_an_unknown_route_resource_is_refused_naming_the_key() -> None:
    with pytest.raises(ValueError, match="RouteResource 'ingresses' is not one of httproutes, grpcroutes, tlsroutes"):
        handler.Props.parse(props(RouteResource="ingresses"))
