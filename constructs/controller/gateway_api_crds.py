"""Cluster add-on: the Gateway API standard-channel CRDs, installed server-side at deploy time.

The CRD text never enters the repo or a template (the HTTPRoute CRD alone is ~431 KB): a Lambda downloads
the pinned files, verifies their sha256 (config/versions.py) and applies them with server-side apply.
"""

from __future__ import annotations

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.provider import CustomResourceProvider
from constructs.python_function import cluster_function

from config.versions import GATEWAY_API_RELEASES


class GatewayApiCrds(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        version: str,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        release = GATEWAY_API_RELEASES[version]
        # In the cluster VPC: reaches a private-only API endpoint, and GitHub through the NAT gateway.
        installer = cluster_function(
            self,
            "Installer",
            cluster=cluster,
            vpc=vpc,
            security_group=security_group,
            packages=("k8s_api", "crd_installer"),
            handler="crd_installer.handler.on_event",
            description=f"Installs Gateway API {version} CRDs (server-side apply, sha256-verified)",
            timeout=Duration.minutes(5),
            log_retention=log_retention,
        )
        # Creating CRDs and a ValidatingAdmissionPolicy needs cluster-scoped write access.
        access = eks.AccessEntry(
            self,
            "AccessEntry",
            cluster=cluster,
            principal=installer.role.role_arn,
            access_policies=[
                eks.AccessPolicy.from_access_policy_name(
                    "AmazonEKSClusterAdminPolicy", access_scope_type=eks.AccessScopeType.CLUSTER
                )
            ],
        )
        provider = CustomResourceProvider(self, "Provider", on_event=installer.function, log_retention=log_retention)
        self.resource = CustomResource(
            self,
            "Crds",
            service_token=provider.service_token,
            resource_type="Custom::GatewayApiCrds",
            properties={
                "ClusterName": cluster.cluster_name,
                "Version": release.version,
                "Files": [{"name": f.name, "url": release.url(f), "sha256": f.sha256} for f in release.files],
            },
        )
        self.resource.node.add_dependency(access)
