"""checkov acknowledgments: one Aspect writes each into the resource it concerns, with its reason, in the form
checkov reads (`Metadata.checkov.skip: [{id, comment}]`), on this app's resources and on aws-cdk-lib's own
(custom-resource provider framework, kubectl provider, AwsCustomResource and log-retention functions, CDK
Pipelines).

checkov is the second scanner security teams run (tests/test_checkov.py runs it over every synthesized
template). What is worth fixing is fixed in the constructs: the log groups holding request or flow data use a
customer-managed key (constructs/log_key.py), and IAM is scoped where the resource is known. Each row of
ACKNOWLEDGMENTS is a finding kept on purpose: which check, on which resources (by what builds them), and why.
A row is written only where the check's own condition holds (e.g. CKV_AWS_117 only on a function outside a
VPC), so no resource carries an acknowledgment it does not need.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import Aspects, CfnResource, CustomResourceProviderBase, IAspect, Stack
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import IConstruct
from constructs.gateway_controller import GatewayController
from constructs.provider import CustomResourceProvider
from constructs.python_function import PythonFunction

# Stack-level singletons aws-cdk-lib adds for AwsCustomResource and for log retention (their fixed UUID ids).
_CDK_SINGLETONS = ("AWS679f53fac002430cb0da5b7982bd2287", "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a")
# The support stack CodePipeline adds per extra region (aws-cdk-lib names it this way).
_CROSS_REGION_STACK = re.compile(r"^cross-region-stack-")


def _ancestors(resource: IConstruct) -> Iterator[IConstruct]:
    scope = resource.node.scope
    while scope is not None:
        yield scope
        scope = scope.node.scope


# ---------------------------------------------------------------------------------- who builds the resource


def cdk_framework(resource: IConstruct) -> bool:
    """Built by aws-cdk-lib's custom-resource machinery, not by this app."""
    for scope in _ancestors(resource):
        if isinstance(scope, cr.Provider | eks.KubectlProvider | CustomResourceProviderBase):
            return True
        if isinstance(scope.node.scope, Stack) and scope.node.id in _CDK_SINGLETONS:
            return True
    return False


def app_function(resource: IConstruct) -> bool:
    """This app's Lambda functions (constructs/python_function.py) and their log groups."""
    return any(isinstance(scope, PythonFunction) for scope in _ancestors(resource))


def provider_logs(resource: IConstruct) -> bool:
    """The log group our CustomResourceProvider gives the provider framework (constructs/provider.py)."""
    return any(isinstance(scope, CustomResourceProvider) for scope in _ancestors(resource))


def provider_waiter(resource: IConstruct) -> bool:
    """The role of the provider framework's Step Functions waiter."""
    return any(isinstance(scope, cr.WaiterStateMachine) for scope in _ancestors(resource))


def controller_policy(resource: IConstruct) -> bool:
    """The AWS Gateway API Controller's policy (constructs/controller_policy.py: upstream's, verbatim)."""
    parent = resource.node.scope
    return isinstance(parent, iam.ManagedPolicy) and isinstance(parent.node.scope, GatewayController)


def cdk_pipelines(resource: IConstruct) -> bool:
    """CDK Pipelines' own resources, and the cross-region support stacks CodePipeline adds."""
    # Not imported, no pipeline in this app: the check does not import it (a quarter second on every synth).
    pipelines = sys.modules.get("aws_cdk.pipelines")
    if pipelines is None:
        return False
    return bool(_CROSS_REGION_STACK.match(Stack.of(resource).node.id)) or any(
        isinstance(scope, pipelines.CodePipeline) for scope in _ancestors(resource)
    )


# ------------------------------------------------------------------------- each check's own condition


def _property(resource: CfnResource, name: str) -> Any:
    """A CloudFormation property as set on the L1 (typed L1s key it camelCase, raw CfnResources as given)."""
    props: dict[str, Any] = resource._cfn_properties or {}
    value = props.get(name)
    value = value if value is not None else props.get(name[0].lower() + name[1:])
    # Resolved: an L2 may set a lazy value that renders to nothing (e.g. a function's empty environment).
    return Stack.of(resource).resolve(value) if value is not None else None


