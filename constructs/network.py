"""The two VPCs: the cluster's (with one NAT gateway) and the client's (no internet path at all)."""

from __future__ import annotations

import ipaddress

from aws_cdk import RemovalPolicy, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


def _flow_logs(scope: Construct, vpc: ec2.Vpc, retention: logs.RetentionDays, key: kms.IKey) -> None:
    # Flow records name every peer of every connection: encrypted with the app's log key.
    group = logs.LogGroup(
        scope, "FlowLogs", retention=retention, encryption_key=key, removal_policy=RemovalPolicy.DESTROY
    )
    vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(group))


class ClusterVpc(Construct):
    """EKS VPC: 2 AZs, public subnets (NAT only), private subnets for nodes and pods, one NAT gateway."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        cluster_name: str,
        log_retention: logs.RetentionDays,
        log_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = ipaddress.IPv4Network(cidr).prefixlen
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=2,
            nat_gateways=1,  # the tutorial's single NAT: cheaper, at the price of one AZ's egress path
            restrict_default_security_group=True,
            subnet_configuration=[
                # With the VPC CNI every pod takes a VPC address, so private subnets get a quarter each.
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=prefix + 2
                ),
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=prefix + 4),
            ],
        )
        _flow_logs(self, self.vpc, log_retention, log_key)
        # Subnet discovery tags that EKS and its load-balancer integrations look for.
        Tags.of(self.vpc).add(f"kubernetes.io/cluster/{cluster_name}", "shared")
        for subnet in self.vpc.private_subnets:
            Tags.of(subnet).add("kubernetes.io/role/internal-elb", "1")
        for subnet in self.vpc.public_subnets:
            Tags.of(subnet).add("kubernetes.io/role/elb", "1")


class ClientVpc(Construct):
    """Client VPC: isolated subnets only. Systems Manager is reached through interface endpoints in one AZ
    and the package repositories through the free S3 gateway endpoint, so there is no NAT or internet path."""

    def __init__(
        self, scope: Construct, construct_id: str, *, cidr: str, log_retention: logs.RetentionDays, log_key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = ipaddress.IPv4Network(cidr).prefixlen
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=2,
            nat_gateways=0,
            create_internet_gateway=False,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=prefix + 2
                )
            ],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        _flow_logs(self, self.vpc, log_retention, log_key)
        self.host_subnets = ec2.SubnetSelection(subnets=[self.vpc.isolated_subnets[0]])
        endpoint_sg = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="SSM interface endpoints: HTTPS from the client VPC only",
            allow_all_outbound=False,
        )
        endpoint_sg.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from the client VPC")
        # One AZ keeps the standing cost to two endpoint-hours; the test host lives in the same AZ. No
        # ec2messages endpoint: SSM Agent 3.3.40+ (as on current AL2023 AMIs) takes its commands over
        # ssmmessages when that is reachable, and uses ec2messages only as a fallback.
        for name, service in (
            ("Ssm", ec2.InterfaceVpcEndpointAwsService.SSM),
            ("SsmMessages", ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES),
        ):
            self.vpc.add_interface_endpoint(
                name, service=service, subnets=self.host_subnets, security_groups=[endpoint_sg], open=False
            )
