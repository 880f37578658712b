"""Routing smoke test, run as a Lambda inside the client VPC after deploy.

Each check (built by constructs/smoke/checks.py) is one HTTP request to a route's custom domain, resolved
by the VPC resolver from the private hosted zone, exactly as a client in that VPC would make it. The
invocation fails (raises) when any check fails, so `make smoke` and the pipeline see a non-zero result.

Input: event["checks"] or the file checks.json beside this module (JSON list; constructs/smoke/functions.py ships it
in the function's code: the environment's 4 KB would not hold many routes' checks). Optional tuning, from the
event or the environment: timeoutSeconds / TIMEOUT_SECONDS (per attempt, every address and socket operation
in it, default 5), attempts / ATTEMPTS (default
12) and retryDelaySeconds / RETRY_DELAY_SECONDS (default 10): routes can take a minute or two to turn
healthy after a deploy, so failures that may be transient are retried.

Each check names its route and caller; requests are SigV4-signed with the function's own role (no STS needed)
when SIGV4_REGION is set, unless the check says `"sign": false`. The request target (path and query) is put in
SigV4's canonical percent-encoding once (`request_target`) and that one string is both signed and sent. A check
with `"expectStatus": 403` passes only when Lattice refuses the request and the body leads with no signature or
credential exception name (an auth policy's denial); any other check fails on a 403. Every 403 reports its body.
A check whose request cannot be made at all (say a header value with a line break) fails with the reason; the
other checks still run, and the invocation ends as any failed run does (SmokeTestError).

A check's `"protocol"` (absent: HTTP) picks its probe (protocols.py, grpc_probe.py): HTTPS is an HTTP check over
TLS, chain and hostname verified against `"caBundle"` (a PEM file shipped beside this module) or the system trust
store; GRPC is a grpc.health.v1.Health/Check call on `"host"`/`"port"` (`"grpcService"`, `"tls"`: default true)
that must answer SERVING; TLS is a handshake with `"sni"` whose peer certificate must verify and, given
`"expectSubject"`, carry that name (subject CN or a DNS subjectAltName). A key the check's protocol does not read
(spec.KEYS), or a value of the wrong type (spec.TYPES), fails the check, naming the key.

Output: {"passed": bool, "results": [{"name", "route", "caller", "status", "method", "url", "ok", "detail"}, ...]}.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import grpc_probe, protocols, spec
from .request import Address, Request, Resolver
from .signing import request_target, sigv4_headers
from .verdict import (
    GRPC_REFUSALS,
    MAX_BODY_BYTES,
    CheckError,
    Response,
    _grpc_refusal,
    _verify,
    _verify_status,
)

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_ATTEMPTS = 12
DEFAULT_RETRY_DELAY_SECONDS = 10.0
# Stop retrying this long before the Lambda's own timeout, so the report still gets out.
DEADLINE_MARGIN_SECONDS = 15.0
# The checks shipped with the function's code (constructs/smoke/functions.py CHECKS_FILE).
CHECKS_FILE = Path(__file__).with_name("checks.json")
MAX_WORKERS = 8


Opener = Callable[[Request, float], Response]


class SmokeTestError(Exception):
    """Raised when a check fails; its message lists every check and why it failed."""


def system_resolver(host: str, port: int) -> list[Address]:
    """IPv4/IPv6 socket addresses for `host`, from the VPC resolver (so the private zone answers)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # IPv4 first: the client VPC's subnets may have no IPv6 route even when Lattice answers AAAA.
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return list(dict.fromkeys((str(info[4][0]), int(info[4][1])) for info in infos))


