"""The `pipeline` context key: where the CDK Pipelines pipeline reads the repository and which stages it deploys.

Example (cdk.json context, or `-c 'pipeline={...}'`, where the value arrives as a JSON string):

    {"connectionArn": "arn:aws:codeconnections:us-east-1:111111111111:connection/<uuid>",
     "repository": "owner/repo", "branch": "main",
     "account": "111111111111", "region": "ap-northeast-2",
     "stages": [{"name": "dev"}, {"name": "prod", "account": "222222222222", "production": true}]}

A stage's `allowReplacement: true` lets its deploy go ahead when the pre-deploy impact check finds a stateful
resource (cluster, VPC, service network, zone...) that the deploy would replace; by default that fails the stage.

`account`/`region` at the top are the pipeline's own environment; a stage without them deploys there.
Every problem raises `ConfigError("pipeline.<field>", reason)`, like the rest of the configuration.

Where the value comes from (select_pipeline): the repository's context (cdk.json, or `-c` on a hand-run
command) is the source of truth. The pipeline's synth step also carries the configuration it was deployed
with, in the environment variable DEPLOYED_ENV; that is used only when the repository has no `pipeline` key
(a pipeline created with `-c pipeline=...` alone), so a later change in cdk.json is never overridden by it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from config.errors import ConfigError, expect_list, expect_object, expect_type

KEY = "pipeline"
DEFAULT_BRANCH = "main"
DEFAULT_STAGE = "Dev"
# The synth step's CodeBuild compute type and its memory. `make test` on a fresh clone peaks at ~3.5 GB (mypy with a
# cold cache), above SMALL's 3 GB; MEDIUM has 7 GB (LARGE 15). `make bench` measures the peak against it.
SYNTH_COMPUTE_TYPE = "BUILD_GENERAL1_MEDIUM"
SYNTH_MEMORY_GB = 7
# Set by the pipeline's synth step (CodeBuild environment) to PipelineConfig.to_context() of the deployed pipeline.
DEPLOYED_ENV = "EKS_LATTICE_DEPLOYED_PIPELINE"

_CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z]{2}(-[a-z]+)+-\d:\d{12}:connection/[0-9a-f-]{36}$"
)
# GitHub owner (letters, digits, single hyphens) / repository (letters, digits, '.', '_', '-').
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# A CDK Stage id and a CodePipeline stage name at once (both also become part of stack names).
_STAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,31}$")  # 32: room in IAM role names (64)
# git check-ref-format, simplified: no spaces or control characters, none of ~^:?*[\ , no "..", no "@{".
_BRANCH_BAD = re.compile(r"[\s~^:?*\[\\\x00-\x1f\x7f]|\.\.|@\{|//")

_TOP_FIELDS = ("connectionArn", "repository", "branch", "stages", "account", "region")
_STAGE_FIELDS = ("name", "account", "region", "production", "allowReplacement")


@dataclass(frozen=True, kw_only=True)
class StageTarget:
    name: str
    account: str | None = None
    region: str | None = None
    production: bool = False
    # The stage's pre-deploy impact check only reports (never fails) a stateful replacement.
    allow_replacement: bool = False


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    connection_arn: str
    repository: str
    branch: str = DEFAULT_BRANCH
    stages: tuple[StageTarget, ...] = (StageTarget(name=DEFAULT_STAGE),)
    account: str | None = None
    region: str | None = None

    def to_context(self) -> str:
        """Canonical compact JSON of this configuration: what the synth step passes back as `-c pipeline=...`.

        parse_pipeline(config.to_context()) == config. Compact (no spaces) so it survives shell word splitting.
        """
        stages: list[dict[str, Any]] = []
        for stage in self.stages:
            entry: dict[str, Any] = {"name": stage.name}
            if stage.account is not None:
                entry["account"] = stage.account
            if stage.region is not None:
                entry["region"] = stage.region
            if stage.production:
                entry["production"] = True
            if stage.allow_replacement:
                entry["allowReplacement"] = True
            stages.append(entry)
        value: dict[str, Any] = {
            "connectionArn": self.connection_arn,
            "repository": self.repository,
            "branch": self.branch,
            "stages": stages,
        }
        if self.account is not None:
            value["account"] = self.account
        if self.region is not None:
            value["region"] = self.region
        return json.dumps(value, separators=(",", ":"))


def parse_pipeline(value: Any) -> PipelineConfig:
    """Validate the raw context value (an object, or its JSON text as `-c` delivers it)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise ConfigError(KEY, f"expected a JSON object, got {value!r}: {err.msg}") from None
    obj = expect_object(KEY, value, set(_TOP_FIELDS), {"connectionArn", "repository"})

    arn = expect_type(f"{KEY}.connectionArn", obj["connectionArn"], str)
    if not _CONNECTION_ARN.fullmatch(arn):
        raise ConfigError(
            f"{KEY}.connectionArn",
            f"{arn!r} is not a CodeConnections connection ARN "
            "(arn:aws:codeconnections:<region>:<account>:connection/<uuid>)",
        )
    repository = expect_type(f"{KEY}.repository", obj["repository"], str)
    if not _REPOSITORY.fullmatch(repository) or repository.endswith(".git"):  # the pattern refuses a trailing "/"
        raise ConfigError(f"{KEY}.repository", f"{repository!r} is not a repository in the form owner/name")
    branch = expect_type(f"{KEY}.branch", obj.get("branch", DEFAULT_BRANCH), str)
    if (
        not branch
        or len(branch) > 255
        or _BRANCH_BAD.search(branch)
        or branch.startswith(("-", "/", "."))
        or branch.endswith(("/", ".", ".lock"))
    ):
        raise ConfigError(f"{KEY}.branch", f"{branch!r} is not a valid git branch name")
    account = _account(f"{KEY}.account", obj.get("account"))
    region = _region(f"{KEY}.region", obj.get("region"))

    raw_stages = obj.get("stages", [{"name": DEFAULT_STAGE}])
    raw_stages = expect_list(f"{KEY}.stages", raw_stages, min_len=1)
    stages: list[StageTarget] = []
    seen: dict[str, str] = {}
    for i, raw_stage in enumerate(raw_stages):
        key = f"{KEY}.stages[{i}]"
        stage = expect_object(key, raw_stage, set(_STAGE_FIELDS), {"name"})
        name = expect_type(f"{key}.name", stage["name"], str)
        if not _STAGE_NAME.fullmatch(name):
            raise ConfigError(
                f"{key}.name", f"{name!r} must start with a letter and hold only letters, digits and '-' (max 32)"
            )
        if name.lower() in seen:  # stack names and CodePipeline stage names would collide
            raise ConfigError(f"{key}.name", f"duplicate stage name {name!r} (already used by {seen[name.lower()]!r})")
        seen[name.lower()] = name
        production, allow_replacement = (
            _flag(f"{key}.{f}", stage.get(f, False)) for f in ("production", "allowReplacement")
        )
        stages.append(
            StageTarget(
                name=name,
                account=_account(f"{key}.account", stage.get("account")),
                region=_region(f"{key}.region", stage.get("region")),
                production=production,
                allow_replacement=allow_replacement,
            )
        )
    return PipelineConfig(
        connection_arn=arn,
        repository=repository,
        branch=branch,
        stages=tuple(stages),
        account=account,
        region=region,
    )


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"expected true or false, got {json.dumps(value)}")
    return value


