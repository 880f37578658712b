"""The Pod Identity credentials check for the apps that call routes (`apps[].calls`): one custom resource per
app's Pod Identity association, after the association and the manifest that starts the app's pods.

EKS documents that associations "are eventually consistent, and may take several seconds to be effective" (EKS
API Reference, CreatePodIdentityAssociation, https://docs.aws.amazon.com/eks/latest/APIReference/
API_CreatePodIdentityAssociation.html, and botocore's eks 2017-11-01 model; read 2026-12-05), and the Pod
Identity webhook injects the credentials only when a pod is admitted: a pod created in between runs without them
for its whole life, and its signing sidecar cannot sign. The check (lambda/controller_credentials, as for the
controller) restarts such pods until every replica has them. Its Kubernetes rights: list/delete pods and read
Deployments in the callers' namespaces only."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_logs as logs
from constructs import Construct, IDependable
from constructs.provider import CustomResourceProvider
from constructs.python_function import cluster_function

from config.access_policy import service_account
from config.model import App

# The Kubernetes group the apps' check maps to (its RBAC Roles and RoleBindings share the name).
APP_CREDENTIALS_CHECK_GROUP = "eks-lattice-gateway-app-credentials-check"
RESOURCE_TYPE = "Custom::PodCredentials"
# The apps' Roles and RoleBindings. Not the group's name, which the one manifest of all namespaces used before:
# its Delete in the cleanup after an upgrade would `kubectl delete` those names, which the new per-namespace
# manifests (applied first) would then hold.
APP_CHECK_ROLE = "eks-lattice-gateway-app-pod-check"


def credentials_check_rbac(group: str, namespaces: Sequence[str], *, name: str = "") -> list[dict[str, object]]:
    """A Role and RoleBinding per namespace (named `name`, default the group's): exactly list/delete pods and read
    Deployments there, for `group`."""
    name = name or group
    objects: list[dict[str, object]] = []
    for namespace in namespaces:
        objects += [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": name, "namespace": namespace},
                "rules": [
                    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]},
                    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{"kind": "Group", "name": group, "apiGroup": "rbac.authorization.k8s.io"}],
            },
        ]
    return objects


class PodCredentialsChecks(Construct):
    """One function, its Kubernetes access and provider; `check` adds one custom resource per app."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        namespaces: Sequence[str],
        after: Sequence[IDependable],
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        log_retention: logs.RetentionDays,
    ) -> None:
        """`namespaces`: the callers' namespaces (its RBAC covers these only); `after`: what creates them."""
        super().__init__(scope, construct_id)
        self._cluster = cluster
        function = cluster_function(
            self,
            "Check",
            cluster=cluster,
            vpc=vpc,
            security_group=security_group,
            packages=("k8s_api", "controller_credentials"),
            handler="controller_credentials.handler.on_event",
            description="Restarts app pods that started without their Pod Identity credentials",
            timeout=Duration.minutes(5),
            log_retention=log_retention,
        )
        # One manifest resource per namespace: a namespace that loses its last caller keeps existing, and an updated
        # manifest's prune never deletes a Role or RoleBinding (not on kubectl's allowlist, tools/impact.py), so
        # one shared manifest would orphan them there; a removed resource's Delete does delete them.
        self._rbac: dict[str, eks.KubernetesManifest] = {}
        for namespace in sorted(set(namespaces)):
            rbac = eks.KubernetesManifest(
                self,
                f"Rbac-{namespace}",
                cluster=cluster,
                overwrite=True,
                manifest=credentials_check_rbac(APP_CREDENTIALS_CHECK_GROUP, [namespace], name=APP_CHECK_ROLE),
            )
            rbac.node.add_dependency(*after)
            self._rbac[namespace] = rbac
        self._access = eks.CfnAccessEntry(
            self,
            "Access",
            cluster_name=cluster.cluster_name,
            principal_arn=function.role.role_arn,
            kubernetes_groups=[APP_CREDENTIALS_CHECK_GROUP],
        )
        self._provider = CustomResourceProvider(
            self, "Provider", on_event=function.function, log_retention=log_retention
        )

    def check(
        self, *, app: App, association: eks.CfnPodIdentityAssociation, workload: eks.KubernetesManifest
    ) -> CustomResource:
        """The check of `app`'s pods: after its association and `workload`, the manifest that starts them."""
        resource = CustomResource(
            self,
            f"Credentials-{app.namespace}-{app.name}",
            service_token=self._provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                "ClusterName": self._cluster.cluster_name,
                "Namespace": app.namespace,
                "ServiceAccount": service_account(app),
                # The app's own pods (constructs/workload/apps.py labels them app=<name>), were another Deployment
                # to share it.
                "LabelSelector": f"app={app.name}",
                "AllowNoReplicas": "true",  # an app scaled to 0 runs no pod to check
                "TimeoutSeconds": "240",
                # A new association is checked again (CloudFormation sends an Update).
                "AssociationArn": association.attr_association_arn,
            },
        )
        resource.node.add_dependency(association, workload, self._rbac[app.namespace], self._access)
        return resource
