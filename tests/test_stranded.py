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

from tests.conftest import PIPELINE_ACCOUNT, PROD_ACCOUNT, moto_in
from tools import audit, stranded
from tools.impact import ImpactError, failure_line

REGION = "ap-northeast-2"
PROVIDER, B, C = "111111111111", "222222222222", "333333333333"


@pytest.fixture
def accounts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with moto_in(monkeypatch, REGION):
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


def consumer(name: str, account: str, prefix: str = "EksLatticeGateway", provider: str = PROVIDER) -> None:
    description = f"eks-lattice-gateway: consumer {name} of the service network of {prefix}-Platform"
    deploy(account, f"{prefix}-Consumer-{name}", description=f"{description} in account {provider}")


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
    consumer("team-z", C, provider="999999999999")  # another provider's, of the same prefix in another account

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


def test_the_configured_stack_prefix_is_the_default(accounts: None) -> None:
    """`make deploy` with a stackPrefix (make e2e's, or a user's) checks that deployment's consumers, not the
    default prefix's: a tool defaulting to the constant would find nothing and pass."""
    deploy(PROVIDER, "e2e-abc123-Platform", principals=[B, C])
    consumer("team-c", C, prefix="e2e-abc123")  # no longer configured
    status, _, err = run("-c", f"consumers={TEAM_B}", "-c", "stackPrefix=e2e-abc123", "--region", REGION)
    assert status == 1
    assert f"  e2e-abc123-Consumer-team-c in account {C} ({REGION})" in err.splitlines()


def test_a_pipeline_stage_reads_its_platform_in_the_stage_account(accounts: None) -> None:
    """The pipeline's step runs in the pipeline's account: the stage's Platform and the consumers are read
    through their accounts' lookup roles."""
    stage = "444444444444"
    deploy(stage, "EksLatticeGateway-prod-Platform", principals=[C])
    consumer("team-c", C, prefix="EksLatticeGateway-prod", provider=stage)
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


# ------------------------------------------------------- a way past every refusal gate, from config (review of 21)

# Every tools/ script a pipeline step runs, and the config key that lets a stage past its refusal: a gate without
# one wedges every run of the pipeline until someone edits the pipeline itself (the Makefile's switches do not
# reach CodeBuild). None: not a gate before a deploy (the smoke test checks what was just deployed).
PIPELINE_TOOLS = {
    "tools/impact.py": "pipeline.stages[].allowReplacement",
    "tools/stranded.py": "goneConsumerAccounts",
    "tools/smoke.py": None,
}


def _pipeline_commands(synth: Any) -> list[str]:
    commands: list[str] = []
    for project in synth.resources("AWS::CodeBuild::Project").values():
        spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
        for phase in spec.get("phases", {}).values():
            commands += phase.get("commands", [])
    return commands


def test_every_refusal_gate_in_a_pipeline_step_has_an_override_in_the_configuration(two_stages: Any) -> None:
    import re
    from pathlib import Path

    from config.pipeline import _STAGE_FIELDS

    run_tools = {m for c in _pipeline_commands(two_stages) for m in re.findall(r"tools/[a-z_]+\.py", c)}
    assert run_tools == set(PIPELINE_TOOLS)  # a new tool in a step: classify it here
    schema = json.loads((Path(__file__).resolve().parent.parent / "config" / "schema.json").read_text())
    for tool, key in PIPELINE_TOOLS.items():
        if key is None:
            continue
        if key.startswith("pipeline.stages[]."):
            assert key.rsplit(".", 1)[1] in _STAGE_FIELDS, tool
        else:
            assert key in schema["$defs"]["Context"]["properties"], tool


