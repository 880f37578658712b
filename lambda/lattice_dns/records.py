"""Route 53 side of the Lattice DNS custom resource: reading, claiming, writing and removing one CNAME.

Ownership model (why a TXT marker and not "the value we last set"):
the CNAME can be repointed outside CloudFormation (the scheduled resync does exactly that when a route is
recreated), and neither CloudFormation nor the stateless resync Lambda can remember what was last written.
So the ownership proof lives in the zone itself, next to the record, the way external-dns does it: a TXT
record ``"heritage=eks-lattice-gateway,owner=<stack>/<logical id>,route=<cluster>/<ns>/<route>,target=<value>"``.
A TXT record may not share its name with a CNAME, so the marker sits at ``_eks-lattice-gateway.<hostname>``.
The CNAME is ours only while the marker names our owner (or, for the resync, our route) *and* the CNAME still
points at the marker's ``target``: a record someone repointed by hand is therefore no longer ours.
CNAME and marker always change together in one (atomic) change batch.
"""

from __future__ import annotations

import enum
import logging
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

LOG = logging.getLogger(__name__)

HERITAGE = "eks-lattice-gateway"
MARKER_PREFIX = "_eks-lattice-gateway."
MAX_DNS_NAME = 253
_TXT_CHUNK = 255  # a TXT character-string holds at most 255 bytes
# Route 53 answers these while it is busy; everything else is a real error.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "PriorRequestNotComplete",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
    }
)
OUT_OF_TIME = "OutOfTime"  # DnsError.code when the invocation's time, not Route 53, ended the attempts
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_TXT_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


