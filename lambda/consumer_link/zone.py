"""Custom::CrossAccountZoneAssociation: associate this account's VPC with the provider's private hosted zone, in
the order Route 53 demands, and undo only what it made (handler.py's docstring gives the steps)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .calls import LOG, RETRY_DELAYS_SECONDS, Clients, LinkError, _call, _code, _required, _seconds_left

# An authorization can take a moment to be visible to AssociateVPCWithHostedZone.
NOT_AUTHORIZED_RETRIES = 5


CHANGE_POLLS = 40  # x 5 s: Route 53 changes go INSYNC in well under a minute


CHANGE_POLL_SECONDS = 5.0


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


def _zone_id(value: str) -> str:
    # "/hostedzone/Z123" -> "Z123"
    return value.rsplit("/", 1)[-1]  # pragma: no mutate -- equivalent: any maxsplit, same last part
