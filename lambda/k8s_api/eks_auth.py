"""EKS bearer tokens: a presigned STS GetCallerIdentity URL, as `aws eks get-token` makes it."""

from __future__ import annotations

import base64
import functools
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - a format prefix, not a secret
CLUSTER_ID_HEADER = "x-k8s-aws-id"
# The API server accepts a token for ~15 minutes from signing; the URL itself only needs to live long
# enough for the server to replay it, and EKS expects 60 s.
PRESIGN_EXPIRES_SECONDS = 60
DEFAULT_REFRESH_SECONDS = 600.0

# Event handlers are registered on the client's shared emitter; serialise so two clusters never mix.
_PRESIGN_LOCK = threading.Lock()


@functools.cache
def sts_endpoint(region: str) -> str:
    """The regional STS endpoint of `region`'s partition, as botocore resolves it.

    botocore knows every partition's DNS suffix (amazonaws.com, amazonaws.com.cn, amazonaws.eu, the ISO
    ones ...); a hard-coded suffix breaks in all but the partitions it names. "regional" is forced because
    botocore's legacy mode (the default of older runtimes, or AWS_STS_REGIONAL_ENDPOINTS=legacy) maps
    us-east-1 and others to the global endpoint, and EKS expects the token signed for the cluster's region.
    """
    client = _resolver_session().create_client("sts", region_name=region)  # resolution only: no credentials
    return str(client.meta.endpoint_url)


@functools.cache
def _resolver_session() -> Any:
    """A botocore session of its own (the caller's session stays untouched), set to regional STS endpoints."""
    import botocore.session  # noqa: PLC0415 - keeps the module importable for presign-only callers and tests

    session = botocore.session.get_session()
    session.set_config_variable("sts_regional_endpoints", "regional")
    return session


def regional_sts_client(session: Any | None, region: str) -> Any:
    """An STS client pinned to the regional endpoint (session: a boto3 Session, or None for the default one)."""
    if session is None:
        import boto3  # noqa: PLC0415 - keeps the module importable for presign-only callers and tests

        session = boto3.session.Session()
    return session.client("sts", region_name=region, endpoint_url=sts_endpoint(region))


def eks_token(cluster_name: str, *, sts_client: Any) -> str:
    """Bearer token for the EKS cluster `cluster_name`, signed with `sts_client`'s credentials."""
    if not cluster_name:
        raise ValueError("cluster_name is required to build an EKS token")

    def add_cluster_header(request: Any, **_: Any) -> None:
        # Signed header: binds the token to this cluster so it cannot be replayed against another one.
        request.headers[CLUSTER_ID_HEADER] = cluster_name

    event = "before-sign.sts.GetCallerIdentity"
    handler_id = f"eks-token-{uuid.uuid4()}"
    emitter = sts_client.meta.events
    with _PRESIGN_LOCK:
        emitter.register(event, add_cluster_header, unique_id=handler_id)
        try:
            url: str = sts_client.generate_presigned_url(
                "get_caller_identity", Params={}, ExpiresIn=PRESIGN_EXPIRES_SECONDS, HttpMethod="GET"
            )
        finally:
            emitter.unregister(event, unique_id=handler_id)
    # Default codec (UTF-8) both ways: the URL and its base64 are ASCII. The token carries no padding.
    encoded = base64.urlsafe_b64encode(url.encode()).decode()
    return TOKEN_PREFIX + encoded.rstrip("=")


class CachedToken:
    """Callable token source that re-signs once the cached token is older than `refresh_after` seconds."""

    def __init__(
        self,
        cluster_name: str,
        *,
        sts_client: Any,
        refresh_after: float = DEFAULT_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cluster_name = cluster_name
        self._sts_client = sts_client
        self._refresh_after = refresh_after
        self._clock = clock
        self._token: str | None = None
        self._issued_at = 0.0  # pragma: no mutate -- equivalent: read only after the first signing sets it
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is None or now - self._issued_at >= self._refresh_after:
                self._token = eks_token(self._cluster_name, sts_client=self._sts_client)
                self._issued_at = now
            return self._token
