"""Whether an answer passes its check: the expected status, a 403's cause (auth policy or signature), the demo's
ROUTE and pod; a failure says if retrying may help (CheckError.retryable)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import grpc_probe

MAX_BODY_BYTES = 64 * 1024


# How much of a 403's body the report quotes (make smoke prints it: what an auth-policy denial looks like is
# not documented, see _signature_error).
BODY_EXCERPT_CHARS = 300


DENIED = 403


# A 403 whose body LEADS with one of these exception names is the signature or credential check's, not an auth
# policy's (_signature_error says where each comes from). Only the name counts: a denial's message quotes the
# caller's role and the request's path, and either may hold "signature" or "token".
SIGNATURE_ERROR = re.compile(
    r"\w*Signature\w*|ExpiredToken(?:Exception)?|InvalidClientTokenId|UnrecognizedClient(?:Exception)?"
)


# Where a body names its exception: Lattice's plain "Name: message" (awslabs/aws-sigv4-proxy#116, curl/curl#11007),
# AWS's JSON protocols' "__type" ("[namespace#]Name") and its XML protocols' first <Code>.
_LEADING_NAME = re.compile(r"\s*([A-Za-z]\w*)\s*(?::|$)")


_XML_CODE = re.compile(r"<Code>\s*(\w+)\s*</Code>")


# A gRPC call refused on the way: an HTTP 403 (handled as for HTTP) or, as Envoy-style proxies answer, HTTP 200 with
# a trailers-only grpc-status PERMISSION_DENIED (7) or UNAUTHENTICATED (16): envoyproxy/envoy#17707 (a trailers-only
# reply is sent as :status 200), grpc/grpc-java#8576 (RBAC denials: UNAUTHENTICATED before, PERMISSION_DENIED after),
# istio/istio#14371 (gRPC RBAC denial "PermissionDenied desc = RBAC: access denied"); all read 2026-12-05. Which one
# Lattice sends for a gRPC route is not documented: both count as a refusal.
GRPC_REFUSALS = (7, 16)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes


class CheckError(Exception):
    """One attempt failed. `retryable` is False when the answer is wrong rather than not there yet."""

    def __init__(self, reason: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.status = status  # the HTTP status, when there was an answer


def _grpc_refusal(check: Mapping[str, Any], answer: grpc_probe.GrpcAnswer) -> str:
    """A trailers-only grpc-status 7 or 16: a refusal, as a 403 is (GRPC_REFUSALS). It passes a denial check unless
    its message leads with a signature or credential exception name; a check expecting access fails on it."""
    code, message = grpc_probe.grpc_code(answer.grpc_status), answer.grpc_message
    seen = f"grpc-status {code}; grpc-message {message[:BODY_EXCERPT_CHARS]!r}"
    if SIGNATURE_ERROR.fullmatch(error_name(message)):
        raise CheckError(f"{seen}: the signature check's refusal, not the auth policy's", retryable=False)
    if check.get("expectStatus") == DENIED:
        return f"{seen}, refused as expected"
    raise CheckError(f"{seen}: Lattice refused the caller (auth policy), expected access", retryable=True)


def _verify_status(expected: int, response: Response) -> str:
    """A check that expects a refusal: only that status passes, and a 403 only when it is the auth policy's (its
    body leads with no signature or credential exception name). Anything else may be a policy still being attached (the
    controller applies IAMAuthPolicy after the route), so it is retried before failing."""
    status = response.status
    if status == expected:
        if status == DENIED and (refused := _signature_error(response)):
            raise CheckError(refused, retryable=False, status=status)
        seen = f"; body {_excerpt(response)}" if status == DENIED else ""
        return f"status {status}, refused as expected{seen}"
    why = "the caller got through" if status < 400 else "not the auth policy's refusal"
    raise CheckError(f"status {status}, expected {expected}: {why}", retryable=True, status=status)


def _signature_error(response: Response) -> str:
    """Why a 403 is Lattice refusing the signature or the credentials rather than an auth policy denying the
    caller; "" when its body names no such error. Lattice names the exception in the body, for example
    "IncompleteSignatureException: 'x-amz-security-token' is named as a SignedHeader, but it does not exist in the
    HTTP request" (curl/curl#11007 and awslabs/aws-sigv4-proxy#116, both against Lattice; read 2026-12-05). The
    other names matched are AWS's usual ones for a bad signature or token (InvalidSignatureException,
    SignatureDoesNotMatch, ExpiredToken, UnrecognizedClientException, InvalidClientTokenId), unverified for
    Lattice. Only the leading name is read (error_name): the message may quote a path or a role name. The body of a
    policy denial is documented nowhere, so every 403 reports the body it carried."""
    if SIGNATURE_ERROR.fullmatch(error_name(response.body[:MAX_BODY_BYTES].decode("utf-8", "replace"))):
        return f"status 403 from the signature check, not the auth policy: {_excerpt(response)}"
    return ""


def error_name(body: str) -> str:
    """The exception name an error body leads with ("" when it names none): never a word from its message."""
    text = body.lstrip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            return ""
        name = document.get("__type") if isinstance(document, dict) else None
        return str(name).rsplit("#", 1)[-1] if isinstance(name, str) else ""
    if text.startswith("<"):
        code = _XML_CODE.search(text)
        return code.group(1) if code else ""
    leading = _LEADING_NAME.match(text)
    return leading.group(1) if leading else ""


def _excerpt(response: Response) -> str:
    text = response.body.decode("utf-8", "replace")
    return repr(text[:BODY_EXCERPT_CHARS] + ("..." if len(text) > BODY_EXCERPT_CHARS else ""))


def _verify(expect: Sequence[Mapping[str, Any]], response: Response) -> str:
    status = response.status
    if status == DENIED:
        if refused := _signature_error(response):
            raise CheckError(refused, retryable=False)  # a bad signature stays bad: no retries
        # Access is expected here: a refusal is a failure (retried: a new policy takes a moment to apply).
        why = f"status 403: Lattice refused the caller (auth policy), expected access; body {_excerpt(response)}"
        raise CheckError(why, retryable=True)
    if status >= 500:
        raise CheckError(f"status {status}: the backend is failing or not yet healthy", retryable=True)
    if status == 404:
        # Retryable: right after a deploy the controller may not have programmed the rule yet.
        raise CheckError(
            "status 404: Lattice answers 404 when no rule matches (is the HTTPRoute accepted, its rule in place?)",
            retryable=True,
        )
    demo = [alt for alt in expect if "route" in alt]
    generic = [alt for alt in expect if "route" not in alt]
    payload: Any = None  # pragma: no mutate -- equivalent: read only when demo and 200, which set it
    if demo and status == 200:
        try:
            payload = json.loads(response.body)
        except ValueError:
            payload = None  # pragma: no mutate -- equivalent: any non-dict means "not a JSON object"
        if isinstance(payload, dict):
            for alt in demo:
                pod = payload.get("POD")
                if payload.get("ROUTE") == alt["route"] and isinstance(pod, str) and pod.startswith(f"{alt['app']}-"):
                    return f"status 200, ROUTE={alt['route']} from pod {pod}"
    if generic:
        # A weighted rule may also send the request to an app without the demo convention: routed is enough.
        return f"status {status} (routed; backends without the demo convention: {', '.join(a['app'] for a in generic)})"
    if not demo:
        return f"status {status}"
    if status != 200:
        # Other 4xx (403 while an auth policy propagates) may settle; retry before failing.
        raise CheckError(f"status {status}, expected 200", retryable=True)
    if not isinstance(payload, dict):
        raise CheckError(f"status 200 but the body is not a JSON object: {response.body[:120]!r}", retryable=False)
    raise CheckError(_mismatch(demo, payload.get("ROUTE"), payload.get("POD")), retryable=False)


def _mismatch(demo: Sequence[Mapping[str, Any]], got_route: Any, got_pod: Any) -> str:
    if len(demo) == 1:
        want_route, app = demo[0]["route"], demo[0]["app"]
        if got_route != want_route:
            return f"wrong ROUTE: got {got_route!r}, expected {want_route!r} (from pod {got_pod!r})"
        return f"wrong pod: POD {got_pod!r} is not a {app} pod (expected a name starting with '{app}-')"
    wanted = ", ".join(f"ROUTE {a['route']!r} from {a['app']}" for a in demo)
    return f"wrong backend: got ROUTE {got_route!r} from pod {got_pod!r}, expected one of: {wanted}"
