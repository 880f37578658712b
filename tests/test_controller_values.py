"""constructs.controller.values: Helm values for aws-gateway-controller-chart v2.1.3."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from aws_cdk import Aws, Fn, Stack
from constructs.controller.values import MANAGED_BY_TAG_KEY, controller_managed_by, controller_values

from config.loader import parse_context
from config.model import AppConfig
from config.versions import CONTROLLER_SERVICE_ACCOUNT

TODAY = dt.date(2026, 11, 28)
REGION, ACCOUNT, VPC = "ap-northeast-2", "123456789012", "vpc-0123456789abcdef0"


def _cfg(**context: Any) -> AppConfig:
    return parse_context(context, today=TODAY)


def _values(cfg: AppConfig | None = None) -> dict[str, Any]:
    return controller_values(cfg or _cfg(), region=REGION, account=ACCOUNT, vpc_id=VPC)


@pytest.fixture(scope="session")
def chart_dir(reference_dir: Path) -> Path:
    return reference_dir / "aws-gateway-controller-v2.1.3"


@pytest.fixture(scope="session")
def chart_defaults(chart_dir: Path) -> dict[str, Any]:
    return yaml.safe_load((chart_dir / "values.yaml").read_text())


@pytest.fixture(scope="session")
def chart_schema(chart_dir: Path) -> dict[str, Any]:
    return json.loads((chart_dir / "values.schema.json").read_text())


def helm_merge(defaults: Any, overrides: Any) -> Any:
    """Helm's coalescing: maps merge key by key, anything else replaces, a null override deletes the key."""
    if not (isinstance(defaults, dict) and isinstance(overrides, dict)):
        return copy.deepcopy(overrides)
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = helm_merge(merged.get(key), value)
    return merged


def _key_paths(values: Any, prefix: str = "") -> list[str]:
    if not isinstance(values, dict) or not values:
        return [prefix]
    return [p for k, v in values.items() for p in _key_paths(v, f"{prefix}.{k}" if prefix else k)]


def test_helm_merge_behaves_like_helm() -> None:
    merged = helm_merge({"a": {"b": 1, "c": 2}, "d": [1], "e": 1}, {"a": {"b": 3}, "d": [2], "e": None})
    assert merged == {"a": {"b": 3, "c": 2}, "d": [2]}


def test_values_validate_against_the_chart_schema(chart_defaults: dict[str, Any], chart_schema: dict[str, Any]) -> None:
    for cfg in (_cfg(), _cfg(controllerLogLevel="debug")):
        merged = helm_merge(chart_defaults, _values(cfg))
        jsonschema.Draft7Validator(chart_schema).validate(merged)


def test_schema_validation_can_fail(chart_defaults: dict[str, Any], chart_schema: dict[str, Any]) -> None:
    merged = helm_merge(chart_defaults, {**_values(), "installScope": "everywhere"})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(chart_schema).validate(merged)


def test_every_key_exists_in_the_chart(chart_defaults: dict[str, Any]) -> None:
    # The schema allows unknown keys, so a typo would be silently ignored by the chart; catch it here.
    known = set(_key_paths(chart_defaults))
    known_prefixes = {p.rsplit(".", 1)[0] for p in known if "." in p} | known
    for path in _key_paths(_values()):
        assert path in known or path in known_prefixes, f"{path} is not a value of the chart"


def test_cluster_identity_is_explicit() -> None:
    # Set explicitly so the controller never falls back to IMDS (fails with IMDSv2 hop limit 1).
    values = _values(_cfg(clusterName="prod-eks"))
    assert values["awsRegion"] == REGION
    assert values["awsAccountId"] == ACCOUNT
    assert values["clusterVpcId"] == VPC
    assert values["clusterName"] == "prod-eks"


def test_cdk_tokens_pass_through_as_strings() -> None:
    stack = Stack()
    values = controller_values(
        _cfg(), region=Aws.REGION, account=Aws.ACCOUNT_ID, vpc_id=Fn.import_value("ClusterVpcId")
    )
    assert all(isinstance(values[k], str) for k in ("awsRegion", "awsAccountId", "clusterVpcId"))
    assert stack.resolve(values["awsRegion"]) == {"Ref": "AWS::Region"}
    assert stack.resolve(values["clusterVpcId"]) == {"Fn::ImportValue": "ClusterVpcId"}
    json.dumps(values)  # plain data all the way down


def test_service_account_logging_and_availability() -> None:
    values = _values(_cfg(controllerLogLevel="debug"))
    assert values["serviceAccount"] == {"create": False, "name": CONTROLLER_SERVICE_ACCOUNT}
    assert values["log"] == {"level": "debug"}
    assert _values()["log"] == {"level": "info"}
    assert values["deployment"]["replicas"] == 2
    assert values["pdb"] == {"enabled": True, "minAvailable": 1}


def test_no_default_service_network_race(chart_defaults: dict[str, Any]) -> None:
    # CloudFormation owns the service network and its VPC associations. A non-empty defaultServiceNetwork
    # makes v2.1.3 create the network and associate the cluster VPC at start-up; override mode needs it.
    merged = helm_merge(chart_defaults, _values())
    assert not merged.get("defaultServiceNetwork")
    assert merged["enableServiceNetworkOverride"] is False


def test_faster_deregistration() -> None:
    # docs/faq.md's advice for 503s during deployments.
    assert _values()["routeMaxConcurrentReconciles"] == 10


def test_managed_by_is_what_the_controller_writes_from_these_values() -> None:
    """The drain waiter deletes only what carries this value: it must be the one the controller run with
    these values writes (v2.1.3 pkg/aws/cloud.go getManagedByTag: account/cluster/vpc)."""
    values = _values(_cfg(clusterName="prod-eks"))
    managed_by = controller_managed_by(account=ACCOUNT, cluster_name="prod-eks", vpc_id=VPC)
    assert managed_by == f"{values['awsAccountId']}/{values['clusterName']}/{values['clusterVpcId']}"
    assert MANAGED_BY_TAG_KEY == "application-networking.k8s.aws/ManagedBy"
