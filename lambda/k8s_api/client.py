"""Minimal Kubernetes API client over http.client: bearer-token auth, CA pinning, retries, server-side apply."""

from __future__ import annotations

import base64
import binascii
import email.utils
import http.client
import json
import math
import os
import random
import ssl
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from .eks_auth import CachedToken

USER_AGENT = "eks-lattice-gateway/k8s-api"
# Upper bounds so a misbehaving server cannot stall a Lambda with huge waits.
MAX_BACKOFF_SECONDS = 20.0
MAX_RETRY_AFTER_SECONDS = 30.0
# Below this much time left, another attempt could not get an answer: report instead of trying.
MIN_ATTEMPT_SECONDS = 1.0
_MAX_MESSAGE_CHARS = 500


class KubeApiError(Exception):
    """A Kubernetes API call failed; str() says what failed and what to check."""

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason  # Kubernetes Status.reason, e.g. "NotFound", "Conflict", when the API sent one


class _TransientError(Exception):
    """Internal: a failure worth retrying, with an optional server-requested delay."""

    def __init__(self, description: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.retry_after = retry_after


def _ssl_context(ca_data: str) -> ssl.SSLContext:
    try:
        pem = base64.b64decode(ca_data, validate=True).decode("ascii")
        return ssl.create_default_context(cadata=pem)
    except (binascii.Error, UnicodeDecodeError, ssl.SSLError, ValueError) as err:
        raise KubeApiError(
            f"ca_data is not a base64-encoded PEM CA bundle (use certificateAuthority.data from "
            f"eks:DescribeCluster as is): {err}"
        ) from err


def _parse_json(raw: bytes) -> Any | None:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _api_message(raw: bytes, parsed: Any) -> tuple[str, str | None]:
    """(message, reason) from a Kubernetes Status body, or the start of whatever text came back."""
    if isinstance(parsed, dict) and parsed.get("kind") == "Status":
        reason = parsed.get("reason")
        return str(parsed.get("message") or reason or "no message"), reason if isinstance(reason, str) else None
    text = raw.decode("utf-8", errors="replace").strip()
    return (text[:_MAX_MESSAGE_CHARS] or "empty response body"), None


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as delta-seconds or HTTP-date (RFC 9110), capped; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


# eks:DescribeCluster with time to spare: three attempts of at most 5 s to connect and 10 s to read (botocore's own
# defaults wait up to 60 s for each, three attempts over).
EKS_CONNECT_TIMEOUT_SECONDS = 5.0
EKS_READ_TIMEOUT_SECONDS = 10.0
EKS_ATTEMPTS = 3
_EKS_TIMEOUTS = (EKS_CONNECT_TIMEOUT_SECONDS, EKS_READ_TIMEOUT_SECONDS)
# What botocore 1.44.8 does with them (read in its source, 2026-12-06):
# - connect_timeout and read_timeout apply to each attempt (botocore/httpsession.py hands them to urllib3 as
#   Timeout(connect, read) for every request); urllib3's read timeout is the longest wait between two reads of the
#   answer (urllib3/util/timeout.py, 2.8.0), so an attempt meeting a server that sends nothing lasts at most
#   connect + read.
# - retries "total_max_attempts" counts the first call (botocore/config.py: "This includes the initial request, so a
#   value of 1 indicates that no requests will be retried"); "max_attempts" would count retries only (args.py adds 1).
# - standard mode sleeps before retry i (1-based) at most min(base * 2 ** (i - 1), 20) s, base 1 s for throttling
#   (0.05 s otherwise), raised by an x-amz-retry-after header to at most that + 5 s
#   (botocore/retries/standard.py ExponentialBackoff.delay_amount).
_RETRY_AFTER_MAX_ADDITIONAL_SECONDS = 5.0


def _eks_backoff_seconds(retry: int) -> float:
    """The longest sleep botocore's standard mode makes before retry `retry` (1-based): see above."""
    return min(2.0 ** (retry - 1), 20.0) + _RETRY_AFTER_MAX_ADDITIONAL_SECONDS


def _unanswered(err: BaseException | None) -> bool:
    """botocore got no answer: a connect or read timeout, or a refused or dropped connection."""
    from botocore.exceptions import ConnectionError as BotoConnectionError  # noqa: PLC0415
    from botocore.exceptions import HTTPClientError  # noqa: PLC0415

    return isinstance(err, BotoConnectionError | HTTPClientError)


def eks_call_seconds(attempts: int, connect: float, read: float) -> float:
    """The longest one DescribeCluster can take with this many attempts and these timeouts, backoff included."""
    return attempts * (connect + read) + sum(_eks_backoff_seconds(i) for i in range(1, attempts))


def bounded_eks_config(seconds: float = math.inf) -> Any:
    """A botocore Config whose DescribeCluster ends within `seconds` (the caller's time left): the defaults above when
    they fit, else fewer attempts, else one attempt with timeouts cut to `seconds` (a third to connect)."""
    from botocore.config import Config  # noqa: PLC0415 - imported where AWS is actually used

    connect, read = _EKS_TIMEOUTS
    attempts = EKS_ATTEMPTS
    while attempts > 1 and eks_call_seconds(attempts, connect, read) > seconds:
        attempts -= 1
    if connect + read > seconds:
        connect = min(connect, seconds / 3)
        read = seconds - connect
    return Config(
        connect_timeout=connect, read_timeout=read, retries={"mode": "standard", "total_max_attempts": attempts}
    )


class KubeClient:
    """Talks to one Kubernetes API server; every call authenticates with a fresh-enough bearer token."""

    def __init__(
        self,
        *,
        endpoint: str,
        ca_data: str,
        token: Callable[[], str],
        timeout: float = 10.0,
        max_attempts: int = 5,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        time_left: Callable[[], float] | None = None,
    ) -> None:
        """`time_left()`: seconds this caller may still spend (e.g. the Lambda's remaining time less what it needs
        to answer); attempts, their timeouts and the waits between them stay inside it. None: no limit."""
        parts = urlsplit(endpoint)
        if parts.scheme != "https" or not parts.hostname:
            raise KubeApiError(f"Kubernetes endpoint must be https://host[:port], got {endpoint!r}")
        self.endpoint = endpoint.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or 443
        self._base_path = parts.path.rstrip("/")
        self._ssl = _ssl_context(ca_data)
        self._token = token
        self._timeout = timeout
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._time_left = time_left or (lambda: math.inf)

    @classmethod
    def for_eks_cluster(cls, cluster_name: str, *, eks_client: Any, sts_client: Any, **kwargs: Any) -> KubeClient:
        """Client for an EKS cluster: endpoint and CA from DescribeCluster, token re-signed every ~10 minutes."""
        try:
            cluster = eks_client.describe_cluster(name=cluster_name)["cluster"]
        except Exception as err:  # botocore ClientError and friends; keep the cause, add the context
            raise KubeApiError(f"eks:DescribeCluster for {cluster_name!r} failed: {err}") from err
        endpoint = cluster.get("endpoint")
        ca_data = (cluster.get("certificateAuthority") or {}).get("data")
        if not endpoint or not ca_data:
            raise KubeApiError(
                f"EKS cluster {cluster_name!r} has no API endpoint or CA yet (status {cluster.get('status')}); "
                "wait until it is ACTIVE"
            )
        return cls(endpoint=endpoint, ca_data=ca_data, token=CachedToken(cluster_name, sts_client=sts_client), **kwargs)

    @classmethod
    def for_lambda(
        cls, cluster_name: str, *, error: type[Exception], eks_config: Any = None, **kwargs: Any
    ) -> KubeClient:
        """`for_eks_cluster` with clients for this Lambda's region (AWS_REGION, which the runtime sets); raises
        `error` (the handler's own, for a readable failure) when no region is known. `eks_config` (a botocore
        Config) defaults to bounded_eks_config(); with a `time_left` (passed on to the KubeClient), DescribeCluster's
        attempts and timeouts are also cut to the time left (bounded_eks_config(time_left())), and with less than
        MIN_ATTEMPT_SECONDS left it is not called."""
        import boto3  # noqa: PLC0415 - imported where AWS is actually used; tests inject a client instead

        from .eks_auth import regional_sts_client  # noqa: PLC0415 - only the Lambda path needs botocore's resolver

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise error("AWS_REGION is not set; cannot reach EKS")
        session = boto3.session.Session(region_name=region)
        sts_client = regional_sts_client(session, region)
        time_left: Callable[[], float] | None = kwargs.get("time_left")
        config = eks_config or bounded_eks_config()
        left = math.inf
        if time_left is not None:
            left = time_left()  # read last before the call: what came before has already been spent
            if left < MIN_ATTEMPT_SECONDS:
                raise KubeApiError(
                    f"eks:DescribeCluster for {cluster_name!r}: no time left to call it ({left:.1f} s left)"
                )
            config = config.merge(bounded_eks_config(left))
        eks_client = session.client("eks", config=config)
        try:
            return cls.for_eks_cluster(cluster_name, eks_client=eks_client, sts_client=sts_client, **kwargs)
        except KubeApiError as err:
            # Only a call that ran out of time (a timeout, or no connection within it) was cut short by the time
            # left; EKS's own answers (AccessDenied, ResourceNotFound) are the whole story.
            if left >= eks_call_seconds(EKS_ATTEMPTS, *_EKS_TIMEOUTS) or not _unanswered(err.__cause__):
                raise
            raise KubeApiError(f"{err} (out of time: {left:.1f} s of the invocation were left for it)") from err

    # -- public API -----------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Send one API call (retrying transient faults); returns (status, parsed JSON or None) for 2xx/3xx."""
        if not path.startswith("/"):
            raise ValueError(f"API path must start with '/': {path!r}")
        target = self._base_path + path
        if query:
            target += ("&" if "?" in target else "?") + urlencode(dict(query))

        last: _TransientError | None = None
        attempts = 0
        out_of_time = False  # pragma: no mutate -- equivalent: only its truth is read
        while attempts < self._max_attempts:  # pragma: no mutate -- equivalent: ends by the == break below
            left = self._time_left()
            if left < MIN_ATTEMPT_SECONDS:
                out_of_time = True
                break
            attempts += 1
            try:
                return self._send_once(method, path, target, body, content_type, timeout=min(self._timeout, left))
            except _TransientError as err:
                last = err
                if attempts == self._max_attempts:
                    break
                delay = err.retry_after if err.retry_after is not None else self._backoff_delay(attempts)
                if self._time_left() - delay < MIN_ATTEMPT_SECONDS:
                    out_of_time = True
                    break
                self._sleep(delay)
        if last is None:
            raise KubeApiError(f"{method} {path}: no time left to call the Kubernetes API at {self.endpoint}")
        hint = ""
        if last.status is None:
            hint = (
                "; check that this network can reach the cluster endpoint (public/private endpoint access, "
                "VPC routing, security groups)"
            )
        why = (
            f"gave up after {attempts} attempt(s), out of time for another"
            if out_of_time
            else f"still failing after {attempts} attempts"
        )
        raise KubeApiError(
            f"{method} {path}: Kubernetes API at {self.endpoint} {why}; last error: {last}{hint}",
            status=last.status,
        )

    def get(self, path: str) -> Any | None:
        """GET an object; None when it does not exist (404)."""
        try:
            return self.request("GET", path)[1]
        except KubeApiError as err:
            if err.status == 404:
                return None
            raise

    def server_side_apply(
        self,
        path: str,
        body: bytes,
        *,
        field_manager: str,
        content_type: str = "application/apply-patch+yaml",
        force: bool = True,
    ) -> Any:
        """Server-side apply (`kubectl apply --server-side [--force-conflicts]`) of one object at its path."""
        query = {"fieldManager": field_manager}
        if force:
            query["force"] = "true"
        return self.request("PATCH", path, body=body, content_type=content_type, query=query)[1]

    # -- internals --------------------------------------------------------------------------------------------

    def _backoff_delay(self, attempt: int) -> float:
        ceiling = min(MAX_BACKOFF_SECONDS, self._backoff * (2 ** (attempt - 1)))
        # "Equal jitter": keeps at least half the backoff while spreading concurrent callers apart.
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not cryptography

    def _send_once(
        self, method: str, path: str, target: str, body: bytes | None, content_type: str | None, *, timeout: float
    ) -> tuple[int, Any]:
        try:
            token = self._token()
        except Exception as err:
            raise KubeApiError(f"could not sign a bearer token for {self.endpoint}: {err}") from err
        headers = {
            # Header names are case-insensitive (RFC 9110 5.1): their case mutants are equivalent.
            "Authorization": f"Bearer {token}",  # pragma: no mutate -- equivalent: header case
            "Accept": "application/json",  # pragma: no mutate -- equivalent: header case
            "User-Agent": USER_AGENT,  # pragma: no mutate -- equivalent: header case
        }
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"  # pragma: no mutate -- equivalent: header case

        conn = http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._ssl)
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            status = resp.status
            retry_after = resp.getheader("Retry-After")  # pragma: no mutate -- equivalent: lookup ignores case
        except ssl.SSLCertVerificationError as err:
            # Not transient: wrong CA or wrong host; retrying would only delay the same answer.
            raise KubeApiError(
                f"TLS verification of {self.endpoint} failed ({err.verify_message or err}): check that ca_data is "
                "this cluster's certificateAuthority.data and the endpoint host matches its certificate"
            ) from err
        except (OSError, http.client.HTTPException) as err:
            # OSError covers refused/reset connections, DNS failures, timeouts and TLS handshake drops.
            raise _TransientError(f"{type(err).__name__}: {err}") from err
        finally:
            conn.close()

        parsed = _parse_json(raw)
        if status < 400:
            return status, parsed
        message, reason = _api_message(raw, parsed)
        if status == 429 or status >= 500:
            delay = _retry_after_seconds(retry_after)
            raise _TransientError(f"HTTP {status}: {message}", status=status, retry_after=delay)
        if status == 401:
            raise KubeApiError(
                f"Kubernetes API at {self.endpoint} refused the bearer token (HTTP 401) on {method} {path}: check "
                "that this IAM principal has an EKS access entry on the cluster (authentication mode API or "
                f"API_AND_CONFIG_MAP) and that the clock is not skewed. API said: {message}",
                status=status,
                reason=reason,
            )
        if status == 403:
            raise KubeApiError(
                f"{method} {path} is forbidden (HTTP 403): check the access policy associated with this IAM "
                "principal's EKS access entry and its scope (cluster-scoped objects need a cluster-wide policy, "
                f"namespaced ones a policy covering that namespace). API said: {message}",
                status=status,
                reason=reason,
            )
        raise KubeApiError(f"{method} {path} failed: HTTP {status}: {message}", status=status, reason=reason)
