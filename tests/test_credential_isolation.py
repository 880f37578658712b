"""No test finds AWS credentials it did not set up (issue 21: in CodeBuild, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
gave a "without credentials" test the build role's keys). Each source of botocore's credential chain is set up
alone and found by the real botocore, then shut out by the suite's fixture (tests/conftest.clear_credential_sources);
and the chain botocore builds has no provider the fixture doesn't know.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import botocore.credentials
import botocore.session
import pytest

from tests.conftest import (
    CREDENTIAL_FILE_VARIABLES,
    CREDENTIAL_VARIABLES,
    NODE_REGION_VARIABLES,
    clear_credential_sources,
)
from tools.container_credentials import ACCESS_KEY_ID, CredentialsServer

Setup = Callable[[pytest.MonkeyPatch, Path, str], None]


def _file(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _env(mp: pytest.MonkeyPatch, tmp: Path, url: str) -> None:
    mp.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "secret")


def _shared_credentials(mp: pytest.MonkeyPatch, tmp: Path, url: str) -> None:
    text = "[default]\naws_access_key_id = AKIDSHARED\naws_secret_access_key = secret\n"
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", _file(tmp / "credentials", text))


def _config_file(mp: pytest.MonkeyPatch, tmp: Path, url: str) -> None:
    text = "[profile ops]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = secret\n"
    mp.setenv("AWS_CONFIG_FILE", _file(tmp / "config", text))
    mp.setenv("AWS_PROFILE", "ops")


def _credential_process(mp: pytest.MonkeyPatch, tmp: Path, url: str) -> None:
    document = json.dumps({"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "secret"})
    script = _file(tmp / "process.py", f"print({document!r})\n")
    mp.setenv("AWS_CONFIG_FILE", _file(tmp / "config", f"[default]\ncredential_process = {sys.executable} {script}\n"))


def _web_identity(mp: pytest.MonkeyPatch, tmp: Path, url: str) -> None:
    mp.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", _file(tmp / "token", "a-token"))
    mp.setenv("AWS_ROLE_ARN", "arn:aws:iam::111111111111:role/ci")


def _container(mp: pytest.MonkeyPatch, tmp: Path, url: str) -> None:
    mp.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{url}/v2/credentials/replica")


def _ec2_credential_file(mp: pytest.MonkeyPatch, tmp: Path, url: str) -> None:
    mp.setenv("AWS_CREDENTIAL_FILE", _file(tmp / "ec2", "AWSAccessKeyId=AKIDEC2\nAWSSecretKey=secret\n"))


def _boto2_config(mp: pytest.MonkeyPatch, tmp: Path, url: str) -> None:
    text = "[Credentials]\naws_access_key_id = AKIDBOTO\naws_secret_access_key = secret\n"
    mp.setenv("BOTO_CONFIG", _file(tmp / "boto.cfg", text))


def _instance_metadata(mp: pytest.MonkeyPatch, tmp: Path, url: str) -> None:
    mp.setenv("AWS_EC2_METADATA_DISABLED", "false")
    mp.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)


# botocore's provider METHOD -> (how this test sets that source up alone, the access key botocore then finds).
SOURCES: dict[str, tuple[Setup, str | None]] = {
    "env": (_env, "AKIDENV"),
    "shared-credentials-file": (_shared_credentials, "AKIDSHARED"),
    "config-file": (_config_file, "AKIDCONFIG"),
    "custom-process": (_credential_process, "AKIDPROCESS"),
    "assume-role-with-web-identity": (_web_identity, None),  # deferred: STS is called only when keys are read
    "container-role": (_container, ACCESS_KEY_ID),
    "ec2-credentials-file": (_ec2_credential_file, "AKIDEC2"),
    "boto-config": (_boto2_config, "AKIDBOTO"),
    "iam-role": (_instance_metadata, ACCESS_KEY_ID),
}
# Providers in the chain that need a profile in the config file (assume-role: role_arn; sso: sso_session; login:
# login_session): the empty config file shuts them out with the "config-file" source.
CONFIG_PROFILE_ONLY = {"assume-role", "sso", "login"}


@pytest.mark.parametrize("method", sorted(SOURCES))
def test_each_credential_source_is_found_then_shut_out(
    method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codebuild_credentials: CredentialsServer
) -> None:
    setup, access_key = SOURCES[method]
    setup(monkeypatch, tmp_path, codebuild_credentials.url)
    found = botocore.session.Session().get_credentials()
    assert found is not None and found.method == method  # the source is real: botocore takes it
    if access_key is not None:
        assert found.get_frozen_credentials().access_key == access_key

    codebuild_credentials.requests.clear()
    clear_credential_sources(monkeypatch, tmp_path / "empty")
    assert botocore.session.Session().get_credentials() is None
    assert codebuild_credentials.requests == []  # not even asked


def test_the_fixture_knows_every_provider_of_botocores_chain() -> None:
    """A botocore upgrade that adds a credential provider fails here until the fixture shuts it out too."""
    resolver = botocore.credentials.create_credential_resolver(botocore.session.Session())
    methods = {provider.METHOD for provider in resolver.providers}
    assert methods == set(SOURCES) | CONFIG_PROFILE_ONLY


def test_the_suite_starts_every_test_without_credentials(tmp_path: Path) -> None:
    """The autouse fixture is in force here, as in every test."""
    import os

    assert botocore.session.Session().get_credentials() is None
    assert not set(CREDENTIAL_VARIABLES) & set(os.environ)
    for name in CREDENTIAL_FILE_VARIABLES:
        assert Path(os.environ[name]).read_text() == ""
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"


def test_the_codebuild_stand_in_logs_each_request(codebuild_credentials: CredentialsServer) -> None:
    """What .ci/run reads afterwards: one JSON line per request, in its log file."""
    import urllib.request

    with urllib.request.urlopen(f"{codebuild_credentials.url}/v2/credentials/x", timeout=5) as response:
        assert json.loads(response.read())["AccessKeyId"] == ACCESS_KEY_ID
    (line,) = codebuild_credentials.log.read_text().splitlines()
    assert json.loads(line)["path"] == "/v2/credentials/x"


def test_ci_runs_the_readmes_test_command_in_the_codebuild_replica() -> None:
    """.ci/run: the README's test command, exactly, with CodeBuild's variables and the logging stand-in."""
    import re

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") :]
    (test_command,) = re.findall(r"^(make test)\s+#", quick_start[: quick_start.index("```\n\n")], re.M)
    script = (ROOT / ".ci" / "run").read_text()
    code = [line.strip() for line in script.splitlines() if line.strip() and not line.strip().startswith("#")]
    # the last line of the replica's `env ... \\` command; its status is kept, not exited on (set -e)
    (runs,) = [i for i, line in enumerate(code) if line.split(" || ")[0] == test_command]
    assert code[runs - 1].endswith("\\") and any(line.startswith("env ") for line in code[:runs])
    assert "CODEBUILD_CI=true \\" in code
    assert any(line.startswith("AWS_CONTAINER_CREDENTIALS_FULL_URI=") for line in code)
    assert any("tools/container_credentials.py --log" in line for line in code[:runs])
    assert any(line.startswith('if [ -s "$work/requests.log" ]') for line in code[runs:])
    assert "make setup" not in script and "pip install" not in script  # `make test` installs from nothing itself


def test_the_stand_in_logs_a_request_it_fails_to_answer(
    codebuild_credentials: CredentialsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request is recorded before it is answered: an answer that raises (datetime.UTC on a python3 older than
    3.11 did) or a method the stand-in has no handler for must not leave the log empty and the run green."""
    import http.client
    import urllib.parse

    import tools.container_credentials as stand_in

    def broken(now: object = None) -> dict[str, str]:
        raise AttributeError("module 'datetime' has no attribute 'UTC'")

    monkeypatch.setattr(stand_in, "credentials_document", broken)
    address = urllib.parse.urlsplit(codebuild_credentials.url)
    for method, path in (("GET", "/v2/credentials/broken"), ("POST", "/v2/credentials/unhandled")):
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=5)
        with contextlib.suppress(http.client.HTTPException, OSError):  # the broken answer drops the connection
            connection.request(method, path)
            connection.getresponse().read()
        connection.close()
    logged = [json.loads(line) for line in codebuild_credentials.log.read_text().splitlines()]
    assert [(entry["method"], entry["path"]) for entry in logged] == [
        ("GET", "/v2/credentials/broken"),
        ("POST", "/v2/credentials/unhandled"),
    ]


