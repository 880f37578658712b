"""Role ARNs of a real partition, each admin role once (found by make fuzz SEED=2: a repeated ARN made two EKS
access entries with one primary identifier, and `arn:awsnn:` passed the model)."""

from __future__ import annotations

import json
from pathlib import Path

import botocore
import pytest

from config import ConfigError, parse_context
from config.model import PARTITIONS
from tests.conftest import TODAY

ROLE = "arn:aws:iam::794370302519:role/Z"


def test_the_partitions_are_botocores() -> None:
    path = Path(botocore.__file__).parent / "data" / "partitions.json"
    data = json.loads(path.read_text())
    assert set(PARTITIONS) == {p["id"] for p in data["partitions"]}


@pytest.mark.parametrize(
    ("roles", "line"),
    [
        ([ROLE, ROLE], f"clusterAdminRoleArns[1]: {ROLE!r} is listed twice (EKS takes one access entry per principal)"),
        (
            [ROLE.replace("aws", "awsnn", 1)],
            f"clusterAdminRoleArns[0]: {ROLE.replace('aws', 'awsnn', 1)!r} is not an IAM role ARN "
            "(arn:<partition>:iam::<account>:role/<name>)",
        ),
    ],
)
def test_refused_by_key(roles: list[str], line: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_context({"clusterAdminRoleArns": roles}, today=TODAY)
    assert err.value.lines == (line,)


def test_every_partition_is_accepted() -> None:
    roles = [ROLE.replace("aws", p, 1) for p in PARTITIONS]
    assert parse_context({"clusterAdminRoleArns": roles}, today=TODAY).cluster_admin_role_arns == tuple(roles)
