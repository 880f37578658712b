"""A customer-managed KMS key for the log groups that hold request or flow data (Lattice access logs, VPC
flow logs): CloudWatch Logs encrypts them with it, and the key's policy says who may read them."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class LogEncryptionKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description=description,
            enable_key_rotation=True,
            # Goes with the log groups it encrypts (they are destroyed with the stack too).
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CloudWatch Logs of this region may use the key, and only for log groups of this account and region
        # (the encryption context it sends names the log group). Its ARN, not the group's name: flow-log groups
        # are named by CloudFormation, and a reference to a group here would be circular (the group names the key).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfThisAccountAndRegion",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )
