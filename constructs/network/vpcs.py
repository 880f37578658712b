"""The two VPCs: the cluster's (with one NAT gateway) and the client's (no internet path at all)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import jsii
from aws_cdk import IResolvable, IResolveContext, RemovalPolicy, Tags, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


def _vpc(scope: Construct, *, zones: Sequence[str], zone_ids: bool, **props: Any) -> ec2.Vpc:
    """An ec2.Vpc in `zones`: AZ names (or tokens resolving to names), or with `zone_ids` AZ IDs.

    AZ names are shuffled per account, AZ IDs (use1-az1) are not, so an ID is how to pick or avoid one
    physical zone in any account. CloudFormation places a subnet by ID itself (AWS::EC2::Subnet
    AvailabilityZoneId), so synth stays hermetic: no lookup, no custom resource. Whatever needs a zone's name
    (the client host's instance) reads it back from the zone's first subnet (Fn::GetAtt AvailabilityZone).
    """
    first_subnet: dict[int, ec2.CfnSubnet] = {}
    names = [Token.as_string(_ZoneName(first_subnet, i)) for i in range(len(zones))] if zone_ids else list(zones)
    vpc = ec2.Vpc(scope, "Vpc", availability_zones=names, **props)
    if zone_ids:
        for subnet in (*vpc.public_subnets, *vpc.private_subnets, *vpc.isolated_subnets):
            index = names.index(subnet.availability_zone)
            cfn = subnet.node.default_child
            assert isinstance(cfn, ec2.CfnSubnet)
            first_subnet.setdefault(index, cfn)
            cfn.add_property_deletion_override("AvailabilityZone")
            cfn.add_property_override("AvailabilityZoneId", zones[index])
    return vpc


@jsii.implements(IResolvable)
class _ZoneName:
    """The name CloudFormation gave zone `index`, read from its first subnet when the template resolves.
    (An IResolvable: jsii cannot hand a Python Lazy producer its resolve context.)"""

    def __init__(self, first_subnet: dict[int, ec2.CfnSubnet], index: int) -> None:
        self.first_subnet, self.index = first_subnet, index
        self.creation_stack: list[str] = []

    def resolve(self, context: IResolveContext) -> str:
        return self.first_subnet[self.index].attr_availability_zone

    def to_string(self) -> str:
        return Token.as_string(self)


def _flow_logs(scope: Construct, vpc: ec2.Vpc, retention: logs.RetentionDays, key: kms.IKey) -> None:
    # Flow records name every peer of every connection: encrypted with the app's log key.
    group = logs.LogGroup(
        scope, "FlowLogs", retention=retention, encryption_key=key, removal_policy=RemovalPolicy.DESTROY
    )
    vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(group))


class ClusterVpc(Construct):
    """EKS VPC: 2 or 3 AZs, public subnets (NAT only), private subnets for nodes and pods, one NAT gateway."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        cluster_name: str,
        availability_zones: Sequence[str],
        zone_ids: bool = False,
        log_retention: logs.RetentionDays,
        log_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = ipaddress.IPv4Network(cidr).prefixlen
        self.vpc = _vpc(
            self,
            zones=availability_zones,
            zone_ids=zone_ids,
            ip_addresses=ec2.IpAddresses.cidr(cidr),
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
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        availability_zones: Sequence[str],
        zone_ids: bool = False,
        log_retention: logs.RetentionDays,
        log_key: kms.IKey,
        ssm_endpoints: bool = True,
        description: str = "the client VPC",
    ) -> None:
        """`ssm_endpoints`: only a test host needs them (two endpoint-hours an hour); `description` names
        the VPC in its endpoint security group's rules."""
        super().__init__(scope, construct_id)
        prefix = ipaddress.IPv4Network(cidr).prefixlen
        self.vpc = _vpc(
            self,
            zones=availability_zones,
            zone_ids=zone_ids,
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            nat_gateways=0,
            create_internet_gateway=False,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=prefix + 2
                )
            ],
        )
        # The package repositories (dnf) are S3 buckets: the host's only route to them.
        s3 = self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        _flow_logs(self, self.vpc, log_retention, log_key)
        self.host_subnets = ec2.SubnetSelection(subnets=[self.vpc.isolated_subnets[0]])
        # What a host needs before its first boot: the S3 route for dnf, the SSM endpoints (if any) for its agent.
        self.host_endpoints: tuple[ec2.IVpcEndpoint, ...] = (s3,)
        if not ssm_endpoints:
            return
        endpoint_sg = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description=f"SSM interface endpoints: HTTPS from {description} only",
            allow_all_outbound=False,
        )
        endpoint_sg.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), f"HTTPS from {description}")
        # One AZ keeps the standing cost to two endpoint-hours; the test host lives in the same AZ. No
        # ec2messages endpoint: SSM Agent 3.3.40+ (as on current AL2023 AMIs) takes its commands over
        # ssmmessages when that is reachable, and uses ec2messages only as a fallback.
        ssm = [
            self.vpc.add_interface_endpoint(
                name, service=service, subnets=self.host_subnets, security_groups=[endpoint_sg], open=False
            )
            for name, service in (
                ("Ssm", ec2.InterfaceVpcEndpointAwsService.SSM),
                ("SsmMessages", ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES),
            )
        ]
        self.host_endpoints = (s3, *ssm)