def http_opener(request: Request, timeout: float) -> Response:
    """Plain HTTP/1.1 to the resolved address, with the route's hostname as Host (SigV4-signed when the
    SIGV4_REGION environment variable is set)."""
    deadline = request.deadline or protocols.Deadline(timeout)
    conn = _Connection(request, deadline)
    try:
        region = os.environ.get("SIGV4_REGION")
        signed = sigv4_headers(request, region) if region and request.sign else request.headers
        headers = {"Host": request.host, "User-Agent": "eks-lattice-gateway-smoke", **signed}
        # Each value goes out as the UTF-8 bytes SigV4 hashed: http.client writes a text value as Latin-1 and
        # passes bytes through (CPython 3.11 Lib/http/client.py putheader, read 2026-12-05), so text would differ
        # from what was signed past ASCII and could not hold "中" at all. A CR or LF in a value is still refused
        # there (ValueError, the same putheader): _run_check reports it as the check's failure.
        conn.request(request.method, request.path, headers={k: v.encode("utf-8") for k, v in headers.items()})
        resp = conn.getresponse()
        return Response(status=resp.status, body=resp.read(MAX_BODY_BYTES))
    finally:
        conn.close()
        if request.deadline is None:
            deadline.cancel()


class _Connection(http.client.HTTPConnection):
    """http.client's connection, its socket opened (when the request is sent, after its headers are checked) within
    the attempt's deadline: over TLS to the resolved address, while SNI and verification use the route's hostname."""

    def __init__(self, request: Request, deadline: protocols.Deadline) -> None:
        super().__init__(request.address[0], request.address[1], timeout=deadline.seconds)
        self.smoke_request, self.deadline = request, deadline

    def connect(self) -> None:
        request = self.smoke_request
        if request.tls:
            self.sock = protocols.tls_socket(request.address, request.host, request.ca_bundle, self.deadline)
        else:
            self.sock = self.deadline.connect(request.address)


def handler(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    return run(event or {}, context)


def run(
    event: Mapping[str, Any],
    context: Any = None,
    *,
    resolver: Resolver = system_resolver,
    opener: Opener = http_opener,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    checks = _load_checks(event)
    timeout = float(_setting(event, "timeoutSeconds", "TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
    attempts = max(1, int(_setting(event, "attempts", "ATTEMPTS", DEFAULT_ATTEMPTS)))
    delay = float(_setting(event, "retryDelaySeconds", "RETRY_DELAY_SECONDS", DEFAULT_RETRY_DELAY_SECONDS))
    deadline = _deadline(context, clock)

    def one(check: Mapping[str, Any]) -> dict[str, Any]:
        return _run_check(
            check,
            resolver=resolver,
            opener=opener,
            timeout=timeout,
            attempts=attempts,
            delay=delay,
            sleep=sleep,
            clock=clock,
            deadline=deadline,
        )

    # Checks are independent and mostly wait (retries while routes turn healthy): run them side by side.
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(checks)))) as pool:
        results = list(pool.map(one, checks))
    passed = all(r["ok"] for r in results)
    report = {"passed": passed, "results": results}
    LOG.info("smoke result: %s", json.dumps(report))
    if not passed:
        raise SmokeTestError(_failure_message(results))
    return report


def _load_checks(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw: Any = event.get("checks")
    if raw is None:
        try:
            text = CHECKS_FILE.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        if not text.strip():
            raise ValueError(
                f"no checks: pass event['checks'] or ship {CHECKS_FILE.name} with the function (JSON list)"
            )
        raw = json.loads(text)
    elif isinstance(raw, str):
        raw = json.loads(raw)
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(c, dict) and ("url" in c or "host" in c) for c in raw)
    ):
        raise ValueError("checks must be a non-empty JSON list of objects with a 'url' (GRPC and TLS: a 'host')")
    return raw


def _setting(event: Mapping[str, Any], key: str, env_key: str, default: float) -> float:
    value = event.get(key, os.environ.get(env_key))
    return default if value in (None, "") else float(value)


def _deadline(context: Any, clock: Callable[[], float]) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return clock() + remaining() / 1000.0 - DEADLINE_MARGIN_SECONDS


