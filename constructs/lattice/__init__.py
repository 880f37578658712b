"""The VPC Lattice service network (owned by CloudFormation), its VPC associations, and the cluster's ingress from
Lattice."""

from constructs.lattice.ingress import LatticePrefixListIngress
from constructs.lattice.service_network import (
    AssociatedVpc,
    LatticeServiceNetwork,
    LatticeServiceSweep,
    access_log_group_name,
    association_rules,
)

__all__ = [
    "AssociatedVpc",
    "LatticePrefixListIngress",
    "LatticeServiceNetwork",
    "LatticeServiceSweep",
    "access_log_group_name",
    "association_rules",
]
