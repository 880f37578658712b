"""Destroy that finishes with the controller down: one custom resource per object of the workload that the
controller finalizes, deleted before its object, that deletes it and removes the controller's finalizer when the
controller cannot (lambda/finalizer_guard/handler.py says why and how)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CustomResource, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct, IDependable
from constructs.provider import CustomResourceProvider
from constructs.python_function import cluster_function

from config.versions import CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT

GUARD_GROUP = "eks-lattice-gateway-finalizer-guard"
# The finalizer the controller adds to each kind it finalizes, and the kind's resource (plural) for RBAC and the
# API path. aws/aws-application-networking-k8s at tag v2.1.3 (read 2026-12-05): pkg/controllers/
# route_controller.go (routeTypeToFinalizer), gateway_controller.go (gatewayFinalizer),
# iamauthpolicy_controller.go (IAMAuthPolicyFinalizer = k8s.AnnotationPrefix + "iam-auth-policy", the prefix in
# pkg/k8s/utils.go), accesslogpolicy_controller.go, serviceexport_controller.go, serviceimport_controller.go,
# vpcassociationpolicy_controller.go, servicenetwork_controller.go. (service_controller.go only removes a legacy
# finalizer from Services, never adds one; targetgrouppolicy_controller.go has none.)
# tests/controller_finalizers.py holds the same facts, read independently, and checks every emitted kind.
FINALIZED_KINDS: dict[tuple[str, str], tuple[str, str]] = {
    ("gateway.networking.k8s.io", "HTTPRoute"): ("httproutes", "httproute.k8s.aws/resources"),
    ("gateway.networking.k8s.io", "GRPCRoute"): ("grpcroutes", "grpcroute.k8s.aws/resources"),
    ("gateway.networking.k8s.io", "TLSRoute"): ("tlsroutes", "tlsroute.k8s.aws/resources"),
    ("gateway.networking.k8s.io", "Gateway"): ("gateways", "gateway.k8s.aws/resources"),
    ("application-networking.k8s.aws", "IAMAuthPolicy"): (
        "iamauthpolicies",
        "application-networking.k8s.aws/iam-auth-policy",
    ),
    ("application-networking.k8s.aws", "AccessLogPolicy"): ("accesslogpolicies", "accesslogpolicy.k8s.aws/resources"),
    ("application-networking.k8s.aws", "ServiceExport"): ("serviceexports", "serviceexport.k8s.aws/resources"),
    ("application-networking.k8s.aws", "ServiceImport"): ("serviceimports", "serviceimport.k8s.aws/resource"),
    ("application-networking.k8s.aws", "VpcAssociationPolicy"): (
        "vpcassociationpolicies",
        "vpcassociationpolicies.application-networking.k8s.aws/resources",
    ),
    ("application-networking.k8s.aws", "ServiceNetwork"): ("servicenetworks", "servicenetwork.k8s.aws/resources"),
}
# The kinds this app's workload can emit that the controller finalizes, in any configuration. The guard's RBAC
# names all of them, not only those the current config emits: a config change that drops a kind (AWS_IAM -> NONE
# drops the IAMAuthPolicies) deletes their guards in the update's cleanup, after the RBAC has been updated, so
# narrower rules would refuse exactly those deletes.
GUARDED_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("gateway.networking.k8s.io", "HTTPRoute"),
        ("gateway.networking.k8s.io", "GRPCRoute"),
        ("gateway.networking.k8s.io", "TLSRoute"),
        ("gateway.networking.k8s.io", "Gateway"),
        ("application-networking.k8s.aws", "IAMAuthPolicy"),
    }
)
# The Lambda's whole time; the grace for a healthy controller leaves room for removing the finalizer after it.
TIMEOUT = Duration.minutes(10)
GRACE_SECONDS = 300


class FinalizerGuard(Construct):
    """The Lambda, its Kubernetes access and provider; `guard()` adds the resource for one object."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        controller: IDependable,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self._cluster = cluster
        function = cluster_function(
            self,
            "Function",
            cluster=cluster,
            vpc=vpc,
            security_group=security_group,
            packages=("k8s_api", "controller_credentials", "finalizer_guard", "stack_removal"),
            handler="finalizer_guard.handler.on_event",
            description="Deletes a Gateway API object on destroy even when the controller cannot finalize it",
            timeout=TIMEOUT,
            log_retention=log_retention,
        )
        # Tells a whole-stack removal (strip the finalizer) from an update's cleanup (leave it): its own stack only.
        function.role.add_to_policy(
            iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=[Aws.STACK_ID])
        )
        # Kubernetes access: delete and patch (finalizers) the Gateway API objects; read the controller's state.
        self._rbac = eks.KubernetesManifest(
            self,
            "Rbac",
            cluster=cluster,
            overwrite=True,
            manifest=[
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": GUARD_GROUP},
                    "rules": [
                        {"apiGroups": [group], "resources": sorted(resources), "verbs": ["get", "delete", "patch"]}
                        for group, resources in _guarded_resources().items()
                    ],
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": GUARD_GROUP},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": GUARD_GROUP},
                    "subjects": [{"kind": "Group", "name": GUARD_GROUP, "apiGroup": "rbac.authorization.k8s.io"}],
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": {"name": GUARD_GROUP, "namespace": CONTROLLER_NAMESPACE},
                    "rules": [
                        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
                        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]},
                    ],
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": GUARD_GROUP, "namespace": CONTROLLER_NAMESPACE},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": GUARD_GROUP},
                    "subjects": [{"kind": "Group", "name": GUARD_GROUP, "apiGroup": "rbac.authorization.k8s.io"}],
                },
            ],
        )
        # The Role lives in the controller's namespace; deleted (after every guard) before the controller goes.
        self._rbac.node.add_dependency(controller)
        self._access = eks.CfnAccessEntry(
            self,
            "Access",
            cluster_name=cluster.cluster_name,
            principal_arn=function.role.role_arn,
            kubernetes_groups=[GUARD_GROUP],
        )
        self._provider = CustomResourceProvider(
            self, "Provider", on_event=function.function, log_retention=log_retention
        )

    def guard(self, construct_id: str, *, manifest: eks.KubernetesManifest, obj: dict[str, Any]) -> CustomResource:
        """The guard of `obj` (an object `manifest` applies, of a kind in FINALIZED_KINDS): depends on its manifest,
        so CloudFormation deletes it first. A new path is a new physical id, so after a rename the old guard
        releases the old object in the cleanup."""
        path, finalizer = object_path(obj)
        kind = (str(obj["apiVersion"]).rsplit("/", 1)[0], str(obj["kind"]))
        if kind not in GUARDED_KINDS:
            raise ValueError(f"{kind} is not in GUARDED_KINDS: the guard's RBAC would not let it act on it")
        resource = CustomResource(
            self,
            construct_id,
            service_token=self._provider.service_token,
            resource_type="Custom::FinalizerGuard",
            properties={
                "ClusterName": self._cluster.cluster_name,
                "Path": path,
                "Finalizer": finalizer,
                "ControllerNamespace": CONTROLLER_NAMESPACE,
                "ControllerServiceAccount": CONTROLLER_SERVICE_ACCOUNT,
                "GraceSeconds": str(GRACE_SECONDS),
            },
        )
        resource.node.add_dependency(manifest, self._rbac, self._access)
        return resource


def object_path(obj: dict[str, Any]) -> tuple[str, str]:
    """(API path, the controller's finalizer) of a namespaced object of a kind the controller finalizes."""
    api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    if (group, kind) not in FINALIZED_KINDS:
        raise ValueError(f"the controller puts no finalizer on {api_version} {kind}: nothing to guard")
    resource, finalizer = FINALIZED_KINDS[(group, kind)]
    meta = obj["metadata"]
    return f"/apis/{api_version}/namespaces/{meta['namespace']}/{resource}/{meta['name']}", finalizer


def _guarded_resources() -> dict[str, set[str]]:
    """API group -> the resources (plurals) of GUARDED_KINDS."""
    found: dict[str, set[str]] = {}
    for group, kind in sorted(GUARDED_KINDS):
        found.setdefault(group, set()).add(FINALIZED_KINDS[(group, kind)][0])
    return dict(sorted(found.items()))