def test_an_account_acknowledged_as_gone_lets_the_check_pass(accounts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay: team-c's account was closed (AssumeRole of its lookup role denied). Refused until the account is
    listed in goneConsumerAccounts; then the check passes, naming what it did not read."""
    from botocore.exceptions import ClientError

    deploy(PROVIDER, "EksLatticeGateway-Platform", principals=[B, C])
    consumer("team-b", B)
    real = stranded.lookup_client

    def closed(session: Any, *, account: str, **kwargs: Any) -> Any:
        if account == C:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not trusted"}}, "AssumeRole")
        return real(session, account=account, **kwargs)

    monkeypatch.setattr(stranded, "lookup_client", closed)
    status, _, err = run("-c", f"consumers={TEAM_B}", "--region", REGION)
    assert status == 2 and "goneConsumerAccounts" in err
    status, out, err = run("-c", f"consumers={TEAM_B}", "-c", f'goneConsumerAccounts=["{C}"]', "--region", REGION)
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == f"stranded: not checked (goneConsumerAccounts): {C}"
    # Still refused for what it can read: a removed consumer in a readable account.
    status, _, err = run("-c", f'goneConsumerAccounts=["{C}"]', "--region", REGION)
    assert status == 1 and "EksLatticeGateway-Consumer-team-b" in err


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (f'["{B}"]', "is a configured consumer's account"),
        (f'["{C}", "{C}"]', "is listed twice"),
        ('["12345"]', "is not an AWS account id"),
    ],
)
def test_gone_consumer_accounts_are_validated(value: str, why: str) -> None:
    import datetime as dt

    from config import ConfigError, parse_context

    with pytest.raises(ConfigError) as caught:
        parse_context({"consumers": TEAM_B, "goneConsumerAccounts": value}, today=dt.date(2026, 12, 5))
    assert caught.value.key.startswith("goneConsumerAccounts") and why in caught.value.reason


# ------------------------------------------------------------------ the lookup role's partition (review of 21)


def test_the_lookup_role_is_in_the_partition_of_its_region() -> None:
    """A stubbed STS in cn-north-1 is asked for an arn:aws-cn: role (botocore's endpoints data knows the
    partition of each region)."""
    from botocore.stub import Stubber

    from tools.impact import lookup_client

    session = boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="cn-north-1")
    sts = session.client("sts", region_name="cn-north-1")
    role = f"arn:aws-cn:iam::{B}:role/cdk-hnb659fds-lookup-role-{B}-cn-north-1"
    creds = {"AccessKeyId": "AKIAEXAMPLEEXAMPLE", "SecretAccessKey": "s", "SessionToken": "t"}
    with Stubber(sts) as stub:
        stub.add_response(
            "assume_role",
            {"Credentials": {**creds, "Expiration": "2026-12-05T00:00:00Z"}},
            {"RoleArn": role, "RoleSessionName": "eks-lattice-gateway-impact"},
        )
        session.client = lambda name, region_name=None: sts
        client = lookup_client(session, account=B, region="cn-north-1", qualifier="hnb659fds")
        stub.assert_no_pending_responses()
    assert client.meta.region_name == "cn-north-1" and client.meta.partition == "aws-cn"


# ------------------------------------------ every stack made for a consumer is found once removed (review of 21)


class _Listing:
    """A CloudFormation client whose ListStacks answers `summaries` (one page)."""

    def __init__(self, summaries: list[dict[str, str]]) -> None:
        self.summaries = summaries

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_stacks"
        return self

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [{"StackSummaries": self.summaries}]


def test_every_stack_of_a_consumer_stage_is_reported_once_the_consumer_is_removed(two_stages: Any) -> None:
    """Each ConsumerStage assembly's stacks (the consumer's, and the pipeline's SmokeAccess stack beside it), as
    ListStacks would show them in the consumer's account, are all consumer stacks of their provider stage, and all
    refused once no consumer is configured."""
    from tests.support import uniqueness

    manifest = json.loads((two_stages.outdir / "manifest.json").read_text())
    seen = 0
    for artifact in manifest["artifacts"].values():
        directory = artifact.get("properties", {}).get("directoryName", "")
        if artifact.get("type") != "cdk:cloud-assembly" or "-Consumer-" not in directory:
            continue
        stage = directory.split("-Consumer-")[0].rsplit("-", 1)[1]  # assembly-<pipeline stack>-<stage>-Consumer-<name>
        prefix = f"EksLatticeGateway-{stage}"
        provider = PROD_ACCOUNT if stage == "prod" else PIPELINE_ACCOUNT
        made = {
            name: str(template.get("Description", ""))
            for name, _, _, template in uniqueness.stacks(two_stages.outdir / directory)
        }
        listing = _Listing([{"StackName": n, "TemplateDescription": d} for n, d in made.items()])
        assert stranded.consumer_stacks(listing, prefix=prefix, account=provider) == sorted(made)
        assert stranded.consumer_stacks(listing, prefix=prefix, account="999999999999") == []
        (mine,) = (n for n in made if not n.endswith("-SmokeAccess"))  # the consumer's stack
        assert all(stranded.is_configured(n, {mine: B}) for n in made)  # still configured: none refused
        refused = stranded.refusal(stranded.Stranded(n, B, REGION) for n in made if not stranded.is_configured(n, {}))
        assert all(f"  {n} in account {B}" in refused for n in made)
        seen += len(made)
    assert seen >= 5  # four consumer stages; the cross-account ones carry a SmokeAccess stack too


@pytest.mark.parametrize("tool", [stranded, audit])
def test_each_tool_ends_on_a_bad_configuration_in_one_line_naming_the_key(tool: Any) -> None:
    """stranded and audit report what ends them through one failure_line: the key, exit 2, nothing on out."""
    out, err = io.StringIO(), io.StringIO()
    assert tool.main(["-c", "stackPrefix=bad prefix!"], out=out, err=err) == 2
    name = tool.__name__.rsplit(".", 1)[-1]
    assert err.getvalue().startswith(f"{name}: invalid configuration: stackPrefix: ") and out.getvalue() == ""
    assert err.getvalue().count("\n") == 1


def test_failure_line_names_the_tool_and_each_kind_of_error() -> None:
    from botocore.exceptions import ClientError

    from config import ConfigError

    throttled = ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "ListStacks")
    assert failure_line("t", ConfigError("routes", "bad")) == "t: invalid configuration: routes: bad"
    assert failure_line("t", ImpactError("no AWS region configured")) == "t: no AWS region configured"
    assert failure_line("t", throttled) == f"t: ClientError: {throttled}"
