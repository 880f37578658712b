"""Cross-account private-zone association for moto's Route 53, which moto 5.2.5 lacks.

moto keeps one Route 53 backend per account but serves neither CreateVPCAssociationAuthorization /
DeleteVPCAssociationAuthorization / ListVPCAssociationAuthorizations, nor an association of another
account's zone. `install(monkeypatch)` adds those operations to moto's own Route 53 responder (same routing
from botocore's model, same XML serializer, same per-account backends) with the refusals the Route 53 API
reference documents for them:

- CreateVPCAssociationAuthorization: only the zone's owner (else NoSuchHostedZone, as Route 53 answers a
  zone id it does not know for the caller), private zones only (InvalidInput).
- AssociateVPCWithHostedZone: another account's zone needs the owner's authorization for exactly that VPC
  and region (NotAuthorizedException); a VPC already associated with a zone of the same name, this one
  included, gives ConflictingDomainExists.
- DisassociateVPCFromHostedZone: VPCAssociationNotFound when not associated; LastVPCAssociation for the
  zone's last VPC (moto's own rule).
- DeleteVPCAssociationAuthorization: VPCAssociationAuthorizationNotFound when there is none.
- ListHostedZonesByVPC: every account's zones associated with the VPC, with the owning account.

Not modelled: InvalidVPCId (that the VPC exists in the caller's account), so tests need no EC2 backend,
whose first use costs seconds. Every call is recorded in `calls` as (account, operation, zone id, vpc id),
to check the order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.route53 import urls
from moto.route53.exceptions import NoSuchHostedZone, Route53ClientError
from moto.route53.models import FakeZone, route53_backends
from moto.route53.responses import Route53

# zone id -> {(vpc id, region)}: authorizations live with the zone, in its owner's account.
AUTHORIZATIONS: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
calls: list[tuple[str, str, str, str]] = []

_PATHS = {
    r"{0}/(?P<api_version>[\d_-]+)/hostedzone/(?P<zone_id>[^/]+)/authorizevpcassociation$": Route53.dispatch,
    r"{0}/(?P<api_version>[\d_-]+)/hostedzone/(?P<zone_id>[^/]+)/deauthorizevpcassociation$": Route53.dispatch,
}


def _error(code: str, message: str) -> Route53ClientError:
    return Route53ClientError(code, message)


def _find_zone(zone_id: str) -> tuple[str, FakeZone]:
    """(owning account, zone) across every account's backend."""
    zone_id = zone_id.rsplit("/", 1)[-1]
    for account, by_partition in route53_backends.items():
        zone = by_partition["aws"].zones.get(zone_id)
        if zone is not None:
            return account, zone
    raise NoSuchHostedZone(zone_id)


def _change(comment: str | None = None) -> dict[str, Any]:
    return {
        "ChangeInfo": {"Id": "/change/C0CROSSACCOUNT", "Status": "INSYNC", "SubmittedAt": utcnow(), "Comment": comment}
    }


def _record(self: Route53, operation: str, zone: str, vpc: str) -> None:
    calls.append((self.current_account, operation, zone.rsplit("/", 1)[-1], vpc))


def create_vpc_association_authorization(self: Route53) -> ActionResult:
    zone_id, vpc, region = (
        self._get_param("HostedZoneId"),
        self._get_param("VPC.VPCId"),
        self._get_param("VPC.VPCRegion"),
    )
    owner, zone = _find_zone(zone_id)
    if owner != self.current_account:
        raise NoSuchHostedZone(zone_id)
    if not zone.private_zone:
        raise _error("InvalidInput", "authorizations apply to private hosted zones only")
    _record(self, "CreateVPCAssociationAuthorization", zone_id, vpc)
    AUTHORIZATIONS[zone.id].add((vpc, region))
    return ActionResult({"HostedZoneId": zone.resource_id, "VPC": {"VPCId": vpc, "VPCRegion": region}})


