"""lattice_dns custom resource: real handler code against moto (Route 53, EKS, STS) and a local HTTPS fake API."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from k8s_api import regional_sts_client
from k8s_api.client import MIN_ATTEMPT_SECONDS
from lattice_dns import handler
from lattice_dns.props import DEFAULT_TIMEOUT_SECONDS
from lattice_dns.records import OUT_OF_TIME, DnsError, Marker, OwnershipError, Zone, marker_name
from lattice_dns.routes import ANNOTATION, CONTROLLER_NAMESPACE
from moto import mock_aws
from moto.eks import models as moto_eks_models

from tests.support.background import BackgroundServer
from tests.support.budget import LOADED_SLACK_SECONDS, SLOW_MARGIN_SECONDS, assert_within_budget
from tests.support.clock import ClockContext, RealTimeContext
from tests.support.clock import FakeClock as Clock
from tests.support.fake_kube import FakeKubeApi, RecordedRequest

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
CLUSTER = "eks-demo"
NS = "default"
ROUTE = "demo-http-route"
ROUTE_PATH = f"/apis/gateway.networking.k8s.io/v1/namespaces/{NS}/httproutes/{ROUTE}"
DEPLOYMENTS_PATH = f"/apis/apps/v1/namespaces/{CONTROLLER_NAMESPACE}/deployments"
HOST = "api.example.com"
DOMAIN = "demo-http-route-default-0a1b2c3d4e5f6a7b8.7d67968.vpc-lattice-svcs.ap-northeast-2.on.aws"
NEW_DOMAIN = "demo-http-route-default-0ffff0000ffff0000.7d67968.vpc-lattice-svcs.ap-northeast-2.on.aws"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/LatticeStack/4b1f2c30-0000-11f0-9000-0a1b2c3d4e5f"
OTHER_STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/OtherStack/5c2e3d40-0000-11f0-9000-0a1b2c3d4e5f"
OWNER = "LatticeStack/ApiDns"
CREATE_FAILED = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"


# -- local adapter over the shared fake API ---------------------------------------------------------------------------


def _is_eks_token(token: str) -> bool:
    """A presigned regional STS GetCallerIdentity URL with the signed cluster header, as k8s_api makes it."""
    if not token.startswith("k8s-aws-v1."):
        return False
    payload = token.removeprefix("k8s-aws-v1.")
    url = urlsplit(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode())
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    return (
        url.netloc == f"sts.{REGION}.amazonaws.com"
        and query.get("Action") == "GetCallerIdentity"
        and "x-k8s-aws-id" in query.get("X-Amz-SignedHeaders", "").split(";")
    )


class EksFakeKubeApi(FakeKubeApi):
    """The shared fake compares a fixed bearer token; real EKS tokens change per signing, so this adapter maps any
    well-formed EKS token to the fake's token before the fake's own check (set .token to something else for 401)."""

    def __init__(self) -> None:
        super().__init__(token="eks-token")
        self.eks_tokens = 0

    def _handle(self, req: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        auth = req.headers.get("authorization", "")
        if _is_eks_token(auth.removeprefix("Bearer ")):
            self.eks_tokens += 1
            req = dataclasses.replace(req, headers={**req.headers, "authorization": "Bearer eks-token"})
        return super()._handle(req)


# -- fixtures ---------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Env:
    api: EksFakeKubeApi
    r53: Any
    eks: Any
    zone_id: str
    clock: Clock
    changes: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # every ChangeResourceRecordSets batch
    counting: bool = True

    def props(self, **overrides: str) -> dict[str, str]:
        base = {
            "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:provider",
            "ClusterName": CLUSTER,
            "Namespace": NS,
            "RouteName": ROUTE,
            "Hostname": HOST,
            "HostedZoneId": self.zone_id,
            "TimeoutSeconds": "1200",
        }
        return {**base, **overrides}

    def records(self, name: str = HOST) -> dict[str, dict[str, Any]]:
        listed = self.r53.list_resource_record_sets(HostedZoneId=self.zone_id)["ResourceRecordSets"]
        return {r["Type"]: r for r in listed if r["Name"].rstrip(".") == name}

    def cname(self, name: str = HOST) -> tuple[str, int] | None:
        rrset = self.records(name).get("CNAME")
        return (rrset["ResourceRecords"][0]["Value"], rrset["TTL"]) if rrset else None

    def marker(self, name: str = HOST) -> Marker | None:
        rrset = self.records(marker_name(name)).get("TXT")
        return Marker.parse([r["Value"] for r in rrset["ResourceRecords"]]) if rrset else None

    def put_record(self, name: str, rtype: str, value: str, ttl: int = 300) -> None:
        """Someone else's edit: not counted as a change by the handler."""
        self.counting = False
        try:
            self.r53.change_resource_record_sets(
                HostedZoneId=self.zone_id,
                ChangeBatch={
                    "Changes": [
                        {
                            "Action": "UPSERT",
                            "ResourceRecordSet": {
                                "Name": name,
                                "Type": rtype,
                                "TTL": ttl,
                                "ResourceRecords": [{"Value": value}],
                            },
                        }
                    ]
                },
            )
        finally:
            self.counting = True

    def count_change(self, params: dict[str, Any], **_: Any) -> None:
        if self.counting:
            self.changes.append(params["ChangeBatch"])


@dataclasses.dataclass(frozen=True)
class Shared:
    session: boto3.session.Session
    eks: Any
    sts: Any


@pytest.fixture(scope="module")
def shared() -> Shared:
    # Built once: loading service models per test dominates the run time. moto intercepts clients created before
    # mock_aws starts, so these still talk to each test's fresh backend. Route 53 gets a client per test because
    # tests hook events on it.
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return Shared(session=session, eks=session.client("eks"), sts=regional_sts_client(session, REGION))


