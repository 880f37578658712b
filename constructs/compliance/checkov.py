"""checkov acknowledgments: one Aspect writes each into the resource it concerns, with its reason, in the form
checkov reads (`Metadata.checkov.skip: [{id, comment}]`), on this app's resources and on aws-cdk-lib's own
(custom-resource provider framework, kubectl provider, AwsCustomResource and log-retention functions, CDK
Pipelines).

checkov is the second scanner security teams run (tests/test_checkov.py runs it over every synthesized
template). What is worth fixing is fixed in the constructs: the log groups holding request or flow data use a
customer-managed key (constructs/observability/log_key.py), and IAM is scoped where the resource is known. Each row of
ACKNOWLEDGMENTS is a finding kept on purpose: which check, on which resources (by what builds them), and why.
A row is written only where the check's own condition holds (e.g. CKV_AWS_117 only on a function outside a
VPC), so no resource carries an acknowledgment it does not need.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jsii
from aws_cdk import Aspects, CfnResource, CustomResourceProviderBase, IAspect, Stack
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import IConstruct
from constructs.controller import GatewayController
from constructs.provider import CustomResourceProvider
from constructs.python_function import PythonFunction
from constructs.sharing import ServiceNetworkShare

# Stack-level singletons aws-cdk-lib adds for AwsCustomResource and for log retention (their fixed UUID ids).
_CDK_SINGLETONS = ("AWS679f53fac002430cb0da5b7982bd2287", "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a")
# The support stack CodePipeline adds per extra region (aws-cdk-lib names it this way).
_CROSS_REGION_STACK = re.compile(r"^cross-region-stack-")


@dataclass(frozen=True)
class Found:
    """A resource and the scopes above it, parent first: read once, as each read calls into jsii."""

    resource: CfnResource
    ancestors: tuple[IConstruct, ...]

    @cached_property
    def stack(self) -> Stack:
        """The resource's stack (resolves its properties): one jsii call per resource, not per property."""
        return Stack.of(self.resource)

    @cached_property
    def properties(self) -> Mapping[str, Any]:
        """As set on the L1: typed L1s key them camelCase, raw CfnResources as given."""
        props: Mapping[str, Any] = self.resource._cfn_properties or {}
        return props

    @classmethod
    def of(cls, resource: CfnResource) -> Found:
        return cls(resource, tuple(reversed(resource.node.scopes[:-1])))  # node.scopes: root to resource

    def under(self, *kinds: type) -> bool:
        return any(isinstance(scope, kinds) for scope in self.ancestors)


# ---------------------------------------------------------------------------------- who builds the resource


def cdk_framework(found: Found) -> bool:
    """Built by aws-cdk-lib's custom-resource machinery, not by this app."""
    if found.under(cr.Provider, eks.KubectlProvider, CustomResourceProviderBase):
        return True
    pairs = zip(found.ancestors, found.ancestors[1:], strict=False)
    return any(isinstance(parent, Stack) and scope.node.id in _CDK_SINGLETONS for scope, parent in pairs)


def app_function(found: Found) -> bool:
    """This app's Lambda functions (constructs/python_function.py) and their log groups."""
    return found.under(PythonFunction)


# Functions an EventBridge schedule runs (asynchronously, without retries), not a deploy.
SCHEDULED_HANDLERS = ("lattice_metrics.health.handler", "lattice_dns.handler.resync")


def scheduled_function(found: Found) -> bool:
    """This app's scheduled functions: the target-health publisher, the DNS resync."""
    return app_function(found) and _property(found, "Handler") in SCHEDULED_HANDLERS


def provider_logs(found: Found) -> bool:
    """The log group our CustomResourceProvider gives the provider framework (constructs/provider.py)."""
    return found.under(CustomResourceProvider)


def provider_waiter(found: Found) -> bool:
    """The role of the provider framework's Step Functions waiter."""
    return found.under(cr.WaiterStateMachine)


def controller_policy(found: Found) -> bool:
    """The AWS Gateway API Controller's policy (constructs/controller/policy.py: upstream's, verbatim)."""
    parents = found.ancestors[:2]
    return len(parents) == 2 and isinstance(parents[0], iam.ManagedPolicy) and isinstance(parents[1], GatewayController)


def consumer_trust(found: Found) -> bool:
    """The roles consumer accounts assume (constructs/sharing/network_share.py: -ConsumerRead, -ZoneAuthorizer)."""
    return found.under(ServiceNetworkShare)


def _trusts_listed_accounts_only(found: Found) -> bool:
    """Every statement admitting AWS "*" is narrowed to listed accounts and a principal ARN."""
    document = _property(found, "AssumeRolePolicyDocument") or {}
    open_statements = [s for s in document.get("Statement", []) if (s.get("Principal") or {}).get("AWS") == "*"]
    return bool(open_statements) and all(
        "aws:PrincipalAccount" in (s.get("Condition") or {}).get("StringEquals", {})
        and "aws:PrincipalArn" in (s.get("Condition") or {}).get("ArnLike", {})
        for s in open_statements
    )


def cdk_pipelines(found: Found) -> bool:
    """CDK Pipelines' own resources, and the cross-region support stacks CodePipeline adds."""
    # Not imported, no pipeline in this app: the check does not import it (a quarter second on every synth).
    pipelines = sys.modules.get("aws_cdk.pipelines")
    if pipelines is None:
        return False
    stack = next(scope for scope in found.ancestors if isinstance(scope, Stack))
    return bool(_CROSS_REGION_STACK.match(stack.node.id)) or found.under(pipelines.CodePipeline)


