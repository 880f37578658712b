"""An independent SigV4 verifier: what a server computes from the bytes it receives (no botocore).

The smoke Lambda signs with botocore; this checks those signatures the way the receiving end would, from the raw
request, so a canonical form botocore gets wrong for the bytes actually sent shows up here. Written to:

- IAM User Guide, "Create a signed AWS API request" (https://docs.aws.amazon.com/IAM/latest/UserGuide/
  create-signed-request.html, read 2026-12-05): the canonical request (method, canonical URI, canonical query,
  canonical headers, signed headers, payload hash), UriEncode (unreserved A-Z a-z 0-9 - . _ ~ kept, every other
  byte %XX with upper-case hex, space %20), query parameters sorted by encoded name then value, header names
  lower-cased and values trimmed with inner runs of spaces collapsed, the string to sign and the HMAC key chain.
- AWS's SigV4 test suite as awslabs/aws-c-auth ships it (tag v0.10.5, commit
  9300470b602747b47d3fedd39a37350c27459366, tests/aws-signing-test-suite/v4/, read 2026-12-05), which settles
  what the prose leaves open, and against which this verifier is itself tested (SUITE_VECTORS):
  * the canonical URI is UriEncode of the path *as it appears in the request line*, after removing dot segments
    and repeated slashes, "/" kept (get-space-normalized: `/example space/` -> `/example%20space/`;
    get-slashes-normalized: `//example//` -> `/example/`). A path already carrying %XX is encoded again ("each
    path segment URI-encoded twice" for every service but S3);
  * query names and values are taken percent-decoded, then UriEncoded once (get-vanilla-query-order-encoded:
    `%E1%88%B4` stays `%E1%88%B4`; get-vanilla-utf8-query: raw `ሴ` becomes `%E1%88%B4`).
- Lattice's own requirements for signed requests: the payload is never signed, so `x-amz-content-sha256:
  UNSIGNED-PAYLOAD` is sent and signed (awslabs/aws-sigv4-proxy#116: Lattice answers "Missing the
  'x-amz-content-sha256' in canonical headers"), and a security token named in SignedHeaders must be sent
  (curl/curl#11007); service name `vpc-lattice-svcs` (VPC Lattice User Guide, "SigV4 authenticated requests").

A "+" in a query is read as a literal plus (RFC 3986), never as a space.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
_UNRESERVED = "-._~"  # with letters and digits, which quote() never encodes
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)


class SignatureInvalidError(AssertionError):
    """The request does not carry a signature this verifier accepts; the message says which part differs."""


@dataclass(frozen=True)
class RawRequest:
    """A request as it arrived: the request line's method and target, and the header lines in order."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, data: bytes) -> RawRequest:
        head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8")
        request_line, *lines = head.split("\r\n")
        method, target, version = request_line.split(" ")
        if not version.startswith("HTTP/"):
            raise SignatureInvalidError(f"not an HTTP request line: {request_line!r}")
        headers = []
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep:
                raise SignatureInvalidError(f"malformed header line {line!r}")
            headers.append((name, value))
        return cls(method, target, tuple(headers))

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.strip().lower() == name]


def uri_encode(data: bytes | str) -> str:
    return quote(data, safe=_UNRESERVED)


def canonical_uri(path: str) -> str:
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    trailing = "/" if segments and path.endswith("/") else ""
    return "/" + "/".join(uri_encode(s.encode("utf-8")) for s in segments) + trailing


def canonical_query(query: str) -> str:
    pairs = []
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        pairs.append((uri_encode(unquote_to_bytes(name)), uri_encode(unquote_to_bytes(value))))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def _header_value(values: list[str]) -> str:
    return ",".join(" ".join(v.split()) for v in values)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def canonical_request(request: RawRequest, signed: list[str], payload_hash: str) -> str:
    path, _, query = request.target.partition("?")
    headers = [f"{name}:{_header_value(request.values(name))}" for name in signed]
    return "\n".join(
        [request.method, canonical_uri(path), canonical_query(query), *headers, "", ";".join(signed), payload_hash]
    )


def verify(
    request: RawRequest,
    secrets: dict[str, str],
    *,
    region: str,
    service: str,
    body: bytes = b"",
    required: tuple[str, ...] = ("host", "x-amz-date"),
) -> str:
    """Recompute the signature from `request` with the secret of the access key it names; raise SignatureInvalidError
    unless it matches and every header in `required` is signed. Returns the canonical request (for messages)."""
    (authorization,) = request.values("authorization") or [""]
    found = _AUTHORIZATION.fullmatch(authorization.strip())
    if found is None:
        raise SignatureInvalidError(f"no SigV4 Authorization header: {authorization!r}")
    if found["key"] not in secrets:
        raise SignatureInvalidError(f"unknown access key {found['key']!r}")
    if (found["region"], found["service"]) != (region, service):
        raise SignatureInvalidError(f"scope {found['region']}/{found['service']}, expected {region}/{service}")
    signed = found["signed"].split(";")
    if signed != sorted(set(signed)) or any(n != n.lower() for n in signed):
        raise SignatureInvalidError(f"SignedHeaders not lower-case, sorted and unique: {found['signed']}")
    missing = [n for n in signed if not request.values(n)]
    if missing:
        raise SignatureInvalidError(f"{missing} named in SignedHeaders but not in the request")
    unsigned = [n for n in required if n not in signed]
    if unsigned:
        raise SignatureInvalidError(f"{unsigned} must be signed")
    token = request.values("x-amz-security-token")
    if token and "x-amz-security-token" not in signed:
        raise SignatureInvalidError("x-amz-security-token is sent but not signed")
    (amz_date,) = request.values("x-amz-date") or [""]
    if amz_date.strip()[:8] != found["date"]:
        raise SignatureInvalidError(f"x-amz-date {amz_date!r} is not on the scope's date {found['date']}")
    content = request.values("x-amz-content-sha256")
    payload_hash = content[0].strip() if content else hashlib.sha256(body).hexdigest()
    canonical = canonical_request(request, signed, payload_hash)
    scope = f"{found['date']}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date.strip(), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(secrets[found["key"]], found["date"], region, service)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, found["signature"]):
        raise SignatureInvalidError(f"signature mismatch; the canonical request the receiver computes:\n{canonical}")
    return canonical


# ------------------------------------------------------------------------------------------------- the test suite
# From awslabs/aws-c-auth v0.10.5 tests/aws-signing-test-suite/v4/<name>/ (header-signed-request.txt and
# context.json; see the module docstring): every vector signs with access key AKIDEXAMPLE, region us-east-1,
# service "service", at 20150830T123600Z, without an x-amz-content-sha256 header (so the empty body's hash).
SUITE_KEY = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_REGION, SUITE_SERVICE, SUITE_DATE = "us-east-1", "service", "20150830T123600Z"
SUITE_TOKEN = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
# name: (request target, extra headers before X-Amz-Date, SignedHeaders, Signature)
SUITE_VECTORS: dict[str, tuple[str, tuple[tuple[str, str], ...], str, str]] = {
    "get-vanilla-query-order-encoded": (
        "/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
        (),
        "host;x-amz-date",
        "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
    ),
    "get-vanilla-utf8-query": (
        "/?\u1234=bar",
        (),
        "host;x-amz-date",
        "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
    ),
    "get-vanilla-query-unreserved": (
        "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
        "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        (),
        "host;x-amz-date",
        "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
    ),
    "get-space-normalized": (
        "/example space/",
        (),
        "host;x-amz-date",
        "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
    ),
    "get-utf8": ("/\u1234", (), "host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
    "get-slashes-normalized": (
        "//example//",
        (),
        "host;x-amz-date",
        "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
    ),
    "get-relative-relative-normalized": (
        "/example1/example2/../..",
        (),
        "host;x-amz-date",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    ),
    "get-header-value-trim": (
        "/",
        (("My-Header1", " value1"), ("My-Header2", ' "a   b   c"')),
        "host;my-header1;my-header2;x-amz-date",
        "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    ),
    "get-vanilla-with-session-token": (
        "/",
        (("X-Amz-Security-Token", SUITE_TOKEN),),
        "host;x-amz-date;x-amz-security-token",
        "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
    ),
}


def suite_request(name: str) -> RawRequest:
    target, extra, signed, signature = SUITE_VECTORS[name]
    credential = f"{SUITE_KEY[0]}/{SUITE_DATE[:8]}/{SUITE_REGION}/{SUITE_SERVICE}/aws4_request"
    authorization = f"{ALGORITHM} Credential={credential}, SignedHeaders={signed}, Signature={signature}"
    headers = (("Host", "example.amazonaws.com"), *extra, ("X-Amz-Date", SUITE_DATE), ("Authorization", authorization))
    return RawRequest("GET", target, headers)
