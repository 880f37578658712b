"""Custom resource beside the private hosted zone: when the zone goes, remove the DNS records the gateway stack's
Custom::LatticeDnsRecord resources wrote in it, so that Route 53 can delete the zone.

Why: a new `privateZoneName` replaces the zone. The platform stack deploys first, so its cleanup deletes the old
zone while the gateway stack's records are still in it, and Route 53 refuses (HostedZoneNotEmpty; CloudFormation
then gives up and leaves the zone behind). This resource depends on the zone, so CloudFormation deletes it (its
old physical id, named after the old zone) first: it removes every CNAME whose ownership marker names the gateway
stack, and the markers, then the zone goes. The gateway stack's update then writes the records in the new zone,
and the old records' Delete finds their zone gone (NoSuchHostedZone: nothing to do). The same runs when the
platform stack is destroyed, for a record a failed destroy left behind.

Nothing else is touched: a CNAME is removed only while its marker (lattice_dns/records.py) names an owner in
the gateway stack and it still points where the marker says; a record someone changed keeps the zone from being
deleted, as it should.

ResourceProperties: HostedZoneId, OwnerStack (the gateway stack's name).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config
from lattice_dns.records import MARKER_PREFIX, Claim, DnsError, Marker, Zone, assess, normalize_name

LOG = logging.getLogger("zone_sweep")
LOG.setLevel(logging.INFO)

PHYSICAL_ID_PREFIX = "zone-sweep"
# A new zone is a new physical id, so CloudFormation deletes the old one (sweeping the old zone) in its cleanup.
PHYSICAL_ID_PROPERTIES = ("HostedZoneId",)
RESPONSE_RESERVE_SECONDS = 5.0
CALL_SECONDS = 13.0  # connect 3 s + read 10 s, one attempt per call (Zone retries within the time left)


class SweepError(Exception):
    """A record of ours could not be removed; str() says which and why."""


def _route53() -> Any:  # tests replace this
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    config = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.session.Session(region_name=region).client("route53", config=config)


def _time_left(context: Any) -> Callable[[], float]:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return lambda: float("inf")
    return lambda: remaining() / 1000 - RESPONSE_RESERVE_SECONDS


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    request = event.get("RequestType")
    props = event.get("ResourceProperties") or {}
    LOG.info("event %s", json.dumps({k: event.get(k) for k in ("RequestType", "PhysicalResourceId")}))
    if request in ("Create", "Update"):
        zone_id = str(props.get("HostedZoneId") or "").rsplit("/", 1)[-1]
        if not zone_id or not str(props.get("OwnerStack") or ""):
            raise SweepError("HostedZoneId and OwnerStack are required")
        return {"PhysicalResourceId": f"{PHYSICAL_ID_PREFIX}:{zone_id}"}
    if request != "Delete":
        raise SweepError(f"unknown RequestType {request!r}")
    prefix, _, zone_id = str(event.get("PhysicalResourceId") or "").partition(":")
    if prefix != PHYSICAL_ID_PREFIX or not zone_id:
        LOG.info(
            "nothing to sweep: %r is not one of this handler's ids (failed create?)", event.get("PhysicalResourceId")
        )
        return {"PhysicalResourceId": event.get("PhysicalResourceId")}
    zone = Zone(_route53(), zone_id, time_left=_time_left(context), call_seconds=CALL_SECONDS)
    try:
        swept = sweep(zone, owner_stack=str(props.get("OwnerStack") or ""))
    except DnsError as err:
        if err.code == "NoSuchHostedZone":
            LOG.info("hosted zone %s is gone already", zone_id)
            return {"PhysicalResourceId": event["PhysicalResourceId"]}
        raise SweepError(f"could not remove the Lattice DNS records from hosted zone {zone_id}: {err}") from err
    LOG.info("removed %d record(s) from %s: %s", len(swept), zone_id, ", ".join(swept) or "none")
    return {"PhysicalResourceId": event["PhysicalResourceId"]}


def sweep(zone: Zone, *, owner_stack: str) -> list[str]:
    """Remove each CNAME (and its marker) whose marker names an owner in `owner_stack`; returns their names."""
    if not owner_stack:
        raise SweepError("OwnerStack is required: without it every eks-lattice-gateway record would match")
    swept: list[str] = []
    for hostname in _marked_hostnames(zone, owner_stack):
        state = zone.read(hostname)
        marker = state.marker
        if marker is None or not marker.owner.startswith(f"{owner_stack}/"):
            continue  # changed since the listing
        claim, reason = assess(state, owner=marker.owner)
        rrsets = [state.cname] if claim is Claim.OURS and state.cname is not None else []
        if state.marker_rrset is not None:
            rrsets.append(state.marker_rrset)
        if claim is not Claim.OURS:
            LOG.warning("leaving %s alone (%s); removing only our marker", hostname, reason)
        zone.delete(rrsets, f"eks-lattice-gateway: the zone is being deleted; remove {hostname} ({marker.owner})")
        swept.append(hostname)
    return swept


def _marked_hostnames(zone: Zone, owner_stack: str) -> list[str]:
    found: list[str] = []
    kwargs: dict[str, Any] = {"HostedZoneId": zone.zone_id}
    while True:
        page = zone._call("list_resource_record_sets", **kwargs)  # Zone retries throttling within the time left
        for rrset in page.get("ResourceRecordSets", []):
            name = normalize_name(rrset["Name"])
            if rrset.get("Type") != "TXT" or not name.startswith(MARKER_PREFIX):
                continue
            marker = Marker.parse([str(r.get("Value", "")) for r in rrset.get("ResourceRecords") or []])
            if marker is not None and marker.owner.startswith(f"{owner_stack}/"):
                found.append(name.removeprefix(MARKER_PREFIX))
        if not page.get("IsTruncated"):
            return found
        kwargs = {"HostedZoneId": zone.zone_id, "StartRecordName": page["NextRecordName"]}
        kwargs["StartRecordType"] = page["NextRecordType"]
        if "NextRecordIdentifier" in page:
            kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]
