"""The AWS Gateway API Controller's IAM policy: upstream's recommended inline policy for v2.1.3.

Source: aws/aws-application-networking-k8s v2.1.3, files/controller-installation/recommended-inline-policy.json.
Written out here (not loaded from a file) so a chart upgrade forces a reviewed policy change; a test
compares it with the upstream text.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

# The controller creates Lattice services, listeners, rules, target groups and associations with names it
# derives at runtime from Kubernetes objects, so their ARNs can't be known when the policy is written.
_LATTICE = ["vpc-lattice:*"]
# EC2 Describe* calls don't support resource-level permissions (cluster VPC, subnets, security groups, tags).
_EC2_DESCRIBE = ["ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeTags", "ec2:DescribeSecurityGroups"]
# AccessLogPolicy destinations are chosen by users at runtime; CloudWatch Logs' log-delivery and
# resource-policy APIs don't support resource-level permissions.
_LOGS = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:DescribeLogGroups",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
]
# The Resource Groups Tagging API works across services and doesn't support resource-level permissions.
_TAGGING = ["tag:GetResources", "tag:TagResources", "tag:UntagResources"]
# Access-log destinations (Firehose stream, S3 bucket) are named in AccessLogPolicy objects at runtime.
_LOG_DESTINATIONS = ["firehose:TagDeliveryStream", "s3:GetBucketPolicy", "s3:PutBucketPolicy"]
# List* calls don't support resource-level permissions (used to find certificates for custom domains).
_ACM = ["acm:ListCertificates"]


def _service_linked_role(service: str, role_name: str) -> iam.PolicyStatement:
    # Account "*" as upstream: CreateServiceLinkedRole only ever creates in the caller's own account.
    return iam.PolicyStatement(
        actions=["iam:CreateServiceLinkedRole"],
        resources=[f"arn:{Aws.PARTITION}:iam::*:role/aws-service-role/{service}/{role_name}"],
        conditions={"StringLike": {"iam:AWSServiceName": service}},
    )


def controller_policy_document() -> iam.PolicyDocument:
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                actions=[*_LATTICE, *_EC2_DESCRIBE, *_LOGS, *_TAGGING, *_LOG_DESTINATIONS, *_ACM],
                resources=["*"],
            ),
            _service_linked_role("vpc-lattice.amazonaws.com", "AWSServiceRoleForVpcLattice"),
            _service_linked_role("delivery.logs.amazonaws.com", "AWSServiceRoleForLogDelivery"),
        ]
    )
