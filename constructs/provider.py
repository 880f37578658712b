"""The CDK custom-resource provider framework with the project's logging, and its acknowledged findings."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct
from constructs.nag import acknowledge

_BASIC_ROLE = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


class CustomResourceProvider(Construct):
    """`cr.Provider` around our own handler functions; `service_token` is what a CustomResource uses."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        on_event: lambda_.IFunction,
        is_complete: lambda_.IFunction | None = None,
        query_interval: Duration | None = None,
        total_timeout: Duration | None = None,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=query_interval,
            total_timeout=total_timeout,
            log_group=log_group,
            disable_waiter_state_machine_logging=False if is_complete else None,
            # Level ALL satisfies cdk-nag SF1. Execution data stays out: the framework passes the whole
            # CloudFormation event as the execution input, and its presigned ResponseURL lets anyone who can
            # read the log answer for the in-flight resource.
            waiter_state_machine_log_options=cr.LogOptions(
                destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            )
            if is_complete
            else None,
        )
        self.service_token = self.provider.service_token

        reason = "Built by the CDK provider framework (aws-cdk-lib), not by this app"
        acknowledge(self.provider, f"AwsSolutions-IAM4[{_BASIC_ROLE}]", f"{reason}: basic logging role.")
        # The framework may invoke any version of the handlers it orchestrates (`<function arn>:*`).
        stack = Stack.of(self)
        targets: list[lambda_.IFunction] = [on_event, *([is_complete] if is_complete else [])]
        if is_complete:
            for name in ("framework-isComplete", "framework-onTimeout"):
                child = self.provider.node.try_find_child(name)
                if isinstance(child, lambda_.Function):
                    targets.append(child)
            acknowledge(self.provider, "AwsSolutions-SF2", f"{reason}: no X-Ray option on its waiter.")
            acknowledge(
                self.provider,
                "AwsSolutions-IAM5[Resource::*]",
                f"{reason}: Step Functions log delivery (logs:*LogDelivery) supports no resource-level permissions.",
            )
        for function in targets:
            logical_id = stack.resolve(stack.get_logical_id(function.node.default_child))  # type: ignore[arg-type]
            acknowledge(
                self.provider,
                f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]",
                f"{reason}: invokes any version of {function.node.id}.",
            )
