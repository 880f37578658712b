"""Custom resource (CDK provider framework) that points a private-zone CNAME at an HTTPRoute's Lattice domain.

Entry points:
  on_event(event, context)     Create/Update: validate and check ownership, return the PhysicalResourceId and the
                               wait start; Delete: return the wait start (nothing to do for an id never issued).
  is_complete(event, context)  Create/Update: poll the HTTPRoute until the controller has annotated it, then UPSERT
                               the CNAME. Delete: remove our record (see _delete), again at each poll while Route 53
                               is busy or slow, until TimeoutSeconds; then, or on any other fault, fail with the
                               reason.
  resync(event, context)       scheduled repair: repoint our records whose route's annotation changed.

ResourceProperties (strings, as CloudFormation sends them): ClusterName, Namespace, RouteName, Hostname,
HostedZoneId, TimeoutSeconds (default 1200, equal to the provider's total timeout), Ttl (default 60). Other
properties (e.g. a hash of the route manifest that forces an Update when the route is recreated) are ignored.
Attributes: LatticeDomainName, Hostname (and WaitStartedAt, internal).
Ownership of a record is proven by a TXT marker beside it; see records.py for why.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from k8s_api import KubeApiError, KubeClient, regional_sts_client

from .diagnosis import Observation, _timeout_message
from .edits import _delete_once, _point_record
from .props import (
    DEFAULT_TTL,
    MIN_TIMEOUT_SECONDS,
    Props,
    owner_of,
    parse_physical_id,
    physical_id,
)
from .records import Claim, DnsError, Marker, OwnershipError, Zone, assess, marker_name, normalize_name
from .routes import ANNOTATION, is_fatal, lattice_domain

LOG = logging.getLogger("lattice_dns")
LOG.setLevel(logging.INFO)

# The ResourceProperties the PhysicalResourceId is made of (see physical_id): changing one replaces the resource
# (CloudFormation deletes the old record after the new one exists). tools/impact.py reads this; a test keeps it true.
PHYSICAL_ID_PROPERTIES = ("HostedZoneId", "Hostname")
QUERY_INTERVAL_SECONDS = 10  # what the provider's query_interval should be (at most 15 s)
# Stop this much before the provider's total timeout so our explanation, not a bare timeout, reaches CloudFormation.
DEADLINE_MARGIN_SECONDS = 60
# A fresh access entry can take a minute or two to be honoured; auth errors after that are real.
AUTH_GRACE_SECONDS = 120
DELETE_ATTEMPTS = 3
# What each invocation keeps for itself after its last AWS or Kubernetes call: logging and returning.
RESPONSE_RESERVE_SECONDS = 5.0
# The scheduled resync's routes, shipped in the function's code (constructs/dns/records.py RECORDS_FILE).
RECORDS_FILE = Path(__file__).with_name("records.json")
# Client sizing: one Route 53 call takes at most connect + read timeout (botocore does not retry it; Zone does,
# within the invocation's remaining time); DescribeCluster, the one call not bounded by that, at most
# EKS_ATTEMPTS x (connect + read) plus botocore's backoff between them (standard mode: under 1 s after the first).
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10
EKS_ATTEMPTS = 2
ROUTE53_CALL_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS
EKS_CALL_SECONDS = EKS_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + 1


# Injection points for tests (the code paths stay the real ones): wall clock and sleep.
_clock: Callable[[], float] = time.time
_sleep: Callable[[float], None] = time.sleep


class LatticeDnsError(Exception):
    """The resource cannot reach its desired state; str() says why and what to check."""


class WaitTimeoutError(LatticeDnsError):
    """The route never got its Lattice domain name within TimeoutSeconds."""


class ResyncError(LatticeDnsError):
    """At least one record of a resync run failed (the others were still processed)."""


# -- collaborators -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clients:
    route53: Any
    eks: Any
    sts: Any
    # The most one call of each client may take (see the sizing above); tests inject clients of their own.
    route53_call_seconds: float = ROUTE53_CALL_SECONDS
    eks_call_seconds: float = EKS_CALL_SECONDS


_CACHED: Clients | None = None


def _clients() -> Clients:
    """AWS clients for this Lambda's region, reused across warm invocations. Tests replace this function."""
    global _CACHED  # noqa: PLW0603 - one set of clients per Lambda sandbox
    if _CACHED is None:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise LatticeDnsError("AWS_REGION is not set; the Lambda runtime sets it, set it by hand elsewhere")
        session = boto3.session.Session(region_name=region)
        timeouts = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, "read_timeout": READ_TIMEOUT_SECONDS}
        _CACHED = Clients(
            route53=session.client(
                "route53", config=Config(retries={"mode": "standard", "total_max_attempts": 1}, **timeouts)
            ),
            eks=session.client(
                "eks", config=Config(retries={"mode": "standard", "total_max_attempts": EKS_ATTEMPTS}, **timeouts)
            ),
            sts=regional_sts_client(session, region),
        )
    return _CACHED


