"""boto3 against a fake AWS service on 127.0.0.1 (tests/support/fake_*.py): a client of its own with throwaway keys
and one attempt, or the default clients pointed there by the environment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config


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
