"""The IDs of VPC Lattice's managed prefix lists, looked up at deploy time, once per stack that needs them.

The lists are named `com.amazonaws.<region>.vpc-lattice` and `com.amazonaws.<region>.ipv6.vpc-lattice` and hold
link-local and non-routable public addresses, which AWS may change: rules name the list, never its addresses
(VPC Lattice User Guide, "Control traffic in VPC Lattice using security groups",
https://docs.aws.amazon.com/vpc-lattice/latest/ug/security-groups.html, read 2026-12-06). CloudFormation can't look
a managed prefix list up by name, and a synth-time lookup would need AWS credentials; so the IDs are read at deploy
time by DescribeManagedPrefixLists, one call per list (the response order is not reliable). A list is regional and
every account sees it, so each stack (an account and region of its own) looks it up itself.

Lifecycle: the lookup has no on_delete, so deleting it calls nothing. Where a list does not exist (a region without
VPC Lattice) the call should answer with an empty list (a Describe filter that matches nothing; unverified against
such a region): aws-cdk-lib 2.273.0's handler
(custom-resource-handlers/dist/custom-resources/aws-custom-resource-handler/index.js, read 2026-12-06) keeps only the
flattened response keys that start with an output path, so the data lacks `PrefixLists.0.PrefixListId`, and the
first rule that reads it fails the deploy (and rolls it back) with CloudFormation's "CustomResource attribute error:
Vendor response doesn't contain PrefixLists.0.PrefixListId key in object ..." (as reported in aws/aws-cdk#20352
and #7061 for other paths, read 2026-12-06): no rule is created with an empty prefix list.
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import custom_resources as cr
from constructs import Construct
from constructs.nag import acknowledge

# The shared Lambda every AwsCustomResource in a stack uses (aws-cdk-lib custom-resources, its fixed id).
AWS_CUSTOM_RESOURCE_SINGLETON = "AWS679f53fac002430cb0da5b7982bd2287"
OUTPUT_PATH = "PrefixLists.0.PrefixListId"


def lattice_list_names(*, ipv6: bool) -> dict[str, str]:
    """Label (used in construct ids) -> the list's name in the stack's region."""
    names = {"Ipv4": f"com.amazonaws.{Aws.REGION}.vpc-lattice"}
    if ipv6:
        names["Ipv6"] = f"com.amazonaws.{Aws.REGION}.ipv6.vpc-lattice"
    return names


class LatticePrefixLists(Construct):
    """`ids`: label ("Ipv4", and "Ipv6" with `ipv6`) -> the list's ID, a deploy-time token. A rule that uses an ID
    references the lookup (Fn::GetAtt), so CloudFormation creates the lookup first."""

    def __init__(self, scope: Construct, construct_id: str, *, ipv6: bool) -> None:
        super().__init__(scope, construct_id)
        self.ids: dict[str, str] = {}
        lookups: list[cr.AwsCustomResource] = []
        for label, name in lattice_list_names(ipv6=ipv6).items():
            call = cr.AwsSdkCall(
                service="EC2",
                action="describeManagedPrefixLists",
                parameters={"Filters": [{"Name": "prefix-list-name", "Values": [name]}]},
                physical_resource_id=cr.PhysicalResourceId.of(f"lattice-prefix-list-{label.lower()}"),
                output_paths=[OUTPUT_PATH],
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
            self.ids[label] = lookup.get_response_field(OUTPUT_PATH)
            lookups.append(lookup)
        singleton = Stack.of(self).node.try_find_child(AWS_CUSTOM_RESOURCE_SINGLETON)
        if singleton is not None:
            # With @aws-cdk/aws-lambda:useCdkManagedLogGroup the shared function gets /aws/lambda/<function> as a
            # LogGroup that depends on the function only, the Custom::AWS only on its policy and the function
            # (aws-cdk-lib 2.273.0 aws-lambda/lib/function.js, custom-resources aws-custom-resource.js, read
            # 2026-12-06): a first invocation could create the group before CloudFormation does, whose create
            # then fails "already exists" (aws/aws-cdk#667 describes the race, #34612 the error; read 2026-12-06).
            log_group = singleton.node.try_find_child("LogGroup")
            if log_group is not None:
                for lookup in lookups:
                    lookup.node.find_child("Resource").node.add_dependency(log_group)
            acknowledge(
                singleton,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                "AwsCustomResource's shared function (aws-cdk-lib) logs with the basic execution role.",
            )