TimeLeft = Callable[[], float]


def _time_left(context: Any) -> TimeLeft:
    """Seconds this invocation may still spend on calls: the Lambda's remaining time less what it needs to answer.
    Unlimited without a Lambda context (local runs)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return lambda: float("inf")  # pragma: no mutate -- equivalent: float() reads "INF" as "inf"
    return lambda: remaining() / 1000 - RESPONSE_RESERVE_SECONDS


def _kube(cluster_name: str, clients: Clients, time_left: TimeLeft) -> KubeClient:
    # Endpoint and CA come from DescribeCluster, so TLS is verified against the cluster's own CA.
    return KubeClient.for_eks_cluster(
        cluster_name, eks_client=clients.eks, sts_client=clients.sts, sleep=_sleep, time_left=time_left
    )


def _zone(zone_id: str, clients: Clients, time_left: TimeLeft) -> Zone:
    return Zone(clients.route53, zone_id, sleep=_sleep, time_left=time_left, call_seconds=clients.route53_call_seconds)


# -- provider framework: onEvent -----------------------------------------------------------------------------------


def _log_event(event: Mapping[str, Any]) -> None:
    keys = ("RequestType", "LogicalResourceId", "PhysicalResourceId", "ResourceProperties", "OldResourceProperties")
    shown = {k: event[k] for k in keys if k in event}
    if isinstance(shown.get("ResourceProperties"), dict):
        shown["ResourceProperties"] = {k: v for k, v in shown["ResourceProperties"].items() if k != "ServiceToken"}
    LOG.info("event %s", json.dumps(shown, default=str))


def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _log_event(event)
    request = event.get("RequestType")
    time_left = _time_left(context)
    if request == "Delete":
        return _start_delete(event)
    if request not in ("Create", "Update"):
        raise LatticeDnsError(f"unknown RequestType {request!r}")
    try:
        props = Props.parse(event.get("ResourceProperties") or {})
    except ValueError as err:
        raise LatticeDnsError(f"invalid ResourceProperties: {err}") from None

    # Fail now, not after the wait, when the name is unusable or taken.
    clients = _clients()
    zone = _zone(props.zone_id, clients, time_left)
    zone.check_hostname(props.hostname)
    claim, reason = assess(zone.read(props.hostname), owner=owner_of(event))
    if claim is Claim.FOREIGN:
        raise OwnershipError(f"refusing to manage {props.hostname} in zone {props.zone_id}: {reason}")

    physical = physical_id(props)
    old = event.get("PhysicalResourceId")
    if request == "Update" and old != physical:
        LOG.info("zone or hostname changed (%s -> %s): CloudFormation deletes the old record afterwards", old, physical)
    return {"PhysicalResourceId": physical, "Data": {"WaitStartedAt": f"{_clock():.0f}"}}


# -- provider framework: isComplete --------------------------------------------------------------------------------


def _observe(props: Props, clients: Clients, time_left: TimeLeft) -> Observation:
    seen = Observation()
    try:
        if time_left() < clients.eks_call_seconds:
            raise KubeApiError(f"{time_left():.0f} s left of this invocation, too little for eks:DescribeCluster")
        seen.kube = _kube(props.cluster_name, clients, time_left)
        seen.route = seen.kube.get(props.route_path)
    except KubeApiError as err:
        seen.error = err
        LOG.warning("reading HTTPRoute %s/%s: %s", props.namespace, props.route_name, err)
    return seen


def _deadline(started: float, timeout: int) -> float:
    return started + timeout - min(DEADLINE_MARGIN_SECONDS, timeout // 4)


def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = event.get("RequestType")
    if request == "Delete":
        return _poll_delete(event, _time_left(context))
    try:
        props = Props.parse(event.get("ResourceProperties") or {})
    except ValueError as err:
        raise LatticeDnsError(f"invalid ResourceProperties: {err}") from None
    now = _clock()
    try:
        started = float((event.get("Data") or {})["WaitStartedAt"])
    except (KeyError, TypeError, ValueError):
        LOG.warning("no WaitStartedAt in the event (not merged from on_event?); the wait starts now")
        started = now
    clients = _clients()
    time_left = _time_left(context)

    seen = _observe(props, clients, time_left)
    try:
        domain = lattice_domain(seen.route)
    except ValueError as err:
        raise LatticeDnsError(f"HTTPRoute {props.namespace}/{props.route_name}: {err}") from None
    deadline = _deadline(started, props.timeout_seconds)
    if domain:
        try:
            data = _point_record(props, owner_of(event), domain, _zone(props.zone_id, clients, time_left))
        except DnsError as err:
            if not err.transient or now >= deadline:
                raise
            LOG.warning("Route 53 busy or slow, trying again at the next poll: %s", err)
            return {"IsComplete": False}
        return {"IsComplete": True, "Data": data}

    elapsed = now - started
    if seen.error is not None and is_fatal(seen.error) and elapsed >= AUTH_GRACE_SECONDS:
        raise LatticeDnsError(
            f"cannot read HTTPRoute {props.namespace}/{props.route_name} on EKS cluster {props.cluster_name} "
            f"(still failing {elapsed:.0f} s after the start): {seen.error}"
        )
    if now >= deadline:
        raise WaitTimeoutError(_timeout_message(props, seen, elapsed))
    state = "missing" if seen.route is None else "not annotated yet"
    LOG.info("HTTPRoute %s/%s %s; waiting (%.0f s elapsed)", props.namespace, props.route_name, state, elapsed)
    return {"IsComplete": False}


# -- provider framework: Delete --------------------------------------------------------------------------------------


def _start_delete(event: Mapping[str, Any]) -> dict[str, Any]:
    """onEvent's part of a Delete: the wait start for isComplete, which does the work (as for Create)."""
    physical = str(event.get("PhysicalResourceId") or "")
    if parse_physical_id(physical) is None:
        LOG.warning(
            "nothing to delete: PhysicalResourceId %r was not issued by this handler (failed create?)", physical
        )
        return {"PhysicalResourceId": physical}
    return {"PhysicalResourceId": physical, "Data": {"WaitStartedAt": f"{_clock():.0f}"}}


