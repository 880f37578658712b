"""The record changes one poll makes once ownership is assessed: point the CNAME (Create/Update) or remove it
with its marker (Delete). Ownership is proven by the TXT marker; see records.py."""

from __future__ import annotations

import logging
from typing import Any

from .props import Props
from .records import Claim, Marker, OwnershipError, RecordState, Zone, assess

LOG = logging.getLogger("lattice_dns")


def _point_record(props: Props, owner: str, domain: str, zone: Zone) -> dict[str, str]:
    """Make hostname CNAME domain, unless it already is; refuse names that are not ours."""
    state = zone.read(props.hostname)
    claim, reason = assess(state, owner=owner)
    if claim is Claim.FOREIGN:
        raise OwnershipError(f"refusing to point {props.hostname} at {domain}: {reason}")
    marker = Marker(owner=owner, route=props.route_id, target=domain)
    unchanged = (
        claim is Claim.OURS and state.cname_value == domain and state.cname_ttl == props.ttl and state.marker == marker
    )
    if unchanged:
        LOG.info("%s already CNAME %s (TTL %d); nothing to change", props.hostname, domain, props.ttl)
    else:
        previous = state.cname_value or "nothing"
        zone.upsert(props.hostname, domain, props.ttl, marker)
        LOG.info("%s CNAME %s (TTL %d), was %s", props.hostname, domain, props.ttl, previous)
    return {"LatticeDomainName": domain, "Hostname": props.hostname}


def _delete_once(zone: Zone, hostname: str, owner: str) -> None:
    state = zone.read(hostname)
    claim, reason = assess(state, owner=owner)
    marker = state.marker
    marker_is_ours = marker is not None and marker.owner == owner
    if claim is Claim.OURS:
        cname = state.cname
        assert cname is not None
        zone.delete([cname, *_marker_rrsets(state)], f"eks-lattice-gateway: delete {hostname} ({owner})")
        LOG.info("deleted %s CNAME %s and its ownership marker", hostname, state.cname_value)
    elif marker_is_ours:
        # The CNAME is gone or was changed by someone else: leave it, but give up our claim on the name.
        zone.delete(_marker_rrsets(state), f"eks-lattice-gateway: release {hostname} ({owner})")
        LOG.info("left %s alone (%s); removed our ownership marker", hostname, reason)
    else:
        LOG.info("nothing of ours at %s: %s", hostname, reason)


def _marker_rrsets(state: RecordState) -> list[dict[str, Any]]:
    rrset = state.marker_rrset
    return [rrset] if rrset is not None else []
