"""tools/impact.py --deployed across accounts (issue 21 item 9): a consumer stack's deployed template is read in
the consumer's account through that account's CDK bootstrap lookup role, as the pipeline's impact step does, and
a stack whose account cannot be read is refused ("cannot check <stack>") instead of being called new. moto, with
one account per set of credentials (STS AssumeRole gives credentials in the role's account)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import PROVIDER_ACCOUNT, PROVIDER_REGION, Synthesized, moto_in
from tools import impact

PLATFORM = "EksLatticeGateway-Platform"
TEAM_B, B = "EksLatticeGateway-Consumer-team-b", "222222222222"
MARKER = {"Resources": {"DeployedMarker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}


@pytest.fixture
def two_accounts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto; the caller works in the provider's account through an assumed role (as_provider)."""
    with moto_in(monkeypatch, PROVIDER_REGION):
        yield


def in_account(account: str) -> boto3.session.Session:
    role = f"arn:aws:iam::{account}:role/admin"
    creds = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="setup")["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=PROVIDER_REGION,
    )


def as_provider() -> dict[str, Any]:
    """impact.main's credentials: the provider account's (moto gives an assumed role's credentials its account)."""
    return {
        "client_factory": lambda profile, region: in_account(PROVIDER_ACCOUNT).client("cloudformation"),
        "session_factory": lambda profile, region: in_account(PROVIDER_ACCOUNT),
    }


def cli(argv: list[str], **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = impact.main(argv, out=out, err=err, **{**as_provider(), **kwargs})
    return status, out.getvalue(), err.getvalue()


def test_a_consumer_stack_is_read_in_its_own_account(variant: Synthesized, two_accounts: None) -> None:
    provider = in_account(PROVIDER_ACCOUNT).client("cloudformation")
    provider.create_stack(StackName=PLATFORM, TemplateBody=json.dumps(MARKER))
    consumer = in_account(B).client("cloudformation")
    consumer.create_stack(StackName=TEAM_B, TemplateBody=json.dumps(MARKER))
    # The same stack name in the provider's account must not be what is read.
    decoy = {"Resources": {"ProviderDecoy": MARKER["Resources"]["DeployedMarker"]}}
    provider.create_stack(StackName=TEAM_B, TemplateBody=json.dumps(decoy))

    status, out, err = cli(["--deployed", "--assembly", str(variant.outdir), "--stacks", TEAM_B])
    assert (status, err) == (0, "")
    assert f"remove   {TEAM_B}  DeployedMarker  AWS::CloudFormation::WaitConditionHandle" in out
    assert "is not deployed" not in out and "ProviderDecoy" not in out


def test_a_consumer_stack_not_deployed_in_its_account_is_new(variant: Synthesized, two_accounts: None) -> None:
    status, out, _ = cli(["--deployed", "--assembly", str(variant.outdir), "--stacks", TEAM_B])
    assert status == 0 and f"(stack {TEAM_B} is not deployed: everything in it is new)" in out


class _DeniedSts:
    def get_caller_identity(self) -> dict[str, str]:
        return {"Account": PROVIDER_ACCOUNT}

    def assume_role(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not trusted"}}, "AssumeRole")


class _Session:
    region_name = PROVIDER_REGION

    def client(self, service: str, **_: Any) -> Any:
        assert service == "sts"
        return _DeniedSts()


def test_a_stack_whose_account_cannot_be_read_is_refused_not_called_new(
    variant: Synthesized, two_accounts: None
) -> None:
    status, out, err = cli(
        ["--deployed", "--assembly", str(variant.outdir), "--stacks", TEAM_B, "--fail-on-stateful"],
        session_factory=lambda profile, region: _Session(),
    )
    role = f"arn:aws:iam::{B}:role/cdk-hnb659fds-lookup-role-{B}-{PROVIDER_REGION}"
    assert status == 2 and out == ""
    assert err.startswith(
        f"impact: cannot check {TEAM_B}: its deployed template is in account {B}, read through {role}"
    )
    assert "AccessDenied" in err


def test_make_deploy_synthesizes_with_the_credentials_account_when_consumers_are_set(
    two_accounts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without CDK_DEFAULT_ACCOUNT (make runs impact.py, not the CDK CLI) the consumers' synth needs it."""
    seen: list[str | None] = []

    def synthesizer(overrides: Any) -> Any:
        import os

        seen.append(os.environ.get("CDK_DEFAULT_ACCOUNT"))
        raise impact.ImpactError("stop here")

    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
    consumers = json.dumps([{"name": "team-b", "account": B, "vpcCidr": "10.3.0.0/16"}])
    status, _, err = cli(["--deployed", "-c", f"consumers={consumers}"], synthesizer=synthesizer)
    assert (status, err.strip(), seen) == (2, "impact: stop here", [PROVIDER_ACCOUNT])
    import os

    assert "CDK_DEFAULT_ACCOUNT" not in os.environ
