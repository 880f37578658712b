"""Let VPC Lattice reach the pods: cluster security group ingress from Lattice's managed prefix lists.

CloudFormation can't look a managed prefix list up by name, and a synth-time lookup would need AWS
credentials; so the IDs are read at deploy time (one call per list: the response order is not reliable).
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import custom_resources as cr
from constructs import Construct
from constructs.nag import acknowledge


class LatticePrefixListIngress(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        security_group_id: str,
        ports: tuple[int, ...],
        ipv6: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        lists = {"Ipv4": f"com.amazonaws.{Aws.REGION}.vpc-lattice"}
        if ipv6:
            lists["Ipv6"] = f"com.amazonaws.{Aws.REGION}.ipv6.vpc-lattice"
        for label, name in lists.items():
            call = cr.AwsSdkCall(
                service="EC2",
                action="describeManagedPrefixLists",
                parameters={"Filters": [{"Name": "prefix-list-name", "Values": [name]}]},
                physical_resource_id=cr.PhysicalResourceId.of(f"lattice-prefix-list-{label.lower()}"),
                output_paths=["PrefixLists.0.PrefixListId"],
            )
            lookup = cr.AwsCustomResource(
                self,
                f"{label}PrefixList",
                on_create=call,
                on_update=call,
                # DescribeManagedPrefixLists has no resource-level permissions.
                policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
                install_latest_aws_sdk=False,
            )
            acknowledge(
                lookup,
                "AwsSolutions-IAM5[Resource::*]",
                "ec2:DescribeManagedPrefixLists supports no resource-level permissions.",
            )
            singleton = Stack.of(self).node.try_find_child("AWS679f53fac002430cb0da5b7982bd2287")
            if singleton is not None:
                acknowledge(
                    singleton,
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]",
                    "AwsCustomResource's shared function (aws-cdk-lib) logs with the basic execution role.",
                )
            prefix_list_id = lookup.get_response_field("PrefixLists.0.PrefixListId")
            # Only the pods' container ports (the tutorial opened all traffic).
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
