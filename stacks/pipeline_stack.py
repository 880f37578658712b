"""CDK Pipelines: source from a CodeConnections repository, `make test` + `make synth`, one stage per target.

How the pipeline synthesizes itself (self-mutation): the synth step runs the same Makefile targets users run
(`make test`, then `make synth`) on a fresh clone, passing the pipeline's configuration back as context:
`make synth STACKS='--all -c "pipeline=$PIPELINE_CONTEXT"'`, where `PIPELINE_CONTEXT` is the step's
environment variable holding `PipelineConfig.to_context()`. So the configuration given once on the command
line that created the pipeline (`-c pipeline=...`) is carried into every later synth; a `pipeline` key in
cdk.json works as well (the `-c` value, being the same configuration, overrides it).

The CDK CLI version is read from package.json (devDependencies["aws-cdk"]) at synth time: the synth step
installs exactly that version through `npm ci`, and the pipeline's self-mutation and asset steps use it too.

After each stage a smoke step runs `python tools/smoke.py --stack <the stage's Gateway stack>` with a role that
may only describe that stack and invoke functions that CloudFormation created in it (tag condition).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines, region_info
from constructs import Construct
from constructs.nag import acknowledge

from config import AppConfig
from config.pipeline import PipelineConfig, StageTarget
from stacks.system import PREFIX, System, add_system

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_JSON = ROOT / "package.json"
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0  # Ubuntu 22.04, Python 3.11+ (the app needs >= 3.11)
CONTEXT_ENV = "PIPELINE_CONTEXT"
SYNTH_COMMANDS = (
    "make test",
    # $$ is make's escape: the recipe's shell expands $PIPELINE_CONTEXT inside the double quotes.
    f"make synth STACKS='--all -c \"pipeline=$${CONTEXT_ENV}\"'",
)
_CFN_STACK_TAG = "aws:ResourceTag/aws:cloudformation:stack-name"


def cdk_cli_version(package_json: Path = PACKAGE_JSON) -> str:
    """The CDK CLI pinned in package.json (the one `npm ci` installs), so the version is written only there."""
    data: dict[str, Any] = json.loads(package_json.read_text())
    version = data.get("devDependencies", {}).get("aws-cdk")
    if not isinstance(version, str) or not version[:1].isdigit():
        raise ValueError(f"{package_json}: devDependencies['aws-cdk'] must be an exact version, got {version!r}")
    return version


class SystemStage(cdk.Stage):
    """One deployment target: the app's stacks (add_system) in one account and region."""

    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig, env: cdk.Environment | None) -> None:
        super().__init__(scope, construct_id, env=env)
        self.system: System = add_system(self, config=config, env=env)

    @property
    def gateway_stack_name(self) -> str:
        return self.system.gateway.stack_name


