"""The `pipeline` context key and the CDK Pipelines stack it produces.

Two synths in all (each includes the whole app in every stage): a two-stage cross-account pipeline (checked
in detail, nag-clean and snapshot-tested) and the default one-stage pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from config import ConfigError
from config.pipeline import DEFAULT_STAGE, PipelineConfig, StageTarget, parse_pipeline
from tests.conftest import ROOT, TODAY, cdk_json_context
from tests.test_snapshots import normalize

ARN = "arn:aws:codeconnections:us-east-1:111111111111:connection/00000000-0000-0000-0000-000000000000"
REPO = "example/eks-lattice-gateway"
PIPELINE_ACCOUNT, PIPELINE_REGION = "111111111111", "us-east-1"
PROD_ACCOUNT, PROD_REGION = "222222222222", "ap-northeast-2"
TWO_STAGES: dict[str, Any] = {
    "connectionArn": ARN,
    "repository": REPO,
    "branch": "main",
    "stages": [
        {"name": "dev"},
        {"name": "prod", "account": PROD_ACCOUNT, "region": PROD_REGION, "production": True},
    ],
}


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


def test_cli_version_comes_from_package_json() -> None:
    from stacks.pipeline_stack import cdk_cli_version

    package = json.loads((ROOT / "package.json").read_text())
    assert cdk_cli_version() == package["devDependencies"]["aws-cdk"]


# ---------------------------------------------------------------------------------------------- synthesis


class PipelineSynth:
    """One synthesis of a PipelineStack in a fresh app with cdk-nag, as app.build will do it.

    The fixtures `two_stages` and `one_stage` (tests/conftest.py, session-scoped: tests/test_checkov.py scans
    them too) hold the two the suite makes."""

    def __init__(self, outdir: Path, pipeline: dict[str, Any]) -> None:
        import aws_cdk as cdk
        import cdk_nag
        from constructs.checkov import add_checkov_acknowledgments

        from config import parse_context
        from stacks.pipeline_stack import add_pipeline

        app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
        config = parse_context(app.node.get_all_context(), today=TODAY)
        self.stack = add_pipeline(
            app,
            config=config,
            pipeline=parse_pipeline(pipeline),
            env=cdk.Environment(account=PIPELINE_ACCOUNT, region=PIPELINE_REGION),
        )
        cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
        add_checkov_acknowledgments(app)
        self.assembly = app.synth()
        self.template: dict[str, Any] = json.loads(
            Path(self.assembly.get_stack_artifact(self.stack.artifact_id).template_full_path).read_text()
        )
        self.outdir = outdir
        report = outdir / "validation-report.json"
        self.report = json.loads(report.read_text()) if report.exists() else None

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}

    def stages(self) -> list[dict[str, Any]]:
        (pipeline,) = self.resources("AWS::CodePipeline::Pipeline").values()
        stages: list[dict[str, Any]] = pipeline["Properties"]["Stages"]
        return stages

    def stage(self, name: str) -> list[dict[str, Any]]:
        """The stage's actions in run order."""
        actions = next(s["Actions"] for s in self.stages() if s["Name"] == name)
        return sorted(actions, key=lambda a: a.get("RunOrder", 1))

    def buildspec(self, project_logical_id: str) -> dict[str, Any]:
        spec: dict[str, Any] = json.loads(
            self.resources("AWS::CodeBuild::Project")[project_logical_id]["Properties"]["Source"]["BuildSpec"]
        )
        return spec

    def project_of(self, action: dict[str, Any]) -> str:
        ref: str = action["Configuration"]["ProjectName"]["Ref"]
        return ref


def test_source_is_the_connection(two_stages: PipelineSynth) -> None:
    (source,) = two_stages.stage("Source")
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["ConnectionArn"] == ARN
    assert source["Configuration"]["FullRepositoryId"] == REPO
    assert source["Configuration"]["BranchName"] == "main"


def test_synth_runs_the_makefile_targets(two_stages: PipelineSynth) -> None:
    (synth,) = two_stages.stage("Build")
    logical_id = two_stages.project_of(synth)
    spec = two_stages.buildspec(logical_id)
    commands: list[str] = spec["phases"]["build"]["commands"]
    assert commands[:2] == ["make reference", "make test"]  # test data fetched pinned, then the whole suite
    assert commands[2].startswith("make synth ")
    assert "pipeline=$$PIPELINE_CONTEXT" in commands[2]  # self-mutation sees the same configuration
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    project = two_stages.resources("AWS::CodeBuild::Project")[logical_id]["Properties"]
    assert project["Environment"]["Image"] == "aws/codebuild/standard:7.0"
    env = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    assert parse_pipeline(env["PIPELINE_CONTEXT"]) == parse_pipeline(TWO_STAGES)


def test_self_mutation_uses_the_pinned_cli(two_stages: PipelineSynth) -> None:
    (mutate,) = two_stages.stage("UpdatePipeline")
    install = two_stages.buildspec(two_stages.project_of(mutate))["phases"]["install"]["commands"]
    version = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert install == [f"npm install -g aws-cdk@{version}"]


def test_manual_approval_precedes_production_only(two_stages: PipelineSynth) -> None:
    prod = two_stages.stage("prod")
    assert prod[0]["ActionTypeId"]["Category"] == "Approval"
    assert all(a["ActionTypeId"]["Category"] != "Approval" for a in prod[1:])
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
        "ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{PIPELINE_ACCOUNT}:role/EksLatticeGateway-Smoke-prod"}
    }
    assert target_role.endswith(f":role/{role['Properties']['RoleName']}")


def test_cross_account_keys_when_a_stage_is_elsewhere(two_stages: PipelineSynth, one_stage: PipelineSynth) -> None:
    keys = two_stages.resources("AWS::KMS::Key")
    assert keys
    assert all(k["Properties"]["EnableKeyRotation"] for k in keys.values())
    assert one_stage.resources("AWS::KMS::Key") == {}


def test_default_is_one_dev_stage_with_smoke(one_stage: PipelineSynth) -> None:
    names = [s["Name"] for s in one_stage.stages()]
    assert names[-1] == DEFAULT_STAGE
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
    from cfnlint.api import ManualArgs, lint_file

    from tests.test_compliance import CFN_LINT_IGNORES

    def false_positive(rule: str, message: str, path: list[object]) -> bool:
        # cfn-lint 1.58 reports its Fn::Sub style hint (I1022) under E3703 for CDK Pipelines' cross-account
        # action RoleArn, an Fn::Join of partition and account that forms a valid role ARN. Only that.
        return (
            rule == "E3703" and message.startswith("Prefer using Fn::Sub") and path[-2:] == ["Configuration", "RoleArn"]
        )

    path = Path(two_stages.assembly.get_stack_artifact(two_stages.stack.artifact_id).template_full_path)
    matches = lint_file(path, config=ManualArgs(regions=["ap-northeast-2", "us-east-1"]))
    findings = [
        f"{m.rule.id} {m.message} {m.path}"
        for m in matches
        if m.rule.id not in CFN_LINT_IGNORES and not false_positive(m.rule.id, m.message, m.path)
    ]
    assert findings == []
