"""The workload from config: its Kubernetes objects, their manifest resources, and the guards that let destroy
finish with the controller down."""

from constructs.workload.finalizer_guard import FinalizerGuard
from constructs.workload.gateway_workload import GatewayWorkload

__all__ = ["FinalizerGuard", "GatewayWorkload"]
