"""The EKS cluster: control plane, managed node group, managed add-ons and kubectl provider."""

from constructs.cluster.eks import EksCluster

__all__ = ["EksCluster"]