@pytest.fixture
def env(shared: Shared, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("RECORDS", raising=False)
    monkeypatch.setattr(handler, "RECORDS_FILE", Path("/nonexistent/records.json"))
    # moto validates the role ARN by building a new boto3 Session (~0.1 s each); that check is not under test.
    monkeypatch.setattr(moto_eks_models, "validate_role_arn", lambda arn: None)
    with mock_aws(), EksFakeKubeApi() as api:
        r53 = shared.session.client("route53")
        zone = r53.create_hosted_zone(
            Name="example.com",
            CallerReference="lattice-dns-test",
            HostedZoneConfig={"PrivateZone": True, "Comment": "test"},
            VPC={"VPCRegion": REGION, "VPCId": "vpc-0123456789abcdef0"},  # moto doesn't check it; EC2 is slow
        )["HostedZone"]
        eks = shared.eks
        eks.create_cluster(
            name=CLUSTER, roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks", resourcesVpcConfig={"subnetIds": []}
        )
        # moto's cluster gets the fake server's endpoint and CA, so DescribeCluster hands the handler a real TLS trust.
        cluster = moto_eks_models.eks_backends[ACCOUNT][REGION].clusters[CLUSTER]
        cluster.endpoint = api.endpoint
        cluster.certificate_authority = {"data": api.ca_data}

        clients = handler.Clients(route53=r53, eks=eks, sts=shared.sts)
        clock = Clock(1_800_000_000.0)
        monkeypatch.setattr(handler, "_clients", lambda: clients)
        monkeypatch.setattr(handler, "_clock", clock)
        monkeypatch.setattr(handler, "_sleep", clock.sleep)
        environment = Env(api=api, r53=r53, eks=eks, zone_id=zone["Id"].split("/")[-1], clock=clock)
        r53.meta.events.register("before-parameter-build.route53.ChangeResourceRecordSets", environment.count_change)
        yield environment


def route_obj(annotation: str | None = None, parents: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": ROUTE, "namespace": NS}
    if annotation:
        meta["annotations"] = {ANNOTATION: annotation}
    obj: dict[str, Any] = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": meta,
        "spec": {"parentRefs": [{"name": "demo-sn", "sectionName": "http"}], "hostnames": [HOST]},
    }
    if parents is not None:
        obj["status"] = {"parents": parents}
    return obj


def cfn_event(
    request: str,
    props: dict[str, str],
    *,
    old: dict[str, str] | None = None,
    physical: str | None = None,
    stack_id: str = STACK_ID,
    logical: str = "ApiDns",
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request,
        "ServiceToken": props.get("ServiceToken", ""),
        "ResponseURL": "https://cloudformation-custom-resource-response.example/",
        "StackId": stack_id,
        "RequestId": "req-1",
        "LogicalResourceId": logical,
        "ResourceType": "Custom::LatticeDns",
        "ResourceProperties": props,
    }
    if old is not None:
        event["OldResourceProperties"] = old
    if physical is not None:
        event["PhysicalResourceId"] = physical
    return event


def provide(env: Env, event: dict[str, Any], *, max_polls: int = 200) -> dict[str, Any]:
    """What the CDK provider framework does: onEvent, then isComplete every query interval, outputs merged."""
    out = handler.on_event(event, None)
    merged = {**event, **out}
    for _ in range(max_polls):
        result = handler.is_complete(merged, None)
        if result["IsComplete"]:
            return {
                "PhysicalResourceId": out["PhysicalResourceId"],
                "Data": {**out.get("Data", {}), **result.get("Data", {})},
            }
        env.clock.now += handler.QUERY_INTERVAL_SECONDS
    raise AssertionError("is_complete never finished")


def create(env: Env, **overrides: str) -> dict[str, Any]:
    return provide(env, cfn_event("Create", env.props(**overrides)))


# -- create -----------------------------------------------------------------------------------------------------------


def test_create_polls_until_annotated_then_upserts(env: Env) -> None:
    env.api.appear_after(ROUTE_PATH, route_obj(), gets=2)  # route missing for two polls

    def annotate(_path: str, obj: dict[str, Any], count: int) -> None:
        if count >= 5:  # the controller annotates later still
            obj["metadata"]["annotations"] = {ANNOTATION: DOMAIN}

    env.api.on_get(ROUTE_PATH, annotate)
    started = env.clock.now

    out = create(env)

    assert out["PhysicalResourceId"] == f"lattice-dns:{env.zone_id}:{HOST}"
    assert out["Data"]["LatticeDomainName"] == DOMAIN
    assert out["Data"]["Hostname"] == HOST
    assert env.api.get_count(ROUTE_PATH) == 5
    assert env.clock.now - started == 4 * handler.QUERY_INTERVAL_SECONDS
    assert env.cname() == (DOMAIN, 60)
    assert env.marker() == Marker(owner=OWNER, route=f"{CLUSTER}/{NS}/{ROUTE}", target=DOMAIN)
    assert len(env.changes) == 1
    # Authenticated with real EKS tokens (presigned STS), TLS verified against the CA from DescribeCluster.
    assert env.api.eks_tokens == len(env.api.requests) == 5


def test_create_with_ttl_and_zone_id_path(env: Env) -> None:
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))
    create(env, Ttl="300", HostedZoneId=f"/hostedzone/{env.zone_id}")
    assert env.cname() == (DOMAIN, 300)
    assert env.records(marker_name(HOST))["TXT"]["TTL"] == 300


