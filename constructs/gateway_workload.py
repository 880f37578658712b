"""The workload from config: GatewayClass, Gateway, the apps (Deployment, Service, TargetGroupPolicy) and
one HTTPRoute per configured route.

Dependencies encode SPEC §4's deletion order (CloudFormation deletes in reverse): routes -> Gateway ->
GatewayClass -> controller. `kubectl delete` waits for each route's finalizers while the controller runs;
each route and the Gateway has a FinalizerGuard, deleted just before it, so a controller that is down cannot
hold them (and the stack's destroy) forever.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.app_caller import AppCaller
from constructs.finalizer_guard import GATEWAY_FINALIZER, ROUTE_FINALIZER, FinalizerGuard
from constructs.k8s_objects import (
    GATEWAY_API_VERSION,
    GATEWAY_NAMESPACE,
    app_objects,
    extra_namespaces,
    gateway,
    gateway_class,
    http_route,
    iam_auth_policy,
)

from config import AppConfig
from config.access_policy import Identities, policy_text, route_policy
from config.lattice_names import route_digest, route_object_name


class GatewayWorkload(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        config: AppConfig,
        controller: Construct,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        log_retention: logs.RetentionDays,
        identities: Identities,
    ) -> None:
        """`identities`: the roles the route policies name besides the apps' (smoke test, client host)."""
        super().__init__(scope, construct_id)
        guards = FinalizerGuard(
            self,
            "FinalizerGuard",
            cluster=cluster,
            controller=controller,
            vpc=vpc,
            security_group=security_group,
            log_retention=log_retention,
        )
        api = f"/apis/{GATEWAY_API_VERSION}"

        def manifest(construct_id: str, *objects: dict[str, object]) -> eks.KubernetesManifest:
            return eks.KubernetesManifest(self, construct_id, cluster=cluster, manifest=list(objects), overwrite=True)

        gateway_class_manifest = manifest("GatewayClass", gateway_class())
        gateway_class_manifest.node.add_dependency(controller)
        gateway_manifest = manifest("Gateway", gateway(config))
        gateway_manifest.node.add_dependency(gateway_class_manifest)
        gateway_guard = guards.guard(
            "Gateway",
            manifest=gateway_manifest,
            path=f"{api}/namespaces/{GATEWAY_NAMESPACE}/gateways/{config.service_network_name}",
            finalizer=GATEWAY_FINALIZER,
        )

        namespace_objects = extra_namespaces(config)
        namespaces = manifest("Namespaces", *namespace_objects) if namespace_objects else None
        # Whatever else puts objects in these namespaces (the DNS reader's RoleBindings) must wait for it too.
        self.namespaces = namespaces
        apps: dict[str, eks.KubernetesManifest] = {}
        self.callers: dict[str, AppCaller] = {}
        callers = config.calling_apps
        for app in config.apps:
            # TargetGroupPolicy is a controller CRD: the chart must be installed first.
            region = Aws.REGION if app in callers else None
            apps[app.name] = manifest(f"App-{app.name}", *app_objects(app, signing_region=region))
            apps[app.name].node.add_dependency(controller, *([namespaces] if namespaces else []))
            if app in callers:
                self.callers[app.name] = AppCaller(self, f"Caller-{app.name}", cluster=cluster, app=app)
                apps[app.name].node.add_dependency(self.callers[app.name].association)

        self.routes: dict[str, eks.KubernetesManifest] = {}
        for route in config.routes:
            # The id carries the object name's digest: a new hostname is a new resource, so
            # CloudFormation creates the new route before its cleanup deletes the old one (`kubectl delete`).
            # Updating in place would leave the old object: kubectl's --prune skips custom resources.
            route_id = f"Route-{route.namespace}-{route.name}-{route_digest(config.cluster_name, route.hostname)}"
            objects = [http_route(config, route)]
            if config.service_network_auth_type == "AWS_IAM":
                # With its route: the controller attaches it to the route's Lattice service (never the Gateway).
                objects.append(iam_auth_policy(config, route, policy_text(route_policy(config, route, identities))))
            route_manifest = manifest(route_id, *objects)
            # On the Gateway's guard too, so the routes are gone before it releases the Gateway.
            route_manifest.node.add_dependency(
                gateway_manifest, gateway_guard, *(apps[b.app] for r in route.rules for b in r.backends)
            )
            guards.guard(
                route_id,
                manifest=route_manifest,
                path=f"{api}/namespaces/{route.namespace}/httproutes/{route_object_name(route, config.cluster_name)}",
                finalizer=ROUTE_FINALIZER,
            )
            self.routes[f"{route.namespace}/{route.name}"] = route_manifest
