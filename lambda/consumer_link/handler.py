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

import time
from collections.abc import Callable, Mapping
from typing import Any

from .calls import Clients, LinkError, _assume
from .share import _share
from .vpc import _existing_vpc
from .zone import _zone_association

# Read by tools/impact.py (`make impact`), per resource type since one handler serves three: the properties whose
# change alone gives an Update a new PhysicalResourceId (CloudFormation then deletes the old one: a replacement).
# tests/lambda/test_consumer_link.py checks each against the real on_event.
PHYSICAL_ID_PROPERTIES: dict[str, tuple[str, ...]] = {
    "Custom::LatticeShareAcceptance": ("ResourceShareArn",),
    "Custom::ExistingVpc": ("VpcId",),
    "Custom::CrossAccountZoneAssociation": ("HostedZoneId", "VpcId", "VpcRegion"),
}


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
