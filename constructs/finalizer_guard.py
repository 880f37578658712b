"""Destroy that finishes with the controller down: one custom resource per Gateway API object of the workload,
deleted before its object, that deletes it and removes the controller's finalizer when the controller cannot
(lambda/finalizer_guard/handler.py says why and how)."""

from __future__ import annotations

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct, IDependable
from constructs.provider import CustomResourceProvider
from constructs.python_function import PythonFunction

from config.versions import CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT

GUARD_GROUP = "eks-lattice-gateway-finalizer-guard"
# controller v2.1.3: pkg/controllers/route_controller.go (routeTypeToFinalizer) and gateway_controller.go.
ROUTE_FINALIZER = "httproute.k8s.aws/resources"
GATEWAY_FINALIZER = "gateway.k8s.aws/resources"
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
        function = PythonFunction(
            self,
            "Function",
            packages=("k8s_api", "controller_credentials", "finalizer_guard"),
            handler="finalizer_guard.handler.on_event",
            description="Deletes a Gateway API object on destroy even when the controller cannot finalize it",
            timeout=TIMEOUT,
            log_retention=log_retention,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[security_group],
        )
        function.role.add_to_policy(
            iam.PolicyStatement(actions=["eks:DescribeCluster"], resources=[cluster.cluster_arn])
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
                        {
                            "apiGroups": ["gateway.networking.k8s.io"],
                            "resources": ["httproutes", "gateways"],
                            "verbs": ["get", "delete", "patch"],
                        }
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

    def guard(
        self, construct_id: str, *, manifest: eks.KubernetesManifest, path: str, finalizer: str
    ) -> CustomResource:
        """The guard of the object at `path`: depends on its manifest, so CloudFormation deletes it first. A new
        path is a new physical id, so after a rename the old guard releases the old object in the cleanup."""
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
