"""constructs.controller.policy: the same permissions as upstream's v2.1.3 recommended inline policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from constructs.controller.policy import controller_policy_document


def _resolved() -> dict[str, Any]:
    return Stack().resolve(controller_policy_document().to_json())


def _substitute_partition(value: Any, partition: str = "aws") -> Any:
    """Evaluate the only intrinsics the document may hold: Fn::Join over literals and Ref AWS::Partition."""
    if isinstance(value, list):
        return [_substitute_partition(v, partition) for v in value]
    if not isinstance(value, dict):
        return value
    if value == {"Ref": "AWS::Partition"}:
        return partition
    if set(value) == {"Fn::Join"}:
        sep, parts = value["Fn::Join"]
        return sep.join(_substitute_partition(p, partition) for p in parts)
    assert not any(k.startswith(("Fn::", "Ref")) for k in value), f"unexpected intrinsic {value}"
    return {k: _substitute_partition(v, partition) for k, v in value.items()}


def _as_set(value: str | list[str]) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)


def _normalize(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Order-free form: string-or-list fields become sets; statements are sorted."""
    statements = []
    for st in doc["Statement"]:
        assert set(st) <= {"Effect", "Action", "Resource", "Condition", "Sid"}, st
        condition = {
            op: {key: sorted(_as_set(v)) for key, v in kv.items()} for op, kv in st.get("Condition", {}).items()
        }
        statements.append(
            (
                st["Effect"],
                sorted(_as_set(st["Action"])),
                sorted(_as_set(st["Resource"])),
                json.dumps(condition, sort_keys=True),
            )
        )
    return sorted(statements)


@pytest.fixture(scope="session")
def reference_policy(reference_dir: Path) -> dict[str, Any]:
    path = reference_dir / "aws-gateway-controller-v2.1.3" / "recommended-inline-policy.json"
    return json.loads(path.read_text())


def test_policy_equals_upstream_recommendation(reference_policy: dict[str, Any]) -> None:
    ours = _substitute_partition(_resolved())
    assert ours["Version"] == reference_policy["Version"] == "2012-10-17"
    assert _normalize(ours) == _normalize(reference_policy)


def test_comparison_notices_a_missing_action(reference_policy: dict[str, Any]) -> None:
    ours = _substitute_partition(_resolved())
    ours["Statement"][0]["Action"] = [a for a in ours["Statement"][0]["Action"] if a != "acm:ListCertificates"]
    assert _normalize(ours) != _normalize(reference_policy)


def test_arns_follow_the_partition() -> None:
    # Partition-aware so the policy also deploys in aws-cn / aws-us-gov.
    ours = _substitute_partition(_resolved(), partition="aws-cn")
    resources = [st["Resource"] for st in ours["Statement"] if st["Resource"] != "*"]
    assert resources
    assert all(r.startswith("arn:aws-cn:iam::*:role/aws-service-role/") for r in resources)


def test_document_is_a_valid_identity_policy() -> None:
    assert controller_policy_document().validate_for_identity_policy() == []
