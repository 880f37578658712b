"""A boto3 client of a fake AWS service on 127.0.0.1 (tests/support/fake_*.py): throwaway keys, one attempt."""

from __future__ import annotations

from typing import Any

import boto3
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