def test_marker_sits_beside_cname_with_heritage(env: Env) -> None:
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))
    create(env)
    txt = env.records(f"_eks-lattice-gateway.{HOST}")["TXT"]["ResourceRecords"][0]["Value"]
    assert txt == f'"heritage=eks-lattice-gateway,owner={OWNER},route={CLUSTER}/{NS}/{ROUTE},target={DOMAIN}"'
    assert set(env.records()) == {"CNAME"}  # nothing else at the CNAME's own name


def test_transient_500_and_429_then_success(env: Env) -> None:
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))
    env.api.fail_next(ROUTE_PATH, 500, times=2)
    env.api.fail_next(ROUTE_PATH, 429, headers={"Retry-After": "1"})
    event = cfn_event("Create", env.props())
    merged = {**event, **handler.on_event(event, None)}
    result = handler.is_complete(merged, None)
    assert result["IsComplete"] is True
    assert len(env.api.requests_to(ROUTE_PATH)) == 4
    assert len(env.clock.slept) == 3  # the client's backoff went through the injected sleep
    assert env.cname() == (DOMAIN, 60)


def test_route53_throttling_is_retried(env: Env) -> None:
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))
    failures = iter(["Throttling", "PriorRequestNotComplete"])

    def throttle(**_: Any) -> None:
        code = next(failures, None)
        if code:
            raise ClientError({"Error": {"Code": code, "Message": "slow down"}}, "ChangeResourceRecordSets")

    env.r53.meta.events.register("before-call.route53.ChangeResourceRecordSets", throttle)
    create(env)
    assert env.cname() == (DOMAIN, 60)
    assert len(env.changes) == 3
    assert len(env.clock.slept) == 2


def test_route53_access_denied_is_explained(env: Env) -> None:
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))

    def deny(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "ChangeResourceRecordSets")

    env.r53.meta.events.register("before-call.route53.ChangeResourceRecordSets", deny)
    with pytest.raises(DnsError, match=r"needs route53:ChangeResourceRecordSets on arn:aws:route53:::hostedzone/"):
        create(env)


# -- ownership --------------------------------------------------------------------------------------------------------


def test_foreign_cname_refused_on_create(env: Env) -> None:
    env.put_record(HOST, "CNAME", "legacy.example.net")
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))
    with pytest.raises(
        OwnershipError, match=r"api\.example\.com already exists \(CNAME legacy\.example\.net\).*not created"
    ):
        handler.on_event(cfn_event("Create", env.props()), None)
    assert env.changes == []
    assert env.api.requests == []  # refused before any waiting
    assert env.cname() == ("legacy.example.net", 300)


def test_foreign_a_record_refused(env: Env) -> None:
    env.put_record(HOST, "A", "10.2.0.10")
    with pytest.raises(OwnershipError, match=r"already has records.*A 10\.2\.0\.10.*cannot coexist"):
        handler.on_event(cfn_event("Create", env.props()), None)


def test_foreign_txt_at_marker_name_refused(env: Env) -> None:
    env.put_record(marker_name(HOST), "TXT", '"v=something-else"')
    with pytest.raises(OwnershipError, match=r"ownership-marker name.*not written by eks-lattice-gateway"):
        handler.on_event(cfn_event("Create", env.props()), None)


def test_record_of_another_stack_refused(env: Env) -> None:
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))
    provide(env, cfn_event("Create", env.props(), stack_id=OTHER_STACK_ID))
    with pytest.raises(
        OwnershipError, match=r"claimed by another eks-lattice-gateway resource \(owner OtherStack/ApiDns"
    ):
        handler.on_event(cfn_event("Create", env.props()), None)


def test_foreign_record_appearing_during_wait_is_refused(env: Env) -> None:
    event = cfn_event("Create", env.props())
    merged = {**event, **handler.on_event(event, None)}
    assert handler.is_complete(merged, None) == {"IsComplete": False}
    env.put_record(HOST, "CNAME", "someone.example.net")
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))
    with pytest.raises(OwnershipError, match=r"refusing to point api\.example\.com at .*someone\.example\.net"):
        handler.is_complete(merged, None)
    assert env.changes == []


def test_same_stack_name_adopts_its_own_leftover(env: Env) -> None:
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))
    create(env)
    rebuilt = STACK_ID.replace("4b1f2c30", "99999999")  # same stack name, new incarnation
    out = provide(env, cfn_event("Create", env.props(), stack_id=rebuilt))
    assert out["Data"]["LatticeDomainName"] == DOMAIN
    assert len(env.changes) == 1  # already right: nothing rewritten


# -- update -----------------------------------------------------------------------------------------------------------


def _created(env: Env) -> dict[str, Any]:
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))
    out = create(env)
    env.changes.clear()
    return out


def test_noop_update_touches_nothing(env: Env) -> None:
    out = _created(env)
    old = env.props()
    event = cfn_event("Update", env.props(TimeoutSeconds="900"), old=old, physical=out["PhysicalResourceId"])
    result = provide(env, event)
    assert result["PhysicalResourceId"] == out["PhysicalResourceId"]
    assert result["Data"]["LatticeDomainName"] == DOMAIN
    assert env.changes == []
    assert env.cname() == (DOMAIN, 60)


def test_hostname_change_creates_new_then_deletes_old(env: Env) -> None:
    out = _created(env)
    old = env.props()
    new = env.props(Hostname="svc.example.com")
    result = provide(env, cfn_event("Update", new, old=old, physical=out["PhysicalResourceId"]))

    assert result["PhysicalResourceId"] == f"lattice-dns:{env.zone_id}:svc.example.com"
    assert env.cname("svc.example.com") == (DOMAIN, 60)
    assert env.cname(HOST) == (DOMAIN, 60)  # the old one lives until CloudFormation's cleanup

    # Physical id changed, so CloudFormation sends Delete for the old one once the update succeeded.
    deleted = provide(env, cfn_event("Delete", old, physical=out["PhysicalResourceId"]))
    assert deleted["PhysicalResourceId"] == out["PhysicalResourceId"]
    assert env.records(HOST) == {}
    assert env.records(marker_name(HOST)) == {}
    assert env.cname("svc.example.com") == (DOMAIN, 60)


