"""A function run on a schedule, exactly once per tick: no EventBridge retry and no Lambda async retry.

EventBridge invokes a Lambda target asynchronously; its RetryPolicy covers only the delivery to Lambda. Lambda
itself "retries an asynchronous invocation twice if the function returns an error" and keeps the event queued up
to six hours (botocore 1.44.8 lambda PutFunctionEventInvokeConfig documentation, read 2026-12-05; Lambda
Developer Guide, "Error handling and automatic retries in Lambda", invocation-async-error-handling). A retried
or late run of a periodic job publishes a stale answer late, and the next tick is minutes away, so every
scheduled function here gets an AWS::Lambda::EventInvokeConfig with no retries and a maximum event age of one
interval (within the API's 60..21,600 s).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# botocore 1.44.8 lambda service model: MaximumEventAgeInSeconds min 60, max 21600; MaximumRetryAttempts 0..2.
MIN_EVENT_AGE_SECONDS, MAX_EVENT_AGE_SECONDS = 60, 21_600


def event_age_seconds(minutes: int) -> int:
    """One interval, held to what Lambda accepts."""
    return max(MIN_EVENT_AGE_SECONDS, min(MAX_EVENT_AGE_SECONDS, 60 * minutes))


def run_every(
    scope: Construct, construct_id: str, *, function: lambda_.Function, minutes: int, description: str
) -> events.Rule:
    """A rate(`minutes`) rule invoking `function` once per tick, with no retry anywhere."""
    function.configure_async_invoke(retry_attempts=0, max_event_age=Duration.seconds(event_age_seconds(minutes)))
    return events.Rule(
        scope,
        construct_id,
        description=description,
        schedule=events.Schedule.rate(Duration.minutes(minutes)),
        targets=[targets.LambdaFunction(function, retry_attempts=0)],
    )
