"""boto3 against a fake AWS service on 127.0.0.1 (tests/support/fake_*.py): a client of its own with throwaway keys
and one attempt, or the default clients pointed there by the environment."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.support.budget import SLOW_MARGIN_SECONDS
from tests.support.fixed_answer import FixedAnswerServer


def local_client(service: str, endpoint: str, *, region: str = "us-east-1") -> Any:
    """`service`'s client talking to `endpoint`; a single attempt, so a fake's refusal surfaces at once."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def use_local_aws(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoints: Mapping[str, str], *, region: str | None = None
) -> None:
    """boto3's default clients in this test go to `endpoints` (service id, as in AWS_ENDPOINT_URL_<ID>, -> URL) with
    throwaway keys: no config or credentials file, profile, session token or instance metadata; the region is
    `region`, or none at all."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDTESTING",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        **{f"AWS_ENDPOINT_URL_{service}": url for service, url in endpoints.items()},
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    if region is not None:
        monkeypatch.setenv("AWS_DEFAULT_REGION", region)


# A slow AWS service on 127.0.0.1 for a handler's own boto3 client, its per-call timeouts cut so a test waits little:
# one call may take SLOW_CONNECT + SLOW_READ; a poll has that plus a setup allowance (a cold boto3 client, 0.15 s
# measured; 0.4 s allowed), SLOW_CALL_BUDGET. The client is built within the timed poll: LOADED_SLACK_SECONDS.
SLOW_CONNECT, SLOW_READ = 0.2, 0.6
SLOW_CALL_BUDGET = round(SLOW_CONNECT + SLOW_READ + 0.4, 3)


@contextmanager
def slow_local_service(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, timeouts_of: ModuleType, service: str, body: bytes
) -> Iterator[FixedAnswerServer]:
    """`service` (AWS_ENDPOINT_URL_<ID>) answers `body` seconds after the budget and its slack
    (SLOW_MARGIN_SECONDS), so a client that waits for it fails by seconds; `timeouts_of` is the module whose
    CONNECT_TIMEOUT_SECONDS and READ_TIMEOUT_SECONDS the handler's client uses."""
    monkeypatch.setattr(timeouts_of, "CONNECT_TIMEOUT_SECONDS", SLOW_CONNECT)
    monkeypatch.setattr(timeouts_of, "READ_TIMEOUT_SECONDS", SLOW_READ)
    delay = SLOW_CALL_BUDGET + SLOW_MARGIN_SECONDS
    with FixedAnswerServer(200, body, {"Content-Type": "application/json"}, delay=delay) as server:
        use_local_aws(monkeypatch, tmp_path, {service: f"http://127.0.0.1:{server.port}"}, region="us-east-1")
        yield server
