"""Let VPC Lattice reach the pods: cluster security group ingress from Lattice's managed prefix lists."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct
from constructs.lattice.prefix_lists import LatticePrefixLists


class LatticePrefixListIngress(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix_lists: LatticePrefixLists,
        security_group_id: str,
        ports: tuple[int, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        # Only the pods' container ports (the tutorial opened all traffic).
        for label, prefix_list_id in prefix_lists.ids.items():
            for port in ports:
                ec2.CfnSecurityGroupIngress(
                    self,
                    f"{label}Port{port}",
                    group_id=security_group_id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    source_prefix_list_id=prefix_list_id,
                    description=f"VPC Lattice ({label}) to pods on port {port}",
                )