def _lacks(name: str) -> Callable[[CfnResource], bool]:
    return lambda resource: _property(resource, name) is None


def _env_without_key(resource: CfnResource) -> bool:
    environment = _property(resource, "Environment") or {}
    variables = environment.get("Variables", environment.get("variables"))
    return bool(variables) and _property(resource, "KmsKeyArn") is None


def _writes_any_resource(resource: CfnResource) -> bool:
    """An unconditional Allow of a non-read action on Resource "*": what checkov's IAM checks (cloudsplaining)
    flag, short of its action database (read = Get/List/Describe/Head)."""
    document = _property(resource, "PolicyDocument") or {}
    return any(_statement_writes_any_resource(statement) for statement in document.get("Statement", []))


def _statement_writes_any_resource(statement: dict[str, Any]) -> bool:
    resources, actions = statement.get("Resource", []), statement.get("Action", [])
    return (
        statement.get("Effect") == "Allow"
        and "Condition" not in statement
        and "*" in ([resources] if isinstance(resources, str) else resources)
        and any(
            not re.match(r"(Get|List|Describe|Head|BatchGet)", action.split(":", 1)[-1])
            for action in ([actions] if isinstance(actions, str) else actions)
        )
    )


# ------------------------------------------------------------------------------------ the acknowledgments


@dataclass(frozen=True, kw_only=True)
class Acknowledgment:
    check: str  # checkov's id
    resource_type: str  # the CloudFormation type it reads
    owner: Callable[[IConstruct], bool]  # which resources, by what builds them
    applies: Callable[[CfnResource], bool]  # the check's condition: where the finding really is
    reason: str


_FUNCTION, _LOG_GROUP, _POLICY = "AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::IAM::Policy"
_FRAMEWORK = "Built by aws-cdk-lib's custom-resource framework, not by this app"
_DEPLOY_TIME = "runs only during deployments (and `make smoke`)"

