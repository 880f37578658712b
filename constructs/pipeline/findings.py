"""cdk-nag findings that CDK Pipelines' own resources carry by design, acknowledged one by one with reasons."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines
from constructs.nag import acknowledge


def acknowledge_cdk_pipelines(
    pipeline: pipelines.CodePipeline, *, smoke_roles: list[iam.Role], stages: set[cdk.Stage], partition: str
) -> None:
    """Call after `build_pipeline()`, when the library has created its roles, buckets and projects."""
    stack = cdk.Stack.of(pipeline)
    reason = "CDK Pipelines"
    acknowledge(
        pipeline.pipeline.artifact_bucket,
        "AwsSolutions-S1",
        f"{reason} artifact bucket: holds only transient build artifacts; CodePipeline/CloudTrail log access.",
    )
    for support in pipeline.pipeline.cross_region_support.values():
        acknowledge(
            support.replication_bucket,
            "AwsSolutions-S1",
            f"{reason} cross-region replication bucket: transient artifacts for the other region's actions.",
        )
    acknowledge(
        pipeline,
        "AwsSolutions-CB4",
        f"{reason} CodeBuild projects: artifacts are encrypted by the pipeline's artifact bucket "
        "(KMS when cross-account); build output itself is not persisted by CodeBuild.",
    )
    grants = f"{reason}: read/write grant on the pipeline's artifact bucket and its KMS key"
    bucket = stack.resolve(cast(cdk.CfnElement, pipeline.pipeline.artifact_bucket.node.default_child).logical_id)
    for scope in (pipeline, *smoke_roles):
        for action in ("s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*"):
            acknowledge(scope, f"AwsSolutions-IAM5[Action::{action}]", f"{grants} (bucket-scoped).")
        for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
            acknowledge(scope, f"AwsSolutions-IAM5[Action::{action}]", f"{grants} (key-scoped).")
        acknowledge(scope, f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/*]", f"{grants}: its objects.")
    for support in pipeline.pipeline.cross_region_support.values():
        name = stack.resolve(support.replication_bucket.bucket_name)
        if isinstance(name, str):
            acknowledge(
                pipeline,
                f"AwsSolutions-IAM5[Resource::arn:{partition}:s3:::{name}/*]",
                f"{reason}: objects of the cross-region replication bucket.",
            )
    acknowledge(
        pipeline,
        "AwsSolutions-IAM5[Resource::*]",
        f"{reason}: the pipeline, self-mutation and asset roles use actions without resource-level "
        "permissions (e.g. cloudformation:DescribeStacks on any stack for self-mutation, codebuild report "
        "batching); the library generates them.",
    )
    acknowledge(
        pipeline,
        f"AwsSolutions-IAM5[Resource::arn:*:iam::{stack.account}:role/*]",
        f"{reason}: self-mutation assumes the CDK bootstrap roles (cdk-*) by a condition on their tag.",
    )
    region_arn = f"{partition}:{{service}}:{stack.region}:{stack.account}"
    acknowledge(
        pipeline,
        f"AwsSolutions-IAM5[Resource::arn:{region_arn.format(service='logs')}:log-group:/aws/codebuild/*]",
        f"{reason}: the shared asset-publishing role writes the logs of its generated projects.",
    )
    acknowledge(
        pipeline,
        f"AwsSolutions-IAM5[Resource::arn:{region_arn.format(service='codebuild')}:report-group/*]",
        f"{reason}: the shared asset-publishing role reports for its generated projects.",
    )
    for project in _projects(pipeline, stages):
        logical_id = stack.resolve(cast(cdk.CfnElement, project.node.default_child).logical_id)
        role = project.role
        if role is None:
            continue
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:{region_arn.format(service='logs')}:log-group:/aws/codebuild/"
            f"<{logical_id}>:*]",
            f"CodeBuild: log streams of project {project.node.id}'s own log group.",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:{region_arn.format(service='codebuild')}:report-group/<{logical_id}>-*]",
            f"CodeBuild: report groups of project {project.node.id}.",
        )


def _projects(pipeline: pipelines.CodePipeline, stages: set[cdk.Stage]) -> list[codebuild.Project]:
    """The CodeBuild projects of the pipeline itself (not of the stages' stacks)."""
    found: list[codebuild.Project] = []
    for construct in cdk.Stack.of(pipeline).node.find_all():
        if isinstance(construct, codebuild.Project) and not any(s in construct.node.scopes for s in stages):
            found.append(construct)
    return found
