"""The `pipeline` context key and the CDK Pipelines stack it produces.

Two synths in all (each includes the whole app in every stage): a two-stage cross-account pipeline (checked
in detail, nag-clean and snapshot-tested) and the default one-stage pipeline.
"""

from __future__ import annotations

import json
import re
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from config import ConfigError
from config.pipeline import (
    DEFAULT_STAGE,
    DEPLOYED_ENV,
    PipelineConfig,
    StageTarget,
    check_distinct_targets,
    parse_pipeline,
    select_pipeline,
)
from tests.conftest import (
    ARN,
    PIPELINE_ACCOUNT,
    PIPELINE_CONSUMER_ACCOUNT,
    PIPELINE_CONSUMERS,
    PIPELINE_REGION,
    PROD_ACCOUNT,
    PROD_REGION,
    REPO,
    ROOT,
    TWO_STAGES,
    PipelineSynth,
)
from tests.test_snapshots import normalize

# ------------------------------------------------------------------------------------------------ parsing


def test_parse_minimal_json_string_defaults() -> None:
    config = parse_pipeline(json.dumps({"connectionArn": ARN, "repository": REPO}))
    assert config == PipelineConfig(
        connection_arn=ARN,
        repository=REPO,
        branch="main",
        stages=(StageTarget(name=DEFAULT_STAGE, account=None, region=None, production=False),),
        account=None,
        region=None,
    )


def test_parse_stages_and_round_trip() -> None:
    config = parse_pipeline({**TWO_STAGES, "account": PIPELINE_ACCOUNT, "region": PIPELINE_REGION})
    assert [s.name for s in config.stages] == ["dev", "prod"]
    assert config.stages[1] == StageTarget(name="prod", account=PROD_ACCOUNT, region=PROD_REGION, production=True)
    assert (config.account, config.region) == (PIPELINE_ACCOUNT, PIPELINE_REGION)
    # What the synth step passes back as -c pipeline=...: compact (no spaces) and equivalent.
    assert " " not in config.to_context()
    assert parse_pipeline(config.to_context()) == config


def test_allow_replacement_is_per_stage_and_round_trips() -> None:
    config = parse_pipeline(TWO_STAGES)
    assert [s.allow_replacement for s in config.stages] == [True, False]
    assert parse_pipeline(config.to_context()) == config
    assert '"allowReplacement":true' in config.to_context()


def test_parse_accepts_legacy_codestar_connection() -> None:
    arn = ARN.replace("codeconnections", "codestar-connections")
    assert parse_pipeline({"connectionArn": arn, "repository": REPO}).connection_arn == arn


