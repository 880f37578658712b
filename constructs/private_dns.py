"""Route 53 private hosted zone for the routes' custom domain names, visible from both VPCs."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_route53 as route53
from constructs import Construct


class PrivateZone(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, zone_name: str, vpcs: list[ec2.IVpc]) -> None:
        super().__init__(scope, construct_id)
        first, *rest = vpcs
        self.zone = route53.PrivateHostedZone(
            self, "Zone", zone_name=zone_name, vpc=first, comment="eks-lattice-gateway: Lattice custom domains"
        )
        for vpc in rest:
            self.zone.add_vpc(vpc)
        self.zone.apply_removal_policy(RemovalPolicy.DESTROY)
