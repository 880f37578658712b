"""Custom::LatticeShareAcceptance: accept the provider's RAM share of its service network and wait until it is
here (handler.py's docstring says what it accepts and reports)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .calls import LOG, RETRY_DELAYS_SECONDS, Clients, LinkError, _call, _code, _pages, _required, _seconds_left

# RAM associates an accepted share asynchronously: poll up to 4 minutes, never past the invocation's end.
SHARE_POLLS = 48


SHARE_POLL_SECONDS = 5.0


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