def test_annotation_change_repoints(env: Env) -> None:
    out = _created(env)
    env.api.put_object(ROUTE_PATH, route_obj(NEW_DOMAIN))  # route recreated, new Lattice service
    old = env.props(RouteHash="aaa")
    event = cfn_event("Update", env.props(RouteHash="bbb"), old=old, physical=out["PhysicalResourceId"])
    result = provide(env, event)
    assert result["Data"]["LatticeDomainName"] == NEW_DOMAIN
    assert env.cname() == (NEW_DOMAIN, 60)
    marker = env.marker()
    assert marker is not None
    assert marker.target == NEW_DOMAIN
    assert len(env.changes) == 1
    assert [c["Action"] for c in env.changes[0]["Changes"]] == ["UPSERT", "UPSERT"]


def test_ttl_change_rewrites(env: Env) -> None:
    out = _created(env)
    provide(env, cfn_event("Update", env.props(Ttl="30"), old=env.props(), physical=out["PhysicalResourceId"]))
    assert env.cname() == (DOMAIN, 30)
    assert len(env.changes) == 1


def test_update_refuses_record_changed_by_someone_else(env: Env) -> None:
    out = _created(env)
    env.put_record(HOST, "CNAME", "hand-edited.example.net", ttl=60)
    event = cfn_event("Update", env.props(Ttl="30"), old=env.props(), physical=out["PhysicalResourceId"])
    with pytest.raises(OwnershipError, match=r"changed outside this stack: it points to hand-edited\.example\.net"):
        provide(env, event)
    assert env.changes == []


# -- delete -----------------------------------------------------------------------------------------------------------


def test_delete_removes_record_and_marker(env: Env) -> None:
    out = _created(env)
    env.api.clear_requests()
    event = cfn_event("Delete", env.props(), physical=out["PhysicalResourceId"])
    started = handler.on_event(event, None)
    assert started == {
        "PhysicalResourceId": out["PhysicalResourceId"],
        "Data": {"WaitStartedAt": f"{env.clock.now:.0f}"},
    }
    assert env.changes == []  # onEvent only starts the Delete; isComplete does it, as for Create
    assert handler.is_complete({**event, **started}, None) == {"IsComplete": True}
    assert env.records(HOST) == {}
    assert env.records(marker_name(HOST)) == {}
    assert [c["Action"] for c in env.changes[0]["Changes"]] == ["DELETE", "DELETE"]
    assert env.api.requests == []  # delete never needs the cluster


def test_delete_is_idempotent(env: Env) -> None:
    out = _created(env)
    event = cfn_event("Delete", env.props(), physical=out["PhysicalResourceId"])
    provide(env, event)
    provide(env, event)
    assert len(env.changes) == 1


