"""The workload's objects in apply order, and how they are grouped into KubernetesManifest resources.

Pure functions of the config (no CDK imports), as constructs/workload/apps.py.
"""

from __future__ import annotations

from constructs.workload.apps import Obj, caller_service_account, config_app_objects, namespace
from constructs.workload.routes import gateway, gateway_class, has_auth_policy, iam_auth_policy, route_object

from config.access_policy import Identities, policy_text, route_policy, service_account
from config.lattice_names import (
    route_digest,
)
from config.model import App, AppConfig, Route


def extra_namespaces(cfg: AppConfig) -> list[Obj]:
    """Namespace objects for every namespace the workload uses besides "default"."""
    return [namespace(ns) for ns in cfg.namespaces if ns != "default"]


def workload_objects(
    cfg: AppConfig, *, signing_region: str = "us-east-1", identities: Identities | None = None
) -> list[Obj]:
    """Everything applied after the controller is installed, in apply order.

    Namespaces first; apps before routes so a route's backends exist when the controller builds its
    target groups; GatewayClass → Gateway → HTTPRoutes as each refers to the one before, each route followed by
    its IAMAuthPolicy (with `identities`, under AWS_IAM). (The TargetGroupPolicy
    CRD ships with the controller chart, hence "after the controller".)
    """
    objects = extra_namespaces(cfg)
    callers = cfg.calling_apps
    for app in cfg.apps:
        objects += [caller_service_account(app)] if app in callers else []
        objects += config_app_objects(cfg, app, signing_region)
    objects += [gateway_class(), gateway(cfg)]
    for route in cfg.routes:
        objects.append(route_object(cfg, route))
        if identities is not None and has_auth_policy(cfg, route):
            objects.append(iam_auth_policy(cfg, route, policy_text(route_policy(cfg, route, identities))))
    return objects


# ------------------------------------------------------------------------------------- manifest resources
#
# How the objects are grouped into KubernetesManifest resources decides what a config change leaves behind. The
# CDK kubectl handler (aws-cdk-lib 2.273.0, custom-resource-handlers/dist/aws-eks-v2/kubectl-handler/apply) runs
# `kubectl apply` on Create (Overwrite), `kubectl apply --prune -l <the resource's prune label>` on Update and
# `kubectl delete -f <the old manifest>` on Delete. kubectl prunes only its default allowlist of core, apps, batch
# and networking kinds, and namespaced ones only in namespaces the new manifest names (tools/impact.py,
# KUBECTL_PRUNE_ALLOWLIST): an IAMAuthPolicy, TargetGroupPolicy, HTTPRoute, Gateway, ServiceAccount or RBAC object
# dropped from an *updated* manifest stays on the cluster. So each resource's id names the identity (kind,
# namespace, name) of every object it holds, and a resource holds only objects that come and go together:
# - an object that leaves the config takes its resource with it, and CloudFormation's Delete deletes it;
# - an object that stays never changes resource, so no cleanup Delete removes what another resource applied.
# Ids that deployments made before this layout already have are kept (App-<name> for the default namespace,
# Route-..., Gateway), so upgrading moves only objects of kinds prune never touches (IAMAuthPolicy,
# ServiceAccount, RoleBinding) out of updated manifests into new ones, which adopt them (`kubectl apply`).


def app_manifest_id(app: App) -> str:
    """The app's Deployment, Service and TargetGroupPolicy (always together). The namespace is part of the id
    (left out for `default`, the ids made before): an app moved to another namespace is a new resource, and the
    old one's Delete removes the old objects, which prune would not (a namespace the new manifest doesn't name)."""
    return f"App-{app.name}" if app.namespace == "default" else f"App-{app.name}.{app.namespace}"


def service_account_manifest_id(app: App) -> str:
    """A calling app's ServiceAccount: it comes and goes with `calls`, without the app."""
    return f"ServiceAccount-{service_account(app)}.{app.namespace}"  # "." is in neither name


def route_manifest_id(cfg: AppConfig, route: Route) -> str:
    # The id carries the object name's digest: a new hostname is a new resource, so CloudFormation creates the new
    # route before its cleanup deletes the old one (`kubectl delete`).
    return f"Route-{route.namespace}-{route.name}-{route_digest(cfg.cluster_name, route.hostname)}"


def auth_policy_manifest_id(cfg: AppConfig, route: Route) -> str:
    """The route's IAMAuthPolicy: it comes and goes with serviceNetworkAuthType, without the route."""
    return f"AuthPolicy-{route.namespace}-{route.name}-{route_digest(cfg.cluster_name, route.hostname)}"


def workload_manifests(
    cfg: AppConfig, *, signing_region: str = "us-east-1", identities: Identities | None = None
) -> dict[str, list[Obj]]:
    """The workload's KubernetesManifest resources (construct id -> objects), as constructs/workload/gateway_workload.py
    builds them; `identities` as for workload_objects."""
    manifests: dict[str, list[Obj]] = {}
    if namespaces := extra_namespaces(cfg):
        # Namespaces are cluster-scoped and on kubectl's allowlist: one dropped from this manifest is pruned.
        manifests["Namespaces"] = namespaces
    callers = cfg.calling_apps
    for app in cfg.apps:
        if app in callers:
            manifests[service_account_manifest_id(app)] = [caller_service_account(app)]
        manifests[app_manifest_id(app)] = config_app_objects(cfg, app, signing_region)
    manifests["GatewayClass"] = [gateway_class()]
    # The Gateway's name is serviceNetworkName, which cannot change in place (docs/update-safety.md, the impact table).
    manifests["Gateway"] = [gateway(cfg)]
    for route in cfg.routes:
        manifests[route_manifest_id(cfg, route)] = [route_object(cfg, route)]
        if identities is not None and has_auth_policy(cfg, route):
            policy = policy_text(route_policy(cfg, route, identities))
            manifests[auth_policy_manifest_id(cfg, route)] = [iam_auth_policy(cfg, route, policy)]
    return manifests
