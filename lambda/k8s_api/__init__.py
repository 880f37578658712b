"""Stdlib-only Kubernetes API access for Lambda handlers (EKS token auth, server-side apply)."""

from .client import KubeApiError, KubeClient
from .eks_auth import CachedToken, eks_token, regional_sts_client, sts_endpoint

__all__ = ["CachedToken", "KubeApiError", "KubeClient", "eks_token", "regional_sts_client", "sts_endpoint"]