def test_delete_after_failed_create_with_framework_marker(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_aws() -> handler.Clients:
        raise AssertionError("must not call AWS for a resource that was never created")

    monkeypatch.setattr(handler, "_clients", no_aws)
    for physical in (CREATE_FAILED, "req-1", ""):
        event = cfn_event("Delete", env.props(), physical=physical)
        assert handler.on_event(event, None) == {"PhysicalResourceId": physical}


def test_delete_after_failed_create_record_never_written(env: Env) -> None:
    event = cfn_event("Create", env.props(TimeoutSeconds="300"))
    out = handler.on_event(event, None)
    merged = {**event, **out}
    env.clock.now += 300
    with pytest.raises(handler.WaitTimeoutError):
        handler.is_complete(merged, None)
    provide(env, cfn_event("Delete", env.props(), physical=out["PhysicalResourceId"]))
    assert env.changes == []


def test_delete_when_cluster_and_zone_unreachable(env: Env) -> None:
    out = _created(env)
    env.api.stop()
    env.eks.delete_cluster(name=CLUSTER)
    provide(env, cfn_event("Delete", env.props(), physical=out["PhysicalResourceId"]))
    assert env.records(HOST) == {}
    # A zone that no longer exists took its records with it: nothing of ours is left.
    gone = f"lattice-dns:Z0000000000000000000:{HOST}"
    assert provide(env, cfn_event("Delete", env.props(), physical=gone))["PhysicalResourceId"] == gone


@pytest.mark.parametrize("operation", ["ChangeResourceRecordSets", "ListResourceRecordSets"])
def test_delete_that_cannot_remove_our_record_fails_with_the_reason(env: Env, operation: str) -> None:
    """Reported as a success, the record would be orphaned and the zone's deletion would fail much later."""
    out = _created(env)

    def deny(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, operation)

    env.r53.meta.events.register(f"before-call.route53.{operation}", deny)
    with pytest.raises(handler.LatticeDnsError) as exc:
        provide(env, cfn_event("Delete", env.props(), physical=out["PhysicalResourceId"]))
    message = str(exc.value)
    assert message.startswith(f"could not delete {HOST} (CNAME and its {marker_name(HOST)} TXT) from hosted zone")
    assert f"AccessDenied: not authorized; the Lambda's role needs route53:{operation}" in message
    env.r53.meta.events.unregister(f"before-call.route53.{operation}", deny)
    assert env.cname() == (DOMAIN, 60)  # still there, and CloudFormation says why


def test_delete_that_keeps_failing_to_match_fails(env: Env) -> None:
    out = _created(env)

    def conflict(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InvalidChangeBatch", "Message": "not found"}}, "ChangeRRSets")

    env.r53.meta.events.register("before-call.route53.ChangeResourceRecordSets", conflict)
    started = env.clock.now
    # A timeout of its own (not the default), so the deadline must come from the Delete's TimeoutSeconds; long
    # enough that the full DEADLINE_MARGIN_SECONDS applies (timeout // 4 > margin), short enough for few polls.
    timeout = 300
    assert timeout != DEFAULT_TIMEOUT_SECONDS and timeout // 4 > handler.DEADLINE_MARGIN_SECONDS
    delete = cfn_event("Delete", env.props(TimeoutSeconds=str(timeout)), physical=out["PhysicalResourceId"])
    with pytest.raises(
        handler.LatticeDnsError, match=r"^gave up after \d+ s of retries: could not delete .*InvalidChangeBatch"
    ):
        provide(env, delete)
    # Each poll tries DELETE_ATTEMPTS times; the polls go on until the deadline, which leaves the provider's
    # total timeout (TimeoutSeconds) room for this reason to reach CloudFormation.
    deadline = handler._deadline(started, timeout)
    assert deadline <= env.clock.now < deadline + handler.QUERY_INTERVAL_SECONDS
    assert env.clock.now < started + timeout
    assert len(env.changes) % handler.DELETE_ATTEMPTS == 0 and len(env.changes) > handler.DELETE_ATTEMPTS


def test_delete_retries_when_records_change_underneath(env: Env) -> None:
    out = _created(env)
    failures = iter(["InvalidChangeBatch"])

    def conflict(**_: Any) -> None:
        if next(failures, None):
            raise ClientError({"Error": {"Code": "InvalidChangeBatch", "Message": "not found"}}, "ChangeRRSets")

    env.r53.meta.events.register("before-call.route53.ChangeResourceRecordSets", conflict)
    provide(env, cfn_event("Delete", env.props(), physical=out["PhysicalResourceId"]))
    assert env.records(HOST) == {}
    assert len(env.changes) == 2


def test_delete_leaves_record_changed_by_someone_else(env: Env) -> None:
    out = _created(env)
    env.put_record(HOST, "CNAME", "hand-edited.example.net", ttl=60)
    provide(env, cfn_event("Delete", env.props(), physical=out["PhysicalResourceId"]))
    assert env.cname() == ("hand-edited.example.net", 60)
    assert env.records(marker_name(HOST)) == {}  # we gave up our claim, nothing else
    assert [c["Action"] for c in env.changes[0]["Changes"]] == ["DELETE"]


def test_delete_by_another_resource_leaves_record(env: Env) -> None:
    out = _created(env)
    event = cfn_event("Delete", env.props(), physical=out["PhysicalResourceId"], logical="SomethingElse")
    handler.on_event(event, None)
    assert env.cname() == (DOMAIN, 60)
    assert env.marker() is not None
    assert env.changes == []


def test_delete_foreign_record_with_our_physical_id(env: Env) -> None:
    env.put_record(HOST, "CNAME", "legacy.example.net")
    provide(env, cfn_event("Delete", env.props(), physical=f"lattice-dns:{env.zone_id}:{HOST}"))
    assert env.cname() == ("legacy.example.net", 300)
    assert env.changes == []


# -- timeouts and API errors ------------------------------------------------------------------------------------------


def _run_until_error(env: Env, props: dict[str, str]) -> tuple[str, float]:
    started = env.clock.now
    with pytest.raises(handler.WaitTimeoutError) as exc:
        provide(env, cfn_event("Create", props))
    return str(exc.value), env.clock.now - started


def test_timeout_route_missing(env: Env) -> None:
    message, elapsed = _run_until_error(env, env.props(TimeoutSeconds="300"))
    assert elapsed < 300  # our message beats the provider's total timeout
    assert "HTTPRoute default/demo-http-route on EKS cluster eks-demo" in message
    assert f"does not exist (GET {ROUTE_PATH} answered 404). Is the workload deployed?" in message
    assert "are the Gateway API CRDs installed?" in message
    assert env.changes == []


def test_timeout_route_missing_with_crds_served(env: Env) -> None:
    env.api.put_object(
        "/apis/gateway.networking.k8s.io/v1",
        {"kind": "APIResourceList", "resources": [{"name": "httproutes", "kind": "HTTPRoute"}]},
    )
    message, _ = _run_until_error(env, env.props(TimeoutSeconds="300"))
    assert "Is the workload deployed?" in message
    assert "CRDs" not in message


def test_timeout_annotation_missing_reports_controller_and_route_status(env: Env) -> None:
    parents = [
        {
            "parentRef": {"name": "demo-sn", "sectionName": "http"},
            "controllerName": "application-networking.k8s.aws/gateway-api-controller",
            "conditions": [
                {"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners", "message": "no listener"},
                {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"},
            ],
        }
    ]
    env.api.put_object(ROUTE_PATH, route_obj(parents=parents))
    env.api.put_object(
        DEPLOYMENTS_PATH,
        {
            "kind": "DeploymentList",
            "items": [
                {
                    "metadata": {"name": "gateway-api-controller"},
                    "spec": {"replicas": 2},
                    "status": {
                        "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}]
                    },
                }
            ],
        },
    )
    message, elapsed = _run_until_error(env, env.props(TimeoutSeconds="300"))
    assert 240 <= elapsed < 300
    assert f"exists but has no {ANNOTATION} annotation" in message
    assert "Is the controller running?" in message
    assert "Deployment gateway-api-controller 0/2 ready (Available=False: MinimumReplicasUnavailable" in message
    assert "parent demo-sn/http: Accepted=False (NotAllowedByListeners: no listener), ResolvedRefs=True" in message


def test_timeout_annotation_missing_without_status_or_permission(env: Env) -> None:
    env.api.put_object(ROUTE_PATH, route_obj())
    env.api.fail_next(DEPLOYMENTS_PATH, 403, times=100)
    message, _ = _run_until_error(env, env.props(TimeoutSeconds="300"))
    assert f"not permitted to list Deployments in {CONTROLLER_NAMESPACE}" in message
    assert "no parent status (no controller has processed the route" in message


def test_timeout_after_persistent_server_errors_names_the_error(env: Env) -> None:
    env.api.fail_next(ROUTE_PATH, 503, times=10_000, message="etcdserver: leader changed")
    message, _ = _run_until_error(env, env.props(TimeoutSeconds="300"))
    assert "the Kubernetes API could not be read. Last error:" in message
    assert "HTTP 503: etcdserver: leader changed" in message


def test_401_explains_access_entry_after_grace(env: Env) -> None:
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))
    env.api.token = "token-of-someone-else"  # every EKS token is now refused
    event = cfn_event("Create", env.props())
    merged = {**event, **handler.on_event(event, None)}
    assert handler.is_complete(merged, None) == {"IsComplete": False}  # a new access entry may still propagate
    env.clock.now += handler.AUTH_GRACE_SECONDS
    with pytest.raises(handler.LatticeDnsError) as exc:
        handler.is_complete(merged, None)
    message = str(exc.value)
    assert "cannot read HTTPRoute default/demo-http-route on EKS cluster eks-demo" in message
    assert "HTTP 401" in message
    assert "EKS access entry" in message
    assert env.changes == []


def test_403_explains_access_policy(env: Env) -> None:
    env.api.fail_next(ROUTE_PATH, 403, times=100, message='httproutes "demo-http-route" is forbidden')
    event = cfn_event("Create", env.props())
    merged = {**event, **handler.on_event(event, None)}
    env.clock.now += handler.AUTH_GRACE_SECONDS
    with pytest.raises(handler.LatticeDnsError) as exc:
        handler.is_complete(merged, None)
    message = str(exc.value)
    assert "forbidden (HTTP 403)" in message
    assert "access policy" in message
    assert 'httproutes "demo-http-route" is forbidden' in message


def test_missing_cluster_is_reported(env: Env) -> None:
    env.eks.delete_cluster(name=CLUSTER)
    event = cfn_event("Create", env.props())
    merged = {**event, **handler.on_event(event, None)}
    env.clock.now += handler.AUTH_GRACE_SECONDS
    with pytest.raises(handler.LatticeDnsError, match=r"eks:DescribeCluster for 'eks-demo' failed"):
        handler.is_complete(merged, None)


def test_invalid_annotation_is_refused(env: Env) -> None:
    env.api.put_object(ROUTE_PATH, route_obj("not a dns name"))
    with pytest.raises(handler.LatticeDnsError, match=r"not a DNS name"):
        create(env)
    assert env.changes == []


# -- properties -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"HostedZoneId": ""}, r"HostedZoneId is required"),
        ({"Namespace": "Bad_NS"}, r"Namespace 'Bad_NS' is not a Kubernetes namespace name"),
        ({"TimeoutSeconds": "soon"}, r"TimeoutSeconds 'soon' is not a whole number"),
        ({"TimeoutSeconds": "10"}, r"TimeoutSeconds 10 is outside 120\.\.7200"),
        ({"Ttl": "-1"}, r"Ttl -1 is outside"),
        ({"Hostname": "*.example.com"}, r"wildcard"),
    ],
)
def test_invalid_properties_name_the_key(env: Env, overrides: dict[str, str], expected: str) -> None:
    with pytest.raises(handler.LatticeDnsError, match=expected):
        handler.on_event(cfn_event("Create", env.props(**overrides)), None)


