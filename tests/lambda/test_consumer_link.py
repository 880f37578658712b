"""The consumer-side custom resources (lambda/consumer_link) against moto, with two accounts.

The provider (111111111111) owns the private zone; the consumer (222222222222) owns its VPC. Each side's
clients carry credentials from an STS AssumeRole into its account, so moto keeps their state apart. moto
5.2.5 lacks Route 53's cross-account association (tests/support/route53_cross_account.py adds it to moto's own
responder, with the API's documented refusals). RAM invitations aren't in moto at all: the share-acceptance
tests use botocore's Stubber, which checks every request and response against RAM's service model.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber
from consumer_link import calls as link_calls
from consumer_link import handler
from consumer_link.handler import Clients, LinkError

from tests.support import route53_cross_account

PROVIDER, CONSUMER = "111111111111", "222222222222"
AUTHORIZER = f"arn:aws:iam::{PROVIDER}:role/EksLatticeGateway-Platform-ZoneAuthorizer"
NO_SLEEP: Callable[[float], None] = lambda _: None  # noqa: E731


def session(account: str, region: str) -> boto3.Session:
    creds = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="test"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )


class World:
    """The provider's zone (associated with its own VPC) and the consumer's VPC. Route 53 doesn't check
    that VPC ids exist (see the extension), so only the EC2 lookup tests create real moto VPCs."""

    def __init__(self, region: str, calls: list[tuple[str, str, str, str]]) -> None:
        self.region, self.calls = region, calls
        self.provider = session(PROVIDER, region)
        self.consumer = session(CONSUMER, region)
        self.provider_route53 = self.provider.client("route53")
        self.consumer_route53 = self.consumer.client("route53")
        self.zone = self.provider_route53.create_hosted_zone(
            Name="example.com",
            CallerReference="zone",
            HostedZoneConfig={"PrivateZone": True, "Comment": "provider"},
            VPC={"VPCRegion": region, "VPCId": "vpc-0aaaaaaaaaaaaaaa1"},
        )["HostedZone"]["Id"].rsplit("/", 1)[-1]
        self.vpc = "vpc-0bbbbbbbbbbbbbbb2"
        self.assumed: list[str] = []

    def clients(self, zone_owner: Callable[[str], Any] | None = None) -> Clients:
        def owner(role: str) -> Any:
            self.assumed.append(role)
            account = role.split(":")[4]
            return self.provider_route53 if account == PROVIDER else session(account, self.region).client("route53")

        return Clients(
            route53=self.consumer_route53,
            ram=None,
            ec2=self.consumer.client("ec2"),
            zone_owner=zone_owner or owner,
        )

    def event(self, request: str, physical: str | None = None, **props: str) -> dict[str, Any]:
        event: dict[str, Any] = {
            "RequestType": request,
            "ResourceType": "Custom::CrossAccountZoneAssociation",
            "ResourceProperties": {
                "ServiceToken": "arn:aws:lambda:...",
                "HostedZoneId": self.zone,
                "ZoneName": "example.com",
                "VpcId": self.vpc,
                "VpcRegion": self.region,
                "AuthorizerRoleArn": AUTHORIZER,
                **props,
            },
        }
        if physical is not None:
            event["PhysicalResourceId"] = physical
        return event

    def zones_of_consumer_vpc(self) -> list[str]:
        page = self.consumer_route53.list_hosted_zones_by_vpc(VPCId=self.vpc, VPCRegion=self.region)
        return [z["HostedZoneId"] for z in page["HostedZoneSummaries"]]

    def authorizations(self) -> list[dict[str, str]]:
        vpcs: list[dict[str, str]] = self.provider_route53.list_vpc_association_authorizations(HostedZoneId=self.zone)[
            "VPCs"
        ]
        return vpcs

    def run(self, event: dict[str, Any], clients: Clients | None = None) -> dict[str, Any]:
        return handler.on_event(event, None, clients=clients or self.clients(), sleep=NO_SLEEP)


@pytest.fixture
def world(mocked_aws: str, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(mocked_aws, route53_cross_account.install(monkeypatch))


def ops(world: World) -> list[tuple[str, str]]:
    return [(account, op) for account, op, _zone, _vpc in world.calls]


def test_the_extension_refuses_what_route53_refuses(world: World) -> None:
    """The fake's rules, checked once: without an authorization the consumer can't associate."""
    r53 = world.consumer_route53
    vpc = {"VPCId": world.vpc, "VPCRegion": world.region}
    with pytest.raises(r53.exceptions.ClientError, match="NotAuthorizedException"):
        r53.associate_vpc_with_hosted_zone(HostedZoneId=world.zone, VPC=vpc)
    with pytest.raises(r53.exceptions.ClientError, match="NoSuchHostedZone"):
        r53.create_vpc_association_authorization(HostedZoneId=world.zone, VPC=vpc)  # not the zone's owner


def test_create_authorizes_then_associates_then_removes_the_authorization(world: World) -> None:
    result = world.run(world.event("Create"))
    assert result["PhysicalResourceId"] == f"{world.zone}/{world.vpc}/{world.region}"
    assert ops(world) == [
        (PROVIDER, "CreateVPCAssociationAuthorization"),
        (CONSUMER, "AssociateVPCWithHostedZone"),
        (PROVIDER, "DeleteVPCAssociationAuthorization"),
    ]
    assert world.zones_of_consumer_vpc() == [world.zone]
    assert world.authorizations() == []
    assert world.assumed == [AUTHORIZER]


def test_rerun_and_update_are_idempotent(world: World) -> None:
    first = world.run(world.event("Create"))
    world.calls.clear()
    update = world.run(world.event("Update", physical=first["PhysicalResourceId"]))
    again = world.run(world.event("Create"))  # a re-run can't tell its own association from another's
    assert update == first
    assert again == {"PhysicalResourceId": first["PhysicalResourceId"] + "/adopted"}
    assert ops(world) == []  # already associated: no second authorization, no second association
    assert world.zones_of_consumer_vpc() == [world.zone]


def test_an_association_that_existed_before_is_adopted_and_left_alone_on_delete(world: World) -> None:
    """A `vpcId` consumer's VPC may already be associated with the zone (its owner did it, or another
    stack): Delete must not remove what this resource did not make, on Update neither."""
    vpc = {"VPCId": world.vpc, "VPCRegion": world.region}
    world.provider_route53.create_vpc_association_authorization(HostedZoneId=world.zone, VPC=vpc)
    world.consumer_route53.associate_vpc_with_hosted_zone(HostedZoneId=world.zone, VPC=vpc)
    world.calls.clear()
    physical = world.run(world.event("Create"))["PhysicalResourceId"]
    assert physical.endswith("/adopted")
    assert world.run(world.event("Update", physical=physical))["PhysicalResourceId"] == physical
    world.run(world.event("Delete", physical=physical))
    assert ops(world) == []
    assert world.zones_of_consumer_vpc() == [world.zone]


def test_delete_disassociates_in_reverse_and_never_fails_on_what_is_gone(world: World) -> None:
    physical = world.run(world.event("Create"))["PhysicalResourceId"]
    world.calls.clear()
    world.run(world.event("Delete", physical=physical))
    assert ops(world) == [
        (CONSUMER, "DisassociateVPCFromHostedZone"),
        (PROVIDER, "DeleteVPCAssociationAuthorization"),  # a leftover authorization, if any (none: tolerated)
    ]
    assert world.zones_of_consumer_vpc() == []
    world.calls.clear()
    world.run(world.event("Delete", physical=physical))  # again: VPCAssociationNotFound, not a failure
    assert ops(world)[0] == (CONSUMER, "DisassociateVPCFromHostedZone")


def test_delete_after_the_provider_is_gone_succeeds(world: World) -> None:
    physical = world.run(world.event("Create"))["PhysicalResourceId"]
    provider = world.provider_route53
    for vpc in provider.get_hosted_zone(Id=world.zone)["VPCs"]:
        if vpc["VPCId"] != world.vpc:
            provider.disassociate_vpc_from_hosted_zone(HostedZoneId=world.zone, VPC=vpc)
    # Now the consumer's VPC is the zone's last: Route 53 refuses to drop it (LastVPCAssociation).
    world.run(world.event("Delete", physical=physical))

    def role_gone(_: str) -> Any:
        raise PermissionError("AccessDenied: the provider's authorizer role no longer exists")

    provider.delete_hosted_zone(Id=world.zone)  # NoSuchHostedZone, and the role can't be assumed
    world.run(world.event("Delete", physical=physical), world.clients(zone_owner=role_gone))


def test_delete_of_a_resource_that_never_got_created_does_nothing(world: World) -> None:
    world.run(world.event("Delete", physical="2026/11/28/[$LATEST]abc"))  # the framework's id of a failed create
    assert world.calls == []


def test_create_fails_readably_when_the_zone_is_not_the_providers(world: World) -> None:
    wrong = f"arn:aws:iam::{CONSUMER}:role/not-the-zone-owner"
    with pytest.raises(LinkError, match=r"does not exist \(deploy the Platform stack first"):
        world.run(world.event("Create", AuthorizerRoleArn=wrong))
    assert world.zones_of_consumer_vpc() == []


def test_create_refuses_a_vpc_that_already_has_a_zone_of_the_same_name(world: World) -> None:
    world.consumer_route53.create_hosted_zone(
        Name="example.com",
        CallerReference="theirs",
        HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": world.region, "VPCId": world.vpc},
    )
    with pytest.raises(LinkError, match="already associated with another private zone of the same name"):
        world.run(world.event("Create"))
    assert ops(world) == []  # refused before anything was authorized
    assert world.authorizations() == []


class Faulty:
    """A client whose named operations are replaced; everything else is the real (moto) client's."""

    def __init__(self, client: Any, **overrides: Callable[..., Any]) -> None:
        self._client, self._overrides = client, overrides

    def __getattr__(self, name: str) -> Any:
        return self._overrides.get(name) or getattr(self._client, name)


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


