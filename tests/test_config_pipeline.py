"""config/pipeline.py without a synth: both sides of each limit of the `pipeline` key (branch, repository, stage
name), the exact line for each refusal, what to_context leaves out, where the value comes from, and which
stages clash. (tests/test_pipeline.py synthesizes the pipelines.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import ConfigError
from config.pipeline import (
    DEPLOYED_ENV,
    PipelineConfig,
    StageTarget,
    check_distinct_targets,
    parse_pipeline,
    select_pipeline,
)

ARN = "arn:aws:codeconnections:us-east-1:111111111111:connection/00000000-0000-0000-0000-000000000000"
REPO = "owner/repo"
BASE = {"connectionArn": ARN, "repository": REPO}


def refusal(value: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_pipeline(value)
    return str(caught.value)


@pytest.mark.parametrize(
    "branch",
    ["main", "b" * 255, "feature/x-1", "release-1.2", "a.b", "user@host", "x_y", "@"],
)
def test_parse_accepts_git_branch_names_up_to_255(branch: str) -> None:
    assert parse_pipeline({**BASE, "branch": branch}).branch == branch


@pytest.mark.parametrize(
    "branch",
    [
        "",
        "b" * 256,
        "a b",
        "a\tb",
        "a~b",
        "a^b",
        "a:b",
        "a?b",
        "a*b",
        "a[b",
        "a\\b",
        "a\x01b",
        "a\x7fb",
        "a..b",
        "a@{b",
        "a//b",
        "-a",
        "/a",
        ".a",
        "a/",
        "a.",
        "a.lock",
    ],
)
def test_parse_refuses_what_git_refuses_in_a_branch(branch: str) -> None:
    assert refusal({**BASE, "branch": branch}) == f"pipeline.branch: {branch!r} is not a valid git branch name"


@pytest.mark.parametrize("repository", ["a/b", "o" * 39 + "/r", "owner/" + "r" * 100, "my-org/my.repo_x-1", "0/x"])
def test_parse_accepts_owner_name_repositories_up_to_their_lengths(repository: str) -> None:
    assert parse_pipeline({**BASE, "repository": repository}).repository == repository


@pytest.mark.parametrize(
    "repository",
    ["o" * 40 + "/r", "owner/" + "r" * 101, "owner/repo.git", "owner/", "-owner/repo", "a/b/c", "owner", "/repo"],
)
def test_parse_refuses_anything_else_as_a_repository(repository: str) -> None:
    assert refusal({**BASE, "repository": repository}) == (
        f"pipeline.repository: {repository!r} is not a repository in the form owner/name"
    )


def test_parse_refuses_a_connection_arn_of_another_service_naming_the_form() -> None:
    arn = "arn:aws:iam::111111111111:role/x"
    assert refusal({**BASE, "connectionArn": arn}) == (
        f"pipeline.connectionArn: {arn!r} is not a CodeConnections connection ARN "
        "(arn:aws:codeconnections:<region>:<account>:connection/<uuid>)"
    )


@pytest.mark.parametrize("name", ["A", "a" * 32, "Prod-2"])
def test_parse_accepts_stage_names_up_to_32(name: str) -> None:
    (stage,) = parse_pipeline({**BASE, "stages": [{"name": name}]}).stages
    assert stage.name == name


@pytest.mark.parametrize("name", ["a" * 33, "1st", "-a", "a_b", ""])
def test_parse_refuses_other_stage_names(name: str) -> None:
    assert refusal({**BASE, "stages": [{"name": name}]}) == (
        f"pipeline.stages[0].name: {name!r} must start with a letter and hold only letters, digits and '-' (max 32)"
    )


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("{x", "pipeline: expected a JSON object, got '{x': Expecting property name enclosed in double quotes"),
        ({"repository": REPO}, "pipeline.connectionArn: is required"),
        ({"connectionArn": ARN}, "pipeline.repository: is required"),
        ({**BASE, "connectionArn": 1}, "pipeline.connectionArn: expected str, got 1"),
        ({**BASE, "repository": None}, "pipeline.repository: expected str, got null"),
        ({**BASE, "branch": 1}, "pipeline.branch: expected str, got 1"),
        (
            {**BASE, "account": "1" * 11},
            "pipeline.account: '11111111111' is not an AWS account id (12 digits, as a string)",
        ),
        ({**BASE, "region": "us-east"}, "pipeline.region: 'us-east' is not an AWS region (like ap-northeast-2)"),
        ({**BASE, "stages": []}, "pipeline.stages: needs at least 1 entry"),
        ({**BASE, "stages": ["dev"]}, 'pipeline.stages[0]: expected dict, got "dev"'),
        ({**BASE, "stages": [{"name": 1}]}, "pipeline.stages[0].name: expected str, got 1"),
        (
            {**BASE, "stages": [{"name": "a"}, {"name": "b"}, {"name": "B"}]},
            "pipeline.stages[2].name: duplicate stage name 'B' (already used by 'b')",
        ),
        (
            {**BASE, "stages": [{"name": "a", "production": 1}]},
            "pipeline.stages[0].production: expected true or false, got 1",
        ),
        (
            {**BASE, "stages": [{"name": "a"}, {"name": "b", "allowReplacement": None}]},
            "pipeline.stages[1].allowReplacement: expected true or false, got null",
        ),
        (
            {**BASE, "stages": [{"name": "a", "region": "x"}]},
            "pipeline.stages[0].region: 'x' is not an AWS region (like ap-northeast-2)",
        ),
    ],
)
def test_parse_refuses_with_one_line_naming_the_key(value: Any, line: str) -> None:
    assert refusal(value) == line


def test_parse_reads_every_field_of_every_stage() -> None:
    config = parse_pipeline(
        {
            **BASE,
            "branch": "dev",
            "account": "111111111111",
            "region": "us-east-1",
            "stages": [
                {"name": "a"},
                {"name": "b", "account": "222222222222", "region": "eu-west-1", "production": True},
                {"name": "c", "allowReplacement": True, "production": False},
            ],
        }
    )
    assert config == PipelineConfig(
        connection_arn=ARN,
        repository=REPO,
        branch="dev",
        account="111111111111",
        region="us-east-1",
        stages=(
            StageTarget(name="a"),
            StageTarget(name="b", account="222222222222", region="eu-west-1", production=True),
            StageTarget(name="c", allow_replacement=True),
        ),
    )
    assert parse_pipeline(json.dumps({**BASE, "stages": [{"name": "a"}]})) == PipelineConfig(
        connection_arn=ARN, repository=REPO, stages=(StageTarget(name="a"),)
    )


def test_parse_to_context_leaves_out_what_is_not_set_and_round_trips() -> None:
    bare = PipelineConfig(connection_arn=ARN, repository=REPO)
    assert json.loads(bare.to_context()) == {
        "connectionArn": ARN,
        "repository": REPO,
        "branch": "main",
        "stages": [{"name": "Dev"}],
    }
    full = PipelineConfig(
        connection_arn=ARN,
        repository=REPO,
        branch="b",
        account="111111111111",
        region="us-east-1",
        stages=(
            StageTarget(name="x", account="222222222222", region="eu-west-1", production=True, allow_replacement=True),
        ),
    )
    text = full.to_context()
    assert json.loads(text) == {
        "connectionArn": ARN,
        "repository": REPO,
        "branch": "b",
        "stages": [
            {
                "name": "x",
                "account": "222222222222",
                "region": "eu-west-1",
                "production": True,
                "allowReplacement": True,
            }
        ],
        "account": "111111111111",
        "region": "us-east-1",
    }
    assert " " not in text
    assert parse_pipeline(text) == full
    assert parse_pipeline(bare.to_context()) == bare


def test_parse_source_the_repository_key_then_the_deployed_value() -> None:
    deployed = PipelineConfig(connection_arn=ARN, repository="owner/deployed").to_context()
    assert select_pipeline({"pipeline": BASE}, {DEPLOYED_ENV: deployed}) == parse_pipeline(BASE)
    assert select_pipeline({}, {DEPLOYED_ENV: deployed}) == parse_pipeline(deployed)
    assert select_pipeline({}, {DEPLOYED_ENV: ""}) is None
    assert select_pipeline({"other": 1}, {"OTHER": deployed}) is None


def test_parse_source_a_broken_deployed_value_says_where_it_came_from() -> None:
    with pytest.raises(ConfigError) as caught:
        select_pipeline({}, {DEPLOYED_ENV: json.dumps({**BASE, "branch": "a b"})})
    assert str(caught.value) == (
        f"pipeline.branch (from ${DEPLOYED_ENV}): 'a b' is not a valid git branch name; set the `pipeline` key in "
        "cdk.json"
    )


def test_parse_targets_a_stage_in_another_stages_account_and_region_is_refused_naming_both() -> None:
    config = parse_pipeline(
        {
            **BASE,
            "stages": [{"name": "a"}, {"name": "b", "region": "eu-west-1"}, {"name": "c", "account": "111111111111"}],
        }
    )
    check_distinct_targets(config, account="999999999999", region="us-east-1")  # three targets
    with pytest.raises(ConfigError) as caught:
        check_distinct_targets(config, account="111111111111", region="us-east-1")
    assert str(caught.value) == (
        "pipeline.stages[2]: stage 'c' deploys to account 111111111111 in us-east-1, like stage 'a' "
        "(pipeline.stages[0]): their stacks would create the same cluster, service network and log group names; "
        "give one of them its own account or region"
    )
