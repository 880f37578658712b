"""Everything that does not run on the cluster: both VPCs, the cluster itself, Lattice, DNS, the client host.

One stack, so CloudFormation creates the service network, its associations, the private zone and the client
host in parallel with the EKS cluster (nothing here waits for the cluster that doesn't need it).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, Stack
from constructs import Construct
from constructs.client_host import ClientHost
from constructs.cluster import EksCluster
from constructs.lattice import AssociatedVpc, LatticeServiceNetwork
from constructs.lattice_ingress import LatticePrefixListIngress
from constructs.log_key import LogEncryptionKey
from constructs.network import ClientVpc, ClusterVpc
from constructs.private_dns import PrivateZone
from constructs.retention import retention as log_retention

from config import AppConfig


class PlatformStack(Stack):
    @property
    def availability_zones(self) -> list[str]:
        """The region's first two AZs, resolved by CloudFormation (Fn::GetAZs) even when the stack has a
        concrete account/region: synth stays hermetic (no AZ context lookup, no credentials needed)."""
        return [Fn.select(index, Fn.get_azs()) for index in range(2)]

    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        retention = log_retention(config.log_retention_days)
        log_key = LogEncryptionKey(
            self, "LogKey", description=f"{config.cluster_name}: VPC flow logs and Lattice access logs"
        ).key

        self.cluster_network = ClusterVpc(
            self,
            "ClusterNetwork",
            cidr=config.cluster_vpc_cidr,
            cluster_name=config.cluster_name,
            log_retention=retention,
            log_key=log_key,
        )
        self.client_network = ClientVpc(
            self, "ClientNetwork", cidr=config.client_vpc_cidr, log_retention=retention, log_key=log_key
        )

        self.lattice = LatticeServiceNetwork(
            self,
            "Lattice",
            name=config.service_network_name,
            auth_type=config.service_network_auth_type,
            vpcs=[
                AssociatedVpc(name="Cluster", vpc=self.cluster_network.vpc, cidr=config.cluster_vpc_cidr),
                AssociatedVpc(name="Client", vpc=self.client_network.vpc, cidr=config.client_vpc_cidr),
            ],
            log_retention=retention,
            log_key=log_key,
        )
        self.zone = PrivateZone(
            self,
            "PrivateZone",
            zone_name=config.private_zone_name,
            vpcs=[self.cluster_network.vpc, self.client_network.vpc],
        )
        self.client_host = ClientHost(
            self,
            "ClientHost",
            vpc=self.client_network.vpc,
            subnets=self.client_network.host_subnets,
            instance_type=config.client_instance_type,
        )

        self.eks = EksCluster(self, "Eks", config=config, vpc=self.cluster_network.vpc)
        LatticePrefixListIngress(
            self,
            "LatticeIngress",
            security_group_id=self.eks.cluster.cluster_security_group_id,
            ports=tuple(sorted({app.container_port for app in config.apps})),
            ipv6=config.lattice_ipv6,
        )

        CfnOutput(self, "ClusterName", value=self.eks.cluster.cluster_name)
        CfnOutput(self, "ServiceNetworkArn", value=self.lattice.network.attr_arn)
        CfnOutput(self, "PrivateZoneId", value=self.zone.zone.hosted_zone_id)
        CfnOutput(
            self,
            "ClientHostSession",
            value=f"aws ssm start-session --target {self.client_host.instance.instance_id}",
            description="Open a shell on the client test host (Session Manager, no inbound ports)",
        )