def test_hostname_outside_zone(env: Env) -> None:
    with pytest.raises(DnsError, match=r"api\.example\.org is not inside hosted zone example\.com"):
        handler.on_event(cfn_event("Create", env.props(Hostname="api.example.org")), None)


def test_deadline_leaves_room_before_provider_timeout() -> None:
    assert handler._deadline(1000.0, 1200) == 1000.0 + 1140
    assert handler._deadline(1000.0, 120) == 1000.0 + 90


def test_default_clients_use_lambda_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "_CACHED", None)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(handler.LatticeDnsError, match="AWS_REGION is not set"):
        handler._clients()
    monkeypatch.setenv("AWS_REGION", REGION)
    clients = handler._clients()
    assert clients.sts.meta.endpoint_url == f"https://sts.{REGION}.amazonaws.com"
    assert clients.eks.meta.region_name == REGION
    assert handler._clients() is clients


def test_physical_id_round_trip() -> None:
    assert handler.parse_physical_id("lattice-dns:Z123ABC:Api.Example.com") == ("Z123ABC", "api.example.com")
    for other in (CREATE_FAILED, "lattice-dns:z-bad:api.example.com", "lattice-dns:Z1", None):
        assert handler.parse_physical_id(other) is None


def test_marker_parses_split_strings() -> None:
    marker = Marker(owner="S" * 200 + "/R", route="c/ns/r", target="x.on.aws")
    value = marker.txt_value()
    assert value.count('"') == 4  # over 255 characters: two character-strings
    assert Marker.parse([value]) == marker
    assert Marker.parse(['"v=spf1 -all"']) is None


# -- resync -----------------------------------------------------------------------------------------------------------


def _spec(env: Env, hostname: str, route: str = ROUTE) -> dict[str, str]:
    return {
        "ClusterName": CLUSTER,
        "Namespace": NS,
        "RouteName": route,
        "Hostname": hostname,
        "HostedZoneId": env.zone_id,
    }