class DnsError(Exception):
    """A Route 53 operation failed; str() says which and what to check; .code is Route 53's error code;
    .transient: busy, slow or unreachable, so a later attempt (e.g. the next poll) may succeed."""

    def __init__(self, message: str, *, code: str | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


class OwnershipError(DnsError):
    """The name is taken by a record this resource did not create."""


def normalize_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


def validate_hostname(hostname: str, *, what: str = "Hostname") -> str:
    """Lower-cased hostname without the trailing dot, or ValueError saying what is wrong with it."""
    name = normalize_name(hostname)
    if not name:
        raise ValueError(f"{what} is empty")
    if "*" in name:
        raise ValueError(f"{what} {hostname!r}: wildcard names cannot be a Lattice custom domain")
    if len(MARKER_PREFIX + name) > MAX_DNS_NAME:
        raise ValueError(
            f"{what} {hostname!r} is too long: its ownership marker {MARKER_PREFIX}{name} would exceed "
            f"{MAX_DNS_NAME} characters"
        )
    bad = [label for label in name.split(".") if not _LABEL.match(label)]
    if bad:
        raise ValueError(f"{what} {hostname!r} is not a valid DNS name (bad label {bad[0]!r})")
    return name


def marker_name(hostname: str) -> str:
    return MARKER_PREFIX + normalize_name(hostname)


@dataclass(frozen=True)
class Marker:
    """Content of the ownership TXT record."""

    owner: str
    route: str
    target: str

    def text(self) -> str:
        return f"heritage={HERITAGE},owner={self.owner},route={self.route},target={normalize_name(self.target)}"

    def txt_value(self) -> str:
        """Route 53 TXT value: quoted character-strings of at most 255 characters each."""
        text = self.text()
        chunks = [text[i : i + _TXT_CHUNK] for i in range(0, len(text), _TXT_CHUNK)]
        return " ".join(f'"{chunk}"' for chunk in chunks)

    @classmethod
    def parse(cls, txt_values: list[str]) -> Marker | None:
        """The marker in a TXT record set's values, or None when none of them is ours."""
        for value in txt_values:
            strings = _TXT_STRING.findall(value)
            text = "".join(strings) if strings else value
            text = re.sub(r"\\(.)", r"\1", text)
            fields: dict[str, str] = {}
            for part in text.split(","):
                key, sep, val = part.partition("=")
                if sep:
                    fields[key.strip()] = val.strip()
            # `<` for `<=` would change nothing: fields holds "heritage" too whenever the marker counts.
            complete = {"owner", "route", "target"} <= fields.keys()  # pragma: no mutate -- equivalent: see above
            if fields.get("heritage") == HERITAGE and complete:
                return cls(owner=fields["owner"], route=fields["route"], target=fields["target"])
        return None


def _values(rrset: dict[str, Any]) -> list[str]:
    return [str(r.get("Value", "")) for r in rrset.get("ResourceRecords") or []]


@dataclass
class RecordState:
    """Everything at the hostname and at its marker name, as Route 53 holds it now."""

    hostname: str
    at_name: list[dict[str, Any]] = field(default_factory=list)
    at_marker: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cname(self) -> dict[str, Any] | None:
        for rrset in self.at_name:
            if rrset.get("Type") == "CNAME" and "SetIdentifier" not in rrset and "AliasTarget" not in rrset:
                return rrset
        return None

    @property
    def cname_value(self) -> str | None:
        cname = self.cname
        values = _values(cname) if cname else []
        return normalize_name(values[0]) if values else None

    @property
    def cname_ttl(self) -> int | None:
        cname = self.cname
        return int(cname["TTL"]) if cname and "TTL" in cname else None

    @property
    def others(self) -> list[dict[str, Any]]:
        """Records at the hostname we would never have written (other types, routing policies, aliases)."""
        cname = self.cname
        return [r for r in self.at_name if r is not cname]

    @property
    def marker_rrset(self) -> dict[str, Any] | None:
        for rrset in self.at_marker:
            if rrset.get("Type") == "TXT" and "SetIdentifier" not in rrset and Marker.parse(_values(rrset)):
                return rrset
        return None

    @property
    def marker(self) -> Marker | None:
        rrset = self.marker_rrset
        return Marker.parse(_values(rrset)) if rrset else None

    @property
    def foreign_at_marker(self) -> list[dict[str, Any]]:
        mine = self.marker_rrset
        return [r for r in self.at_marker if r is not mine]

    def describe(self, rrsets: list[dict[str, Any]]) -> str:
        parts = []
        for rrset in rrsets:
            target = (rrset.get("AliasTarget") or {}).get("DNSName")
            shown = f"alias {target}" if target else ", ".join(_values(rrset)) or "no value"
            policy = f" (set {rrset['SetIdentifier']})" if "SetIdentifier" in rrset else ""
            parts.append(f"{rrset.get('Type')} {shown}{policy}")
        return "; ".join(parts)


class Claim(enum.Enum):
    ABSENT = "absent"  # nothing of anyone else's there: we may create
    OURS = "ours"  # our CNAME, still pointing where our marker says
    FOREIGN = "foreign"  # someone else's, or changed by someone else


def assess(  # noqa: PLR0911 - one verdict per case reads best as early returns
    state: RecordState, *, owner: str | None = None, route: str | None = None
) -> tuple[Claim, str]:
    """Whose is the record? `owner` (CloudFormation) and/or `route` (resync) must match the marker's fields."""
    name = state.hostname
    marker = state.marker

    def marker_matches(m: Marker) -> bool:
        return (owner is None or m.owner == owner) and (route is None or m.route == route)

    if state.foreign_at_marker:
        return Claim.FOREIGN, (
            f"{marker_name(name)} (the ownership-marker name for {name}) already holds records not written by "
            f"eks-lattice-gateway: {state.describe(state.foreign_at_marker)}; remove them or choose another hostname"
        )
    if marker is not None and not marker_matches(marker):
        return Claim.FOREIGN, (
            f"{name} is claimed by another eks-lattice-gateway resource (owner {marker.owner}, route {marker.route}, "
            f"marker TXT at {marker_name(name)}); two resources cannot manage one name: remove that resource "
            "or choose another hostname"
        )
    if state.others:
        return Claim.FOREIGN, (
            f"{name} already has records that this stack did not create ({state.describe(state.others)}); "
            "a CNAME cannot coexist with them: remove them or choose another hostname"
        )
    current = state.cname_value
    if current is None:
        return Claim.ABSENT, f"no record at {name}"
    if marker is None:
        return Claim.FOREIGN, (
            f"{name} already exists (CNAME {current}) and was not created by this stack (no ownership marker TXT at "
            f"{marker_name(name)}); delete it by hand if this stack should manage it, or choose another hostname"
        )
    if current != normalize_name(marker.target):
        return Claim.FOREIGN, (
            f"{name} was changed outside this stack: it points to {current}, but this stack set {marker.target}; "
            "restore it or delete it by hand if this stack should manage it again"
        )
    return Claim.OURS, f"{name} CNAME {current} (owner {marker.owner})"


class Zone:
    """One private hosted zone, with retries for Route 53's throttling and busy answers."""

    def __init__(
        self,
        client: Any,
        zone_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 6,
        backoff: float = 1.0,
        time_left: Callable[[], float] | None = None,
        call_seconds: float = 0.0,
    ) -> None:
        """`time_left()`: seconds the caller may still spend; no call starts unless `call_seconds` (the most one
        call may take: the client's connect + read timeouts over its own attempts) fit, and no retry waits
        past it, so a slow Route 53 ends in a DnsError (transient) instead of a Lambda timeout."""
        self.client = client
        self.zone_id = zone_id.rsplit("/", 1)[-1]  # pragma: no mutate -- equivalent: any maxsplit, same last part
        self._sleep = sleep
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._time_left = time_left or (lambda: math.inf)
        self._call_seconds = call_seconds
        self._name: str | None = None

    # -- calls ------------------------------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> Any:
        last = ""  # pragma: no mutate -- equivalent: read only when a failed attempt has set it
        for attempt in range(1, self._max_attempts + 1):  # pragma: no mutate -- equivalent: a longer range, see below
            self._check_time(operation, last)
            try:
                return getattr(self.client, operation)(**kwargs)
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                transient = code in RETRYABLE_CODES
                if not transient or attempt == self._max_attempts:
                    raise DnsError(self._explain(operation, code, err), code=code, transient=transient) from err
                last = code
            except (BotoConnectionError, HTTPClientError) as err:  # refused, reset, timed out
                if attempt == self._max_attempts:
                    raise DnsError(f"route53 {operation} on zone {self.zone_id} failed: {err}", transient=True) from err
                last = f"{type(err).__name__}: {err}"
            except BotoCoreError as err:
                raise DnsError(f"route53 {operation} on zone {self.zone_id} failed: {err}") from err
            delay = min(10.0, self._backoff * 2 ** (attempt - 1))
            delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not cryptography
            self._check_time(operation, last, wait=delay)
            LOG.info("route53 %s: %s, retrying in %.1f s", operation, last, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no mutate -- unreachable: the last attempt returns or raises

    def _check_time(self, operation: str, last: str, *, wait: float = 0.0) -> None:
        left = self._time_left()
        if left - wait < self._call_seconds:
            raise DnsError(
                f"route53 {operation} on zone {self.zone_id}: {left:.1f} s left of this invocation, too little for "
                f"another call (up to {self._call_seconds:g} s)" + (f"; last error: {last}" if last else ""),
                code=OUT_OF_TIME,
                transient=True,
            )

    def _explain(self, operation: str, code: str, err: ClientError) -> str:
        message = err.response.get("Error", {}).get("Message", str(err))
        action = "".join(part.capitalize() for part in operation.split("_"))
        text = f"route53:{action} on hosted zone {self.zone_id} failed: {code}: {message}"
        if code in ("AccessDenied", "AccessDeniedException"):
            text += f"; the Lambda's role needs route53:{action} on arn:aws:route53:::hostedzone/{self.zone_id}"
        elif code == "NoSuchHostedZone":
            text += "; check HostedZoneId (it must be the private zone's id, e.g. Z0123456789ABCDEFGHIJ)"
        return text

    # -- reading ----------------------------------------------------------------------------------------------

    def name(self) -> str:
        if self._name is None:
            zone = self._call("get_hosted_zone", Id=self.zone_id)["HostedZone"]
            self._name = normalize_name(zone["Name"])
        return self._name

    def check_hostname(self, hostname: str) -> None:
        zone = self.name()
        if hostname == zone:
            raise DnsError(f"Hostname {hostname} is the apex of zone {zone}; a CNAME is not allowed at a zone apex")
        if not hostname.endswith("." + zone):
            raise DnsError(f"Hostname {hostname} is not inside hosted zone {zone} ({self.zone_id})")

    def _records_at(self, name: str) -> list[dict[str, Any]]:
        wanted = normalize_name(name)
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"HostedZoneId": self.zone_id, "StartRecordName": wanted, "MaxItems": "20"}
        while True:
            page = self._call("list_resource_record_sets", **kwargs)
            for rrset in page.get("ResourceRecordSets", []):
                if normalize_name(rrset["Name"]) == wanted:
                    found.append(rrset)
            # Route 53 lists in name order, so a name's records are contiguous from StartRecordName on.
            if not page.get("IsTruncated") or normalize_name(page.get("NextRecordName", "")) != wanted:
                return found
            kwargs["StartRecordType"] = page["NextRecordType"]
            # Only a record set with a routing policy has an identifier: never carry the last page's forward.
            kwargs.pop("StartRecordIdentifier", None)
            if "NextRecordIdentifier" in page:
                kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]

    def read(self, hostname: str) -> RecordState:
        return RecordState(
            hostname=normalize_name(hostname),
            at_name=self._records_at(hostname),
            at_marker=self._records_at(marker_name(hostname)),
        )

    # -- writing ----------------------------------------------------------------------------------------------

    def _change(self, changes: list[dict[str, Any]], comment: str) -> str:
        resp = self._call(
            "change_resource_record_sets",
            HostedZoneId=self.zone_id,
            ChangeBatch={"Comment": comment[:256], "Changes": changes},
        )
        change_id = str(resp["ChangeInfo"]["Id"])
        LOG.info("route53 change %s submitted: %s", change_id, comment)
        return change_id

    def upsert(self, hostname: str, target: str, ttl: int, marker: Marker) -> str:
        """Point hostname at target and (re)write our marker beside it, atomically."""
        name = normalize_name(hostname)
        changes = [
            {
                "Action": "UPSERT",
                "ResourceRecordSet": {
                    "Name": name,
                    "Type": "CNAME",
                    "TTL": ttl,
                    "ResourceRecords": [{"Value": normalize_name(target)}],
                },
            },
            {
                "Action": "UPSERT",
                "ResourceRecordSet": {
                    "Name": marker_name(name),
                    "Type": "TXT",
                    "TTL": ttl,
                    "ResourceRecords": [{"Value": marker.txt_value()}],
                },
            },
        ]
        return self._change(changes, f"eks-lattice-gateway: {name} CNAME {target} ({marker.owner})")

    def delete(self, rrsets: list[dict[str, Any]], comment: str) -> str | None:
        """Delete exactly these record sets (as read): Route 53 rejects the batch if any changed meanwhile."""
        if not rrsets:
            return None
        changes = [{"Action": "DELETE", "ResourceRecordSet": _as_written(r)} for r in rrsets]
        return self._change(changes, comment)


def _as_written(rrset: dict[str, Any]) -> dict[str, Any]:
    """A listed record set in the shape a DELETE needs (name without the trailing dot, same values)."""
    keep = {k: v for k, v in rrset.items() if k in ("Type", "TTL", "ResourceRecords", "SetIdentifier", "AliasTarget")}
    keep["Name"] = normalize_name(rrset["Name"])
    return keep
