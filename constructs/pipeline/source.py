"""The pipeline's source action may use its connection under the ARN's own service prefix."""

from __future__ import annotations

from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam

# The action aws-cdk-lib grants, whatever the connection ARN says.
LIBRARY_ACTION = "codestar-connections:UseConnection"


def use_connection_action(connection_arn: str) -> str:
    """`<prefix>:UseConnection` for the ARN's service: IAM matches an action's prefix against the resource's,
    so a `codeconnections` connection needs `codeconnections:UseConnection` (AWS documents the prefixes as
    matching; with only the codestar-connections action, runs fail with "insufficient permissions")."""
    service = connection_arn.split(":", 3)[2]
    if service not in ("codeconnections", "codestar-connections"):
        raise ValueError(f"not a connection ARN: {connection_arn!r}")
    return f"{service}:UseConnection"


def source_action_roles(pipeline: codepipeline.Pipeline) -> list[iam.IRole]:
    """The roles of the pipeline's source actions (the first stage's), once the pipeline is built."""
    (source, *_) = pipeline.stages
    roles: list[iam.IRole] = []
    for action in source.actions:
        role = action.action_properties.role
        if role is None:  # aws-cdk-lib made it: <pipeline>/<stage>/<action>/CodePipelineActionRole
            scope = pipeline.node.find_child(source.stage_name).node.find_child(action.action_properties.action_name)
            role = scope.node.find_child("CodePipelineActionRole")  # type: ignore[assignment]
        if role is not None:
            roles.append(role)
    return roles


def grant_connection_use(pipeline: codepipeline.Pipeline, connection_arn: str) -> None:
    """Add the matching UseConnection action where the library granted only codestar-connections'."""
    action = use_connection_action(connection_arn)
    if action == LIBRARY_ACTION:
        return
    roles = source_action_roles(pipeline)
    if not roles:
        raise ValueError("the pipeline has no source action role to grant UseConnection to")
    for role in roles:
        role.add_to_principal_policy(iam.PolicyStatement(actions=[action], resources=[connection_arn]))
