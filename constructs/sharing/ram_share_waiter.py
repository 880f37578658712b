"""A wait, after a RAM resource share, until RAM has associated each of its resources (or refused one).

RAM associates a share's resources asynchronously, so CloudFormation finishes the share before RAM has accepted
(or refused) its resources; lambda/ram_share_wait/handler.py polls until they are ASSOCIATED and fails with RAM's
statusMessage when one is FAILED. Every AWS::RAM::ResourceShare this app creates gets one (tests/test_ram_shares.py).
"""

from __future__ import annotations

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ram as ram
from constructs import Construct
from constructs.nag import acknowledge
from constructs.provider import CustomResourceProvider
from constructs.python_function import PythonFunction

RESOURCE_TYPE = "Custom::RamShareAssociation"
# RAM usually associates within seconds; 10 minutes is the readable failure's bound, the provider's is above it.
TIMEOUT_SECONDS = 600


class RamShareWaiter(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        share: ram.CfnResourceShare,
        resource_arns: list[str],
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)

        def function(name: str, handler: str, description: str) -> PythonFunction:
            fn = PythonFunction(
                self,
                name,
                packages=("ram_share_wait",),
                handler=f"ram_share_wait.handler.{handler}",
                description=description,
                timeout=Duration.minutes(1),
                log_retention=log_retention,
            )
            # Read-only. The share's ARN is known only at deploy time and, like the consumer side's
            # ram:GetResourceShares (constructs/sharing/consumer_link.py), the call is granted on "*".
            fn.role.add_to_policy(iam.PolicyStatement(actions=["ram:GetResourceShareAssociations"], resources=["*"]))
            acknowledge(
                fn.role,
                "AwsSolutions-IAM5[Resource::*]",
                "ram:GetResourceShareAssociations reads which resources a share holds; read-only, and the share's "
                "ARN exists only at deploy time.",
            )
            return fn

        on_event = function("OnEvent", "on_event", "Starts the wait for a RAM share's resource associations")
        is_complete = function(
            "IsComplete", "is_complete", "Polls a RAM share until its resources are associated, or RAM refused one"
        )
        provider = CustomResourceProvider(
            self,
            "Provider",
            on_event=on_event.function,
            is_complete=is_complete.function,
            query_interval=Duration.seconds(10),
            total_timeout=Duration.seconds(TIMEOUT_SECONDS + 120),
            log_retention=log_retention,
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                "ResourceShareArn": share.attr_arn,
                "ResourceArns": resource_arns,
                "TimeoutSeconds": str(TIMEOUT_SECONDS),
            },
        )
