"""What a smoke check may say: the keys each protocol's probe reads (any other key fails the check by name, so a
key that would be ignored is never taken as checked), and the gRPC metadata a check's `headers` become.

gRPC metadata (grpc/grpc doc/PROTOCOL-HTTP2.md at 010decebd96922114400a6490f397367840db2d1, Requests, read
2026-12-05): a Header-Name is 1*(0-9 a-z _ - .), names starting "grpc-" are reserved to gRPC, an ASCII-Value is
1*(%x20-%x7E); a "-bin" header carries base64, which is within that range.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .protocols import ProbeError

# Every key each protocol's probe reads (handler.py, protocols.py). `name`, `route` and `caller` label the report.
REPORT_KEYS = ("name", "route", "caller", "protocol")
# An HTTP(S) check's `host`, when given, must be its URL's hostname (constructs/smoke/checks.py writes both).
HTTP_KEYS = (*REPORT_KEYS, "url", "host", "method", "headers", "expect", "sign", "expectStatus", "port")
KEYS: dict[str, tuple[str, ...]] = {
    "HTTP": HTTP_KEYS,
    "HTTPS": (*HTTP_KEYS, "caBundle"),
    "GRPC": (*REPORT_KEYS, "host", "port", "tls", "caBundle", "grpcService", "sign", "expectStatus", "headers"),
    "TLS": (*REPORT_KEYS, "host", "port", "sni", "expectSubject", "caBundle"),
}


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_text_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


# Each key's type, exactly: JSON's "false" is a string, not a false flag, and true is not the number 1.
TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    **{key: ("a string", lambda v: isinstance(v, str)) for key in
       ("name", "route", "caller", "protocol", "url", "method", "host", "caBundle", "grpcService", "sni",
        "expectSubject")},
    "headers": ("an object of string values", _is_text_map),
    "expect": ("a list of objects", lambda v: isinstance(v, list) and all(isinstance(a, dict) for a in v)),
    "sign": ("true or false", lambda v: isinstance(v, bool)),
    "tls": ("true or false", lambda v: isinstance(v, bool)),
    "expectStatus": ("an HTTP status (an integer 100-599)", lambda v: _is_int(v, 100, 599)),
    "port": ("a TCP port (an integer 1-65535)", lambda v: _is_int(v, 1, 65535)),
}  # fmt: skip
# Keys whose null means "absent": the generator writes null for no CA bundle or no expected subject.
NULLABLE = frozenset(
    {"protocol", "caBundle", "expectSubject", "expectStatus", "port", "sni", "grpcService", "headers", "expect", "tls"}
)

METADATA_NAME = re.compile(r"[0-9a-z_.-]+")
METADATA_VALUE = re.compile(r"[\x20-\x7e]+")
# Headers the probe itself sends or the signature adds: a check's header of that name would change the call or the
# signature, so it is refused rather than sent twice.
PROBE_HEADERS = frozenset(
    {"host", "content-type", "te", "user-agent", "authorization", "x-amz-date", "x-amz-security-token",
     "x-amz-content-sha256"}
)  # fmt: skip


def grpc_metadata(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """A check's `headers` as gRPC metadata: names lower-cased, then each name and value checked against the gRPC
    rules; a header that cannot be metadata fails the check, naming it."""
    metadata: dict[str, str] = {}
    for raw_name, raw_value in (headers or {}).items():
        name, value = str(raw_name).lower(), str(raw_value)
        if not METADATA_NAME.fullmatch(name):
            why = "a gRPC metadata name is 0-9 a-z _ - . only"
        elif name.startswith("grpc-"):
            why = "names starting grpc- are reserved to gRPC"
        elif name in PROBE_HEADERS:
            why = "the probe sends that header itself"
        elif not METADATA_VALUE.fullmatch(value):
            why = "a gRPC metadata value is printable ASCII (space to ~), not empty"
        else:
            metadata[name] = value
            continue
        raise ProbeError(f"headers: {raw_name!r} cannot be sent as gRPC metadata: {why}", retryable=False)
    return metadata


def key_problem(check: Mapping[str, Any], protocol: str) -> str:
    """Why the check cannot be run as written ("" when it can): a key its protocol's probe does not read, or a
    value of the wrong type."""
    for key, value in check.items():
        if key not in KEYS[protocol]:
            return f"check key {key!r} does not apply to a {protocol} check (its keys: {', '.join(KEYS[protocol])})"
        kind, valid = TYPES[key]
        if not (valid(value) or (value is None and key in NULLABLE)):
            return f"check key {key!r} must be {kind}{' or null' if key in NULLABLE else ''}, got {value!r}"
    return ""