def delete_vpc_association_authorization(self: Route53) -> ActionResult:
    zone_id, vpc, region = (
        self._get_param("HostedZoneId"),
        self._get_param("VPC.VPCId"),
        self._get_param("VPC.VPCRegion"),
    )
    owner, zone = _find_zone(zone_id)
    if owner != self.current_account:
        raise NoSuchHostedZone(zone_id)
    _record(self, "DeleteVPCAssociationAuthorization", zone_id, vpc)
    if (vpc, region) not in AUTHORIZATIONS[zone.id]:
        raise _error("VPCAssociationAuthorizationNotFound", f"no authorization for {vpc} on {zone.id}")
    AUTHORIZATIONS[zone.id].discard((vpc, region))
    return EmptyResult()


def list_vpc_association_authorizations(self: Route53) -> ActionResult:
    owner, zone = _find_zone(self._get_param("HostedZoneId"))
    if owner != self.current_account:
        raise NoSuchHostedZone(zone.id)
    vpcs = [{"VPCId": v, "VPCRegion": r} for v, r in sorted(AUTHORIZATIONS[zone.id])]
    return ActionResult({"HostedZoneId": zone.resource_id, "VPCs": vpcs})


def associate_vpc_with_hosted_zone(self: Route53) -> ActionResult:
    zone_id, vpc, region = (
        self._get_param("HostedZoneId"),
        self._get_param("VPC.VPCId"),
        self._get_param("VPC.VPCRegion"),
    )
    owner, zone = _find_zone(zone_id)
    _record(self, "AssociateVPCWithHostedZone", zone_id, vpc)
    if owner != self.current_account and (vpc, region) not in AUTHORIZATIONS[zone.id]:
        raise _error("NotAuthorizedException", f"The VPC {vpc} has not been authorized to associate with {zone.id}")
    for _account, other in _zones():
        if other.name == zone.name and any(v.get("vpc_id") == vpc for v in other.vpcs):
            raise _error("ConflictingDomainExists", f"{vpc} is already associated with a zone named {zone.name}")
    zone.add_vpc(vpc, region)
    return ActionResult(_change(self._get_param("Comment")))


def disassociate_vpc_from_hosted_zone(self: Route53) -> ActionResult:
    zone_id, vpc = self._get_param("HostedZoneId"), self._get_param("VPC.VPCId")
    _owner, zone = _find_zone(zone_id)
    _record(self, "DisassociateVPCFromHostedZone", zone_id, vpc)
    if not any(v.get("vpc_id") == vpc for v in zone.vpcs):
        raise _error("VPCAssociationNotFound", f"The VPC {vpc} is not associated with {zone.id}")
    if len(zone.vpcs) <= 1:
        raise _error("LastVPCAssociation", "the last VPC of a private hosted zone can't be disassociated")
    zone.delete_vpc(vpc)
    return ActionResult(_change(self._get_param("Comment")))


def list_hosted_zones_by_vpc(self: Route53) -> ActionResult:
    vpc = self._get_param("VPCId")
    summaries = [
        {"HostedZoneId": zone.resource_id, "Name": zone.name, "Owner": {"OwningAccount": account}}
        for account, zone in _zones()
        if zone.private_zone and any(v.get("vpc_id") == vpc for v in zone.vpcs)
    ]
    return ActionResult({"HostedZoneSummaries": summaries})


def _zones() -> list[tuple[str, FakeZone]]:
    return [(account, zone) for account, p in route53_backends.items() for zone in p["aws"].zones.values()]


def install(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str, str]]:
    """Extend moto's Route 53 for this test; returns the call log."""
    for path, handler in _PATHS.items():
        monkeypatch.setitem(urls.url_paths, path, handler)
    for fn in (
        create_vpc_association_authorization,
        delete_vpc_association_authorization,
        list_vpc_association_authorizations,
        associate_vpc_with_hosted_zone,
        disassociate_vpc_from_hosted_zone,
        list_hosted_zones_by_vpc,
    ):
        monkeypatch.setattr(Route53, fn.__name__, fn, raising=False)
    AUTHORIZATIONS.clear()
    calls.clear()
    return calls