def test_resync_repoints_changed_annotation_and_leaves_foreign_alone(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _created(env)
    env.put_record("legacy.example.com", "CNAME", "legacy.example.net")
    env.api.put_object(ROUTE_PATH, route_obj(NEW_DOMAIN))  # route recreated outside a deploy
    records = [_spec(env, "legacy.example.com"), _spec(env, HOST)]
    monkeypatch.setenv("RECORDS", json.dumps(records))

    with pytest.raises(handler.ResyncError) as exc:
        handler.resync({"source": "aws.events"}, None)

    message = str(exc.value)
    assert message.startswith("1 of 2 record(s) failed: legacy.example.com <- eks-demo/default/demo-http-route")
    assert "left alone" in message
    assert env.cname() == (NEW_DOMAIN, 60)  # processed even though the first record failed
    marker = env.marker()
    assert marker is not None
    assert (marker.owner, marker.target) == (OWNER, NEW_DOMAIN)
    assert env.cname("legacy.example.com") == ("legacy.example.net", 300)
    assert len(env.changes) == 1


def test_resync_reports_unchanged_without_writing(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _created(env)
    monkeypatch.setenv("RECORDS", json.dumps([_spec(env, HOST)]))
    report = handler.resync({}, None)
    assert report["Checked"] == 1
    assert report["Failed"] == 0
    assert report["Results"][0]["Result"] == "unchanged"
    assert env.changes == []


def test_resync_restores_deleted_cname_but_not_unknown_names(env: Env) -> None:
    _created(env)
    rrset = env.records()["CNAME"]
    env.r53.change_resource_record_sets(
        HostedZoneId=env.zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "DELETE",
                    "ResourceRecordSet": {k: rrset[k] for k in ("Name", "Type", "TTL", "ResourceRecords")}
                    | {"Name": HOST},
                }
            ]
        },
    )
    env.changes.clear()
    with pytest.raises(handler.ResyncError, match=r"no record at other\.example\.com; the stack creates it on deploy"):
        handler.resync({"Records": [_spec(env, HOST), _spec(env, "other.example.com")]}, None)
    assert env.cname() == (DOMAIN, 60)
    assert env.records("other.example.com") == {}


def test_resync_route_problems_do_not_stop_others(env: Env) -> None:
    _created(env)
    env.api.put_object(ROUTE_PATH, route_obj(NEW_DOMAIN))
    specs = [_spec(env, "b.example.com", route="gone-route"), _spec(env, HOST)]
    with pytest.raises(handler.ResyncError, match=r"gone-route.*HTTPRoute not found"):
        handler.resync({"Records": specs}, None)
    assert env.cname() == (NEW_DOMAIN, 60)