def _account(key: str, value: Any) -> str | None:
    return _optional(key, value, _ACCOUNT, "an AWS account id (12 digits, as a string)")


def _region(key: str, value: Any) -> str | None:
    return _optional(key, value, _REGION, "an AWS region (like ap-northeast-2)")


def _optional(key: str, value: Any, pattern: re.Pattern[str], what: str) -> str | None:
    if value is None:
        return None
    text = expect_type(key, value, str)
    if not pattern.fullmatch(text):
        raise ConfigError(key, f"{text!r} is not {what}")
    return text


def select_pipeline(context: Mapping[str, Any], environ: Mapping[str, str]) -> PipelineConfig | None:
    """The pipeline configuration to synthesize, or None for the plain stacks.

    The repository's `pipeline` key (cdk.json or `-c`) wins; the deployed configuration (DEPLOYED_ENV, set only
    in the pipeline's synth step) is the fallback for a pipeline that was created with `-c` and has no key in
    cdk.json. Passing the deployed value back with `-c` instead would override cdk.json for good: self-mutation
    would regenerate the same value, and an edit of cdk.json's `pipeline` would never take effect.
    """
    raw = context.get(KEY)
    if raw is not None:
        return parse_pipeline(raw)
    deployed = environ.get(DEPLOYED_ENV)
    if deployed:
        try:
            return parse_pipeline(deployed)
        except ConfigError as err:
            raise ConfigError(
                f"{err.key} (from ${DEPLOYED_ENV})", f"{err.reason}; set the `pipeline` key in cdk.json"
            ) from None
    return None


def check_distinct_targets(config: PipelineConfig, *, account: str, region: str) -> None:
    """Refuse two stages that resolve to one account and region.

    Every stage deploys the same configuration, so the Platform stacks of two such stages carry the same
    physical names (cluster `clusterName`, service network `serviceNetworkName`, its access-log group), and the
    second stage's create fails halfway through the pipeline's run. `account`/`region`: the pipeline's own,
    where a stage without them deploys.
    """
    seen: dict[tuple[str, str], int] = {}
    for index, stage in enumerate(config.stages):
        target = (stage.account or account, stage.region or region)
        first = seen.setdefault(target, index)
        if first != index:
            raise ConfigError(
                f"{KEY}.stages[{index}]",
                f"stage {stage.name!r} deploys to account {target[0]} in {target[1]}, like stage "
                f"{config.stages[first].name!r} ({KEY}.stages[{first}]): their stacks would create the same "
                "cluster, service network and log group names; give one of them its own account or region",
            )