def _delete_timeout(props: Mapping[str, Any]) -> int:
    """TimeoutSeconds as Create reads it (the provider's total timeout); the smallest it accepts if unreadable."""
    try:
        return Props.parse(props).timeout_seconds
    except ValueError:
        return MIN_TIMEOUT_SECONDS


def _poll_delete(event: Mapping[str, Any], time_left: TimeLeft) -> dict[str, Any]:
    """One attempt of the Delete per poll: a fault that may pass (throttling, Route 53 slow, the records changed
    under the exact-match DELETE) is tried again at the next poll until the deadline, which leaves time for this
    reason, not the provider's bare timeout, to reach CloudFormation."""
    if parse_physical_id(str(event.get("PhysicalResourceId") or "")) is None:
        return {"IsComplete": True}  # _start_delete said why
    try:
        started = float((event.get("Data") or {})["WaitStartedAt"])
    except (KeyError, TypeError, ValueError):
        started = _clock()
    timeout = _delete_timeout(event.get("ResourceProperties") or {})
    deadline = _deadline(started, timeout)
    try:
        _delete(event, time_left)
    except LatticeDnsError as err:
        cause = err.__cause__
        again = isinstance(cause, DnsError) and (cause.transient or cause.code == "InvalidChangeBatch")
        if not again:
            raise
        ended = _clock()  # this poll's attempts took time too: the next poll may come too late to explain
        if ended >= deadline:
            raise LatticeDnsError(f"gave up after {ended - started:.0f} s of retries: {err}") from cause
        LOG.warning("trying the delete again at the next poll: %s", err)
        return {"IsComplete": False}
    return {"IsComplete": True}


def _delete(event: Mapping[str, Any], time_left: TimeLeft) -> dict[str, Any]:
    """Remove our record, or fail saying why.

    Succeeds without a change only when nothing of ours can be there: a PhysicalResourceId this handler never
    issued (a failed create), a hosted zone that is gone (its records went with it), or a record that is not
    ours (another owner's, or edited by someone else: then only our marker goes). Anything that stops us from
    removing a record we own (AccessDenied, Route 53 not answering in time) fails the Delete with the reason:
    reported as a success, the orphan would surface only later, as the zone's HostedZoneNotEmpty on destroy.
    """
    physical = str(event.get("PhysicalResourceId") or "")
    result = {"PhysicalResourceId": physical}
    target = parse_physical_id(physical)
    if target is None:
        LOG.warning(
            "nothing to delete: PhysicalResourceId %r was not issued by this handler (failed create?)", physical
        )
        return result
    zone_id, hostname = target
    owner = owner_of(event)
    zone = _zone(zone_id, _clients(), time_left)
    try:
        for attempt in range(1, DELETE_ATTEMPTS + 1):
            try:
                _delete_once(zone, hostname, owner)
                break
            except DnsError as err:
                # InvalidChangeBatch: the records changed between our read and our exact-match DELETE; look again.
                if err.code != "InvalidChangeBatch" or attempt == DELETE_ATTEMPTS:
                    raise
    except DnsError as err:
        if err.code == "NoSuchHostedZone":
            LOG.info("hosted zone %s is gone, and %s with it", zone_id, hostname)
            return result
        raise LatticeDnsError(
            f"could not delete {hostname} (CNAME and its {marker_name(hostname)} TXT) from hosted zone {zone_id}: "
            f"{err}. Fix the cause and retry; a record left behind would stop the zone's deletion"
        ) from err
    return result