def failing_once(operation: Callable[..., Any], error: Exception) -> Callable[..., Any]:
    failed: list[bool] = []

    def call(**params: Any) -> Any:
        if not failed:
            failed.append(True)
            raise error
        return operation(**params)

    return call


def never_authorized(**_: Any) -> Any:
    raise client_error("NotAuthorizedException", "AssociateVPCWithHostedZone")


def never_insync(**_: Any) -> Any:
    return {"ChangeInfo": {"Id": "/change/C1", "Status": "PENDING", "SubmittedAt": "2026-01-01T00:00:00Z"}}


def change_denied(**_: Any) -> Any:
    raise client_error("AccessDenied", "GetChange")


@pytest.mark.parametrize(
    ("consumer_faults", "owner_faults", "error"),
    [
        ({"associate_vpc_with_hosted_zone": never_authorized}, {}, "NotAuthorizedException"),
        ({"get_change": never_insync}, {}, "was not INSYNC"),
        ({"get_change": change_denied}, {}, "AccessDenied"),
        ({}, {"delete_vpc_association_authorization": "fails once"}, "Could not connect"),
    ],
    ids=["not-authorized-after-retries", "insync-timeout", "get-change-fails", "deauthorize-fails"],
)
def test_a_create_that_fails_partway_leaves_no_authorization_and_no_association(
    world: World, consumer_faults: dict[str, Any], owner_faults: dict[str, Any], error: str
) -> None:
    """The provider framework answers a failed Create's rollback Delete itself (CREATE_FAILED physical id),
    so the handler must undo its own steps before it reports the failure."""
    provider = world.provider_route53
    owner_overrides = {
        name: failing_once(getattr(provider, name), EndpointConnectionError(endpoint_url="https://route53"))
        for name in owner_faults
    }
    clients = dataclasses.replace(
        world.clients(zone_owner=lambda _: Faulty(provider, **owner_overrides)),
        route53=Faulty(world.consumer_route53, **consumer_faults),
    )
    with pytest.raises(Exception, match=error):
        world.run(world.event("Create"), clients)
    assert world.zones_of_consumer_vpc() == []
    assert world.authorizations() == []


