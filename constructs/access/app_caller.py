"""An app that calls routes (`apps[].calls`): its IAM role, bound to its ServiceAccount by EKS Pod Identity.

The pods' signing sidecar (constructs/workload/apps.py) signs with this role's session; the route policies admit
that session by this role's ARN and the tags Pod Identity sets on it (config/access_policy.py), so the role itself
needs only the identity half: invoking this account's Lattice services.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct
from constructs.nag import acknowledge

from config.access_policy import INVOKE, service_account
from config.model import App


class AppCaller(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, cluster: eks.ICluster, app: App) -> None:
        super().__init__(scope, construct_id)
        # with_session_tags: Pod Identity tags each session (sts:TagSession); the route policies match the tags.
        self.role = iam.Role(
            self,
            "Role",
            description=f"Pods of {app.namespace}/{app.name}: signed calls to Lattice routes (EKS Pod Identity)",
            assumed_by=iam.ServicePrincipal("pods.eks.amazonaws.com").with_session_tags(),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[INVOKE], resources=[f"arn:{Aws.PARTITION}:vpc-lattice:{Aws.REGION}:{Aws.ACCOUNT_ID}:service/*"]
            )
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:vpc-lattice:<AWS::Region>:<AWS::AccountId>:service/*]",
            "The controller creates the Lattice services (ids unknown here); each route's auth policy decides "
            "which of them this app may call.",
        )
        self.association = eks.CfnPodIdentityAssociation(
            self,
            "PodIdentityAssociation",
            cluster_name=cluster.cluster_name,
            namespace=app.namespace,
            service_account=service_account(app),
            role_arn=self.role.role_arn,
        )
        # Credentials are injected at pod creation: the role's policy and the association come first.
        self.association.node.add_dependency(self.role)