def test_both_region_variables_are_cleared_together(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Both region variables are cleared together, and under moto both name the mocked region: botocore reads
    AWS_DEFAULT_REGION, the handlers AWS_REGION first, so a half-set pair points them at two regions."""
    import os

    from tests.conftest import REGION_VARIABLES

    assert not set(REGION_VARIABLES) & set(os.environ)  # the autouse fixture is in force here
    for name in REGION_VARIABLES:
        monkeypatch.setenv(name, "eu-west-1")
    clear_credential_sources(monkeypatch, tmp_path / "empty")
    assert not set(REGION_VARIABLES) & set(os.environ)


def test_mocked_aws_names_one_region_in_both_variables(mocked_aws: str) -> None:
    import os

    import boto3

    from tests.conftest import REGION_VARIABLES

    assert {os.environ[name] for name in REGION_VARIABLES} == {mocked_aws}
    assert boto3.session.Session().region_name == mocked_aws


# --- .ci/run itself, with a stand-in `make` first on PATH (what it runs: `make test`)

_STUB_MAKE = """#!/usr/bin/env python3
import os, sys, urllib.request
if os.environ.get("STUB_ASK"):
    urllib.request.urlopen(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"], timeout=5).read()
sys.exit(int(os.environ["STUB_STATUS"]))
"""


@pytest.mark.parametrize(
    ("ask", "make_status", "expected"),
    [(True, 1, 1), (True, 0, 1), (False, 1, 1), (False, 0, 0)],
    ids=["asks-and-fails", "asks-and-passes", "fails-without-asking", "passes-without-asking"],
)
def test_ci_run_reports_every_request_whatever_make_test_returns(
    tmp_path: Path, ask: bool, make_status: int, expected: int
) -> None:
    """.ci/run's own logic (its script and its stand-in, copied as they are): a test that asked for the build's
    credentials is named even when `make test` failed, and the run fails whenever one asked or make failed."""
    import os
    import shutil
    import subprocess

    from tests.conftest import ROOT

    clone = tmp_path / "clone"
    for relative in (".ci/run", "tools/container_credentials.py"):
        (clone / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, clone / relative)
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "make").write_text(_STUB_MAKE)
    (stubs / "make").chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "STUB_STATUS": str(make_status)}
    if ask:
        env["STUB_ASK"] = "1"
    run = subprocess.run(
        ["bash", str(clone / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == expected, run.stderr
    asked = "asked CodeBuild's credential endpoint" in run.stderr
    assert asked == ask, run.stderr
    if ask:
        assert '"path": "/v2/credentials/codebuild-replica"' in run.stderr


def test_the_fixture_knows_every_credential_variable_of_the_pinned_node_tools() -> None:
    """The CDK CLI and cdk-assets run in the suite as subprocesses with the AWS SDK for JavaScript's chain, not
    botocore's: every credential variable their pinned bundles read outside the AWS_* names botocore shares must be
    shut out too (the CLI copies AMAZON_* into AWS_*), and the CLI's telemetry stays off."""
    import os
    import re

    root = Path(__file__).resolve().parents[1] / "node_modules"
    bundles = [root / "aws-cdk" / "lib" / "index.js", root / "cdk-assets" / "bin" / "cdk-assets.js"]
    read: set[str] = set()
    for bundle in bundles:
        read |= set(re.findall(r"process\.env\.(AMAZON_[A-Z_]+)", bundle.read_text(errors="replace")))
    assert {"AMAZON_ACCESS_KEY_ID", "AMAZON_SECRET_ACCESS_KEY"} <= read  # the scan still finds what it looks for
    shut_out = {*CREDENTIAL_VARIABLES, *NODE_REGION_VARIABLES}
    assert read <= shut_out, sorted(read - shut_out)
    cli = bundles[0].read_text(errors="replace")
    assert "process.env.CDK_DISABLE_CLI_TELEMETRY" in cli
    assert os.environ["CDK_DISABLE_CLI_TELEMETRY"] == "1"