class PipelineStack(cdk.Stack):
    """The pipeline, deployed once by hand (`cdk deploy` with `-c pipeline=...`); it then updates itself."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        pipeline: PipelineConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.pipeline_config = pipeline
        account = pipeline.account or (None if cdk.Token.is_unresolved(self.account) else self.account)
        region = pipeline.region or (None if cdk.Token.is_unresolved(self.region) else self.region)
        cross_account = any(s.account is not None and s.account != account for s in pipeline.stages)

        self.source = pipelines.CodePipelineSource.connection(
            pipeline.repository, pipeline.branch, connection_arn=pipeline.connection_arn
        )
        self.synth_step = pipelines.CodeBuildStep(
            "Synth",
            input=self.source,
            env={CONTEXT_ENV: pipeline.to_context()},
            commands=list(SYNTH_COMMANDS),
            primary_output_directory="cdk.out",
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=f"{PREFIX}-Pipeline",
            synth=self.synth_step,
            cli_version=cdk_cli_version(),
            cross_account_keys=cross_account,
            enable_key_rotation=cross_account or None,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE)
            ),
        )
        self.stages: dict[str, SystemStage] = {}
        self._smoke_roles: list[iam.Role] = []
        for target in pipeline.stages:
            stage_env = _environment(target.account or account, target.region or region)
            stage = SystemStage(self, target.name, config=config, env=stage_env)
            self.stages[target.name] = stage
            pre: list[pipelines.Step] = []
            if target.production:
                pre.append(
                    pipelines.ManualApprovalStep(
                        f"Approve-{target.name}",
                        comment=f"Deploy eks-lattice-gateway to production stage {target.name}?",
                    )
                )
            smoke = self._smoke_step(target, stage, default_account=account, default_region=region)
            self.pipeline.add_stage(stage, pre=pre, post=[smoke])
        self.pipeline.build_pipeline()
        self._acknowledge()

    def _smoke_step(
        self, target: StageTarget, stage: SystemStage, *, default_account: str | None, default_region: str | None
    ) -> pipelines.CodeBuildStep:
        stack_name = stage.gateway_stack_name
        account = target.account or default_account or cdk.Aws.ACCOUNT_ID
        region = target.region or default_region or cdk.Aws.REGION
        partition = self._partition if self._partition != "<AWS::Partition>" else cdk.Aws.PARTITION
        role = iam.Role(
            self,
            f"Smoke-{target.name}-Role",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description=f"eks-lattice-gateway pipeline: smoke test of stage {target.name}",
        )
        self._smoke_roles.append(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"],
                resources=[f"arn:{partition}:cloudformation:{region}:{account}:stack/{stack_name}/*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[f"arn:{partition}:lambda:{region}:{account}:function:*"],
                conditions={"StringEquals": {_CFN_STACK_TAG: stack_name}},
            )
        )
        stack_arn = f"arn:{_nag_text(partition)}:cloudformation:{_nag_text(region)}:{_nag_text(account)}"
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{stack_arn}:stack/{stack_name}/*]",
            f"The stack id suffix of {stack_name} changes when the stack is replaced; the name is fixed.",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:{_nag_text(partition)}:lambda:{_nag_text(region)}:{_nag_text(account)}"
            ":function:*]",
            "The smoke function's name is generated by CloudFormation; invocation is limited by condition to "
            f"functions tagged aws:cloudformation:stack-name={stack_name}.",
        )
        region_arg = f" --region {target.region or default_region}" if (target.region or default_region) else ""
        return pipelines.CodeBuildStep(
            f"Smoke-{target.name}",
            input=self.source,
            role=role,
            install_commands=[
                # boto3 at the version pinned in requirements-dev.txt (the image's Python has none).
                "python -m pip install --quiet \"$(grep -E '^boto3==' requirements-dev.txt)\"",
            ],
            commands=[f"python tools/smoke.py --stack {stack_name}{region_arg}"],
        )

    def _acknowledge(self) -> None:
        """CDK Pipelines' own resources: findings that its design imposes, each with the reason."""
        reason = "CDK Pipelines"
        acknowledge(
            self.pipeline.pipeline.artifact_bucket,
            "AwsSolutions-S1",
            f"{reason} artifact bucket: holds only transient build artifacts; CodePipeline/CloudTrail log access.",
        )
        for support in self.pipeline.pipeline.cross_region_support.values():
            acknowledge(
                support.replication_bucket,
                "AwsSolutions-S1",
                f"{reason} cross-region replication bucket: transient artifacts for the other region's actions.",
            )
        acknowledge(
            self.pipeline,
            "AwsSolutions-CB4",
            f"{reason} CodeBuild projects: artifacts are encrypted by the pipeline's artifact bucket "
            "(KMS when cross-account); build output itself is not persisted by CodeBuild.",
        )
        grants = f"{reason}: read/write grant on the pipeline's artifact bucket and its KMS key"
        bucket = self.resolve(
            cast(cdk.CfnElement, self.pipeline.pipeline.artifact_bucket.node.default_child).logical_id
        )
        for scope in (self.pipeline, *self._smoke_roles):
            for action in ("s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*"):
                acknowledge(scope, f"AwsSolutions-IAM5[Action::{action}]", f"{grants} (bucket-scoped).")
            for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
                acknowledge(scope, f"AwsSolutions-IAM5[Action::{action}]", f"{grants} (key-scoped).")
            acknowledge(scope, f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/*]", f"{grants}: its objects.")
        for support in self.pipeline.pipeline.cross_region_support.values():
            name = self.resolve(support.replication_bucket.bucket_name)
            if isinstance(name, str):
                acknowledge(
                    self.pipeline,
                    f"AwsSolutions-IAM5[Resource::arn:{self._partition}:s3:::{name}/*]",
                    f"{reason}: objects of the cross-region replication bucket.",
                )
        acknowledge(
            self.pipeline,
            "AwsSolutions-IAM5[Resource::*]",
            f"{reason}: the pipeline, self-mutation and asset roles use actions without resource-level "
            "permissions (e.g. cloudformation:DescribeStacks on any stack for self-mutation, codebuild report "
            "batching); the library generates them.",
        )
        acknowledge(
            self.pipeline,
            f"AwsSolutions-IAM5[Resource::arn:*:iam::{self.account}:role/*]",
            f"{reason}: self-mutation assumes the CDK bootstrap roles (cdk-*) by a condition on their tag.",
        )
        region_arn = f"{self._partition}:{{service}}:{self.region}:{self.account}"
        acknowledge(
            self.pipeline,
            f"AwsSolutions-IAM5[Resource::arn:{region_arn.format(service='logs')}:log-group:/aws/codebuild/*]",
            f"{reason}: the shared asset-publishing role writes the logs of its generated projects.",
        )
        acknowledge(
            self.pipeline,
            f"AwsSolutions-IAM5[Resource::arn:{region_arn.format(service='codebuild')}:report-group/*]",
            f"{reason}: the shared asset-publishing role reports for its generated projects.",
        )
        for project in self._projects():
            logical_id = self.resolve(cast(cdk.CfnElement, project.node.default_child).logical_id)
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
                f"AwsSolutions-IAM5[Resource::arn:{region_arn.format(service='codebuild')}:report-group/"
                f"<{logical_id}>-*]",
                f"CodeBuild: report groups of project {project.node.id}.",
            )

    @property
    def _partition(self) -> str:
        partition = (
            region_info.RegionInfo.get(self.region).partition if not cdk.Token.is_unresolved(self.region) else None
        )
        return partition or "<AWS::Partition>"

    def _projects(self) -> list[codebuild.Project]:
        """The CodeBuild projects of the pipeline itself (not of the stages' stacks)."""
        stages = set(self.stages.values())
        found: list[codebuild.Project] = []
        for construct in self.node.find_all():
            if isinstance(construct, codebuild.Project) and not any(s in construct.node.scopes for s in stages):
                found.append(construct)
        return found


def _environment(account: str | None, region: str | None) -> cdk.Environment | None:
    return cdk.Environment(account=account, region=region) if account or region else None


def _nag_text(value: str) -> str:
    """How cdk-nag prints a value in a finding id (pseudo parameters as <AWS::...>)."""
    if value == cdk.Aws.ACCOUNT_ID:
        return "<AWS::AccountId>"
    if value == cdk.Aws.REGION:
        return "<AWS::Region>"
    if value == cdk.Aws.PARTITION:
        return "<AWS::Partition>"
    return value


def add_pipeline(
    scope: Construct, *, config: AppConfig, pipeline: PipelineConfig, env: cdk.Environment | None = None
) -> PipelineStack:
    """What app.build calls when the `pipeline` context key is set (instead of add_system at the top level).

    `env` defaults to the pipeline's configured account/region.
    """
    return PipelineStack(
        scope,
        "Pipeline",
        stack_name=f"{PREFIX}-Pipeline",
        config=config,
        pipeline=pipeline,
        env=env or _environment(pipeline.account, pipeline.region),
        description="eks-lattice-gateway: CDK Pipelines pipeline (source, make test + synth, stages, smoke tests)",
    )
