"""Consumer-account custom resources that link a consumer VPC to the provider's service network and zone.

One provider-framework on_event handler, three resource types (event["ResourceType"]):

- Custom::LatticeShareAcceptance  (ResourceShareArn, ServiceNetworkArn, OrganizationId?)
  Accepts this account's pending RAM invitation to the provider's service-network share (a PENDING one
  before an older ACCEPTED one; an EXPIRED or REJECTED one only is reported as such); with an organization
  share there is none and the share is already ACTIVE. A share that never shows up here is reported as not
  deployed yet, or, with OrganizationId (shareWithOrganization), as this account being outside that
  organization when Organizations says so (RAM shares such a share only inside it). Then waits, within the
  invocation's time, until the share is ACTIVE here and lists the service network: RAM associates
  asynchronously. Delete: nothing (the share is the provider's; removing it is the provider's destroy).
- Custom::ExistingVpc  (VpcId)
  Deploy-time lookup of a `vpcId` consumer's VPC: Data {CidrBlock, SubnetId} (the first subnet by AZ and id),
  so synth never needs credentials; refuses a VPC without enableDnsSupport and enableDnsHostnames, which
  private zones need. Delete: nothing.
- Custom::CrossAccountZoneAssociation  (HostedZoneId, ZoneName, VpcId, VpcRegion, AuthorizerRoleArn)
  Associates this account's VPC with the provider's private hosted zone, in the order Route 53 demands
  (after refusing a VPC that already holds another zone named ZoneName, before anything is authorized):
  1. the zone owner authorizes the VPC (CreateVPCAssociationAuthorization, through AuthorizerRoleArn, a
     provider role that may do only that and its undo);
  2. the VPC owner (this account) associates (AssociateVPCWithHostedZone) and waits for INSYNC;
  3. the authorization is deleted again (Route 53 recommends it; the association stays).
  Re-runs are idempotent: a VPC already associated with the zone (ListHostedZonesByVPC) skips 1-2; such an
  association that this resource did not make is adopted (physical id "<zone>/<vpc>/<region>/adopted") and
  left in place on Delete, since it may be another stack's or the VPC owner's. A step
  that fails undoes what this call made (the association, the authorization) before the Create fails: the
  provider framework answers a failed Create's rollback Delete itself, without calling this handler.
  Delete, in reverse, of what it made: disassociate, then remove any leftover authorization; nothing already gone (zone,
  VPC, association, the provider's role) fails it, nor does Route 53 refusing to drop a zone's last VPC.

Route 53 refuses: an association without an authorization from the zone owner (NotAuthorizedException, also
briefly after one is created: retried), a VPC already associated with another zone of the same name
(ConflictingDomainExists: reported with the fix), disassociating a zone's last VPC (LastVPCAssociation).

IAM (consumer side): sts:AssumeRole on AuthorizerRoleArn; route53:AssociateVPCWithHostedZone,
DisassociateVPCFromHostedZone (hosted zone ARN), route53:ListHostedZonesByVPC and route53:GetChange
(no resource-level permissions) with ec2:DescribeVpcs, which Route 53 requires for the VPC; ram:Get*, ram:ListResources
and ram:AcceptResourceShareInvitation; organizations:DescribeOrganization (this account's own organization);
ec2:DescribeVpcs/DescribeSubnets/DescribeVpcAttribute for Custom::ExistingVpc.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "PriorRequestNotComplete",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "RequestLimitExceeded",
        "ConcurrentModification",
    }
)
RETRY_DELAYS_SECONDS = (2.0, 4.0, 8.0, 15.0, 30.0)
# IAM propagates a new role and trust policy within seconds, rarely up to a minute.
ASSUME_RETRY_DELAYS_SECONDS = (2.0, 4.0, 8.0, 15.0, 15.0, 15.0)
# An authorization can take a moment to be visible to AssociateVPCWithHostedZone.
NOT_AUTHORIZED_RETRIES = 5
CHANGE_POLLS = 40  # x 5 s: Route 53 changes go INSYNC in well under a minute
CHANGE_POLL_SECONDS = 5.0
# RAM associates an accepted share asynchronously: poll up to 4 minutes, never past the invocation's end.
SHARE_POLLS = 48
SHARE_POLL_SECONDS = 5.0
RESERVE_SECONDS = 20.0  # left at the end of an invocation to report a readable failure
# Physical-id suffix of an association that existed before this resource: its Delete leaves it alone.
ADOPTED = "/adopted"
# Delete never fails on these: what it would remove is already gone (or can't go, and isn't ours to force).
GONE_ON_DELETE = frozenset(
    {
        "NoSuchHostedZone",
        "VPCAssociationNotFound",
        "InvalidVPCId",
        "LastVPCAssociation",
        "VPCAssociationAuthorizationNotFound",
    }
)


# Read by tools/impact.py (`make impact`), per resource type since one handler serves three: the properties whose
# change alone gives an Update a new PhysicalResourceId (CloudFormation then deletes the old one: a replacement).
# tests/lambda/test_consumer_link.py checks each against the real on_event.
PHYSICAL_ID_PROPERTIES: dict[str, tuple[str, ...]] = {
    "Custom::LatticeShareAcceptance": ("ResourceShareArn",),
    "Custom::ExistingVpc": ("VpcId",),
    "Custom::CrossAccountZoneAssociation": ("HostedZoneId", "VpcId", "VpcRegion"),
}


class LinkError(Exception):
    """A failure with a reason CloudFormation shows to the user."""


@dataclass(frozen=True, kw_only=True)
class Clients:
    """Clients in this (the consumer's) account, and a way to reach the zone owner's Route 53."""

    route53: Any
    ram: Any
    ec2: Any
    zone_owner: Callable[[str], Any]  # role ARN -> route53 client with that role's credentials
    organizations: Any = None  # this account's Organizations client (only the share's not-found message uses it)


def on_event(
    event: Mapping[str, Any],
    context: Any = None,
    *,
    clients: Clients | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    kind = str(event.get("ResourceType", ""))
    request = str(event["RequestType"])
    props = event.get("ResourceProperties") or {}
    handlers: dict[str, Callable[..., dict[str, Any]]] = {
        "Custom::LatticeShareAcceptance": _share,
        "Custom::ExistingVpc": _existing_vpc,
        "Custom::CrossAccountZoneAssociation": _zone_association,
    }
    if kind not in handlers:
        raise LinkError(f"unknown resource type {kind!r}; expected one of {', '.join(handlers)}")
    return handlers[kind](request, props, event, clients or _clients(), sleep=sleep, context=context)


# --------------------------------------------------------------------------------------------- RAM share


def _share(
    request: str, props: Mapping[str, Any], event: Mapping[str, Any], c: Clients, *, sleep: Any, context: Any
) -> dict[str, Any]:
    if request == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    arn = _required(props, "ResourceShareArn")
    try:
        accepted = _accept(c.ram, arn, sleep, context)
    except _NotSharedError as err:
        raise LinkError(_not_shared(str(err), str(props.get("OrganizationId") or ""), c, sleep)) from None
    # Accepting returns at once; RAM associates the share with this account asynchronously, and a
    # ServiceNetworkVpcAssociation before that fails. So wait until the share and its network are here.
    _wait_shared(c.ram, arn, str(props.get("ServiceNetworkArn") or ""), sleep, context)
    return {"PhysicalResourceId": arn, "Data": {"Accepted": accepted}}


def _accept(ram: Any, arn: str, sleep: Callable[[float], None], context: Any) -> str:
    for attempt, delay in enumerate((*RETRY_DELAYS_SECONDS, None), start=1):
        invitations = _pages(
            ram.get_resource_share_invitations, "resourceShareInvitations", sleep, resourceShareArns=[arn]
        )
        by_status: dict[str, list[dict[str, Any]]] = {}
        for invitation in invitations:
            by_status.setdefault(str(invitation.get("status")), []).append(invitation)
        # A share whose principal was removed and added again has an old invitation beside the new one.
        if by_status.get("PENDING"):
            invitation_arn = by_status["PENDING"][0]["resourceShareInvitationArn"]
            LOG.info("accepting RAM invitation %s", invitation_arn)
            _call(ram.accept_resource_share_invitation, sleep, resourceShareInvitationArn=invitation_arn)
            return "invitation"
        if by_status.get("ACCEPTED"):
            return "earlier"
        if _share_status(ram, arn, sleep) == "ACTIVE":
            return "organization"
        for status in ("EXPIRED", "REJECTED"):
            if by_status.get(status):
                raise LinkError(
                    f"the RAM invitation to share {arn} is {status} in this account (invitations expire after 7 "
                    "days): the provider must invite this account again (aws ram disassociate-resource-share, then "
                    "associate-resource-share, --principals <this account>), then deploy this stack again"
                )
        if delay is None or _seconds_left(context, delay) is False:
            break
        LOG.info("share %s not visible here yet (attempt %d); waiting %.0fs", arn, attempt, delay)
        sleep(delay)
    raise _NotSharedError(f"RAM share {arn} has no invitation for this account and is not active here")


class _NotSharedError(Exception):
    """The share never showed up in this account (why: _not_shared)."""


# What DescribeOrganization answers an account in no organization (botocore organizations 2016-11-28
# service-2.json, DescribeOrganization's errors, read 2026-12-05).
NOT_IN_ORGANIZATION = "AWSOrganizationsNotInUseException"


def _not_shared(what: str, organization: str, c: Clients, sleep: Callable[[float], None]) -> str:
    """The reason a share is missing. With shareWithOrganization, RAM shares only inside the organization
    (allowExternalPrincipals false), so an account outside it never gets an invitation: said when this
    account's own organization (DescribeOrganization, any member may call it) is another or none."""
    deploy = f"{what}: deploy the provider (Platform stack) with this account under `consumers` first"
    if not organization or c.organizations is None:
        return deploy
    try:
        mine = str(_call(c.organizations.describe_organization, sleep)["Organization"]["Id"])
    except Exception as err:
        if _code(err) != NOT_IN_ORGANIZATION:
            LOG.info("could not read this account's organization (%s): %s", _code(err) or type(err).__name__, err)
            return f"{deploy} (and check that this account is in organization {organization}: shareWithOrganization)"
        mine = "none"
    if mine == organization:
        return deploy
    return (
        f"{what}: this account is not in organization {organization} (its organization: {mine}), and with "
        "shareWithOrganization RAM shares the service network only inside it: move the account into the "
        "organization, or remove shareWithOrganization and deploy the provider again"
    )


def _wait_shared(ram: Any, arn: str, network: str, sleep: Callable[[float], None], context: Any) -> None:
    waited, status, resources = 0.0, None, {}
    for _ in range(SHARE_POLLS):
        status = _share_status(ram, arn, sleep)
        if status == "ACTIVE":
            if not network:
                return
            listed = _pages(
                ram.list_resources, "resources", sleep, resourceOwner="OTHER-ACCOUNTS", resourceShareArns=[arn]
            )
            resources = {str(r.get("arn")): str(r.get("status") or "AVAILABLE") for r in listed}
            if resources.get(network) == "AVAILABLE":
                return
        if _seconds_left(context, SHARE_POLL_SECONDS) is False:
            break
        sleep(SHARE_POLL_SECONDS)
        waited += SHARE_POLL_SECONDS
    what = (
        f"is {status or 'not listed'} here"
        if status != "ACTIVE"
        else f"holds {network}: {resources.get(network, 'no')}"
    )
    # Deploying again does not help: what is missing is on the provider's side of the share.
    why = (
        "the share is not active in this account"
        if status != "ACTIVE"
        else "RAM has not associated the service network with the share (refused, e.g. for the share's permission, "
        "or still pending)"
    )
    raise LinkError(
        f"RAM share {arn} was accepted but after {waited:.0f}s it {what}: {why}. In the provider account, "
        f"aws ram get-resource-share-associations --association-type RESOURCE --resource-share-arns {arn} "
        "shows each association's status and RAM's statusMessage (the provider's Platform stack waits for it too)"
    )


def _share_status(ram: Any, arn: str, sleep: Callable[[float], None]) -> str | None:
    shares = _call(ram.get_resource_shares, sleep, resourceOwner="OTHER-ACCOUNTS", resourceShareArns=[arn])
    statuses = [str(s.get("status")) for s in shares.get("resourceShares", [])]
    return "ACTIVE" if "ACTIVE" in statuses else (statuses[0] if statuses else None)


def _pages(operation: Callable[..., Any], key: str, sleep: Callable[[float], None], **params: Any) -> list[Any]:
    items: list[Any] = []
    while True:
        page = _call(operation, sleep, **params)
        items.extend(page.get(key, []))
        if not page.get("nextToken"):
            return items
        params["nextToken"] = page["nextToken"]


def _seconds_left(context: Any, needed: float) -> bool | None:
    """Whether the invocation has `needed` seconds left beyond a reserve for reporting; None: unknown."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return bool(remaining() / 1000.0 - RESERVE_SECONDS >= needed)


# ----------------------------------------------------------------------------------------- existing VPC


def _existing_vpc(
    request: str, props: Mapping[str, Any], event: Mapping[str, Any], c: Clients, *, sleep: Any, context: Any
) -> dict[str, Any]:
    if request == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    vpc_id = _required(props, "VpcId")
    try:
        described = _call(c.ec2.describe_vpcs, sleep, VpcIds=[vpc_id])
        # Any falsy default for a missing list is refused below the same way as an empty one.
        vpcs = described.get("Vpcs", [])  # pragma: no mutate -- equivalent: see above
    except Exception as err:
        if _code(err) in {"InvalidVpcID.NotFound", "InvalidVpcID.Malformed"}:
            raise LinkError(f"VPC {vpc_id} does not exist in this account and region (consumers[].vpcId)") from None
        raise
    if not vpcs:
        raise LinkError(f"VPC {vpc_id} does not exist in this account and region (consumers[].vpcId)")
    # Private hosted zones resolve in a VPC only with both on (Route 53 private zone requirements).
    off = [
        attribute
        for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames"))
        if not _call(c.ec2.describe_vpc_attribute, sleep, VpcId=vpc_id, Attribute=attribute)[key]["Value"]
    ]
    if off:
        raise LinkError(
            f"VPC {vpc_id} (consumers[].vpcId) has {' and '.join(off)} off; the provider's private zone resolves "
            f"only with both on: aws ec2 modify-vpc-attribute --vpc-id {vpc_id} --enable-dns-support / "
            "--enable-dns-hostnames (one attribute per call)"
        )
    described = _call(c.ec2.describe_subnets, sleep, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    # Any falsy default for a missing list is refused below the same way as an empty one.
    subnets = described.get("Subnets", [])  # pragma: no mutate -- equivalent: see above
    if not subnets:
        raise LinkError(f"VPC {vpc_id} has no subnets; the smoke test and test host need one")
    # EC2 always returns a subnet's (lower-case) AvailabilityZone: the default is never compared.
    first = min(
        subnets,
        key=lambda s: (s.get("AvailabilityZone", ""), s["SubnetId"]),  # pragma: no mutate -- equivalent: see above
    )
    return {
        "PhysicalResourceId": vpc_id,
        "Data": {"CidrBlock": vpcs[0]["CidrBlock"], "SubnetId": first["SubnetId"]},
    }


# ------------------------------------------------------------------------------- private zone association


def _zone_association(
    request: str, props: Mapping[str, Any], event: Mapping[str, Any], c: Clients, *, sleep: Any, context: Any
) -> dict[str, Any]:
    if request == "Delete":
        _disassociate(event, props, c, sleep)
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    zone = _zone_id(_required(props, "HostedZoneId"))
    vpc = {"VPCId": _required(props, "VpcId"), "VPCRegion": _required(props, "VpcRegion")}
    role = _required(props, "AuthorizerRoleArn")
    physical = f"{zone}/{vpc['VPCId']}/{vpc['VPCRegion']}"
    zones = _zones_of(c.route53, vpc, sleep)
    if zone in zones:
        # The same association as before (an Update): keep its id, and with it who made it.
        # No default for a missing id could equal `physical`: any one means "not this association".
        previous = str(event.get("PhysicalResourceId") or "")  # pragma: no mutate -- equivalent: see above
        if request == "Update" and previous in {physical, physical + ADOPTED}:
            return {"PhysicalResourceId": previous}
        # Someone else's association (an existing `vpcId` VPC's owner): used, and left alone on Delete.
        LOG.info("VPC %s is already associated with zone %s; adopted, not to be undone", vpc["VPCId"], zone)
        return {"PhysicalResourceId": physical + ADOPTED}
    # Checked before anything is authorized: Route 53 refuses a second zone of the same name on one VPC.
    name = _zone_name(str(props.get("ZoneName") or ""))
    if name and name in zones.values():
        raise _conflict(vpc, zone)
    owner = c.zone_owner(role)
    try:
        _call(owner.create_vpc_association_authorization, sleep, HostedZoneId=zone, VPC=vpc)
    except Exception as err:
        if _code(err) == "NoSuchHostedZone":
            raise LinkError(
                f"the provider's private zone {zone} does not exist (deploy the Platform stack first)"
            ) from None
        raise
    LOG.info("zone owner authorized VPC %s on zone %s", vpc["VPCId"], zone)
    # A failed Create gets the provider framework's CREATE_FAILED physical id, whose Delete never reaches
    # this handler: whatever this call made is undone here, before the failure is reported.
    associated = False  # pragma: no mutate -- equivalent: only its truth is read
    try:
        change = _associate(c.route53, zone, vpc, sleep)
        associated = True
        _wait_insync(c.route53, change, sleep, context)
        _deauthorize(owner, zone, vpc, sleep)
    except Exception:
        _undo_create(c.route53, owner, zone, vpc, sleep, associated=associated)
        raise
    return {"PhysicalResourceId": physical}


def _undo_create(
    route53: Any, owner: Any, zone: str, vpc: dict[str, str], sleep: Callable[[float], None], *, associated: bool
) -> None:
    """Best effort: the original failure is what CloudFormation must show."""
    steps: list[tuple[str, Callable[[], None]]] = []
    if associated:
        disassociate = route53.disassociate_vpc_from_hosted_zone
        steps.append(("disassociate", lambda: _call(disassociate, sleep, HostedZoneId=zone, VPC=vpc)))
    steps.append(("deauthorize", lambda: _deauthorize(owner, zone, vpc, sleep)))
    for what, step in steps:
        try:
            step()
            LOG.info("failed create: %s of VPC %s on zone %s undone", what, vpc["VPCId"], zone)
        except Exception as err:
            if _code(err) not in GONE_ON_DELETE:
                LOG.error("failed create: could not %s VPC %s on zone %s: %s", what, vpc["VPCId"], zone, err)


def _conflict(vpc: dict[str, str], zone: str) -> LinkError:
    return LinkError(
        f"VPC {vpc['VPCId']} is already associated with another private zone of the same name as "
        f"{zone}; disassociate that zone from the VPC (or use another consumer VPC)"
    )


def _associate(route53: Any, zone: str, vpc: dict[str, str], sleep: Callable[[float], None]) -> str:
    comment = "eks-lattice-gateway consumer"
    # A longer range would change nothing: the attempt past NOT_AUTHORIZED_RETRIES raises.
    for attempt in range(1, NOT_AUTHORIZED_RETRIES + 2):  # pragma: no mutate -- equivalent: see above
        try:
            response = _call(route53.associate_vpc_with_hosted_zone, sleep, HostedZoneId=zone, VPC=vpc, Comment=comment)
            return str(response["ChangeInfo"]["Id"])
        except Exception as err:
            code = _code(err)
            if code == "ConflictingDomainExists":
                raise _conflict(vpc, zone) from None
            if code != "NotAuthorizedException" or attempt > NOT_AUTHORIZED_RETRIES:
                raise
            LOG.info("association not authorized yet (attempt %d); retrying", attempt)
            sleep(RETRY_DELAYS_SECONDS[min(attempt, len(RETRY_DELAYS_SECONDS)) - 1])
    raise AssertionError("unreachable")  # pragma: no mutate -- unreachable: the last attempt returns or raises


def _wait_insync(route53: Any, change_id: str, sleep: Callable[[float], None], context: Any) -> None:
    waited = 0.0
    for _ in range(CHANGE_POLLS):
        status = _call(route53.get_change, sleep, Id=change_id)["ChangeInfo"]["Status"]
        if status == "INSYNC":
            return
        # Stop while the invocation still has time to undo the association (a timed-out Lambda can't).
        if _seconds_left(context, CHANGE_POLL_SECONDS) is False:
            break
        sleep(CHANGE_POLL_SECONDS)
        waited += CHANGE_POLL_SECONDS
    raise LinkError(f"Route 53 change {change_id} was not INSYNC after {waited:.0f}s")


def _zones_of(route53: Any, vpc: dict[str, str], sleep: Callable[[float], None]) -> dict[str, str]:
    """Private zones (any account's) associated with the VPC: zone id -> zone name."""
    zones: dict[str, str] = {}
    token: str | None = None  # pragma: no mutate -- equivalent: only its truth is read before it is set
    while True:
        params: dict[str, Any] = {"VPCId": vpc["VPCId"], "VPCRegion": vpc["VPCRegion"]}
        if token:
            params["NextToken"] = token
        page = _call(route53.list_hosted_zones_by_vpc, sleep, **params)
        for summary in page.get("HostedZoneSummaries", []):
            zones[_zone_id(summary["HostedZoneId"])] = _zone_name(str(summary.get("Name", "")))
        token = page.get("NextToken")
        if not token:
            return zones


def _zone_name(name: str) -> str:
    return name.rstrip(".").lower()


def _deauthorize(owner: Any, zone: str, vpc: dict[str, str], sleep: Callable[[float], None]) -> None:
    try:
        _call(owner.delete_vpc_association_authorization, sleep, HostedZoneId=zone, VPC=vpc)
    except Exception as err:
        if _code(err) not in GONE_ON_DELETE:
            raise


def _disassociate(event: Mapping[str, Any], props: Mapping[str, Any], c: Clients, sleep: Any) -> None:
    # Any default for a missing id splits into one part: not an association this resource made.
    parts = str(event.get("PhysicalResourceId", "")).split("/")  # pragma: no mutate -- equivalent: see above
    if len(parts) != 3 or not parts[1].startswith("vpc-"):  # also "<zone>/<vpc>/<region>/adopted"
        LOG.info("physical id %r is not an association this resource made; nothing to undo", parts)
        return
    zone, vpc = parts[0], {"VPCId": parts[1], "VPCRegion": parts[2]}
    try:
        _call(c.route53.disassociate_vpc_from_hosted_zone, sleep, HostedZoneId=zone, VPC=vpc)
        LOG.info("disassociated VPC %s from zone %s", vpc["VPCId"], zone)
    except Exception as err:
        if _code(err) not in GONE_ON_DELETE:
            raise
        LOG.info("nothing to disassociate (%s): %s", _code(err), err)
    # A leftover authorization (an earlier create that stopped half-way) goes too; the provider's role or
    # zone may already be gone, which is fine: then so is the authorization.
    role = str(props.get("AuthorizerRoleArn") or "")
    if role:
        try:
            _deauthorize(c.zone_owner(role), zone, vpc, sleep)
        except Exception as err:
            LOG.info("could not remove a leftover authorization (%s): %s", _code(err) or type(err).__name__, err)


# ------------------------------------------------------------------------------------------------ helpers


def _required(props: Mapping[str, Any], key: str) -> str:
    value = str(props.get(key) or "")
    if not value:
        raise LinkError(f"ResourceProperties.{key} is required")
    return value


def _zone_id(value: str) -> str:
    # "/hostedzone/Z123" -> "Z123"
    return value.rsplit("/", 1)[-1]  # pragma: no mutate -- equivalent: any maxsplit, same last part


def _code(err: Exception) -> str | None:
    response = getattr(err, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _call(operation: Callable[..., Any], sleep: Callable[[float], None], **params: Any) -> Any:
    """One API call; throttling and server faults are retried with backoff."""
    for attempt, delay in enumerate((*RETRY_DELAYS_SECONDS, None), start=1):
        try:
            return operation(**params)
        except Exception as err:
            response = getattr(err, "response", None)
            metadata = response.get("ResponseMetadata", {}) if isinstance(response, dict) else {}
            # 1 for the 0 would change nothing: neither is 429 nor >= 500.
            status = int(metadata.get("HTTPStatusCode") or 0)  # pragma: no mutate -- equivalent: see above
            if delay is None or not (_code(err) in TRANSIENT_CODES or status == 429 or status >= 500):
                raise
            LOG.info(
                "%s: %s (attempt %d); retrying in %.0fs",
                getattr(operation, "__name__", "call"),
                _code(err),
                attempt,
                delay,
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no mutate -- unreachable: the last attempt returns or raises


def _assume(sts: Any, role_arn: str, sleep: Callable[[float], None]) -> dict[str, str]:
    """The provider's role's credentials. A role (or its trust of this account's role) created moments ago
    is refused until IAM has propagated it (AccessDenied): retried for about a minute."""
    for attempt, delay in enumerate((*ASSUME_RETRY_DELAYS_SECONDS, None), start=1):
        try:
            response = _call(
                sts.assume_role, sleep, RoleArn=role_arn, RoleSessionName="eks-lattice-gateway-consumer-dns"
            )
            credentials: dict[str, str] = response["Credentials"]
            return credentials
        except Exception as err:
            if _code(err) != "AccessDenied":
                raise
            if delay is None:
                raise LinkError(
                    f"could not assume the provider's role {role_arn} (AccessDenied for "
                    f"{sum(ASSUME_RETRY_DELAYS_SECONDS):.0f}s): deploy the provider's Platform stack with this "
                    "account under `consumers` first"
                ) from None
            LOG.info("AssumeRole %s denied (attempt %d; IAM propagation?); retrying in %.0fs", role_arn, attempt, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no mutate -- unreachable: the last attempt returns or raises


def _clients() -> Clients:
    import boto3  # noqa: PLC0415 - the Lambda runtime's boto3; tests inject clients
    from botocore.config import Config  # noqa: PLC0415

    config = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "total_max_attempts": 3})

    def zone_owner(role_arn: str) -> Any:
        creds = _assume(boto3.client("sts", config=config), role_arn, time.sleep)
        return boto3.client(
            "route53",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            config=config,
        )

    return Clients(
        route53=boto3.client("route53", config=config),
        ram=boto3.client("ram", config=config),
        ec2=boto3.client("ec2", config=config),
        zone_owner=zone_owner,
        organizations=boto3.client("organizations", config=config),
    )
