"""The EKS cluster (aws_eks_v2): control plane, managed node group, managed add-ons and kubectl provider."""

from __future__ import annotations

import hashlib
import importlib
from typing import cast

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from constructs.nag import acknowledge

from config import AppConfig
from config.model import is_graviton
from config.versions import EKS_VERSIONS


def kubectl_layer(scope: Construct, version: str) -> lambda_.ILayerVersion:
    """The aws-cdk.lambda-layer-kubectl-vNN layer whose kubectl matches the cluster's minor version."""
    entry = EKS_VERSIONS[version]
    module = importlib.import_module(entry.kubectl_layer_module)
    layer_class = getattr(module, f"KubectlV{version.split('.')[1]}Layer")
    layer: lambda_.ILayerVersion = layer_class(scope, "KubectlLayer")
    return layer


def admin_key(role_arn: str) -> str:
    """A short, stable construct-id part for a cluster-admin role (its ARN's digest: ids stay short)."""
    return hashlib.sha256(role_arn.encode()).hexdigest()[:12]


class EksCluster(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig, vpc: ec2.IVpc) -> None:
        super().__init__(scope, construct_id)
        secrets_key = kms.Key(
            self,
            "SecretsKey",
            description=f"EKS secrets envelope encryption for {config.cluster_name}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        endpoint = (
            eks.EndpointAccess.PRIVATE
            if config.cluster_endpoint_access == "PRIVATE"
            else eks.EndpointAccess.PUBLIC_AND_PRIVATE.only_from(*config.cluster_endpoint_public_cidrs)
        )
        self.cluster = eks.Cluster(
            self,
            "Cluster",
            cluster_name=config.cluster_name,
            version=eks.KubernetesVersion.of(config.kubernetes_version),
            vpc=vpc,
            vpc_subnets=[private],
            endpoint_access=endpoint,
            secrets_encryption_key=secrets_key,
            cluster_logging=[
                eks.ClusterLoggingTypes.API,
                eks.ClusterLoggingTypes.AUDIT,
                eks.ClusterLoggingTypes.AUTHENTICATOR,
            ],
            # A managed node group from config below, not EKS Auto Mode or a default capacity.
            default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
            default_capacity=0,
            # vpc-cni, kube-proxy and coredns come as managed add-ons, not EKS's self-managed bootstrap copies.
            bootstrap_self_managed_addons=False,
            # The handler runs in the private subnets: it reaches a private-only endpoint directly and the
            # public chart registry (public.ecr.aws) through the NAT gateway.
            kubectl_provider_options=eks.KubectlProviderOptions(
                kubectl_layer=kubectl_layer(self, config.kubernetes_version),
                private_subnets=vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnets,
            ),
        )
        # jsii's stubs omit a member that Cluster does implement; the cast only tells mypy.
        self.icluster = cast(eks.ICluster, self.cluster)
        # Keyed by the role, not its place in the list: removing one role must leave the others' access entries as
        # they are. Keyed by index, [A, B] -> [B] would replace entry 0 with B's while entry 1 (B's) still exists,
        # and EKS refuses a second entry for a principal (make impact: "its identity ... equals that of").
        for arn in config.cluster_admin_role_arns:
            self.cluster.grant_cluster_admin(f"Admin-{admin_key(arn)}", arn)

        # DaemonSets that nodes need to become Ready: before the node group.
        networking = [
            eks.Addon(self, "VpcCni", cluster=self.icluster, addon_name="vpc-cni"),
            eks.Addon(self, "KubeProxy", cluster=self.icluster, addon_name="kube-proxy"),
        ]
        # Exactly one Pod Identity agent: this property creates it (a second Addon would collide).
        self.pod_identity_agent = self.cluster.eks_pod_identity_agent

        # The instance type lives in the launch template, not in the node group's InstanceTypes: that property is
        # create-only, so changing it would replace the node group, which CloudFormation refuses while it keeps its
        # name (nodeGroupName). A new launch template version is a rolling update of the nodes instead (make impact).
        template = ec2.LaunchTemplate(
            self,
            "NodeLaunchTemplate",
            instance_type=ec2.InstanceType(config.node_instance_type),
            require_imdsv2=True,
            http_put_response_hop_limit=1,  # pods get AWS credentials from Pod Identity, not the node's IMDS
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(20, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3),
                )
            ],
        )
        self.nodegroup = self.cluster.add_nodegroup_capacity(
            "NodeGroup",
            nodegroup_name=config.node_group_name,
            ami_type=eks.NodegroupAmiType.AL2023_ARM_64_STANDARD
            if is_graviton(config.node_instance_type)
            else eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
            desired_size=config.node_desired_size,
            min_size=config.node_min_size,
            max_size=config.node_max_size,
            subnets=private,
            launch_template_spec=eks.LaunchTemplateSpec(
                id=template.launch_template_id or "", version=template.latest_version_number
            ),
        )
        for addon in networking:
            self.nodegroup.node.add_dependency(addon)
        # coredns is a Deployment: it becomes healthy only once there are nodes to run it.
        coredns = eks.Addon(self, "CoreDns", cluster=self.icluster, addon_name="coredns")
        coredns.node.add_dependency(self.nodegroup)
        if self.pod_identity_agent is not None:
            self.pod_identity_agent.node.add_dependency(*networking)

        # Lambdas of this app that call the Kubernetes API (CRD installer, DNS records) use this group.
        self.api_client_security_group = ec2.SecurityGroup(
            self,
            "ApiClientSecurityGroup",
            vpc=vpc,
            description="Lambda functions of this app that call the Kubernetes API",
            allow_all_outbound=True,
        )
        # EC2 refuses an apostrophe in a rule description (tests/service_constraints.py has the allowed set).
        self.cluster.cluster_security_group.add_ingress_rule(
            self.api_client_security_group, ec2.Port.tcp(443), "Kubernetes API from the Lambda functions of this app"
        )
        self._acknowledge_eks_managed_policies()

    def _acknowledge_eks_managed_policies(self) -> None:
        """EKS documents these AWS managed policies as the required ones for each role."""
        managed = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{}]"
        for policy, why in (
            ("AmazonEKSWorkerNodePolicy", "node policy; carries eks-auth:AssumeRoleForPodIdentity for Pod Identity"),
            ("AmazonEC2ContainerRegistryReadOnly", "nodes pull the EKS add-on images from ECR"),
            ("AmazonEKS_CNI_Policy", "the VPC CNI assigns pod IPs from the node's role"),
        ):
            acknowledge(self.nodegroup, managed.format(policy), f"EKS-required node role policy: {why}.")
        acknowledge(
            self.cluster.role,
            managed.format("AmazonEKSClusterPolicy"),
            "The EKS service role policy that EKS requires for the control plane.",
        )
        provider = self.cluster.kubectl_provider
        if provider is None:  # always set: kubectl_provider_options is given above
            return
        why = "The kubectl provider is built by aws_eks_v2 (aws-cdk-lib), not by this app"
        for policy in (
            "service-role/AWSLambdaBasicExecutionRole",
            "service-role/AWSLambdaVPCAccessExecutionRole",
            "AmazonEC2ContainerRegistryReadOnly",
        ):
            acknowledge(provider, managed.format(policy), f"{why}: its handler's managed policy {policy}.")
        acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::"
            '{"Fn::If":["EksClusterKubectlProviderHandlerHasEcrPublicC426D1A5",{"Fn::Join":["",["arn:",'
            '{"Ref":"AWS::Partition"},":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly"]]},'
            '{"Ref":"AWS::NoValue"}]}]',
            f"{why}: pulls the controller chart from public.ecr.aws.",
        )
        acknowledge(provider, "AwsSolutions-L1", f"{why}: its handler's runtime is chosen by aws-cdk-lib.")
        handler = provider.node.try_find_child("Handler")
        if handler is not None:
            stack = Stack.of(self)
            logical = stack.resolve(stack.get_logical_id(handler.node.default_child))  # type: ignore[arg-type]
            acknowledge(
                provider,
                f"AwsSolutions-IAM5[Resource::<{logical}.Arn>:*]",
                f"{why}: its provider framework may invoke any version of the handler.",
            )