def _run_check(
    check: Mapping[str, Any],
    *,
    resolver: Resolver,
    opener: Opener,
    timeout: float,
    attempts: int,
    delay: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline: float | None,
) -> dict[str, Any]:
    method, url = protocols.shown(check)
    result: dict[str, Any] = {
        "name": check.get("name", url),
        "route": check.get("route", "-"),
        "caller": check.get("caller", "-"),
        "method": method,
        "url": url,
    }
    for attempt in range(1, attempts + 1):
        try:
            status, detail = _attempt(check, method, url, resolver=resolver, opener=opener, timeout=timeout)
        except CheckError as err:
            out_of_time = deadline is not None and clock() + delay + timeout > deadline
            if not err.retryable or attempt == attempts or out_of_time:
                suffix = f" (after {attempt} attempts)" if attempt > 1 else ""
                return {**result, "status": err.status, "ok": False, "detail": err.reason + suffix}
            LOG.info("%s %s: attempt %d failed, retrying in %.0fs: %s", method, url, attempt, delay, err.reason)
            sleep(delay)
            continue
        except Exception as err:
            why = f"the request could not be made: {type(err).__name__}: {err}"
            return {**result, "status": None, "ok": False, "detail": why}
        suffix = f" (attempt {attempt})" if attempt > 1 else ""
        return {**result, "status": status, "ok": True, "detail": detail + suffix}
    raise AssertionError("unreachable: the loop returns on its last attempt")  # pragma: no mutate -- unreachable


def _attempt(
    check: Mapping[str, Any], method: str, url: str, *, resolver: Resolver, opener: Opener, timeout: float
) -> tuple[int | None, str]:
    """One attempt, within `timeout` in all: one deadline for every connect, handshake and read on every address."""
    deadline = protocols.Deadline(timeout)
    try:
        return _attempt_within(check, method, url, resolver=resolver, opener=opener, deadline=deadline)
    finally:
        deadline.cancel()


def _attempt_within(
    check: Mapping[str, Any], method: str, url: str, *, resolver: Resolver, opener: Opener, deadline: protocols.Deadline
) -> tuple[int | None, str]:
    protocol = check.get("protocol") or "HTTP"
    if protocol not in protocols.PROTOCOLS:
        raise CheckError(
            f"protocol {protocol!r} has no probe (known: {', '.join(protocols.PROTOCOLS)})", retryable=False
        )
    if problem := spec.key_problem(check, protocol):
        raise CheckError(problem, retryable=False)
    if protocol in ("GRPC", "TLS"):
        return _probe(check, protocol, resolver=resolver, deadline=deadline)
    parts = urlsplit(url)
    scheme = "https" if protocol == "HTTPS" else "http"
    if parts.scheme != scheme or not parts.hostname:
        listener = "over TLS: an https:// URL" if protocol == "HTTPS" else "plain HTTP"
        raise CheckError(f"unsupported URL {url!r} (the gateway listens on {listener})", retryable=False)
    host = parts.hostname
    if check.get("host") not in (None, host):
        raise CheckError(f"check key 'host' is {check['host']!r}, but the URL's hostname is {host!r}", retryable=False)
    port = parts.port or int(check.get("port") or protocols.DEFAULT_PORTS[protocol])
    path = request_target(parts.path, parts.query)
    addresses = _addresses(host, port, resolver)
    headers = {str(k): str(v) for k, v in (check.get("headers") or {}).items()}
    failure = ""  # pragma: no mutate -- equivalent: at least one address, and each attempt sets it
    # Like a browser: if one address refuses (say IPv6 from an IPv4-only subnet), try the next.
    for address in addresses:
        where = f"{host} ({address[0]}:{address[1]})"
        try:
            sign = check.get("sign", True) is not False
            tls = protocol == "HTTPS"
            bundle = check.get("caBundle") if tls else None
            request = Request(method, address, host, path, headers, sign, tls, bundle, deadline)
            response = opener(request, deadline.seconds)  # the request's deadline bounds it
            if deadline.expired:  # http.client takes the cut-off connection's EOF for the end of the answer
                raise TimeoutError("timed out")
        except (protocols.ProbeError, TimeoutError, OSError, http.client.HTTPException) as err:
            failure = _failure(err, where, deadline)
            if deadline.expired:
                break  # the attempt's time is up: no other address gets a turn
        else:
            expected = check.get("expectStatus")
            if expected is not None:
                return response.status, _verify_status(int(expected), response)
            try:
                return response.status, _verify(check.get("expect") or [], response)
            except CheckError as err:
                err.status = response.status
                raise
    raise CheckError(failure, retryable=True)


