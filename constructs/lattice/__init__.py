"""The VPC Lattice service network (owned by CloudFormation), its VPC associations, Lattice's managed prefix lists
(looked up once per stack), the cluster's ingress from Lattice and clients' egress to it."""

from constructs.lattice.egress import LatticePrefixListEgress, egress_ranges, port_ranges
from constructs.lattice.ingress import LatticePrefixListIngress
from constructs.lattice.prefix_lists import LatticePrefixLists
from constructs.lattice.service_network import (
    AssociatedVpc,
    LatticeServiceNetwork,
    LatticeServiceSweep,
    access_log_group_name,
    association_rules,
)

__all__ = [
    "AssociatedVpc",
    "LatticePrefixListEgress",
    "LatticePrefixListIngress",
    "LatticePrefixLists",
    "LatticeServiceNetwork",
    "LatticeServiceSweep",
    "access_log_group_name",
    "association_rules",
    "egress_ranges",
    "port_ranges",
]
