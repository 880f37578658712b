"""config/schema.json and the configuration tables (docs/configuration.md): generated from the models, never stale,
and the schema agrees with the models on cdk.json and on bad input."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from config import ConfigError, parse_context
from tests.conftest import ROOT, TODAY, cdk_json_context
from tools import config_docs


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "config" / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_what_the_models_generate() -> None:
    assert (ROOT / "config" / "schema.json").read_text() == config_docs.schema_text(), "run `make schema`"


def test_the_pages_tables_are_what_the_models_generate() -> None:
    page = config_docs.PAGE.read_text()
    assert page == config_docs.page_text(page), "run `make schema`"


def test_the_table_lists_every_key_with_its_default() -> None:
    table = config_docs.tables()
    for key, default in cdk_json_context().items():
        if key[0].isalpha() and key != "pipeline":
            text = f"`{default}`" if isinstance(default, str) else f"`{json.dumps(default)}`"
            assert f"| `{key}` | {text if len(text) <= 30 else 'see `cdk.json`'} |" in table, key


def test_cdk_json_validates_against_the_schema(validator: jsonschema.Draft202012Validator) -> None:
    document = json.loads((ROOT / "cdk.json").read_text())
    assert [e.message for e in validator.iter_errors(document)] == []


def _context(**overrides: Any) -> dict[str, Any]:
    return {"context": {**cdk_json_context(), **overrides}}


RULE = {"pathPrefix": "/v1", "backends": [{"app": "demo-app-a"}]}
ROUTE = {"name": "r", "hostname": "api.example.com", "rules": [RULE]}
APP = {"name": "demo-app-a", "image": "nginx:1.27", "containerPort": 80, "healthPath": "/"}

# Bad values that the schema itself describes (types, ranges, patterns, enums, unknown keys, required keys,
# list lengths): an editor flags them while typing, and the models refuse them as well. (Strings for numbers
# and booleans are not here: the schema refuses them in cdk.json, the loader JSON-decodes them from `-c`.)
SCHEMA_LEVEL: list[dict[str, Any]] = [
    {"clustername": "x"},
    {"nodeDesiredSize": 0},
    {"clusterEndpointAccess": "PUBLIC"},
    {"kubernetesVersion": "1.29"},
    {"logRetentionDays": 10},
    {"dnsResyncMinutes": 2},
    {"serviceNetworkName": "sn-demo"},
    {"serviceNetworkName": "a--b"},
    {"privateZoneName": "Example.COM"},
    {"availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]},
    {"availabilityZones": ["us-west-2-lax-1a", "us-west-2a"]},
    {"availabilityZones": ["us-east-1a"]},
    {"clusterAdminRoleArns": ["arn:aws:iam::123:user/bob"]},
    {"apps": []},
    {"apps": [{**APP, "imagePullPolicy": "Never"}]},
    {"apps": [{**APP, "env": {"1X": "y"}}]},
    {"apps": [{**APP, "env": {"PORT": "1"}}]},
    {"apps": [{**APP, "env": {"X": 1}}]},
    {"apps": [{**APP, "healthCheck": {"intervalSeconds": 400}}]},
    {"apps": [{k: v for k, v in APP.items() if k != "healthPath"}]},
    {"routes": [{**ROUTE, "rules": [RULE] * 11}]},
    {"routes": [{**ROUTE, "rules": [{**RULE, "path": "/v1"}]}]},
    # A rule without a path is a route's default now (issue 26); a gRPC method without its service is not.
    {"routes": [{**ROUTE, "protocol": "GRPC", "rules": [{"grpcMethod": "Check", "backends": RULE["backends"]}]}]},
    {"routes": [{**ROUTE, "protocol": "QUIC"}]},
    {"routes": [{**ROUTE, "certificateArn": "arn:aws:acm:us-east-1:123:certificate/x"}]},
    {"routes": [{**ROUTE, "rules": [{**RULE, "method": "FETCH"}]}]},
    {"routes": [{**ROUTE, "rules": [{**RULE, "headers": [{"name": "x", "value": "1", "type": "Regex"}]}]}]},
    {"routes": [{**ROUTE, "rules": [{**RULE, "backends": [{"app": "demo-app-a", "weight": 5000}]}]}]},
]


@pytest.mark.parametrize("overrides", SCHEMA_LEVEL, ids=[next(iter(o)) + str(i) for i, o in enumerate(SCHEMA_LEVEL)])
def test_schema_and_models_both_refuse(validator: jsonschema.Draft202012Validator, overrides: dict[str, Any]) -> None:
    assert list(validator.iter_errors(_context(**overrides))), "the schema accepts it"
    with pytest.raises(ConfigError):
        parse_context(overrides, today=TODAY)


GOOD: list[dict[str, Any]] = [
    {"availabilityZones": ["use1-az1", "use1-az2", "use1-az4"]},
    {"availabilityZones": ["ap-northeast-2a", "ap-northeast-2c"]},
    {"dnsResyncMinutes": 5, "logRetentionDays": 3653, "serviceNetworkName": "abc"},
    {
        "apps": [{**APP, "env": {"A_B": "1"}, "healthCheck": {"protocol": "HTTPS"}, "resources": {"cpuLimit": "1"}}],
        "routes": [{**ROUTE, "rules": [{"path": "/x", "method": "GET", "backends": [{"app": "demo-app-a"}]}]}],
    },
]


@pytest.mark.parametrize("overrides", GOOD)
def test_schema_and_models_both_accept(validator: jsonschema.Draft202012Validator, overrides: dict[str, Any]) -> None:
    assert [e.message for e in validator.iter_errors(_context(**overrides))] == []
    parse_context(overrides, today=TODAY)


def test_schema_accepts_cdk_feature_flags_and_the_pipeline_key(validator: jsonschema.Draft202012Validator) -> None:
    document = _context(**{"@aws-cdk/core:newFlag": True, "aws:cdk:x": 1, "pipeline": {"repository": "o/r"}})
    assert [e.message for e in validator.iter_errors(document)] == []