ACKNOWLEDGMENTS: tuple[Acknowledgment, ...] = (
    # -- Lambda functions
    Acknowledgment(
        check="CKV_AWS_116",
        resource_type=_FUNCTION,
        owner=app_function,
        applies=_lacks("DeadLetterConfig"),
        reason="Invoked synchronously (by its custom-resource provider, or by `make smoke`): a dead-letter queue "
        "receives only failed asynchronous invocations.",
    ),
    Acknowledgment(
        check="CKV_AWS_116",
        resource_type=_FUNCTION,
        owner=cdk_framework,
        applies=_lacks("DeadLetterConfig"),
        reason=f"{_FRAMEWORK} (no dead-letter option); a failed invocation fails the CloudFormation operation.",
    ),
    Acknowledgment(
        check="CKV_AWS_115",
        resource_type=_FUNCTION,
        owner=lambda r: app_function(r) or cdk_framework(r),
        applies=_lacks("ReservedConcurrentExecutions"),
        reason=f"A deploy-time handler: {_DEPLOY_TIME}; reserved concurrency would only take from the account's "
        "unreserved pool.",
    ),
    Acknowledgment(
        check="CKV_AWS_117",
        resource_type=_FUNCTION,
        owner=app_function,
        applies=_lacks("VpcConfig"),
        reason="Calls only AWS APIs (the drain waiter: VPC Lattice): in a VPC it would need a NAT path or "
        "endpoints to reach them, and would reach nothing else.",
    ),
    Acknowledgment(
        check="CKV_AWS_117",
        resource_type=_FUNCTION,
        owner=cdk_framework,
        applies=_lacks("VpcConfig"),
        reason=f"{_FRAMEWORK}: calls only AWS APIs and CloudFormation's pre-signed S3 response URL.",
    ),
    Acknowledgment(
        check="CKV_AWS_173",
        resource_type=_FUNCTION,
        owner=lambda r: app_function(r) or cdk_framework(r),
        applies=_env_without_key,
        reason="Its environment holds names, ARNs and routes, no secrets; Lambda encrypts it at rest with its "
        "AWS managed key.",
    ),
    # -- log groups (the ones with request or flow data use the app's key: constructs/log_key.py)
    Acknowledgment(
        check="CKV_AWS_158",
        resource_type=_LOG_GROUP,
        owner=lambda r: app_function(r) or provider_logs(r) or cdk_framework(r),
        applies=_lacks("KmsKeyId"),
        reason=f"Execution logs of a handler that {_DEPLOY_TIME}: progress and errors, no request or flow data; "
        "CloudWatch Logs encrypts them at rest.",
    ),
    # -- IAM
    Acknowledgment(
        check="CKV_AWS_111",
        resource_type=_POLICY,
        owner=provider_waiter,
        applies=_writes_any_resource,
        reason=f"{_FRAMEWORK}: Step Functions log delivery (logs:*LogDelivery, logs:PutResourcePolicy) supports "
        "no resource-level permissions.",
    ),
    Acknowledgment(
        check="CKV_AWS_111",
        resource_type="AWS::IAM::ManagedPolicy",
        owner=controller_policy,
        applies=_writes_any_resource,
        reason="The controller's upstream recommended policy: it creates Lattice services, target groups and "
        "access-log deliveries whose names it derives at run time, so their ARNs cannot be written down.",
    ),
    Acknowledgment(
        check="CKV_AWS_109",
        resource_type="AWS::IAM::ManagedPolicy",
        owner=controller_policy,
        applies=_writes_any_resource,
        reason="The controller's upstream recommended policy: s3:PutBucketPolicy and logs:PutResourcePolicy let "
        "Lattice deliver access logs to the destinations an AccessLogPolicy names at run time.",
    ),
    Acknowledgment(
        check="CKV_AWS_111",
        resource_type=_POLICY,
        owner=cdk_pipelines,
        applies=_writes_any_resource,
        reason="CDK Pipelines' own roles: starting the asset builds (codebuild:StartBuild) and the cross-region "
        "replication keys (referenced by alias) take no resource ARN when the policy is written.",
    ),
    # -- CDK Pipelines' artifact buckets
    Acknowledgment(
        check="CKV_AWS_18",
        resource_type="AWS::S3::Bucket",
        owner=cdk_pipelines,
        applies=_lacks("LoggingConfiguration"),
        reason="CDK Pipelines' artifact bucket: only the pipeline's roles reach it (KMS-encrypted, TLS-only); "
        "CloudTrail records their access.",
    ),
    Acknowledgment(
        check="CKV_AWS_21",
        resource_type="AWS::S3::Bucket",
        owner=cdk_pipelines,
        applies=_lacks("VersioningConfiguration"),
        reason="CDK Pipelines' artifact bucket: each run writes new objects and a rerun rebuilds them; old "
        "versions would only be kept, never read.",
    ),
)


@jsii.implements(IAspect)
class CheckovAcknowledgments:
    """Writes every applicable row of ACKNOWLEDGMENTS into the resource's `Metadata.checkov.skip`."""

    def __init__(self, acknowledgments: tuple[Acknowledgment, ...] = ACKNOWLEDGMENTS) -> None:
        for ack in acknowledgments:
            if not re.fullmatch(r"CKV2?_AWS_\d+", ack.check) or len(ack.reason.strip()) < 20:
                raise ValueError(f"checkov acknowledgment {ack.check!r} needs a checkov id and a reason")
        self.acknowledgments = acknowledgments

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource):
            return
        skips = {
            ack.check: ack.reason
            for ack in self.acknowledgments
            if ack.resource_type == node.cfn_resource_type and ack.owner(node) and ack.applies(node)
        }
        if not skips:
            return
        existing = node.get_metadata("checkov") or {}
        entries = [e for e in existing.get("skip", []) if e["id"] not in skips]
        entries += [{"id": check, "comment": reason} for check, reason in sorted(skips.items())]
        node.add_metadata("checkov", {**existing, "skip": entries})


def add_checkov_acknowledgments(scope: IConstruct) -> None:
    """Once on an App or a Stage. Aspects do not cross into a Stage, and CDK Pipelines synthesizes each stage
    as soon as it is added to the pipeline: so a pipeline's deploy target gets its own, when it is built."""
    aspects = Aspects.of(scope)
    if not any(isinstance(aspect, CheckovAcknowledgments) for aspect in aspects.all):
        aspects.add(CheckovAcknowledgments())