def _addresses(host: str, port: int, resolver: Resolver) -> list[Address]:
    try:
        addresses = list(resolver(host, port))
    except OSError:
        addresses = []  # pragma: no mutate -- equivalent: only tested for emptiness below
    if not addresses:
        # Retryable: a freshly written record can take a moment to be served.
        raise CheckError(
            f"DNS: {host} did not resolve (is the private zone associated with the client VPC? is the CNAME there?)",
            retryable=True,
        )
    return addresses


def _failure(err: Exception, where: str, deadline: protocols.Deadline) -> str:
    """Why one address failed; raises CheckError for a wrong answer (no use trying another address). Once the
    attempt's deadline has passed, whatever the cut-off connection raised is reported as the timeout it is."""
    if deadline.expired or isinstance(err, TimeoutError):
        return f"timeout: no answer from {where} within {deadline.seconds:g}s"
    if isinstance(err, protocols.ProbeError):
        raise CheckError(err.reason, retryable=err.retryable) from err
    return f"connection to {where} failed: {str(err) or type(err).__name__}"


def _probe(
    check: Mapping[str, Any], protocol: str, *, resolver: Resolver, deadline: protocols.Deadline
) -> tuple[int | None, str]:
    """A GRPC or TLS check: each resolved address in turn, as for HTTP."""
    host = str(check["host"])
    failure = ""  # pragma: no mutate -- equivalent: at least one address, and each attempt sets it
    for address in _addresses(host, int(check.get("port") or protocols.DEFAULT_PORTS[protocol]), resolver):
        where = f"{host} ({address[0]}:{address[1]})"
        try:
            if protocol == "TLS":
                return None, protocols.tls_probe(check, address, deadline)
            return _grpc(check, address, host, deadline)
        except (protocols.ProbeError, TimeoutError, OSError) as err:  # ssl.SSLError is an OSError
            failure = _failure(err, where, deadline)
            if deadline.expired:
                break
    raise CheckError(failure, retryable=True)


def _grpc(check: Mapping[str, Any], address: Address, host: str, deadline: protocols.Deadline) -> tuple[int, str]:
    """The health call, signed like an HTTP check (see grpc_probe.grpc_health for how Lattice takes it)."""
    region = os.environ.get("SIGV4_REGION")
    headers = spec.grpc_metadata(check.get("headers"))  # the check's headers go out as metadata, and are signed
    signing = Request("POST", address, host, protocols.HEALTH_CHECK_PATH, headers)
    metadata = sigv4_headers(signing, region) if region and check.get("sign", True) is not False else headers
    service = str(check.get("grpcService") or "")
    answer = grpc_probe.grpc_health(
        address,
        host,
        service,
        tls=protocols.grpc_tls(check),
        bundle=check.get("caBundle"),
        deadline=deadline,
        metadata=metadata,
    )
    response = Response(status=answer.status, body=answer.body)
    try:
        if answer.status == 200 and answer.grpc_status in GRPC_REFUSALS:
            return answer.status, _grpc_refusal(check, answer)
        if check.get("expectStatus") is not None:
            return answer.status, _verify_status(int(check["expectStatus"]), response)
        if answer.status != 200:
            _verify([], response)  # 403, 404, 5xx: the reasons an HTTP check gives
            raise CheckError(
                f"status {answer.status}, expected 200 (gRPC answers 200 and a grpc-status)", retryable=True
            )
        return answer.status, grpc_probe.judge_health(answer, service)
    except protocols.ProbeError as err:
        raise CheckError(err.reason, retryable=err.retryable, status=answer.status) from err
    except CheckError as err:
        err.status = answer.status
        raise


def _failure_message(results: Sequence[Mapping[str, Any]]) -> str:
    """A summary line, then one line per check (tools/smoke.py prints them as they are)."""
    failed = sum(1 for r in results if not r["ok"])
    lines = [f"{failed} of {len(results)} smoke checks failed"]
    lines += [report_line(r) for r in results]
    return "\n".join(lines)


def report_line(result: Mapping[str, Any]) -> str:
    """PASS/FAIL, then the route, the caller and the status it got, then the request and why."""
    verdict = "PASS" if result.get("ok") else "FAIL"
    status = result.get("status") or "-"
    where = f"route={result.get('route', '-')} caller={result.get('caller', '-')} status={status}"
    return f"{verdict} {where} {result.get('method', 'GET')} {result.get('url')}: {result.get('detail')}"
