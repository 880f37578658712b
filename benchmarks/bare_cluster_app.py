#!/usr/bin/env python3
"""The baseline for `make bench`: a bare aws_eks_v2 cluster app.

A VPC, an EKS cluster, one managed node group and the kubectl provider with the v35 kubectl layer, nothing
else. Synthesized the same way as app.py (subprocess, CDK_OUTDIR, cdk.json context) so both pay the same
Python and jsii start-up.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk.lambda_layer_kubectl_v35 import KubectlV35Layer


def build(app: cdk.App) -> cdk.Stack:
    stack = cdk.Stack(app, "BareCluster")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    cluster = eks.Cluster(
        stack,
        "Cluster",
        version=eks.KubernetesVersion.of("1.35"),
        vpc=vpc,
        default_capacity=0,
        default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
        kubectl_provider_options=eks.KubectlProviderOptions(kubectl_layer=KubectlV35Layer(stack, "KubectlLayer")),
    )
    cluster.add_nodegroup_capacity(
        "Nodes", instance_types=[ec2.InstanceType("t3.medium")], desired_size=2, min_size=1, max_size=3
    )
    return stack


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
