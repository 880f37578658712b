"""The controller's own Kubernetes objects, applied before its chart: its namespace and ServiceAccount."""

from __future__ import annotations

from typing import Any

from config.versions import CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT


def controller_namespace() -> dict[str, Any]:
    """The controller's namespace, as upstream files/controller-installation/deploy-namesystem.yaml."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": CONTROLLER_NAMESPACE, "labels": {"control-plane": "gateway-api-controller"}},
    }


def controller_service_account() -> dict[str, Any]:
    """Created outside the chart so the Pod Identity association can exist before the controller's pods.

    No eks.amazonaws.com/role-arn annotation: that is IRSA; Pod Identity binds the role by association.
    """
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": CONTROLLER_SERVICE_ACCOUNT, "namespace": CONTROLLER_NAMESPACE},
    }
