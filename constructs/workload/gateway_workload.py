"""The workload from config: GatewayClass, Gateway, the apps (Deployment, Service, TargetGroupPolicy), one
HTTPRoute per configured route with its IAMAuthPolicy, each group a KubernetesManifest resource of its own
(constructs/workload/manifests.workload_manifests says why: nothing a config change drops may stay on the cluster).

Dependencies encode SPEC §4's deletion order (CloudFormation deletes in reverse): routes -> Gateway ->
GatewayClass -> controller. `kubectl delete` waits for each route's finalizers while the controller runs;
every object the controller finalizes (routes, their IAMAuthPolicies, the Gateway) has a FinalizerGuard,
deleted just before it, so a controller that is down cannot hold them (and the stack's destroy) forever.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.access import AppCaller, PodCredentialsChecks
from constructs.workload.finalizer_guard import FinalizerGuard
from constructs.workload.manifests import (
    app_manifest_id,
    auth_policy_manifest_id,
    route_manifest_id,
    service_account_manifest_id,
    workload_manifests,
)

from config import AppConfig
from config.access_policy import Identities
from config.model import ROUTE_KINDS


def only(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The one object of `kind` in a manifest's objects (a guard names the object it releases)."""
    (found,) = [o for o in objects if o["kind"] == kind]
    return found


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
        """`identities`: the roles and VPCs the route policies name besides the apps' roles (created here)."""
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

        # Each calling app's role first: its route statements name it (config/access_policy.py).
        callers = config.calling_apps
        self.callers: dict[str, AppCaller] = {
            app.name: AppCaller(self, f"Caller-{app.name}", cluster=cluster, app=app) for app in callers
        }
        identities = replace(identities, app_role_arns={n: c.role.role_arn for n, c in self.callers.items()})
        manifests = workload_manifests(config, signing_region=Aws.REGION, identities=identities)

        def manifest(construct_id: str) -> eks.KubernetesManifest:
            # Overwrite: Create runs `kubectl apply`, so a resource that takes over an object another one held
            # before (an upgrade moving it out of a shared manifest) adopts it instead of failing on it.
            objects = manifests[construct_id]
            return eks.KubernetesManifest(self, construct_id, cluster=cluster, manifest=objects, overwrite=True)

        gateway_class_manifest = manifest("GatewayClass")
        gateway_class_manifest.node.add_dependency(controller)
        gateway_manifest = manifest("Gateway")
        gateway_object = only(manifests["Gateway"], "Gateway")
        gateway_manifest.node.add_dependency(gateway_class_manifest)
        gateway_guard = guards.guard("Gateway", manifest=gateway_manifest, obj=gateway_object)

        namespaces = manifest("Namespaces") if "Namespaces" in manifests else None
        # What else puts objects into these namespaces depends on it (the route readers' RoleBindings).
        self.namespaces = namespaces
        apps: dict[str, eks.KubernetesManifest] = {}
        checks = (
            PodCredentialsChecks(
                self,
                "CallerCredentials",
                cluster=cluster,
                namespaces=[app.namespace for app in callers],
                after=[namespaces] if namespaces else [],
                vpc=vpc,
                security_group=security_group,
                log_retention=log_retention,
            )
            if callers
            else None
        )
        for app in config.apps:
            # TargetGroupPolicy is a controller CRD: the chart must be installed first.
            apps[app.name] = manifest(app_manifest_id(app))
            apps[app.name].node.add_dependency(controller, *([namespaces] if namespaces else []))
            if app in callers:
                # Pods are created with their ServiceAccount and its Pod Identity association in place.
                account = manifest(service_account_manifest_id(app))
                account.node.add_dependency(*([namespaces] if namespaces else []))
                association = self.callers[app.name].association
                apps[app.name].node.add_dependency(association, account)
                if checks is not None:
                    # The association may not be in effect yet when the pods are admitted: restart those without.
                    checks.check(app=app, association=association, workload=apps[app.name])

        self.routes: dict[str, eks.KubernetesManifest] = {}
        self.auth_policies: dict[str, eks.KubernetesManifest] = {}  # by route, as `routes`; none under NONE
        for route in config.routes:
            route_id = route_manifest_id(config, route)
            route_manifest = manifest(route_id)
            route_object = only(manifests[route_id], ROUTE_KINDS[route.protocol])
            # On the Gateway's guard too, so the routes are gone before it releases the Gateway.
            route_manifest.node.add_dependency(
                gateway_manifest, gateway_guard, *(apps[b.app] for r in route.rules for b in r.backends)
            )
            guards.guard(route_id, manifest=route_manifest, obj=route_object)
            self.routes[f"{route.namespace}/{route.name}"] = route_manifest
            policy_id = auth_policy_manifest_id(config, route)
            if policy_id in manifests:
                # After its route, so deleted before it, while the route's Lattice service exists: the controller
                # (v2.1.3 pkg/controllers/iamauthpolicy_controller.go, reconcileDelete) sets the service back to auth
                # type NONE, and if the service is already gone while the route is not, it returns before removing
                # the policy's finalizer.
                policy_manifest = manifest(policy_id)
                policy_manifest.node.add_dependency(route_manifest)
                # The controller finalizes IAMAuthPolicies too: guarded like the route, with their own manifest.
                guards.guard(policy_id, manifest=policy_manifest, obj=only(manifests[policy_id], "IAMAuthPolicy"))
                self.auth_policies[f"{route.namespace}/{route.name}"] = policy_manifest
