"""SigV4 for the smoke checks: the request target in SigV4's canonical encoding (so the bytes sent are the bytes
signed) and the signature headers Lattice checks, made with the runtime's botocore."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_to_bytes

from .protocols import ProbeError

if TYPE_CHECKING:
    from .request import Request

# SigV4 canonical form (IAM User Guide, "Create a signed AWS API request", read 2026-12-05
# https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html): UriEncode leaves only the
# unreserved characters A-Z a-z 0-9 - . _ ~, writes every other byte as %XX (upper-case hex, space as %20, never
# "+"); query names and values are each UriEncoded, then sorted. botocore's SigV4Auth puts the query into the
# canonical request exactly as the URL it is given spells it, so the URL must already be in this form.
UNRESERVED = "-._~"
# What an RFC 3986 path may carry unencoded besides the unreserved characters: sub-delims, ":" and "@" (pchar),
# and "/". The HTTPRoute CRD (gateway-api v1.5.1, path.value) accepts exactly these and %XX, so a configured path
# goes out as written and matches its rule; anything else (space, non-ASCII) is percent-encoded.
PATH_SAFE = "/!$&'()*+,;=:@" + UNRESERVED
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def sigv4_headers(request: Request, region: str, credentials: Any = None) -> dict[str, str]:
    """SigV4 headers for Lattice (service vpc-lattice-svcs; payload unsigned, as Lattice requires). From a
    consumer account the service network admits callers by their account, so requests must be signed.
    `request.path` is already canonical (request_target): botocore signs it as written, and it is what is sent."""
    from botocore.auth import SigV4Auth  # noqa: PLC0415 - the runtime's botocore, only when signing
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415

    if credentials is None:
        import botocore.session  # noqa: PLC0415

        found = botocore.session.get_session().get_credentials()
        if found is None:
            raise ProbeError("SigV4: no AWS credentials in the environment", retryable=False)
        credentials = found.get_frozen_credentials()
    aws_request = AWSRequest(
        method=request.method,
        url=f"http://{request.host}{request.path}",
        headers={**request.headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
    )
    SigV4Auth(credentials, "vpc-lattice-svcs", region).add_auth(aws_request)
    return {k: str(v) for k, v in aws_request.headers.items()}


def request_target(path: str, query: str) -> str:
    """The path and query of a check's URL as they go on the wire, in SigV4's canonical encoding, so the bytes
    sent are the bytes signed. The query: each name and value percent-decoded, then UriEncoded (`select=POD,ROUTE`
    goes out as `select=POD%2CROUTE`; "+" is a literal plus, `%2B`), a pair without "=" gets one, empty pairs are
    dropped, order is kept. The path: only what a path may not carry raw is encoded (see PATH_SAFE); an existing
    %XX escape stays, a stray "%" becomes %25."""
    encoded = _encode_query(query)
    return _encode_path(path or "/") + (f"?{encoded}" if encoded else "")


def _encode_path(path: str) -> str:
    out: list[str] = []
    pos = 0
    for escape in _ESCAPE.finditer(path):
        out += [quote(path[pos : escape.start()], safe=PATH_SAFE), escape.group().upper()]
        pos = escape.end()
    return "".join([*out, quote(path[pos:], safe=PATH_SAFE)])


def _encode_query(query: str) -> str:
    pairs = []
    for pair in query.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            pairs.append(f"{_uri_encode(name)}={_uri_encode(value)}")
    return "&".join(pairs)


def _uri_encode(text: str) -> str:
    # Decode to bytes first: an escape already in the URL is not encoded twice, and non-UTF-8 escapes survive.
    return quote(unquote_to_bytes(text), safe=UNRESERVED)
