"""Cluster add-on: the AWS Gateway API Controller (Helm chart) with its EKS Pod Identity.

Namespace, ServiceAccount and the Pod Identity association exist before the chart's pods start
(credentials are injected at pod creation), and the chart waits for the Gateway API CRDs. An association
takes a few seconds to be in effect, so pods can still start without credentials (and `helm --wait` can't
tell): a check after the chart restarts those until every replica has them, and everything that needs a
working controller (`ready`) comes after that check.
"""

from __future__ import annotations

from aws_cdk import Aws, CustomResource, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct, IDependable
from constructs.access import credentials_check_rbac
from constructs.controller.objects import controller_namespace, controller_service_account
from constructs.controller.policy import controller_policy_document
from constructs.controller.values import controller_values
from constructs.nag import acknowledge
from constructs.provider import CustomResourceProvider
from constructs.python_function import cluster_function

from config import AppConfig
from config.versions import CONTROLLER_CHART_REPOSITORY, CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT

# The Kubernetes group the check's access entry maps to (its RBAC Role and RoleBinding share the name).
CREDENTIALS_CHECK_GROUP = "eks-lattice-gateway-controller-credentials-check"


class GatewayController(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        config: AppConfig,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        after: list[IDependable],
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            description="AWS Gateway API Controller (EKS Pod Identity)",
            assumed_by=iam.ServicePrincipal("pods.eks.amazonaws.com").with_session_tags(),
        )
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"AWS Gateway API Controller {config.controller_chart_version} recommended policy",
            document=controller_policy_document(),
            roles=[self.role],
        )
        upstream = f"The upstream {config.controller_chart_version} recommended policy"
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Action::vpc-lattice:*]",
            f"{upstream}: the controller creates and manages Lattice services, listeners, rules, target groups.",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            f"{upstream}: Lattice and log-delivery resources are named at runtime; EC2 Describe and "
            "tag:GetResources take no resource ARNs.",
        )
        for service, role_name in (
            ("vpc-lattice.amazonaws.com", "AWSServiceRoleForVpcLattice"),
            ("delivery.logs.amazonaws.com", "AWSServiceRoleForLogDelivery"),
        ):
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/aws-service-role/{service}/{role_name}]",
                f"{upstream}: creates its service-linked role in this account, limited by iam:AWSServiceName.",
            )

        identity = eks.KubernetesManifest(
            self,
            "NamespaceAndServiceAccount",
            cluster=cluster,
            manifest=[controller_namespace(), controller_service_account()],
            overwrite=True,
        )
        association = eks.CfnPodIdentityAssociation(
            self,
            "PodIdentityAssociation",
            cluster_name=cluster.cluster_name,
            namespace=CONTROLLER_NAMESPACE,
            service_account=CONTROLLER_SERVICE_ACCOUNT,
            role_arn=self.role.role_arn,
        )
        association.node.add_dependency(policy)
        self.chart = eks.HelmChart(
            self,
            "Chart",
            cluster=cluster,
            chart="aws-gateway-controller-chart",
            repository=CONTROLLER_CHART_REPOSITORY,
            version=config.controller_chart_version,
            release="gateway-api-controller",
            namespace=CONTROLLER_NAMESPACE,
            create_namespace=False,
            values=controller_values(config, region=Aws.REGION, account=Aws.ACCOUNT_ID, vpc_id=vpc.vpc_id),
            wait=True,
            timeout=Duration.minutes(10),
        )
        self.chart.node.add_dependency(identity, association, *after)
        self.ready = self._credentials_check(
            cluster=cluster,
            config=config,
            association=association,
            namespace=identity,
            vpc=vpc,
            security_group=security_group,
            log_retention=log_retention,
        )
        self.ready.node.add_dependency(self.chart)

    def _credentials_check(
        self,
        *,
        cluster: eks.ICluster,
        config: AppConfig,
        association: eks.CfnPodIdentityAssociation,
        namespace: IDependable,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        log_retention: logs.RetentionDays,
    ) -> CustomResource:
        """After the chart: restart controller pods that started before the association was in effect."""
        check = cluster_function(
            self,
            "CredentialsCheck",
            cluster=cluster,
            vpc=vpc,
            security_group=security_group,
            packages=("k8s_api", "controller_credentials"),
            handler="controller_credentials.handler.on_event",
            description="Restarts controller pods that started without their Pod Identity credentials",
            timeout=Duration.minutes(5),
            log_retention=log_retention,
        )
        # Kubernetes access: exactly list/delete pods and read Deployments, in the controller's namespace.
        rbac = eks.KubernetesManifest(
            self,
            "CredentialsCheckRbac",
            cluster=cluster,
            overwrite=True,
            manifest=credentials_check_rbac(CREDENTIALS_CHECK_GROUP, [CONTROLLER_NAMESPACE]),
        )
        rbac.node.add_dependency(namespace)
        access = eks.CfnAccessEntry(
            self,
            "CredentialsCheckAccess",
            cluster_name=cluster.cluster_name,
            principal_arn=check.role.role_arn,
            kubernetes_groups=[CREDENTIALS_CHECK_GROUP],
        )
        provider = CustomResourceProvider(
            self, "CredentialsCheckProvider", on_event=check.function, log_retention=log_retention
        )
        resource = CustomResource(
            self,
            "Credentials",
            service_token=provider.service_token,
            resource_type="Custom::ControllerCredentials",
            properties={
                "ClusterName": cluster.cluster_name,
                "Namespace": CONTROLLER_NAMESPACE,
                "ServiceAccount": CONTROLLER_SERVICE_ACCOUNT,
                "TimeoutSeconds": "240",
                # A new association or chart version is checked again (CloudFormation sends an Update).
                "AssociationArn": association.attr_association_arn,
                "ChartVersion": config.controller_chart_version,
            },
        )
        resource.node.add_dependency(association, rbac, access)
        return resource