def test_resync_needs_records(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(handler.LatticeDnsError, match=r"set RECORDS to a JSON list"):
        handler.resync({}, None)
    monkeypatch.setenv("RECORDS", "{not json")
    with pytest.raises(handler.LatticeDnsError, match=r"RECORDS is not valid JSON"):
        handler.resync({}, None)


# -- retry budgets: a slow answer means another poll or a clear failure, never a Lambda timeout ------------------------


class SilentServer(BackgroundServer):
    """Accepts HTTP requests and never answers them (until stopped): a Route 53 that has gone slow."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0
        self.release = threading.Event()

    def _make_server(self) -> ThreadingHTTPServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                outer.release.wait(10)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def stop(self) -> None:
        self.release.set()
        super().stop()


def test_slow_route53_ends_in_a_transient_error_within_the_time_left() -> None:
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
    with SilentServer() as server:
        client = session.client(
            "route53",
            endpoint_url=f"http://127.0.0.1:{server.port}",
            config=Config(connect_timeout=0.25, read_timeout=0.25, retries={"total_max_attempts": 1}),
        )
        budget = 1.5
        end = time.monotonic() + budget
        zone = Zone(
            client,
            "Z123",
            sleep=lambda _s: None,
            backoff=0.0,
            time_left=lambda: end - time.monotonic(),
            call_seconds=0.75,  # this client's most: 0.25 s connect + 0.25 s read, and botocore's own work
        )
        with pytest.raises(DnsError) as exc:
            zone.name()
        assert time.monotonic() < end  # stopped in time, not at the last call's timeout past it
    assert exc.value.code == OUT_OF_TIME
    assert exc.value.transient
    assert "too little for another call (up to 0.75 s); last error: ReadTimeoutError" in str(exc.value)
    assert server.requests >= 2  # retried while the time allowed


# A Kubernetes API slower than the invocation has left (SLOW_API_SECONDS an answer, SLOW_API_BUDGET seconds left for
# calls): the handler must hand its client the time it has left, else the client waits out the answer past the
# invocation (tests/lambda/test_kube_calls_bounded_by_time_left.py, the class test, names these two). The budget,
# which each test waits out in real time, affords one attempt (k8s_api's MIN_ATTEMPT_SECONDS) after the handler's
# setup (cached clients, moto's DescribeCluster: 15 ms measured; 0.3 s allowed); the answer comes seconds after the
# budget and its slack end, so a client that waits for it fails the bound by seconds. The timed part serves
# DescribeCluster from moto in-process and signs a token: LOADED_SLACK_SECONDS.
SLOW_API_BUDGET = MIN_ATTEMPT_SECONDS + 0.3
SLOW_API_SECONDS = SLOW_API_BUDGET + SLOW_MARGIN_SECONDS


def test_slow_kubernetes_api_means_another_poll_not_a_lambda_timeout(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = dataclasses.replace(handler._clients(), eks_call_seconds=0.5)  # moto answers DescribeCluster at once
    monkeypatch.setattr(handler, "_clients", lambda: fast)
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))
    env.api.delay_next(ROUTE_PATH, SLOW_API_SECONDS, times=5)
    event = cfn_event("Create", env.props())
    merged = {**event, **handler.on_event(event, None)}
    started = time.monotonic()
    context = RealTimeContext(handler.RESPONSE_RESERVE_SECONDS + SLOW_API_BUDGET)
    assert handler.is_complete(merged, context) == {"IsComplete": False}
    assert_within_budget(
        time.monotonic() - started, SLOW_API_BUDGET, slack=LOADED_SLACK_SECONDS
    )  # answered with its reserve still left
    assert env.api.requests_to(ROUTE_PATH), "never asked the API: the case tests nothing"
    assert env.changes == []


def test_slow_kubernetes_api_ends_a_resync_within_its_invocation(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _created(env)
    fast = dataclasses.replace(handler._clients(), eks_call_seconds=0.5)
    monkeypatch.setattr(handler, "_clients", lambda: fast)
    env.api.put_object(ROUTE_PATH, route_obj(NEW_DOMAIN))  # a repair it would make, given the time
    env.api.clear_requests()
    env.api.delay_next(ROUTE_PATH, SLOW_API_SECONDS, times=5)
    started = time.monotonic()
    context = RealTimeContext(handler.RESPONSE_RESERVE_SECONDS + SLOW_API_BUDGET)
    with pytest.raises(handler.ResyncError) as exc:
        handler.resync({"Records": [_spec(env, HOST)]}, context)
    assert_within_budget(time.monotonic() - started, SLOW_API_BUDGET, slack=LOADED_SLACK_SECONDS)
    assert re.search(r"1 of 1 record\(s\) failed: .*out of time", str(exc.value)), exc.value
    assert env.api.requests_to(ROUTE_PATH), "never asked the API: the case tests nothing"
    assert env.changes == []


def test_route53_busy_to_the_end_of_the_invocation_means_another_poll(env: Env) -> None:
    env.api.put_object(ROUTE_PATH, route_obj(DOMAIN))

    def throttle(**_: Any) -> None:
        env.clock.now += handler.ROUTE53_CALL_SECONDS  # each answer as slow as a call may be
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "ListResourceRecordSets")

    event = cfn_event("Create", env.props())
    merged = {**event, **handler.on_event(event, None)}
    env.r53.meta.events.register("before-call.route53.ListResourceRecordSets", throttle)
    reserve, eks, r53 = handler.RESPONSE_RESERVE_SECONDS, handler.EKS_CALL_SECONDS, handler.ROUTE53_CALL_SECONDS
    context = ClockContext(env.clock, reserve + eks + 3 * r53)
    assert handler.is_complete(merged, context) == {"IsComplete": False}
    assert context.get_remaining_time_in_millis() > 0
    env.r53.meta.events.unregister("before-call.route53.ListResourceRecordSets", throttle)
    assert handler.is_complete(merged, ClockContext(env.clock, 180))["IsComplete"] is True  # the next poll


def test_on_event_fails_clearly_when_route53_cannot_answer_in_time(env: Env) -> None:
    def throttle(**_: Any) -> None:
        env.clock.now += handler.ROUTE53_CALL_SECONDS  # each answer as slow as a call may be
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "GetHostedZone")

    env.r53.meta.events.register("before-call.route53.GetHostedZone", throttle)
    context = ClockContext(env.clock, 60)  # on_event's timeout
    with pytest.raises(DnsError, match=r"s left of this invocation, too little for another call.*Throttling"):
        handler.on_event(cfn_event("Create", env.props()), context)
    assert context.get_remaining_time_in_millis() >= handler.RESPONSE_RESERVE_SECONDS * 1000


def test_physical_id_properties_declaration_matches_the_handler(env: Env) -> None:
    """PHYSICAL_ID_PROPERTIES (read by tools/impact.py) is exactly the set of properties whose change alone gives
    an Update a new PhysicalResourceId, through the real on_event."""
    other_zone = env.r53.create_hosted_zone(
        Name="example.com",
        CallerReference="lattice-dns-test-2",
        HostedZoneConfig={"PrivateZone": True, "Comment": "second"},
        VPC={"VPCRegion": REGION, "VPCId": "vpc-0123456789abcdef1"},
    )["HostedZone"]["Id"].split("/")[-1]
    alternatives = {
        "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other",
        "ClusterName": "eks-other",
        "Namespace": "apps",
        "RouteName": "other-route",
        "Hostname": "api2.example.com",
        "HostedZoneId": other_zone,
        "TimeoutSeconds": "600",
        "Ttl": "30",
        "RouteSpecHash": "0123456789abcdef",  # what the construct adds so a changed route sends an Update
    }
    assert set(alternatives) == set(env.props()) | {"Ttl", "RouteSpecHash"}  # every property is tried
    old = env.props(Ttl="60", RouteSpecHash="fedcba9876543210")
    physical = handler.on_event(cfn_event("Create", old), None)["PhysicalResourceId"]
    renaming = {
        key
        for key, value in alternatives.items()
        if handler.on_event(cfn_event("Update", {**old, key: value}, old=old, physical=physical), None)[
            "PhysicalResourceId"
        ]
        != physical
    }
    assert renaming == set(handler.PHYSICAL_ID_PROPERTIES)


def test_timeout_after_an_unreachable_api_names_the_connection_failure(env: Env) -> None:
    """Class (reviewer c of dupes, item 1): a Kubernetes API that refuses every connection up to the deadline (its
    port closed) is named in the final error as what it was, with the last call's failure."""
    env.api.stop()
    message, _ = _run_until_error(env, env.props(TimeoutSeconds="300"))
    assert "the Kubernetes API could not be read. Last error:" in message, message
    assert "Connection refused" in message, message
