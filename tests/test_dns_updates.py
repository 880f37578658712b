"""The CloudFormation update sequence, replayed on the DNS records: an update that changes a hostname, removes
a route or adds one, then a destroy. The suite's two syntheses are the two versions (tests/conftest.py VARIANT
gives demo-http-route a new hostname and adds extra-route). Real handler code against moto and a fake
Kubernetes API; every Route 53 call is evaluated against the IAM policy in force at that step, old template's
then new's (tests/support/cfn_replay.py says what is modelled)."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from k8s_api import regional_sts_client
from lattice_dns import handler
from lattice_dns.records import Marker, Zone, marker_name
from moto import mock_aws
from moto.eks import models as moto_eks_models
from zone_sweep import handler as zone_sweep_handler

from config import AppConfig
from config.lattice_names import route_object_name, service_name_override
from tests.conftest import Synthesized
from tests.support.cfn_replay import MANAGED_POLICY, POLICY, RECORD, FakeController, Route53Guard, Stack, token_table
from tests.support.clock import FakeClock
from tests.support.fake_kube import FakeKubeApi, looks_like_eks_token
from tests.support.iam_policy import Decision, resolve, token_key

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
GATEWAY = "EksLatticeGateway-Gateway"
PLATFORM = "EksLatticeGateway-Platform"


@dataclass
class World:
    r53: Any
    zone_id: str
    guard: Route53Guard
    controller: FakeController
    clock: FakeClock
    cluster: str

    def stack(self, *templates: dict[str, Any]) -> Stack:
        table: dict[str, str] = {}
        for template in templates:
            table |= token_table(template, cluster=self.cluster, zone_id=self.zone_id)
        return Stack(guard=self.guard, controller=self.controller, table=table, clock=self.clock)

    def zone(self, zone_id: str | None = None) -> dict[str, dict[str, Any]]:
        """The zone's records other than its own SOA and NS, by name (type -> record set)."""
        found: dict[str, dict[str, Any]] = {}
        listed = self.r53.list_resource_record_sets(HostedZoneId=zone_id or self.zone_id)["ResourceRecordSets"]
        for rrset in listed:
            if rrset["Type"] not in ("SOA", "NS"):
                found.setdefault(rrset["Name"].rstrip("."), {})[rrset["Type"]] = rrset
        return found