def test_throttling_is_retried(world: World) -> None:
    clients = dataclasses.replace(world.clients(), route53=world.consumer.client("route53"))
    attempts: list[str] = []

    def throttle_once(**_: Any) -> Any:
        attempts.append("x")
        if len(attempts) == 1:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "Associate")
        return None

    clients.route53.meta.events.register("before-call.route53.AssociateVPCWithHostedZone", throttle_once)
    world.run(world.event("Create"), clients)
    assert len(attempts) == 2 and world.zones_of_consumer_vpc() == [world.zone]


def test_missing_properties_are_named(world: World) -> None:
    event = world.event("Create")
    del event["ResourceProperties"]["AuthorizerRoleArn"]
    with pytest.raises(LinkError, match=r"ResourceProperties\.AuthorizerRoleArn is required"):
        world.run(event)
    with pytest.raises(LinkError, match="unknown resource type"):
        world.run({**event, "ResourceType": "Custom::Other"})


def sts_client() -> tuple[Any, Stubber]:
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return sts, Stubber(sts)


CREDENTIALS = {
    "AccessKeyId": "ASIAPROVIDER00000000",
    "SecretAccessKey": "secret",
    "SessionToken": "token",
    "Expiration": datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC),
}


def test_the_zone_owners_role_is_retried_while_iam_propagates_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider's -ZoneAuthorizer (or its trust of this account) created moments ago: AssumeRole is
    AccessDenied until IAM has propagated it. Through the handler's own client factory."""
    sts, stub = sts_client()
    for _ in range(3):
        stub.add_client_error("assume_role", "AccessDenied", "not authorized to perform sts:AssumeRole", 403)
    stub.add_response(
        "assume_role",
        {"Credentials": CREDENTIALS},
        {"RoleArn": AUTHORIZER, "RoleSessionName": "eks-lattice-gateway-consumer-dns"},
    )
    real = boto3.client

    def client(service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("aws_access_key_id", "x")
        kwargs.setdefault("aws_secret_access_key", "x")
        return sts if service == "sts" else real(service, region_name="us-east-1", **kwargs)

    slept: list[float] = []
    monkeypatch.setattr(boto3, "client", client)
    monkeypatch.setattr(handler.time, "sleep", slept.append)
    with stub:
        owner = handler._clients().zone_owner(AUTHORIZER)
    stub.assert_no_pending_responses()
    assert owner.meta.service_model.service_name == "route53"
    assert slept == list(link_calls.ASSUME_RETRY_DELAYS_SECONDS[:3])


def test_a_role_that_stays_denied_fails_readably_after_a_bounded_time() -> None:
    sts, stub = sts_client()
    for _ in range(len(link_calls.ASSUME_RETRY_DELAYS_SECONDS) + 1):
        stub.add_client_error("assume_role", "AccessDenied", "not authorized", 403)
    slept: list[float] = []
    with stub, pytest.raises(LinkError, match=r"could not assume the provider's role .*deploy the provider's Platform"):
        link_calls._assume(sts, AUTHORIZER, slept.append)
    stub.assert_no_pending_responses()
    assert 30 <= sum(slept) <= 120


# ------------------------------------------------------------------------------------------ existing VPC


def vpc_event(request: str, vpc_id: str) -> dict[str, Any]:
    return {
        "RequestType": request,
        "ResourceType": "Custom::ExistingVpc",
        "PhysicalResourceId": vpc_id,
        "ResourceProperties": {"VpcId": vpc_id},
    }


def test_existing_vpc_lookup_returns_its_cidr_and_first_subnet_or_names_a_missing_or_dnsless_vpc(world: World) -> None:
    """One test: moto's EC2 backend takes seconds to start in each account."""
    ec2 = world.consumer.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    ec2.create_subnet(VpcId=vpc, CidrBlock="10.3.64.0/18", AvailabilityZone=f"{world.region}b")
    first = ec2.create_subnet(VpcId=vpc, CidrBlock="10.3.128.0/18", AvailabilityZone=f"{world.region}a")
    # A new VPC has DNS hostnames off (EC2's default): the provider's private zone would not resolve.
    with pytest.raises(LinkError, match=rf"VPC {vpc} \(consumers\[\]\.vpcId\) has enableDnsHostnames off"):
        world.run(vpc_event("Create", vpc))
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": False})
    with pytest.raises(LinkError, match="has enableDnsSupport and enableDnsHostnames off"):
        world.run(vpc_event("Create", vpc))
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    result = world.run(vpc_event("Create", vpc))
    assert result["Data"] == {"CidrBlock": "10.3.0.0/16", "SubnetId": first["Subnet"]["SubnetId"]}
    with pytest.raises(LinkError, match=r"vpc-0123456789abcdef0 does not exist .*consumers\[\]\.vpcId"):
        world.run(vpc_event("Create", "vpc-0123456789abcdef0"))
    assert world.run(vpc_event("Delete", "vpc-0123456789abcdef0"))["PhysicalResourceId"] == "vpc-0123456789abcdef0"


# ------------------------------------------------------------------------------------------- RAM share

SHARE = f"arn:aws:ram:us-east-1:{PROVIDER}:resource-share/0000-share"
INVITATION = f"arn:aws:ram:us-east-1:{PROVIDER}:resource-share-invitation/0000-inv"
NETWORK = f"arn:aws:vpc-lattice:us-east-1:{PROVIDER}:servicenetwork/sn-0123456789abcdef0"


def share_event(request: str) -> dict[str, Any]:
    return {
        "RequestType": request,
        "ResourceType": "Custom::LatticeShareAcceptance",
        "PhysicalResourceId": SHARE,
        "ResourceProperties": {"ResourceShareArn": SHARE, "ServiceNetworkArn": NETWORK},
    }


def invitation(status: str, arn: str = INVITATION) -> dict[str, Any]:
    return {"resourceShareInvitationArn": arn, "resourceShareArn": SHARE, "status": status}


def ram_clients() -> tuple[Clients, Stubber]:
    """A RAM client whose every call the Stubber answers (nothing leaves the process; no moto needed)."""
    ram = boto3.client("ram", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return Clients(route53=None, ram=ram, ec2=None, zone_owner=lambda _: None), Stubber(ram)


def run_share(event: dict[str, Any], clients: Clients, context: Any = None) -> dict[str, Any]:
    return handler.on_event(event, context, clients=clients, sleep=NO_SLEEP)


def shares(stub: Stubber, status: str | None) -> None:
    found = [{"resourceShareArn": SHARE, "status": status}] if status else []
    stub.add_response(
        "get_resource_shares",
        {"resourceShares": found},
        {"resourceOwner": "OTHER-ACCOUNTS", "resourceShareArns": [SHARE]},
    )


def listed(stub: Stubber, *arns: str) -> None:
    stub.add_response(
        "list_resources",
        {"resources": [{"arn": arn, "status": "AVAILABLE"} for arn in arns]},
        {"resourceOwner": "OTHER-ACCOUNTS", "resourceShareArns": [SHARE]},
    )


def test_share_acceptance_accepts_a_pending_invitation_then_waits_until_the_network_is_shared_here() -> None:
    """Accepting returns at once; RAM associates the share asynchronously, and the VPC association that
    depends on this resource fails until the share is ACTIVE and lists the network."""
    clients, stub = ram_clients()
    stub.add_response(
        "get_resource_share_invitations",
        {"resourceShareInvitations": [invitation("PENDING")]},
        {"resourceShareArns": [SHARE]},
    )
    stub.add_response(
        "accept_resource_share_invitation",
        {"resourceShareInvitation": invitation("ACCEPTED")},
        {"resourceShareInvitationArn": INVITATION},
    )
    shares(stub, "PENDING")
    shares(stub, "ACTIVE")
    listed(stub)  # active, but the network not associated yet
    shares(stub, "ACTIVE")
    listed(stub, NETWORK)
    with stub:
        result = run_share(share_event("Create"), clients)
    stub.assert_no_pending_responses()
    assert result == {"PhysicalResourceId": SHARE, "Data": {"Accepted": "invitation"}}


def test_share_acceptance_prefers_a_pending_invitation_over_an_old_accepted_one() -> None:
    """A principal removed from the share and added again has a new PENDING invitation beside its old one."""
    clients, stub = ram_clients()
    new = f"{INVITATION}-new"
    stub.add_response(
        "get_resource_share_invitations",
        {"resourceShareInvitations": [invitation("ACCEPTED"), invitation("PENDING", new)]},
    )
    stub.add_response(
        "accept_resource_share_invitation",
        {"resourceShareInvitation": invitation("ACCEPTED", new)},
        {"resourceShareInvitationArn": new},
    )
    shares(stub, "ACTIVE")
    listed(stub, NETWORK)
    with stub:
        assert run_share(share_event("Create"), clients)["Data"] == {"Accepted": "invitation"}
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("status", ["EXPIRED", "REJECTED"])
def test_share_acceptance_reports_an_expired_or_rejected_invitation(status: str) -> None:
    clients, stub = ram_clients()
    stub.add_response("get_resource_share_invitations", {"resourceShareInvitations": [invitation(status)]})
    shares(stub, None)
    with stub, pytest.raises(LinkError, match=rf"invitation to share .* is {status} .*must invite this account again"):
        run_share(share_event("Create"), clients)
    stub.assert_no_pending_responses()  # reported at once: no new invitation comes by waiting


def test_share_acceptance_is_idempotent_and_knows_organization_shares() -> None:
    clients, stub = ram_clients()
    stub.add_response("get_resource_share_invitations", {"resourceShareInvitations": [invitation("ACCEPTED")]})
    shares(stub, "ACTIVE")
    listed(stub, NETWORK)
    stub.add_response("get_resource_share_invitations", {"resourceShareInvitations": []})
    shares(stub, "ACTIVE")
    shares(stub, "ACTIVE")
    listed(stub, NETWORK)
    with stub:
        assert run_share(share_event("Update"), clients)["Data"] == {"Accepted": "earlier"}
        assert run_share(share_event("Create"), clients)["Data"] == {"Accepted": "organization"}
        assert run_share(share_event("Delete"), clients) == {"PhysicalResourceId": SHARE}  # no call
    stub.assert_no_pending_responses()


def test_share_acceptance_waits_then_fails_readably() -> None:
    clients, stub = ram_clients()
    for _ in range(len(link_calls.RETRY_DELAYS_SECONDS) + 1):
        stub.add_response("get_resource_share_invitations", {"resourceShareInvitations": []})
        shares(stub, None)
    with stub, pytest.raises(LinkError, match=r"deploy the provider \(Platform stack\) with this account"):
        run_share(share_event("Create"), clients)
    stub.assert_no_pending_responses()


class Invocation:
    """A Lambda context whose remaining time the (fake) sleeps use up."""

    def __init__(self, seconds: float) -> None:
        self.left, self.slept = seconds, 0.0

    def get_remaining_time_in_millis(self) -> int:
        return int(self.left * 1000)

    def sleep(self, seconds: float) -> None:
        self.left -= seconds
        self.slept += seconds


class SlowRam:
    """RAM whose accepted share never turns ACTIVE here."""

    def get_resource_share_invitations(self, **_: Any) -> dict[str, Any]:
        return {"resourceShareInvitations": [invitation("ACCEPTED")]}

    def get_resource_shares(self, **_: Any) -> dict[str, Any]:
        return {"resourceShares": [{"resourceShareArn": SHARE, "status": "PENDING"}]}


def test_share_acceptance_waits_no_longer_than_the_invocation_has_and_says_why() -> None:
    invocation = Invocation(seconds=60.0)
    clients = Clients(route53=None, ram=SlowRam(), ec2=None, zone_owner=lambda _: None)
    with pytest.raises(LinkError, match=r"was accepted but after \d+s it is PENDING here"):
        handler.on_event(share_event("Create"), invocation, clients=clients, sleep=invocation.sleep)
    assert 0 < invocation.slept <= 60.0 - link_calls.RESERVE_SECONDS  # time left to report the failure


def test_waiting_for_insync_leaves_the_invocation_time_to_undo_the_association(world: World) -> None:
    invocation = Invocation(seconds=60.0)
    clients = dataclasses.replace(world.clients(), route53=Faulty(world.consumer_route53, get_change=never_insync))
    with pytest.raises(LinkError, match=r"was not INSYNC after \d+s"):
        handler.on_event(world.event("Create"), invocation, clients=clients, sleep=invocation.sleep)
    assert invocation.left >= link_calls.RESERVE_SECONDS
    assert world.zones_of_consumer_vpc() == [] and world.authorizations() == []


# --------------------------------------------------------------------------------- physical-id declaration


class AcceptingRam:
    """RAM in which every share is accepted, ACTIVE here and lists the network (any share ARN asked for)."""

    def get_resource_share_invitations(self, **kwargs: Any) -> dict[str, Any]:
        arn = kwargs["resourceShareArns"][0]
        return {"resourceShareInvitations": [{**invitation("ACCEPTED"), "resourceShareArn": arn}]}

    def get_resource_shares(self, **kwargs: Any) -> dict[str, Any]:
        return {"resourceShares": [{"resourceShareArn": kwargs["resourceShareArns"][0], "status": "ACTIVE"}]}

    def list_resources(self, **_: Any) -> dict[str, Any]:
        return {"resources": [{"arn": NETWORK, "status": "AVAILABLE"}, {"arn": NETWORK + "2", "status": "AVAILABLE"}]}


def renaming(
    run: Callable[[dict[str, Any]], dict[str, Any]], kind: str, old: dict[str, str], others: dict[str, Any]
) -> set[str]:
    """The properties whose change alone gives an Update a new PhysicalResourceId, through the real on_event."""
    assert set(others) == set(old), "every property is tried"
    created = run({"RequestType": "Create", "ResourceType": kind, "ResourceProperties": old})["PhysicalResourceId"]
    found = set()
    for key, value in others.items():
        # a mapping: the key's new value with what must change along (a zone's id and its name)
        changed = value if isinstance(value, dict) else {key: value}
        event = {
            "RequestType": "Update",
            "ResourceType": kind,
            "PhysicalResourceId": created,
            "ResourceProperties": {**old, **changed},
            "OldResourceProperties": old,
        }
        if run(event)["PhysicalResourceId"] != created:
            found.add(key)
    return found


def test_physical_id_properties_declaration_matches_the_handler_for_each_type(world: World) -> None:
    """PHYSICAL_ID_PROPERTIES (read by tools/impact.py per resource type, issue 23.6) is exactly, for each of the
    three types, the set of properties whose change alone gives an Update a new PhysicalResourceId."""
    assert set(handler.PHYSICAL_ID_PROPERTIES) == {
        "Custom::LatticeShareAcceptance",
        "Custom::ExistingVpc",
        "Custom::CrossAccountZoneAssociation",
    }
    # Zone association: a second provider zone of another name, a second consumer VPC, another region.
    second_zone = world.provider_route53.create_hosted_zone(
        Name="example.org",
        CallerReference="zone-2",
        HostedZoneConfig={"PrivateZone": True, "Comment": "provider"},
        VPC={"VPCRegion": world.region, "VPCId": "vpc-0aaaaaaaaaaaaaaa1"},
    )["HostedZone"]["Id"].rsplit("/", 1)[-1]
    old = world.event("Create")["ResourceProperties"]
    others = {
        "ServiceToken": "arn:aws:lambda:us-east-1:222222222222:function:other",
        "HostedZoneId": {"HostedZoneId": second_zone, "ZoneName": "example.org"},
        "ZoneName": "example.net",
        "VpcId": "vpc-0ccccccccccccccc3",
        "VpcRegion": "us-west-2",
        "AuthorizerRoleArn": f"arn:aws:iam::{PROVIDER}:role/other-authorizer",
    }
    found = renaming(world.run, "Custom::CrossAccountZoneAssociation", old, others)
    assert found == set(handler.PHYSICAL_ID_PROPERTIES["Custom::CrossAccountZoneAssociation"])
    # Existing VPC lookup: two VPCs with DNS on.
    ec2 = world.consumer.client("ec2")
    vpcs = []
    for cidr in ("10.3.0.0/16", "10.4.0.0/16"):
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace("/16", "/20"))
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        vpcs.append(vpc)
    old = {"ServiceToken": "arn:aws:lambda:...", "VpcId": vpcs[0]}
    others = {"ServiceToken": "arn:aws:lambda:...:other", "VpcId": vpcs[1]}
    assert renaming(world.run, "Custom::ExistingVpc", old, others) == set(
        handler.PHYSICAL_ID_PROPERTIES["Custom::ExistingVpc"]
    )
    # Share acceptance.
    clients = Clients(route53=None, ram=AcceptingRam(), ec2=None, zone_owner=lambda _: None)
    old = {"ServiceToken": "arn:aws:lambda:...", "ResourceShareArn": SHARE, "ServiceNetworkArn": NETWORK}
    others = {
        "ServiceToken": "arn:aws:lambda:...:other",
        "ResourceShareArn": SHARE + "2",
        "ServiceNetworkArn": NETWORK + "2",
    }
    assert renaming(lambda e: run_share(e, clients), "Custom::LatticeShareAcceptance", old, others) == set(
        handler.PHYSICAL_ID_PROPERTIES["Custom::LatticeShareAcceptance"]
    )
