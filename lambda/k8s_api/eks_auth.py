"""EKS bearer tokens: a presigned STS GetCallerIdentity URL, as `aws eks get-token` makes it."""

from __future__ import annotations

import base64
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


def sts_endpoint(region: str) -> str:
    """Regional STS endpoint; EKS rejects tokens signed for the global endpoint in some partitions."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}"


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
    encoded = base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")
    return TOKEN_PREFIX + encoded


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
        self._issued_at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is None or now - self._issued_at >= self._refresh_after:
                self._token = eks_token(self._cluster_name, sts_client=self._sts_client)
                self._issued_at = now
            return self._token