@pytest.fixture(scope="module")
def session() -> boto3.session.Session:
    # One session: loading service models per test is the slow part; moto intercepts its clients per test.
    return boto3.session.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def world(synth: Synthesized, session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setattr(moto_eks_models, "validate_role_arn", lambda arn: None)  # not under test, and slow
    accept = functools.partial(looks_like_eks_token, region=REGION)
    with mock_aws(), FakeKubeApi(token="unused", accept_token=accept) as api:
        r53 = session.client("route53")
        zone = r53.create_hosted_zone(
            Name=synth.config.private_zone_name,
            CallerReference="dns-updates",
            HostedZoneConfig={"PrivateZone": True, "Comment": "replay"},
            VPC={"VPCRegion": REGION, "VPCId": "vpc-0123456789abcdef0"},
        )["HostedZone"]
        eks = session.client("eks")
        cluster = synth.config.cluster_name
        eks.create_cluster(name=cluster, roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks", resourcesVpcConfig={})
        backend = moto_eks_models.eks_backends[ACCOUNT][REGION].clusters[cluster]
        backend.endpoint, backend.certificate_authority = api.endpoint, {"data": api.ca_data}
        clients = handler.Clients(route53=r53, eks=eks, sts=regional_sts_client(session, REGION))
        clock = FakeClock(1_800_000_000.0)
        monkeypatch.setattr(handler, "_clients", lambda: clients)
        monkeypatch.setattr(handler, "_clock", clock)
        monkeypatch.setattr(handler, "_sleep", clock.sleep)
        yield World(
            r53=r53,
            zone_id=zone["Id"].rsplit("/", 1)[-1],
            guard=Route53Guard(r53),
            controller=FakeController(api=api, region=REGION),
            clock=clock,
            cluster=cluster,
        )


def records(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's DNS records by hostname."""
    found = [r["Properties"] for r in template["Resources"].values() if r["Type"] == RECORD]
    return {p["Hostname"]: p for p in found}


def assert_serves(world: World, template: dict[str, Any], zone_id: str | None = None) -> None:
    """The zone holds exactly this template's records, each a CNAME to the Lattice service whose custom domain is
    that hostname, and Lattice holds exactly one service per route: nothing stale, nothing missing."""
    hosts = set(records(template))
    zone = world.zone(zone_id)
    assert set(zone) == hosts | {marker_name(h) for h in hosts}, "stale or missing records"
    by_dns = {s.dns_name: s for s in world.controller.services.values()}
    for host in hosts:
        target = zone[host]["CNAME"]["ResourceRecords"][0]["Value"]
        assert target in by_dns, f"{host} points at {target}, which no Lattice service answers to"
        assert by_dns[target].custom_domain == host, f"{host} -> a service whose custom domain is another name"
    assert sorted(s.custom_domain for s in world.controller.services.values()) == sorted(hosts)


def assert_every_call_allowed(world: World) -> None:
    assert world.guard.calls, "no Route 53 call was evaluated"
    denied = [c for c in world.guard.calls if c.decision is not Decision.ALLOW]
    assert not denied, denied


def deleted_names(world: World) -> set[str]:
    names: set[str] = set()
    for call in world.guard.calls:
        context = call.request.context
        for action, name in zip(
            context.get("route53:ChangeResourceRecordSetsActions", []),
            context.get("route53:ChangeResourceRecordSetsNormalizedRecordNames", []),
            strict=True,
        ):
            if action == "DELETE":
                names.add(name)
    return names


def assert_destroy_empties_the_zone(world: World, stack: Stack, template: dict[str, Any]) -> None:
    stack.destroy(template)
    assert world.zone() == {}
    assert world.controller.services == {}
    world.r53.delete_hosted_zone(Id=world.zone_id)  # HostedZoneNotEmpty if anything was left behind


# -- the three updates ------------------------------------------------------------------------------------------------


def test_update_that_changes_a_hostname(world: World, synth: Synthesized, variant: Synthesized) -> None:
    old, new = synth.templates[GATEWAY], variant.templates[GATEWAY]
    stack = world.stack(old, new)
    stack.deploy(old)
    assert_serves(world, old)
    world.guard.calls.clear()

    stack.update(old, new)

    assert_serves(world, new)  # api2.example.com -> a new Lattice service with that custom domain
    assert {"api.example.com", marker_name("api.example.com")} <= deleted_names(world)  # in the cleanup
    assert_every_call_allowed(world)
    assert_destroy_empties_the_zone(world, stack, new)
    assert_every_call_allowed(world)


def test_update_that_removes_a_route(world: World, synth: Synthesized, variant: Synthesized) -> None:
    old, new = variant.templates[GATEWAY], synth.templates[GATEWAY]
    stack = world.stack(old, new)
    stack.deploy(old)
    world.guard.calls.clear()

    stack.update(old, new)

    assert_serves(world, new)
    assert {"extra.example.com", marker_name("extra.example.com")} <= deleted_names(world)
    assert_every_call_allowed(world)
    assert_destroy_empties_the_zone(world, stack, new)


def test_update_that_adds_a_route(world: World, synth: Synthesized, variant: Synthesized) -> None:
    old, new = synth.templates[GATEWAY], variant.templates[GATEWAY]
    stack = world.stack(old, new)
    stack.deploy(old)
    world.guard.calls.clear()

    stack.update(old, new)

    assert_serves(world, new)
    added = [c for c in world.guard.calls if "extra.example.com" in json.dumps(c.request.context)]
    assert added and all(c.decision is Decision.ALLOW for c in added)
    assert_every_call_allowed(world)


# -- a new private zone (privateZoneName) ------------------------------------------------------------------------------

NEW_ZONE = "corp.internal"


def zone_moved(template: dict[str, Any], config: AppConfig, zone_name: str) -> dict[str, Any]:
    """The gateway template as `-c privateZoneName=<zone_name>` with every hostname moved into that zone gives it:
    the hostnames, the names derived from them (each route's object name and service-name override carry a digest
    of the hostname, and so do the logical ids of its manifest and finalizer guard: new resources) and the DNS
    policy's record names. No third synth: the suite keeps to two."""
    text = json.dumps(template)
    for route in config.routes:
        moved = route.model_copy(update={"hostname": route.hostname.removesuffix(config.private_zone_name) + zone_name})
        for name in (route_object_name, service_name_override):
            before, after = name(route, config.cluster_name), name(moved, config.cluster_name)
            text = text.replace(before, after).replace(before.replace("-", ""), after.replace("-", ""))
    return dict(json.loads(text.replace(config.private_zone_name, zone_name)))


def zone_token(template: dict[str, Any]) -> Any:
    """The cross-stack value (the platform's PrivateZoneId output) the records read their zone from."""
    (token,) = {
        json.dumps(r["Properties"]["HostedZoneId"]) for r in template["Resources"].values() if r["Type"] == RECORD
    }
    return json.loads(token)


def new_private_zone(world: World, name: str) -> str:
    """What the platform stack's update does first: the replacement zone (its cleanup then deletes the old one)."""
    zone = world.r53.create_hosted_zone(
        Name=name,
        CallerReference=f"replacement-{name}",
        HostedZoneConfig={"PrivateZone": True, "Comment": "replay"},
        VPC={"VPCRegion": REGION, "VPCId": "vpc-0123456789abcdef0"},
    )["HostedZone"]
    return str(zone["Id"]).rsplit("/", 1)[-1]


def test_update_that_moves_the_zone_deletes_the_old_records(world: World, synth: Synthesized) -> None:
    """privateZoneName changed: the gateway's update writes the records in the new zone and its cleanup deletes
    the old records from the old zone, whose id the (updated) DNS policy no longer names. Here the old zone is
    still there, as it is when the platform's cleanup could not delete it (HostedZoneNotEmpty)."""
    old = synth.templates[GATEWAY]
    new = zone_moved(old, synth.config, NEW_ZONE)
    stack = world.stack(old, new)
    stack.deploy(old)
    assert_serves(world, old)
    new_zone = new_private_zone(world, NEW_ZONE)
    stack.table[token_key(zone_token(old))] = new_zone  # Fn::GetStackOutput now reads the new zone's id
    world.guard.calls.clear()

    stack.update(old, new)

    assert_serves(world, new, new_zone)
    assert {"api.example.com", marker_name("api.example.com")} <= deleted_names(world)  # in the cleanup
    assert_every_call_allowed(world)
    assert world.zone() == {}, "records left in the old zone: it cannot be deleted (HostedZoneNotEmpty)"
    world.r53.delete_hosted_zone(Id=world.zone_id)
    stack.destroy(new)
    assert world.zone(new_zone) == {}
    assert_every_call_allowed(world)


def test_a_new_zone_deploys_in_both_stacks_and_the_old_zone_goes(
    world: World, synth: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole `make deploy` of a new privateZoneName: the platform stack first (new zone; its cleanup sweeps the
    gateway's records out of the old zone, then deletes it), then the gateway stack (records in the new zone; the
    old records' Delete finds their zone gone). Every Route 53 call of both stacks' handlers under its policy."""
    monkeypatch.setattr(zone_sweep_handler, "_route53", lambda: world.r53)
    platform_old = synth.templates[PLATFORM]
    platform_new = json.loads(json.dumps(platform_old).replace(synth.config.private_zone_name, NEW_ZONE))
    old = synth.templates[GATEWAY]
    new = zone_moved(old, synth.config, NEW_ZONE)
    platform, gateway = world.stack(platform_old, platform_new), world.stack(old, new)
    platform.route53 = world.r53
    (zone_id,) = [lid for lid, r in platform_old["Resources"].items() if r["Type"] == "AWS::Route53::HostedZone"]
    platform.deploy(platform_old)
    old_zone = platform.physical[zone_id]
    gateway.table[token_key(zone_token(old))] = old_zone
    gateway.deploy(old)
    assert_serves(world, old, old_zone)
    world.guard.calls.clear()

    platform.update(platform_old, platform_new)
    new_zone = platform.physical[zone_id]
    assert f"delete {zone_id} {old_zone}" in platform.log  # the old zone is gone, not left behind
    gateway.table[token_key(zone_token(old))] = new_zone
    gateway.update(old, new)

    assert_serves(world, new, new_zone)
    assert_every_call_allowed(world)
    zones = {z["Id"].rsplit("/", 1)[-1] for z in world.r53.list_hosted_zones()["HostedZones"]}
    assert old_zone not in zones and new_zone in zones
    gateway.destroy(new)
    platform.destroy(platform_new)
    assert new_zone not in {z["Id"].rsplit("/", 1)[-1] for z in world.r53.list_hosted_zones()["HostedZones"]}
    assert_every_call_allowed(world)


def test_the_sweep_removes_only_the_gateway_stacks_records(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ours (marker owner in the gateway stack, CNAME where the marker says) go; another stack's, an unmarked
    record and a CNAME repointed by hand stay (the repointed one loses only our marker)."""
    monkeypatch.setattr(zone_sweep_handler, "_route53", lambda: world.r53)
    zone = Zone(world.r53, world.zone_id)
    for host, owner in (("a", GATEWAY), ("b", "OtherStack"), ("c", GATEWAY)):
        zone.upsert(f"{host}.example.com", "x.on.aws", 60, Marker(f"{owner}/Record", "c/ns/r", "x.on.aws"))
    zone.upsert("c.example.com", "x.on.aws", 60, Marker(f"{GATEWAY}/Record", "c/ns/r", "elsewhere.on.aws"))
    change = {"Name": "d.example.com", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x.on.aws"}]}
    world.r53.change_resource_record_sets(
        HostedZoneId=world.zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": change}]}
    )
    event = {"RequestType": "Delete", "PhysicalResourceId": f"zone-sweep:{world.zone_id}"}
    zone_sweep_handler.on_event({**event, "ResourceProperties": {"OwnerStack": GATEWAY}}, None)
    assert set(world.zone()) == {"b.example.com", marker_name("b.example.com"), "c.example.com", "d.example.com"}
    gone = {
        "RequestType": "Delete",
        "PhysicalResourceId": "zone-sweep:Z0GONE",
        "ResourceProperties": {"OwnerStack": "S"},
    }
    assert zone_sweep_handler.on_event(gone, None)  # a zone that went already: nothing to do
    assert zone_sweep_handler.on_event({**event, "PhysicalResourceId": "failed-create"}, None)


def test_a_zone_policy_updated_in_place_strands_the_old_records(world: World, synth: Synthesized) -> None:
    """What the replacement is for: a DNS policy that names the zone but is updated in place (its Description
    does not name the zone) already names only the new zone when the cleanup deletes the old records."""

    def in_place(template: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(template)
        for res in out["Resources"].values():
            if res["Type"] == MANAGED_POLICY and "Lattice DNS" in json.dumps(res["Properties"].get("Description")):
                res["Properties"]["Description"] = "Lattice DNS records"
        return out

    old = in_place(synth.templates[GATEWAY])
    new = in_place(zone_moved(synth.templates[GATEWAY], synth.config, NEW_ZONE))
    assert old != synth.templates[GATEWAY], "no zone-scoped DNS policy found"
    stack = world.stack(old, new)
    stack.deploy(old)
    stack.table[token_key(zone_token(old))] = new_private_zone(world, NEW_ZONE)
    with pytest.raises(handler.LatticeDnsError, match=r"could not delete api\.example\.com .*AccessDenied"):
        stack.update(old, new)
    assert "api.example.com" in world.zone()


# -- the replay catches the faults it exists for -----------------------------------------------------------------------


def config_scoped(template: dict[str, Any]) -> dict[str, Any]:
    """The template with the DNS policy as it was: changes allowed only to the current config's record names."""
    out = copy.deepcopy(template)
    names = sorted({n for h in records(template) for n in (h, marker_name(h))})
    for res in out["Resources"].values():
        for statement in (
            res["Properties"]["PolicyDocument"]["Statement"] if res["Type"] in (POLICY, MANAGED_POLICY) else []
        ):
            if statement["Action"] == "route53:ChangeResourceRecordSets":
                statement["Condition"] = {
                    "ForAllValues:StringEquals": {
                        "route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
                        "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME", "TXT"],
                    }
                }
    return out


def test_a_config_scoped_policy_strands_the_old_record(world: World, synth: Synthesized, variant: Synthesized) -> None:
    old, new = config_scoped(synth.templates[GATEWAY]), config_scoped(variant.templates[GATEWAY])
    stack = world.stack(old, new)
    stack.deploy(old)
    with pytest.raises(handler.LatticeDnsError, match=r"could not delete api\.example\.com .*AccessDenied"):
        stack.update(old, new)
    denied = [c for c in world.guard.calls if c.decision is not Decision.ALLOW]
    assert denied and denied[0].request.context["route53:ChangeResourceRecordSetsActions"] == ["DELETE", "DELETE"]
    assert "api.example.com" in world.zone()  # the orphan that made `cdk destroy` end in HostedZoneNotEmpty


def same_route_object(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`new`, but demo-http-route keeps its object and resource across the hostname change, as before the
    route names carried the hostname's digest."""

    def route(template: dict[str, Any]) -> tuple[str, str, str]:
        for lid, res in template["Resources"].items():
            text = json.dumps(res)
            if res["Type"] == "Custom::AWSCDK-EKS-KubernetesResource" and "HTTPRoute" in text and "demo-http" in text:
                manifest = resolve(res["Properties"]["Manifest"], {})  # Fn::Join when the IAMAuthPolicy names roles
                obj = next(o for o in json.loads(manifest) if o["kind"] == "HTTPRoute")
                override = next(iter(obj["metadata"]["annotations"].values()))
                return lid, override, obj["metadata"]["name"]
        raise AssertionError("no demo-http-route manifest")

    text = json.dumps(new)
    for before, after in zip(route(new), route(old), strict=True):
        text = text.replace(before, after)
    return dict(json.loads(text))


def test_a_route_object_kept_across_a_hostname_change_points_dns_at_the_old_domain(
    world: World, synth: Synthesized, variant: Synthesized
) -> None:
    old = synth.templates[GATEWAY]
    new = same_route_object(old, variant.templates[GATEWAY])
    stack = world.stack(old, new)
    stack.deploy(old)
    stack.update(old, new)
    with pytest.raises(AssertionError, match=r"api2\.example\.com -> a service whose custom domain is another name"):
        assert_serves(world, new)


def test_the_fake_controller_keeps_lattices_rules(world: World) -> None:
    """The replay is only as good as its Lattice: a domain is fixed at creation and unique in the service network."""
    api, controller = world.controller.api, world.controller

    def route(name: str, host: str) -> dict[str, Any]:
        return {"kind": "HTTPRoute", "metadata": {"name": name, "namespace": "default"}, "spec": {"hostnames": [host]}}

    def annotated(name: str) -> bool:
        obj = api.get_object(f"/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/{name}") or {}
        return "application-networking.k8s.aws/lattice-assigned-domain-name" in obj["metadata"].get("annotations", {})

    controller.apply(route("a", "one.example.com"))
    controller.apply(route("a", "two.example.com"))  # same object, new hostname
    assert [s.custom_domain for s in controller.services.values()] == ["one.example.com"]
    controller.apply(route("b", "one.example.com"))  # a second service for a domain in use
    assert annotated("a") and not annotated("b")
    controller.delete(route("a", "two.example.com"))
    assert annotated("b")
    assert [s.custom_domain for s in controller.services.values()] == ["one.example.com"]
