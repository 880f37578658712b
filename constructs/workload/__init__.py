"""The workload from config: its Kubernetes objects, their manifest resources, and the guards that let destroy
finish with the controller down."""

from constructs.workload.finalizer_guard import FinalizerGuard
from constructs.workload.gateway_workload import GatewayWorkload
from constructs.workload.manifests import workload_objects
from constructs.workload.routes import route_object

__all__ = ["FinalizerGuard", "GatewayWorkload", "route_object", "workload_objects"]
