"""Outbound from a security group to VPC Lattice only: TCP to Lattice's managed prefix lists on given ports.

A client's own security group rules control its outbound traffic to VPC Lattice (VPC Lattice User Guide, "Control
traffic in VPC Lattice using security groups", https://docs.aws.amazon.com/vpc-lattice/latest/ug/security-groups.html,
read 2026-12-06). DNS needs no rule while the VPC's DHCP options name AmazonProvidedDNS (the default option set):
"Amazon security groups and network ACLs do not filter traffic destined to and from" Amazon DNS, DHCP, instance
metadata and the Time Sync Service, among others (Amazon VPC User Guide, its security page: awsdocs/amazon-vpc-user-
guide doc_source/VPC_Security.md at a16ab76ed2f6b230672e98a0b2bfdab6d165ac4a, the guide's last published source,
read 2026-12-06). A consumer's existing VPC whose DHCP options name DNS servers of its own instead
(doc_source/DHCPOptionSet.md, same commit) is not covered: security groups do filter traffic to those, and these
rules allow none, so if the functions resolve through them (that Lambda follows a VPC's DHCP options is unverified
here) the smoke test there cannot resolve the routes' names. main's smoke group had no port 53 rule either.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct
from constructs.lattice.prefix_lists import LatticePrefixLists

from config.limits import MAX_LATTICE_EGRESS_VARYING


def port_ranges(ports: tuple[int, ...], max_rules: int) -> list[tuple[int, int]]:
    """The ports as at most `max_rules` inclusive ranges, each port in one: adjacent ports join first, then the
    ranges with the smallest gap between them. A joined range also opens the ports between its ends, to the
    destination its rule names (for LatticePrefixListEgress, Lattice's addresses only)."""
    if max_rules < 1:
        raise ValueError("max_rules must be at least 1")
    ranges: list[tuple[int, int]] = []
    for port in sorted(set(ports)):
        if ranges and port == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], port)
        else:
            ranges.append((port, port))
    while len(ranges) > max_rules:
        i = min(range(len(ranges) - 1), key=lambda k: ranges[k + 1][0] - ranges[k][1])
        ranges[i : i + 2] = [(ranges[i][0], ranges[i + 1][1])]
    return ranges


def egress_ranges(standing: int, ports: tuple[int, ...]) -> list[tuple[int, int]]:
    """`standing` alone (a port every configuration has, so its rule never changes) and the other ports as at most
    MAX_LATTICE_EGRESS_VARYING ranges: old and new rules together stay within the group's quota during any update
    (config/limits.py, MAX_LATTICE_EGRESS_ALIVE)."""
    others = tuple(p for p in ports if p != standing)
    return sorted([(standing, standing), *(port_ranges(others, MAX_LATTICE_EGRESS_VARYING) if others else [])])


class LatticePrefixListEgress(Construct):
    """TCP from a security group to each of the stack's looked-up Lattice lists on `standing_port` and `ports` (as
    egress_ranges), as AWS::EC2::SecurityGroupEgress resources that reference the lookups' outputs (Fn::GetAtt):
    CloudFormation creates the lookups first.

    The group keeps an inline egress rule of its own (aws-cdk-lib's "Disallow all traffic" placeholder of a group
    with allow_all_outbound=False, which matches no packet): a group created with no inline egress rule gets EC2's
    allow-all outbound rules ("When you create a security group, if you do not add egress rules, we add egress rules
    that allow all outbound IPv4 and IPv6 traffic": CloudFormation template reference, AWS::EC2::SecurityGroup,
    https://docs.amazonaws.cn/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroup.html,
    read 2026-12-06). SecurityGroup.add_egress_rule would drop that placeholder for a rule it can't inline (a
    prefix list token; aws-cdk-lib 2.273.0 aws-ec2/lib/security-group.js removeNoTrafficRule), so the rules are
    made here directly."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix_lists: LatticePrefixLists,
        security_group_id: str,
        standing_port: int,
        ports: tuple[int, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        for label, prefix_list_id in prefix_lists.ids.items():
            for low, high in egress_ranges(standing_port, ports):
                where = f"{low}" if low == high else f"{low}-{high}"
                ec2.CfnSecurityGroupEgress(
                    self,
                    f"{label}Port{where}",
                    group_id=security_group_id,
                    ip_protocol="tcp",
                    from_port=low,
                    to_port=high,
                    destination_prefix_list_id=prefix_list_id,
                    description=f"TCP {where} to VPC Lattice services ({label})",
                )
