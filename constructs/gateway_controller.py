"""Cluster add-on: the AWS Gateway API Controller (Helm chart) with its EKS Pod Identity.

Namespace, ServiceAccount and the Pod Identity association exist before the chart's pods start
(credentials are injected at pod creation), and the chart waits for the Gateway API CRDs.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable
from constructs.controller_policy import controller_policy_document
from constructs.controller_values import controller_values
from constructs.k8s_objects import controller_namespace, controller_service_account
from constructs.nag import acknowledge

from config import AppConfig
from config.versions import CONTROLLER_CHART_REPOSITORY, CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT


class GatewayController(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        config: AppConfig,
        vpc_id: str,
        after: list[IDependable],
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
            values=controller_values(config, region=Aws.REGION, account=Aws.ACCOUNT_ID, vpc_id=vpc_id),
            wait=True,
            timeout=Duration.minutes(10),
        )
        self.chart.node.add_dependency(identity, association, *after)
