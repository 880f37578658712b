"""Snapshots of every synthesized template: review infrastructure changes as diffs.

Volatile values (asset hashes, CDK's version metadata) are normalized, so a snapshot changes only when the
infrastructure does. Update on purpose with `make snapshot-update` and review the diff like code.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import Synthesized

_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def normalize(template: dict[str, Any]) -> dict[str, Any]:
    text = _HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    result: dict[str, Any] = json.loads(text)
    result.get("Resources", {}).pop("CDKMetadata", None)  # version analytics, not infrastructure
    result.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    return result


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_normalize_hides_asset_hashes_only() -> None:
    template = {"Resources": {"F": {"Properties": {"S3Key": "a" * 64 + ".zip", "Name": "keep"}}}}
    assert normalize(template) == {"Resources": {"F": {"Properties": {"S3Key": "<asset-hash>.zip", "Name": "keep"}}}}


@pytest.mark.parametrize("stack_name", ["EksLatticeGateway-Platform", "EksLatticeGateway-Gateway"])
def test_template_snapshot(synth: Synthesized, snapshot_json: SnapshotAssertion, stack_name: str) -> None:
    assert normalize(synth.templates[stack_name]) == snapshot_json
