"""The two VPCs: the cluster's and the client's."""

from constructs.network.vpcs import ClientVpc, ClusterVpc

__all__ = ["ClientVpc", "ClusterVpc"]