@pytest.mark.parametrize(
    ("value", "key", "reason"),
    [
        ("{not json", "pipeline", "expected a JSON object"),
        ([], "pipeline", "expected dict, got []"),
        ({"repository": REPO}, "pipeline.connectionArn", "is required"),
        ({"connectionArn": "arn:aws:iam::111111111111:role/x", "repository": REPO}, "pipeline.connectionArn", "not a"),
        ({"connectionArn": ARN, "repository": "just-a-name"}, "pipeline.repository", "owner/name"),
        ({"connectionArn": ARN, "repository": "https://github.com/a/b"}, "pipeline.repository", "owner/name"),
        ({"connectionArn": ARN, "repository": REPO, "branch": "a..b"}, "pipeline.branch", "git branch"),
        ({"connectionArn": ARN, "repository": REPO, "branch": ""}, "pipeline.branch", "git branch"),
        ({"connectionArn": ARN, "repository": REPO, "brnach": "x"}, "pipeline.brnach", "did you mean 'branch'"),
        ({"connectionArn": ARN, "repository": REPO, "account": "1234"}, "pipeline.account", "12 digits"),
        (
            {"connectionArn": ARN, "repository": REPO, "account": 111111111111},
            "pipeline.account",
            "expected str, got 111111111111",
        ),
        ({"connectionArn": ARN, "repository": REPO, "region": "Seoul"}, "pipeline.region", "not an AWS region"),
        ({"connectionArn": ARN, "repository": REPO, "stages": []}, "pipeline.stages", "at least 1"),
        ({"connectionArn": ARN, "repository": REPO, "stages": {"name": "x"}}, "pipeline.stages", "expected list, got"),
        (
            {"connectionArn": ARN, "repository": REPO, "stages": [{"name": "dev"}, {"name": "Dev"}]},
            "pipeline.stages[1].name",
            "duplicate stage name",
        ),
        ({"connectionArn": ARN, "repository": REPO, "stages": [{"name": "1st"}]}, "pipeline.stages[0].name", "letter"),
        ({"connectionArn": ARN, "repository": REPO, "stages": [{}]}, "pipeline.stages[0].name", "is required"),
        (
            {"connectionArn": ARN, "repository": REPO, "stages": [{"name": "p", "production": "yes"}]},
            "pipeline.stages[0].production",
            "true or false",
        ),
        (
            {"connectionArn": ARN, "repository": REPO, "stages": [{"name": "p", "allowReplacement": "true"}]},
            "pipeline.stages[0].allowReplacement",
            'true or false, got "true"',
        ),
        (
            {"connectionArn": ARN, "repository": REPO, "stages": [{"name": "p", "allowreplacement": True}]},
            "pipeline.stages[0].allowreplacement",
            "did you mean 'allowReplacement'",
        ),
        (
            {"connectionArn": ARN, "repository": REPO, "stages": [{"name": "p", "account": "12345678901x"}]},
            "pipeline.stages[0].account",
            "12 digits",
        ),
        (
            {"connectionArn": ARN, "repository": REPO, "stages": [{"name": "p", "envv": 1}]},
            "pipeline.stages[0].envv",
            "unknown field",
        ),
    ],
)
def test_parse_rejects(value: Any, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_pipeline(value)
    assert info.value.key == key
    assert reason in info.value.reason


def test_cli_versions_come_from_package_json() -> None:
    from stacks.pipeline_stack import cdk_assets_version, cdk_cli_version

    package = json.loads((ROOT / "package.json").read_text())
    assert cdk_cli_version() == package["devDependencies"]["aws-cdk"]
    assert cdk_assets_version() == package["devDependencies"]["cdk-assets"]


@pytest.mark.parametrize("pin", ["^4.7.3", "latest", "4.7", None])
def test_an_npm_pin_must_be_exact(tmp_path: Path, pin: str | None) -> None:
    """A range or tag would let the pipeline's steps install another version than the one the suite ran."""
    from stacks.pipeline_stack import cdk_assets_version

    package_json = tmp_path / "package.json"
    package_json.write_text(json.dumps({"devDependencies": {"aws-cdk": "2.1148.1", "cdk-assets": pin}}))
    with pytest.raises(ValueError, match=r"devDependencies\['cdk-assets'\] must be an exact version"):
        cdk_assets_version(package_json)


def test_repository_pipeline_key_wins_over_the_deployed_one() -> None:
    """A stage added in cdk.json takes effect: the deployed configuration must not override the repository's."""
    deployed = parse_pipeline({"connectionArn": ARN, "repository": REPO}).to_context()
    assert select_pipeline({"pipeline": TWO_STAGES}, {DEPLOYED_ENV: deployed}) == parse_pipeline(TWO_STAGES)
    # A pipeline created with `-c pipeline=...` alone (no key in cdk.json) keeps its deployed configuration.
    assert select_pipeline({}, {DEPLOYED_ENV: deployed}) == parse_pipeline(deployed)
    assert select_pipeline({}, {}) is None


def test_a_broken_deployed_pipeline_value_names_its_source() -> None:
    with pytest.raises(ConfigError) as info:
        select_pipeline({}, {DEPLOYED_ENV: '{"repository": "owner/repo"}'})
    assert info.value.key == f"pipeline.connectionArn (from ${DEPLOYED_ENV})"


_HOME = {"account": PIPELINE_ACCOUNT, "region": PIPELINE_REGION}


@pytest.mark.parametrize(
    ("stages", "clash"),
    [
        ([{"name": "Dev"}, {"name": "Prod"}], 1),  # neither names a target: both the pipeline's
        ([{"name": "Dev"}, {"name": "Prod", **_HOME}], 1),  # the pipeline's, spelled out
        ([{"name": "Dev", "region": PROD_REGION}, {"name": "Qa"}, {"name": "Prod", "region": PROD_REGION}], 2),
        ([{"name": "A", "account": PROD_ACCOUNT}, {"name": "B", "account": PROD_ACCOUNT}], 1),
    ],
)
def test_stages_in_one_account_and_region_are_refused(stages: list[dict[str, Any]], clash: int) -> None:
    config = parse_pipeline({"connectionArn": ARN, "repository": REPO, "stages": stages})
    with pytest.raises(ConfigError) as info:
        check_distinct_targets(config, account=PIPELINE_ACCOUNT, region=PIPELINE_REGION)
    assert info.value.key == f"pipeline.stages[{clash}]"
    assert "same cluster, service network and log group names" in info.value.reason


@pytest.mark.parametrize(
    "stages",
    [
        [{"name": "Dev"}, {"name": "Prod", "account": PROD_ACCOUNT}],
        [{"name": "Dev"}, {"name": "Prod", "region": PROD_REGION}],
        TWO_STAGES["stages"],
    ],
)
def test_stages_in_distinct_targets_are_accepted(stages: list[dict[str, Any]]) -> None:
    config = parse_pipeline({"connectionArn": ARN, "repository": REPO, "stages": stages})
    check_distinct_targets(config, account=PIPELINE_ACCOUNT, region=PIPELINE_REGION)


def test_use_connection_action_matches_the_arn_prefix() -> None:
    from constructs.pipeline.source import use_connection_action

    assert use_connection_action(ARN) == "codeconnections:UseConnection"
    legacy = ARN.replace("codeconnections", "codestar-connections")
    assert use_connection_action(legacy) == "codestar-connections:UseConnection"


# ---------------------------------------------------------------------------------------------- synthesis


def test_source_is_the_connection(two_stages: PipelineSynth) -> None:
    (source,) = two_stages.stage("Source")
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["ConnectionArn"] == ARN
    assert source["Configuration"]["FullRepositoryId"] == REPO
    assert source["Configuration"]["BranchName"] == "main"


def test_synth_runs_the_makefile_targets(two_stages: PipelineSynth) -> None:
    from stacks.pipeline_stack import NO_SEED_ENV
    from tests.conftest import NO_SEED_ENV as CONFTEST_NO_SEED_ENV

    assert NO_SEED_ENV == CONFTEST_NO_SEED_ENV
    (synth,) = two_stages.stage("Build")
    logical_id = two_stages.project_of(synth)
    spec = two_stages.buildspec(logical_id)
    # Test data fetched pinned, the whole suite, then the synth with no -c: cdk.json's `pipeline` is never
    # overridden by the deployed configuration (which only fills in when cdk.json has none).
    assert spec["phases"]["build"]["commands"] == ["make reference", "make test", "make synth"]
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    project = two_stages.resources("AWS::CodeBuild::Project")[logical_id]["Properties"]
    assert project["Environment"]["Image"] == "aws/codebuild/standard:7.0"
    env = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    assert parse_pipeline(env[DEPLOYED_ENV]) == parse_pipeline(TWO_STAGES)
    assert env[NO_SEED_ENV]  # the one test data a clone cannot fetch, declared absent (tests/conftest.py)


def test_synth_step_has_the_memory_make_test_needs(two_stages: PipelineSynth) -> None:
    """`make test` on a fresh clone peaks at ~3.5 GB (mypy, cold cache): SMALL (3 GB) is killed, MEDIUM has 7."""
    (synth,) = two_stages.stage("Build")
    project = two_stages.resources("AWS::CodeBuild::Project")[two_stages.project_of(synth)]["Properties"]
    assert project["Environment"]["ComputeType"] == "BUILD_GENERAL1_MEDIUM"
    # What `make bench` compares the measured peak with: that compute type and CodeBuild's memory for it.
    from config.pipeline import SYNTH_COMPUTE_TYPE, SYNTH_MEMORY_GB

    assert project["Environment"]["ComputeType"] == SYNTH_COMPUTE_TYPE
    assert {"BUILD_GENERAL1_SMALL": 3, "BUILD_GENERAL1_MEDIUM": 7}[SYNTH_COMPUTE_TYPE] == SYNTH_MEMORY_GB
    (mutation,) = two_stages.stage("Mutation")
    others = {
        p["Properties"]["Environment"]["ComputeType"]
        for k, p in two_stages.resources("AWS::CodeBuild::Project").items()
        if k not in (two_stages.project_of(synth), two_stages.project_of(mutation))
    }
    assert others == {"BUILD_GENERAL1_SMALL"}  # only the synth step (and the mutation report) pay for more


def test_every_codebuild_step_pins_node_python_and_its_clis(two_stages: PipelineSynth) -> None:
    """Synth, self-mutation, every asset step and the smoke steps: runtimes pinned, no npm package unpinned."""
    from stacks.pipeline_stack import RUNTIME_VERSIONS, cdk_assets_version

    projects = two_stages.resources("AWS::CodeBuild::Project")
    kinds: set[str] = set()
    for logical_id, project in projects.items():
        spec = two_stages.buildspec(logical_id)
        assert spec["phases"]["install"]["runtime-versions"] == RUNTIME_VERSIONS, logical_id
        assert project["Properties"]["Environment"]["Image"] == "aws/codebuild/standard:7.0", logical_id
        for command in spec["phases"]["install"].get("commands", []):
            if command.startswith("npm install -g "):
                (package,) = command.removeprefix("npm install -g ").split()
                name, _, version = package.rpartition("@")
                assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{logical_id}: {command}"
                kinds.add(name)
                if name == "cdk-assets":
                    assert version == cdk_assets_version()
    assert kinds == {"aws-cdk", "cdk-assets"}  # self-mutation and the asset steps were both seen


def test_source_action_may_use_a_codeconnections_connection(two_stages: PipelineSynth) -> None:
    """IAM matches the action's service prefix against the connection's: codeconnections ARN, codeconnections
    action (aws-cdk-lib grants only codestar-connections:UseConnection)."""
    grants = [
        statement
        for policy in two_stages.resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "UseConnection" in json.dumps(statement["Action"])
    ]
    (grant,) = grants  # the source action's role only
    assert grant["Resource"] == ARN
    assert "codeconnections:UseConnection" in grant["Action"]


def test_self_mutation_uses_the_pinned_cli(two_stages: PipelineSynth) -> None:
    (mutate,) = two_stages.stage("UpdatePipeline")
    install = two_stages.buildspec(two_stages.project_of(mutate))["phases"]["install"]["commands"]
    version = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert install == [f"npm install -g aws-cdk@{version}"]


def test_manual_approval_precedes_production_only(two_stages: PipelineSynth) -> None:
    """After the impact check (so the approver can read what the deploy replaces), before any deploy."""
    prod = two_stages.stage("prod")
    assert [a["Name"] for a in prod[:2]] == ["Impact-prod", "Approve-prod"]
    assert prod[1]["ActionTypeId"]["Category"] == "Approval"
    assert prod[0]["RunOrder"] < prod[1]["RunOrder"] < min(a["RunOrder"] for a in prod[2:])
    assert all(a["ActionTypeId"]["Category"] != "Approval" for a in prod[2:])
    assert all(a["ActionTypeId"]["Category"] != "Approval" for a in two_stages.stage("dev"))


@pytest.mark.parametrize(("stage", "region"), [("dev", PIPELINE_REGION), ("prod", PROD_REGION)])
def test_smoke_step_follows_each_stage(two_stages: PipelineSynth, stage: str, region: str) -> None:
    actions = two_stages.stage(stage)
    smoke = actions[-1]
    assert smoke["ActionTypeId"]["Provider"] == "CodeBuild"
    deploys = [a for a in actions if a["ActionTypeId"]["Provider"] == "CloudFormation"]
    assert deploys
    assert smoke["RunOrder"] > max(a["RunOrder"] for a in deploys)
    gateway = two_stages.stack.stages[stage].gateway_stack_name
    spec = two_stages.buildspec(two_stages.project_of(smoke))
    assert spec["phases"]["build"]["commands"][-1].endswith(
        f"python tools/smoke.py --stack {gateway} --region {region}"
    )


def _statements(template: dict[str, Any], role_prefix: str) -> dict[str, dict[str, Any]]:
    resources = template["Resources"]
    role_id = next(k for k, v in resources.items() if v["Type"] == "AWS::IAM::Role" and k.startswith(role_prefix))
    statements = next(
        v["Properties"]["PolicyDocument"]["Statement"]
        for v in resources.values()
        if v["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in v["Properties"]["Roles"]
    )
    return {s["Action"]: s for s in statements if isinstance(s["Action"], str)}


def _actions(template: dict[str, Any], role_prefix: str) -> set[str]:
    """Every action any policy of the role allows (statements with one action or many)."""
    resources = template["Resources"]
    role_id = next(k for k, v in resources.items() if v["Type"] == "AWS::IAM::Role" and k.startswith(role_prefix))
    return {
        action
        for v in resources.values()
        if v["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in v["Properties"]["Roles"]
        for s in v["Properties"]["PolicyDocument"]["Statement"]
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }


def _assert_smoke_grants(statements: dict[str, dict[str, Any]], gateway: str, region: str, account: str) -> None:
    describe = json.dumps(statements["cloudformation:DescribeStacks"]["Resource"])
    assert f":cloudformation:{region}:{account}:stack/{gateway}/*" in describe or (
        f"stack/{gateway}/*" in describe and "AWS::AccountId" in describe
    )
    invoke = statements["lambda:InvokeFunction"]
    assert invoke["Condition"] == {"StringEquals": {"aws:ResourceTag/aws:cloudformation:stack-name": gateway}}
    assert ":function:*" in json.dumps(invoke["Resource"])


def test_smoke_role_same_account_is_scoped_to_the_stage(two_stages: PipelineSynth) -> None:
    gateway = two_stages.stack.stages["dev"].gateway_stack_name
    statements = _statements(two_stages.template, "SmokedevRole")
    _assert_smoke_grants(statements, gateway, PIPELINE_REGION, PIPELINE_ACCOUNT)
    assert "sts:AssumeRole" not in statements
    # A Gateway stack has alarms: the metrics check reads them and ListMetrics.
    assert {"cloudwatch:DescribeAlarms", "cloudwatch:ListMetrics"} <= _actions(two_stages.template, "SmokedevRole")


def test_smoke_other_account_assumes_a_role_there(two_stages: PipelineSynth) -> None:
    stage = two_stages.stack.stages["prod"]
    statements = _statements(two_stages.template, "SmokeprodRole")
    assert "lambda:InvokeFunction" not in statements
    target_role = statements["sts:AssumeRole"]["Resource"]
    assert target_role.startswith(f"arn:aws:iam::{PROD_ACCOUNT}:role/")
    commands = two_stages.buildspec(two_stages.project_of(two_stages.stage("prod")[-1]))["phases"]["build"]["commands"]
    assert f"aws configure set profile.stage.role_arn {target_role}" in commands
    (access_path,) = two_stages.outdir.glob("assembly-*prod/*SmokeAccess*.template.json")
    access = json.loads(access_path.read_text())
    _assert_smoke_grants(_statements(access, "Invoker"), stage.gateway_stack_name, PROD_REGION, PROD_ACCOUNT)
    (role,) = (v for v in access["Resources"].values() if v["Type"] == "AWS::IAM::Role")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert f":iam::{PIPELINE_ACCOUNT}:root" in json.dumps(trust["Principal"])
    assert trust["Condition"] == {
        "ArnEquals": {
            "aws:PrincipalArn": f"arn:aws:iam::{PIPELINE_ACCOUNT}:role/EksLatticeGateway-Smoke-prod-{PIPELINE_REGION}"
        }
    }
    assert target_role.endswith(f":role/{role['Properties']['RoleName']}")


def test_cross_account_keys_when_a_stage_is_elsewhere(two_stages: PipelineSynth, one_stage: PipelineSynth) -> None:
    keys = two_stages.resources("AWS::KMS::Key")
    assert keys
    assert all(k["Properties"]["EnableKeyRotation"] for k in keys.values())
    assert one_stage.resources("AWS::KMS::Key") == {}


def test_default_is_one_dev_stage_with_smoke(one_stage: PipelineSynth) -> None:
    names = [s["Name"] for s in one_stage.stages()]
    assert names[-2:] == [DEFAULT_STAGE, "Mutation"]  # no consumers: no consumer wave
    assert "Approval" not in {a["ActionTypeId"]["Category"] for a in one_stage.stage(DEFAULT_STAGE)}
    assert one_stage.stage(DEFAULT_STAGE)[-1]["Name"] == f"Smoke-{DEFAULT_STAGE}"


@pytest.mark.parametrize("which", ["two_stages", "one_stage"])
def test_no_nag_findings(request: pytest.FixtureRequest, which: str) -> None:
    synth: PipelineSynth = request.getfixturevalue(which)
    assert synth.report is not None, "cdk-nag wrote no validation-report.json"
    assert {p["pluginName"]: p["conclusion"] for p in synth.report["pluginReports"]} == {"AwsSolutions": "success"}
    findings = [
        (v["ruleName"], c["constructPath"])
        for plugin in synth.report["pluginReports"]
        for v in plugin["violations"]
        for c in v["violatingConstructs"]
    ]
    assert findings == []


def test_template_snapshot(two_stages: PipelineSynth, snapshot: SnapshotAssertion) -> None:
    assert normalize(two_stages.template) == snapshot.use_extension(JSONSnapshotExtension)


def test_stages_synthesize_without_context_lookups(two_stages: PipelineSynth) -> None:
    """Stage stacks have concrete accounts; the synth must still need no AWS calls (e.g. AZ lookups)."""
    manifest = json.loads((two_stages.outdir / "manifest.json").read_text())
    assert manifest.get("missing", []) == []


def test_cfn_lint_finds_nothing_in_the_pipeline(two_stages: PipelineSynth) -> None:
    from tests.support import scans
    from tests.test_compliance import CFN_LINT_IGNORES

    def false_positive(rule: str, message: str, path: tuple[str | int, ...]) -> bool:
        # cfn-lint 1.58 reports its Fn::Sub style hint (I1022) under E3703 for CDK Pipelines' cross-account
        # action RoleArn, an Fn::Join of partition and account that forms a valid role ARN. Only that.
        return (
            rule == "E3703" and message.startswith("Prefer using Fn::Sub") and path[-2:] == ("Configuration", "RoleArn")
        )

    path = Path(two_stages.assembly.get_stack_artifact(two_stages.stack.artifact_id).template_full_path)
    findings = scans.cfn_lint(path, regions=["ap-northeast-2", "us-east-1"])
    assert [str(f) for f in findings if f.rule not in CFN_LINT_IGNORES and not false_positive(*astuple(f))] == []


# ------------------------------------------------------------------------- consumers (issue 13) in the pipeline

CONSUMER_NAMES = [c["name"] for c in PIPELINE_CONSUMERS]


def test_each_stage_is_followed_by_its_consumers_then_mutation_last(two_stages: PipelineSynth) -> None:
    names = [s["Name"] for s in two_stages.stages()]
    assert names[names.index("dev") :] == ["dev", "dev-Consumers", "prod", "prod-Consumers", "Mutation"]
    for stage in ("dev", "prod"):
        actions = two_stages.stage(f"{stage}-Consumers")
        for consumer in CONSUMER_NAMES:
            prefix = f"{stage}-Consumer-{consumer}."
            own = [a for a in actions if a["Name"].startswith(prefix)]
            # Impact check first, then the consumer stack's deploy, and its smoke test last.
            assert own[0]["Name"] == f"{prefix}Impact-{stage}-Consumer-{consumer}"
            assert own[-1]["Name"] == f"{prefix}Smoke-{stage}-Consumer-{consumer}"
            deploys = [a for a in own if a["Name"] == f"{prefix}EksLatticeGateway-{stage}-Consumer-{consumer}.Deploy"]
            assert len(deploys) == 1
            assert own[0]["RunOrder"] < deploys[0]["RunOrder"] < own[-1]["RunOrder"]
            assert all(a["RunOrder"] < own[-1]["RunOrder"] for a in own[:-1])


def test_consumer_stacks_are_not_in_the_provider_stage(two_stages: PipelineSynth) -> None:
    for stage, consumer_stages in two_stages.stack.consumer_stages.items():
        provider = two_stages.stack.stages[stage]
        assert provider.system.consumers == ()
        assert [cs.stack.stack_name for cs in consumer_stages] == [
            f"EksLatticeGateway-{stage}-Consumer-{name}" for name in CONSUMER_NAMES
        ]
        assert [cs.account for cs in consumer_stages] == [c["account"] for c in PIPELINE_CONSUMERS]


@pytest.mark.parametrize(("stage", "region"), [("dev", PIPELINE_REGION), ("prod", PROD_REGION)])
def test_consumer_smoke_runs_in_the_consumer_account(two_stages: PipelineSynth, stage: str, region: str) -> None:
    """From inside the consumer VPC: the consumer stack's smoke Lambda, invoked through a role in its account."""
    consumer_stage = f"{stage}-Consumer-team-b"
    stack = f"EksLatticeGateway-{consumer_stage}"
    smoke = two_stages.stage(f"{stage}-Consumers")
    (action,) = (a for a in smoke if a["Name"] == f"{consumer_stage}.Smoke-{consumer_stage}")
    commands = two_stages.buildspec(two_stages.project_of(action))["phases"]["build"]["commands"]
    assert commands[-1] == (
        f"AWS_PROFILE=stage python tools/smoke.py --stack {stack} --region {region} --no-metrics-check"
    )
    statements = _statements(two_stages.template, f"Smoke{consumer_stage.replace('-', '')}Role")
    target_role = statements["sts:AssumeRole"]["Resource"]
    assert target_role.startswith(f"arn:aws:iam::{PIPELINE_CONSUMER_ACCOUNT}:role/")
    assert f"aws configure set profile.stage.role_arn {target_role}" in commands
    (access_path,) = two_stages.outdir.glob(f"assembly-*-{consumer_stage}/*SmokeAccess*.template.json")
    access = json.loads(access_path.read_text())
    _assert_smoke_grants(_statements(access, "Invoker"), stack, region, PIPELINE_CONSUMER_ACCOUNT)
    # A consumer stack has no alarms: no metrics check, and no CloudWatch reads (issue 22 review).
    assert commands[-1].endswith(" --no-metrics-check")
    assert not {a for a in _actions(access, "Invoker") if a.startswith("cloudwatch:")}
    (role,) = (v for v in access["Resources"].values() if v["Type"] == "AWS::IAM::Role")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {
        "ArnEquals": {
            "aws:PrincipalArn": (
                f"arn:aws:iam::{PIPELINE_ACCOUNT}:role/EksLatticeGateway-Smoke-{consumer_stage}-{PIPELINE_REGION}"
            )
        }
    }
    assert target_role.endswith(f":role/{role['Properties']['RoleName']}")


def test_smoke_role_names_fit_iam_for_the_longest_stage_and_consumer() -> None:
    from stacks.sharing import MAX_ROLE_NAME, role_name
    from stacks.system import PREFIX

    longest = f"{'S' * 32}-Consumer-{'c' * 20}"  # stage names: 32 characters; consumer names: 20
    region = "ap-southeast-4"  # the names carry the pipeline's and the stage's region
    names = {
        role_name(f"{PREFIX}-Smoke-{longest}-{region}"),
        role_name(f"{PREFIX}-{longest}-SmokeAccess-Invoker-{region}"),
    }
    assert all(len(n) <= MAX_ROLE_NAME for n in names)
    other = role_name(f"{PREFIX}-Smoke-{longest[:-1]}x")
    assert other not in names  # shortened names still tell consumers apart


@pytest.mark.parametrize(
    ("stages", "consumers", "expected"),
    [
        ([{"name": "dev"}], [], False),
        ([{"name": "dev"}], [{"name": "b", "account": PIPELINE_CONSUMER_ACCOUNT, "vpcCidr": "10.3.0.0/16"}], True),
        ([{"name": "dev"}, {"name": "prod", "account": PROD_ACCOUNT}], [], True),
    ],
)
def test_cross_account_keys_when_a_stage_or_a_consumer_is_elsewhere(
    stages: list[dict[str, Any]], consumers: list[dict[str, Any]], expected: bool
) -> None:
    from config.consumers import Consumer
    from stacks.pipeline_stack import needs_cross_account_keys

    config = parse_pipeline({"connectionArn": ARN, "repository": REPO, "stages": stages})
    models = tuple(Consumer.model_validate(c) for c in consumers)
    assert needs_cross_account_keys(config, models, account=PIPELINE_ACCOUNT) is expected


# ------------------------------------------------------------------- the impact guard (issue 11) in each stage


def _impact_commands(synth: PipelineSynth, wave: str, name: str) -> list[str]:
    (action,) = (a for a in synth.stage(wave) if a["Name"].split(".")[-1] == name)
    spec = synth.buildspec(synth.project_of(action))
    link, install = spec["phases"]["install"]["commands"]
    # The synth step's cloud assembly, beside the source as ./cdk.out (CDK Pipelines' additional input).
    assert link.endswith('ln -s -- "$CODEBUILD_SRC_DIR_Synth_Output" "cdk.out"')
    assert install == "python -m pip install --quiet -c constraints.txt boto3 cfn-lint pydantic"
    commands: list[str] = spec["phases"]["build"]["commands"]
    return commands


def test_impact_same_account_stage_reads_its_own_templates(two_stages: PipelineSynth) -> None:
    """dev sets allowReplacement: the check reports, never fails; its role reads exactly dev's stacks."""
    commands = _impact_commands(two_stages, "dev", "Impact-dev")
    stacks = ["EksLatticeGateway-dev-Platform", "EksLatticeGateway-dev-Gateway"]
    assert commands == [
        f"python tools/stranded.py --stack-prefix EksLatticeGateway-dev --account {PIPELINE_ACCOUNT} "
        f"--region {PIPELINE_REGION}",
        f"python tools/impact.py --deployed --assembly cdk.out --stacks {' '.join(stacks)} --region {PIPELINE_REGION}",
    ]
    (action,) = (a for a in two_stages.stage("dev") if a["Name"] == "Impact-dev")
    project = two_stages.resources("AWS::CodeBuild::Project")[two_stages.project_of(action)]
    role_id = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    grants = [
        s
        for p in two_stages.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "cloudformation" in json.dumps(s["Action"]) or "sts:" in json.dumps(s["Action"])
    ]
    grant, lookups = grants
    # tools/stranded.py: every consumer account's lookup role in the region (a removed one is not configured).
    assert lookups == {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Resource": f"arn:aws:iam::*:role/cdk-hnb659fds-lookup-role-*-{PIPELINE_REGION}",
    }
    assert grant["Action"] == "cloudformation:GetTemplate"
    assert sorted(grant["Resource"]) == sorted(
        f"arn:aws:cloudformation:{PIPELINE_REGION}:{PIPELINE_ACCOUNT}:stack/{s}/*" for s in stacks
    )


@pytest.mark.parametrize(
    ("wave", "name", "account", "region", "stacks"),
    [
        (
            "prod",
            "Impact-prod",
            PROD_ACCOUNT,
            PROD_REGION,
            ["EksLatticeGateway-prod-Platform", "EksLatticeGateway-prod-Gateway", "EksLatticeGateway-prod-SmokeAccess"],
        ),
        (
            "prod-Consumers",
            "Impact-prod-Consumer-team-b",
            PIPELINE_CONSUMER_ACCOUNT,
            PROD_REGION,
            ["EksLatticeGateway-prod-Consumer-team-b", "EksLatticeGateway-prod-Consumer-team-b-SmokeAccess"],
        ),
        (
            "dev-Consumers",
            "Impact-dev-Consumer-team-c",
            "444444444444",
            PIPELINE_REGION,
            ["EksLatticeGateway-dev-Consumer-team-c", "EksLatticeGateway-dev-Consumer-team-c-SmokeAccess"],
        ),
    ],
)
def test_impact_other_account_assumes_its_lookup_role(
    two_stages: PipelineSynth, wave: str, name: str, account: str, region: str, stacks: list[str]
) -> None:
    """Only the stage's own stacks (a name prefix would also select its consumers', deployed elsewhere)."""
    commands = _impact_commands(two_stages, wave, name)
    lookup = f"arn:aws:iam::{account}:role/cdk-hnb659fds-lookup-role-{account}-{region}"
    stage = wave.removesuffix("-Consumers")
    hint = f"'to deploy anyway, set allowReplacement: true for stage {stage} in cdk.json'\"'\"'s pipeline.stages'"
    fail = "" if stage == "dev" else f" --fail-on-stateful --allow-hint {hint}"
    stranded = (
        [f"python tools/stranded.py --stack-prefix EksLatticeGateway-{stage} --account {account} --region {region}"]
        if wave == stage
        else []  # a consumer stage: its provider's stage checked before
    )
    assert commands == [
        *stranded,
        f"aws configure set profile.stage.role_arn {lookup}",
        "aws configure set profile.stage.credential_source EcsContainer",
        f"python tools/impact.py --deployed --assembly cdk.out --stacks {' '.join(stacks)} --region {region}{fail}"
        " --profile stage",
    ]
    assert any(
        s["Action"] == "sts:AssumeRole"
        and lookup in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        for p in two_stages.resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    )


def test_impact_same_account_consumer_may_read_the_provider_stack_name() -> None:
    """impact.py also asks for the stacks a consumer reads outputs from; in the consumer's account that stack
    does not exist (skipped), but without the grant GetTemplate is denied and the check fails."""
    import aws_cdk as cdk
    from aws_cdk import pipelines
    from constructs.pipeline.impact import impact_step

    stack = cdk.Stack(cdk.App(), "S")
    source = pipelines.CodePipelineSource.connection(REPO, "main", connection_arn=ARN)
    step = impact_step(
        "Impact",
        nag_scope=stack,
        source=source,
        assembly=source,
        stage="dev",
        stacks=["C"],
        producers=["P"],
        allow_replacement=False,
        partition="aws",
        account=PIPELINE_ACCOUNT,
        region=PIPELINE_REGION,
        same_account=True,
        qualifier="hnb659fds",
    )
    (statement,) = step.role_policy_statements or []
    assert statement.to_statement_json()["Resource"] == [
        f"arn:aws:cloudformation:{PIPELINE_REGION}:{PIPELINE_ACCOUNT}:stack/{s}/*" for s in ("C", "P")
    ]


def _run_impact(synth: PipelineSynth, command: str, deployed: dict[str, dict[str, Any]]) -> tuple[int, str, str]:
    """The step's command line, run in process against the pipeline's own cloud assembly and a fake
    GetTemplate that serves `deployed` (a stack missing from it does not exist)."""
    import io
    import shlex

    from botocore.exceptions import ClientError

    from tools import impact

    class FakeCloudFormation:
        def get_template(self, StackName: str, TemplateStage: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
            assert TemplateStage == "Original"
            if StackName not in deployed:
                error = {"Code": "ValidationError", "Message": f"Stack with id {StackName} does not exist"}
                raise ClientError({"Error": error}, "GetTemplate")
            return {"TemplateBody": json.dumps(deployed[StackName])}

    class FakeSts:
        """The step's credentials: the stage's own account (its lookup role, or CodeBuild's in the pipeline's
        account). A lookup role (ReadOnlyAccess) may not assume another account's role."""

        def __init__(self, account: str) -> None:
            self.account = account

        def get_caller_identity(self) -> dict[str, str]:
            return {"Account": self.account}

        def assume_role(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no sts:AssumeRole"}}, "AssumeRole")

    class FakeSession:
        def __init__(self, account: str) -> None:
            self.sts = FakeSts(account)

        def client(self, service: str, **_: Any) -> Any:
            assert service == "sts"
            return self.sts

    argv = shlex.split(command)
    assert argv[:2] == ["python", "tools/impact.py"]
    argv = [str(synth.outdir) if a == "cdk.out" else a for a in argv[2:]]
    selected = argv[argv.index("--stacks") + 1]
    account = impact.read_assemblies(synth.outdir).accounts[selected]
    out, err = io.StringIO(), io.StringIO()
    code = impact.main(
        argv,
        out=out,
        err=err,
        client_factory=lambda profile, region: FakeCloudFormation(),
        session_factory=lambda profile, region: FakeSession(account),
    )
    return code, out.getvalue(), err.getvalue()


def _deployed_with_another_vpc_cidr(synth: PipelineSynth, stage: str) -> dict[str, dict[str, Any]]:
    """The stage as synthesized, except that the deployed cluster VPC had another CIDR: the new template
    replaces the VPC (CidrBlock is create-only), a stateful resource."""
    from tools import impact

    templates = impact.read_assemblies(synth.outdir).templates
    deployed = {
        n: json.loads(json.dumps(t)) for n, t in templates.items() if n.startswith(f"EksLatticeGateway-{stage}-")
    }
    platform = deployed[f"EksLatticeGateway-{stage}-Platform"]["Resources"]
    vpcs = [v for v in platform.values() if v["Type"] == "AWS::EC2::VPC"]
    assert vpcs
    for vpc in vpcs:
        vpc["Properties"]["CidrBlock"] = "10.99.0.0/16"
    return deployed


def _deployed_with_another_flow_log_group_name(synth: PipelineSynth, stage: str) -> dict[str, dict[str, Any]]:
    """The stage as synthesized, except that the deployed flow-log groups had a name: the new templates (no name)
    replace them (LogGroupName is create-only), stateful, and nothing CloudFormation would refuse."""
    from tools import impact

    templates = impact.read_assemblies(synth.outdir).templates
    deployed = {
        n: json.loads(json.dumps(t)) for n, t in templates.items() if n.startswith(f"EksLatticeGateway-{stage}-")
    }
    platform = deployed[f"EksLatticeGateway-{stage}-Platform"]["Resources"]
    groups = [g for lid, g in platform.items() if g["Type"] == "AWS::Logs::LogGroup" and "FlowLogs" in lid]
    assert groups
    for i, group in enumerate(groups):
        group["Properties"]["LogGroupName"] = f"old-flow-logs-{i}"
    return deployed


def test_impact_step_stops_a_stateful_replacement(two_stages: PipelineSynth) -> None:
    (command,) = _impact_commands(two_stages, "prod", "Impact-prod")[-1:]
    code, out, err = _run_impact(two_stages, command, _deployed_with_another_flow_log_group_name(two_stages, "prod"))
    assert code == 1, out + err
    assert "[STATEFUL]" in out and "[BLOCKING]" not in out
    assert "AWS::Logs::LogGroup" in err
    assert err.rstrip().endswith(
        "to deploy anyway, set allowReplacement: true for stage prod in cdk.json's pipeline.stages"
    )
    # A new VPC CIDR also makes a new cluster under the same name ([BLOCKING]): refused with no override offered.
    code, out, err = _run_impact(two_stages, command, _deployed_with_another_vpc_cidr(two_stages, "prod"))
    assert code == 1 and "AWS::EC2::VPC" in err and "allowReplacement" not in err, out + err
    # Unchanged templates: nothing replaced, the stage deploys.
    deployed = {n: t for n, t in impact_templates(two_stages).items() if n.startswith("EksLatticeGateway-prod-")}
    code, out, err = _run_impact(two_stages, command, deployed)
    assert (code, err) == (0, "")
    assert "impact: 0 replaced" in out


def test_impact_step_with_allow_replacement_reports_only(two_stages: PipelineSynth) -> None:
    (command,) = _impact_commands(two_stages, "dev", "Impact-dev")[-1:]
    code, out, err = _run_impact(two_stages, command, _deployed_with_another_vpc_cidr(two_stages, "dev"))
    assert code == 0, err
    assert "[STATEFUL]" in out
    assert not re.search(r"impact: 0 replaced", out)


def _deployed_with_routes_named_otherwise(synth: PipelineSynth, stage: str) -> dict[str, dict[str, Any]]:
    """The stage as synthesized, except that each deployed route carried another digest (as before the cluster
    name was in it): every route is a new object that keeps its hostname, which no deploy can do."""
    from tools import impact

    deployed = {n: t for n, t in impact_templates(synth).items() if n.startswith(f"EksLatticeGateway-{stage}-")}
    gateway = f"EksLatticeGateway-{stage}-Gateway"
    routes = [
        o.name
        for resource in deployed[gateway]["Resources"].values()
        if resource["Type"] == impact.KUBERNETES_MANIFEST
        for o in impact.manifest_objects(resource) or {}
        if o.kind == "HTTPRoute"
    ]
    assert routes
    text = json.dumps(deployed[gateway])
    for name in routes:
        digest = name.rsplit("-", 1)[1]
        text = text.replace(digest, digest[::-1])
    return {**deployed, gateway: json.loads(text)}


@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_impact_step_stops_a_route_that_takes_over_a_kept_hostname(two_stages: PipelineSynth, stage: str) -> None:
    """Nothing stateful, but the deploy would fail after the DNS records' timeout and roll back: the stage stops
    before it, naming the stage's gateway stack to recreate; with allowReplacement (dev) the check only reports."""
    (command,) = _impact_commands(two_stages, stage, f"Impact-{stage}")[-1:]
    code, out, err = _run_impact(two_stages, command, _deployed_with_routes_named_otherwise(two_stages, stage))
    assert "[BLOCKING]" in out and "[STATEFUL]" not in out
    if stage == "dev":
        assert (code, err) == (0, "")
        return
    assert code == 1, out + err
    assert "route(s) would take over a hostname" in err
    assert f"destroy EksLatticeGateway-{stage}-Gateway, then deploy again" in err
    assert "docs/troubleshooting.md, 'Renaming a route but keeping its hostname'" in err
    assert "allowReplacement" not in err  # deploying anyway would only fail


def test_impact_of_a_consumer_stage_without_the_provider_in_its_account(two_stages: PipelineSynth) -> None:
    """The consumer stack reads the provider's outputs; GetTemplate of the provider's stack in the consumer's
    account finds nothing, and that must not count as a change of what the consumer reads."""
    (command,) = _impact_commands(two_stages, "dev-Consumers", "Impact-dev-Consumer-team-b")[-1:]
    deployed = {
        n: t for n, t in impact_templates(two_stages).items() if n.startswith("EksLatticeGateway-dev-Consumer-team-b")
    }
    code, out, err = _run_impact(two_stages, command, deployed)
    assert (code, err) == (0, "")
    assert "impact: 0 replaced, 0 added, 0 removed, 0 updated in place" in out


def impact_templates(synth: PipelineSynth) -> dict[str, dict[str, Any]]:
    from tools import impact

    return impact.read_assemblies(synth.outdir).templates


# ------------------------------------------------------------------------ mutation testing (issue 15): last


def test_mutation_report_is_the_last_wave_and_blocks_no_deploy(two_stages: PipelineSynth) -> None:
    from constructs.pipeline.mutation import MUTATION_COMMANDS

    stages = two_stages.stages()
    assert stages[-1]["Name"] == "Mutation"
    (action,) = two_stages.stage("Mutation")
    deploy_stages = [
        s["Name"] for s in stages if any(a["ActionTypeId"]["Provider"] == "CloudFormation" for a in s["Actions"])
    ]
    assert [s["Name"] for s in stages].index("Mutation") > max(
        [s["Name"] for s in stages].index(n) for n in deploy_stages
    )
    spec = two_stages.buildspec(two_stages.project_of(action))
    assert spec["phases"]["build"]["commands"] == list(MUTATION_COMMANDS)
    assert "make mutation FAIL_UNDER=0" in MUTATION_COMMANDS  # a report: a low score never fails the step
    project = two_stages.resources("AWS::CodeBuild::Project")[two_stages.project_of(action)]["Properties"]
    assert project["Environment"]["ComputeType"] == "BUILD_GENERAL1_LARGE"
    assert project["TimeoutInMinutes"] == 180
