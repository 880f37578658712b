"""The workload from config: GatewayClass, Gateway, the apps (Deployment, Service, TargetGroupPolicy) and
one HTTPRoute per configured route.

Dependencies encode SPEC §4's deletion order (CloudFormation deletes in reverse): routes -> Gateway ->
GatewayClass -> controller. `kubectl delete` waits for each route's finalizers while the controller runs.
"""

from __future__ import annotations

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct
from constructs.k8s_objects import app_objects, extra_namespaces, gateway, gateway_class, http_route

from config import AppConfig
from config.lattice_names import hostname_digest


class GatewayWorkload(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, cluster: eks.ICluster, config: AppConfig, controller: Construct
    ) -> None:
        super().__init__(scope, construct_id)

        def manifest(construct_id: str, *objects: dict[str, object]) -> eks.KubernetesManifest:
            return eks.KubernetesManifest(self, construct_id, cluster=cluster, manifest=list(objects), overwrite=True)

        gateway_class_manifest = manifest("GatewayClass", gateway_class())
        gateway_class_manifest.node.add_dependency(controller)
        gateway_manifest = manifest("Gateway", gateway(config))
        gateway_manifest.node.add_dependency(gateway_class_manifest)

        namespace_objects = extra_namespaces(config)
        namespaces = manifest("Namespaces", *namespace_objects) if namespace_objects else None
        apps: dict[str, eks.KubernetesManifest] = {}
        for app in config.apps:
            # TargetGroupPolicy is a controller CRD: the chart must be installed first.
            apps[app.name] = manifest(f"App-{app.name}", *app_objects(app))
            apps[app.name].node.add_dependency(controller, *([namespaces] if namespaces else []))

        self.routes: dict[str, eks.KubernetesManifest] = {}
        for route in config.routes:
            # The id carries the hostname's digest like the object's name: a new hostname is a new resource, so
            # CloudFormation creates the new route before its cleanup deletes the old one (`kubectl delete`).
            # Updating in place would leave the old object: kubectl's --prune skips custom resources.
            route_id = f"Route-{route.namespace}-{route.name}-{hostname_digest(route.hostname)}"
            route_manifest = manifest(route_id, http_route(config, route))
            route_manifest.node.add_dependency(
                gateway_manifest, *(apps[b.app] for r in route.rules for b in r.backends)
            )
            self.routes[f"{route.namespace}/{route.name}"] = route_manifest