# -- scheduled resync ----------------------------------------------------------------------------------------------


def _resync_specs(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw: Any = event.get("Records") if isinstance(event, Mapping) else None
    source = "event Records"
    if raw is None:
        source = "environment variable RECORDS"
        text = os.environ.get("RECORDS", "")
        if not text.strip() and RECORDS_FILE.is_file():
            # As deployed (constructs/dns/records.py): the routes in the file, the values every record
            # shares (deploy-time tokens) in RECORD_DEFAULTS, so the environment stays small however many routes.
            source = RECORDS_FILE.name
            text = RECORDS_FILE.read_text(encoding="utf-8")
        if not text.strip():
            raise LatticeDnsError(
                f"no records to maintain: ship {RECORDS_FILE.name} or set RECORDS to a JSON list "
                "(or pass Records in the event)"
            )
        try:
            raw = json.loads(text)
            if source == RECORDS_FILE.name and isinstance(raw, list):
                shared = json.loads(os.environ.get("RECORD_DEFAULTS") or "{}")
                raw = [{**shared, **item} if isinstance(item, Mapping) else item for item in raw]
        except ValueError as err:
            raise LatticeDnsError(f"{source} is not valid JSON: {err}") from None
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise LatticeDnsError(
            f"{source} must be a JSON list of objects with ClusterName, Namespace, RouteName, Hostname, HostedZoneId"
        )
    return raw


def resync(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Repoint each configured record whose route's annotation changed; never touch records that aren't ours."""
    specs = _resync_specs(event or {})
    clients = _clients()
    time_left = _time_left(context)
    kubes: dict[str, KubeClient] = {}
    results: list[dict[str, str]] = []
    for spec in specs:
        label = f"{spec.get('Hostname')} <- {spec.get('ClusterName')}/{spec.get('Namespace')}/{spec.get('RouteName')}"
        try:
            outcome = _resync_one(spec, clients, kubes, time_left)
        except (ValueError, LatticeDnsError, DnsError, KubeApiError) as err:
            outcome = {"Result": "failed", "Reason": str(err)}
        except Exception as err:  # one broken record must not stop the others
            LOG.exception("resync of %s", label)
            outcome = {"Result": "failed", "Reason": f"{type(err).__name__}: {err}"}
        outcome = {"Record": label, **outcome}
        LOG.info("resync %s", json.dumps(outcome))
        results.append(outcome)
    failed = [r for r in results if r["Result"] == "failed"]
    report = {"Checked": len(results), "Failed": len(failed), "Results": results}
    if failed:
        details = "; ".join(f"{r['Record']}: {r['Reason']}" for r in failed)
        raise ResyncError(f"{len(failed)} of {len(results)} record(s) failed: {details}")
    return report


def _resync_one(
    spec: Mapping[str, Any], clients: Clients, kubes: dict[str, KubeClient], time_left: TimeLeft
) -> dict[str, str]:
    props = Props.parse(spec)
    kube = kubes.get(props.cluster_name)
    if kube is None:
        kube = kubes[props.cluster_name] = _kube(props.cluster_name, clients, time_left)
    route = kube.get(props.route_path)
    if route is None:
        raise LatticeDnsError(
            f"HTTPRoute not found on the cluster (GET {props.route_path} answered 404); record left as is"
        )
    domain = lattice_domain(route)
    if not domain:
        raise LatticeDnsError(
            f"HTTPRoute has no {ANNOTATION} annotation (is the controller running?); record left as is"
        )

    zone = _zone(props.zone_id, clients, time_left)
    state = zone.read(props.hostname)
    claim, reason = assess(state, route=props.route_id)
    if claim is Claim.FOREIGN:
        raise OwnershipError(f"left alone: {reason}")
    marker = state.marker
    if marker is None:
        raise LatticeDnsError(
            f"no record at {props.hostname}; the stack creates it on deploy, resync only maintains it"
        )
    ttl = props.ttl if "Ttl" in spec else (state.cname_ttl if state.cname_ttl is not None else DEFAULT_TTL)
    new_marker = Marker(owner=marker.owner, route=props.route_id, target=domain)
    if claim is Claim.ABSENT:
        # Our marker is there but the CNAME was deleted: we still hold the name, so restore it.
        zone.upsert(props.hostname, domain, ttl, new_marker)
        return {"Result": "restored", "Target": domain}
    current = state.cname_value or ""
    if current == normalize_name(domain):
        return {"Result": "unchanged", "Target": domain}
    zone.upsert(props.hostname, domain, ttl, new_marker)
    return {"Result": "repointed", "From": current, "Target": domain}