# ------------------------------------------------------------------------- each check's own condition


def _property(found: Found, name: str) -> Any:
    """A CloudFormation property, resolved: an L2 may set a lazy value that renders to nothing (e.g. a
    function's empty environment)."""
    value = found.properties.get(name)
    value = value if value is not None else found.properties.get(name[0].lower() + name[1:])
    return found.stack.resolve(value) if value is not None else None


def _lacks(name: str) -> Callable[[Found], bool]:
    return lambda found: _property(found, name) is None


def _env_without_key(found: Found) -> bool:
    environment = _property(found, "Environment") or {}
    variables = environment.get("Variables", environment.get("variables"))
    return bool(variables) and _property(found, "KmsKeyArn") is None


def _writes_any_resource(found: Found) -> bool:
    """An unconditional Allow of a non-read action on Resource "*": what checkov's IAM checks (cloudsplaining)
    flag, short of its action database (read = Get/List/Describe/Head)."""
    document = _property(found, "PolicyDocument") or {}
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
    owner: Callable[[Found], bool]  # which resources, by what builds them
    applies: Callable[[Found], bool]  # the check's condition: where the finding really is
    reason: str


_FUNCTION, _LOG_GROUP, _POLICY = "AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::IAM::Policy"
_FRAMEWORK = "Built by aws-cdk-lib's custom-resource framework, not by this app"
_DEPLOY_TIME = "runs only during deployments (and `make smoke`)"

ACKNOWLEDGMENTS: tuple[Acknowledgment, ...] = (
    # -- Lambda functions
    Acknowledgment(
        check="CKV_AWS_116",
        resource_type=_FUNCTION,
        owner=lambda r: app_function(r) and not scheduled_function(r),
        applies=_lacks("DeadLetterConfig"),
        reason="Invoked synchronously (by its custom-resource provider, or by `make smoke`): a dead-letter queue "
        "receives only failed asynchronous invocations.",
    ),
    Acknowledgment(
        check="CKV_AWS_116",
        resource_type=_FUNCTION,
        owner=scheduled_function,
        applies=_lacks("DeadLetterConfig"),
        reason="Run by a schedule without retries: a failed run's event is worth nothing once the next run is "
        "due; failures show in its log group and, for the target-health publisher, in its silence alarm.",
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
        owner=lambda r: (app_function(r) and not scheduled_function(r)) or cdk_framework(r),
        applies=_lacks("ReservedConcurrentExecutions"),
        reason=f"A deploy-time handler: {_DEPLOY_TIME}; reserved concurrency would only take from the account's "
        "unreserved pool.",
    ),
    Acknowledgment(
        check="CKV_AWS_115",
        resource_type=_FUNCTION,
        owner=scheduled_function,
        applies=_lacks("ReservedConcurrentExecutions"),
        reason="One run per schedule tick, shorter than the interval: reserved concurrency would only take from "
        "the account's unreserved pool.",
    ),
    Acknowledgment(
        check="CKV_AWS_117",
        resource_type=_FUNCTION,
        owner=app_function,
        applies=_lacks("VpcConfig"),
        reason="Calls only AWS APIs (the drain waiter and target-health publisher: VPC Lattice, CloudWatch; the "
        "zone sweeper: Route 53): in a VPC it would "
        "need a NAT path or endpoints to reach them, and would reach nothing else.",
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
    # -- log groups (the ones with request or flow data use the app's key: constructs/observability/log_key.py)
    Acknowledgment(
        check="CKV_AWS_158",
        resource_type=_LOG_GROUP,
        owner=lambda r: app_function(r) or provider_logs(r) or cdk_framework(r),
        applies=_lacks("KmsKeyId"),
        reason=f"Execution logs of a handler that {_DEPLOY_TIME}, or of a scheduled one (target health, DNS "
        "resync): progress and errors, no request or flow data; CloudWatch Logs encrypts them at rest.",
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
        check="CKV_AWS_60",
        resource_type="AWS::IAM::Role",
        owner=consumer_trust,
        applies=_trusts_listed_accounts_only,
        reason="Principal AWS * only with conditions: aws:PrincipalAccount lists the consumer accounts and "
        "aws:PrincipalArn names the one role in each; one account id per consumer keeps the trust policy under "
        "IAM's 2,048 characters at 50 consumers (one principal and role ARN each passed it at 16).",
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


# Python class of an L1 (CfnFunction, ...) -> its CloudFormation type, read once per class: the aspect visits
# every resource, and reading each one's type is a round trip to the jsii kernel.
_L1_TYPES: dict[type, str] = {}


def resource_type_of(node: CfnResource) -> str:
    """`node.cfn_resource_type`. An L1 class always creates its own type (CFN_RESOURCE_TYPE_NAME); a plain
    CfnResource (custom resources, raw resources) carries its own, so it is read from the node."""
    cls = type(node)
    if cls is CfnResource or "CFN_RESOURCE_TYPE_NAME" not in cls.__dict__:
        return node.cfn_resource_type
    if cls not in _L1_TYPES:
        _L1_TYPES[cls] = cls.CFN_RESOURCE_TYPE_NAME  # type: ignore[attr-defined]
    return _L1_TYPES[cls]


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
        resource_type = resource_type_of(node)
        rows = [ack for ack in self.acknowledgments if ack.resource_type == resource_type]
        if not rows:
            return
        found = Found.of(node)
        skips = {ack.check: ack.reason for ack in rows if ack.owner(found) and ack.applies(found)}
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
