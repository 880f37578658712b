"""tools/stranded.py (issue 21 item 8): a consumer stack the configuration no longer makes is found in its
account, through that account's bootstrap lookup role, before a deploy strands it; the refusal carries the
exact destroy command. moto with several accounts (STS AssumeRole gives credentials in the role's account)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tools import stranded

REGION = "ap-northeast-2"
PROVIDER, B, C = "111111111111", "222222222222", "333333333333"


@pytest.fixture
def accounts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def in_account(account: str) -> boto3.session.Session:
    creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/admin", RoleSessionName="setup")[
        "Credentials"
    ]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )


def deploy(account: str, name: str, *, description: str = "", principals: list[str] | None = None) -> None:
    resources: dict[str, Any] = {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}
    if principals is not None:
        share = {"Name": "s", "Principals": principals, "AllowExternalPrincipals": True}
        resources["Share"] = {"Type": "AWS::RAM::ResourceShare", "Properties": share}
    template = {"Description": description, "Resources": resources}
    in_account(account).client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def consumer(name: str, account: str, prefix: str = "EksLatticeGateway") -> None:
    description = f"eks-lattice-gateway: consumer {name} of the service network of {prefix}-Platform"
    deploy(account, f"{prefix}-Consumer-{name}", description=description)


def run(*argv: str, caller: str = PROVIDER) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = stranded.main(list(argv), out=out, err=err, session_factory=lambda profile, region: in_account(caller))
    return status, out.getvalue(), err.getvalue()


TEAM_B = json.dumps([{"name": "team-b", "account": B, "vpcCidr": "10.3.0.0/16"}])


def test_a_removed_consumer_is_found_in_its_account_and_refused_with_the_destroy_command(accounts: None) -> None:
    deploy(PROVIDER, "EksLatticeGateway-Platform", principals=[B, C])  # deployed when team-c was configured
    consumer("team-b", B)
    consumer("team-c", C)  # removed from `consumers` since
    consumer("old-b", B)  # renamed: same account, old stack
    deploy(B, "EksLatticeGateway-Consumer-unrelated", description="someone else's")
    consumer("team-x", C, prefix="EksLatticeGateway-dev")  # another provider's (a pipeline stage's) consumer

    status, out, err = run("-c", f"consumers={TEAM_B}", "--region", REGION)
    assert (status, out) == (1, "")
    where = f"--region {REGION} --stack-name"
    assert err.splitlines() == [
        "stranded: refusing to deploy: these consumer stacks are no longer configured (`consumers`):",
        f"  EksLatticeGateway-Consumer-old-b in account {B} ({REGION})",
        f"  EksLatticeGateway-Consumer-team-c in account {C} ({REGION})",
        "Deploying now drops their accounts from the share and leaves their VPCs, test hosts and associations "
        "behind (a later provider destroy waits on them). Destroy each first, with credentials of its account:",
        f"  aws cloudformation delete-stack {where} EksLatticeGateway-Consumer-old-b && "
        f"aws cloudformation wait stack-delete-complete {where} EksLatticeGateway-Consumer-old-b",
        f"  aws cloudformation delete-stack {where} EksLatticeGateway-Consumer-team-c && "
        f"aws cloudformation wait stack-delete-complete {where} EksLatticeGateway-Consumer-team-c",
        "then deploy again.",
    ]


def test_nothing_stranded_and_nothing_deployed_pass(accounts: None) -> None:
    assert run("-c", f"consumers={TEAM_B}", "--region", REGION)[0] == 0  # no Platform deployed yet
    deploy(PROVIDER, "EksLatticeGateway-Platform", principals=[B])
    consumer("team-b", B)
    status, out, _ = run("-c", f"consumers={TEAM_B}", "--region", REGION)
    assert (status, out.strip()) == (0, "stranded: no consumer stack of EksLatticeGateway-Platform is left behind")


def test_a_pipeline_stage_reads_its_platform_in_the_stage_account(accounts: None) -> None:
    """The pipeline's step runs in the pipeline's account: the stage's Platform and the consumers are read
    through their accounts' lookup roles."""
    stage = "444444444444"
    deploy(stage, "EksLatticeGateway-prod-Platform", principals=[C])
    consumer("team-c", C, prefix="EksLatticeGateway-prod")
    status, _, err = run("--stack-prefix", "EksLatticeGateway-prod", "--account", stage, "--region", REGION)
    assert status == 1 and f"EksLatticeGateway-prod-Consumer-team-c in account {C}" in err


def test_an_account_that_cannot_be_read_is_refused(accounts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy(PROVIDER, "EksLatticeGateway-Platform", principals=[C])

    def denied(session: Any, *, account: str, region: str, qualifier: str, partition: str = "aws") -> Any:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not trusted"}}, "AssumeRole")

    monkeypatch.setattr(stranded, "lookup_client", denied)
    status, _, err = run("--region", REGION)
    role = f"arn:aws:iam::{C}:role/cdk-hnb659fds-lookup-role-{C}-{REGION}"
    assert status == 2
    assert err.startswith(
        f"stranded: cannot check consumer stacks in account {C} ({REGION}) through {role} "
        f"(cdk bootstrap --trust {PROVIDER}): ClientError: An error occurred (AccessDenied) when calling the "
        "AssumeRole operation: not trusted"
    )


def test_each_provider_stage_of_the_pipeline_runs_the_check_first(two_stages: Any, accounts: None) -> None:
    """Every provider stage's Impact step starts with tools/stranded.py for that stage, runnable as written (here
    against accounts with nothing deployed); consumer stages leave it to their provider's stage."""
    import shlex

    from tests.test_pipeline import _impact_commands

    for stage in ("dev", "prod"):
        first, *_ = _impact_commands(two_stages, stage, f"Impact-{stage}")
        argv = shlex.split(first)
        assert argv[:4] == ["python", "tools/stranded.py", "--stack-prefix", f"EksLatticeGateway-{stage}"]
        status, out, err = run(*argv[2:], caller="111111111111")
        assert (status, err) == (0, "") and f"EksLatticeGateway-{stage}-Platform is left behind" in out
    for wave, name in (
        ("dev-Consumers", "Impact-dev-Consumer-team-b"),
        ("prod-Consumers", "Impact-prod-Consumer-team-c"),
    ):
        assert not any("stranded" in c for c in _impact_commands(two_stages, wave, name))


def test_make_deploy_runs_the_check_before_deploying_unless_allowed() -> None:
    import subprocess
    from pathlib import Path

    def dry_run(*args: str) -> list[str]:
        result = subprocess.run(
            ["make", "-n", "--no-print-directory", "deploy", *args],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return [line for line in result.stdout.splitlines() if "stranded.py" in line or "cdk deploy " in line]

    lines = dry_run("CDK_ARGS=-c a=b")
    assert len(lines) == 2 and lines[0].endswith("tools/stranded.py -c a=b") and "cdk deploy " in lines[1]
    (only,) = dry_run("ALLOW_STRANDED=1")
    assert "cdk deploy " in only


def test_the_check_recognizes_the_description_a_consumer_stack_really_has(variant: Any, accounts: None) -> None:
    """The name and description the check filters on are the ones stacks/consumer_stack.py writes."""
    name = "EksLatticeGateway-Consumer-team-b"
    description = variant.templates[name]["Description"]
    deploy(B, name, description=description)
    deploy(PROVIDER, "EksLatticeGateway-Platform", principals=[B])
    status, _, err = run("--region", REGION)  # team-b no longer configured
    assert status == 1 and f"  {name} in account {B} ({REGION})" in err.splitlines()
