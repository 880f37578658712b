"""config/access_policy.py as plain data: each route policy statement by statement, the service network's
statements, the compact policy text, and Lattice's 10 KB limit from both sides (the largest policy accepted,
one byte more refused)."""

from __future__ import annotations

import json
from typing import Any

from config import parse_context
from config.access_policy import (
    MAX_AUTH_POLICY_BYTES,
    PLACEHOLDER_ROLE_ARN,
    Identities,
    app_condition,
    network_statements,
    oversized_policy,
    placeholder_identities,
    policy_text,
    route_policy,
    service_account,
)
from config.model import AppConfig
from tests.conftest import TODAY
from tests.support.past_maxima import policy_problems, with_allow

SMOKE, HOST = "arn:aws:iam::111111111111:role/smoke", "arn:aws:iam::111111111111:role/host"
VPCS = ("vpc-0c0c0c0c0c0c0c0c0", "vpc-0d0d0d0d0d0d0d0d0")
APP_ROLES = {"my-app-2": "arn:aws:iam::111111111111:role/my-app-2", "caller": "arn:aws:iam::111111111111:role/caller"}
WHO = Identities(account="111111111111", smoke_role_arn=SMOKE, client_host_role_arn=HOST, vpc_ids=VPCS,
                 app_role_arns=APP_ROLES)  # fmt: skip
CONSUMERS = [
    {"name": "team-b", "account": "222222222222", "vpcCidr": "10.3.0.0/16"},
    {"name": "team-z", "account": "999999999999", "vpcCidr": "10.4.0.0/16"},
]
DEMO = {"image": "nginx:1.27", "containerPort": 80, "healthPath": "/"}
OPS = "arn:aws:iam::444455556666:role/ops"


def config(access: Any = None, apps: list[dict[str, Any]] | None = None, **raw: Any) -> AppConfig:
    route: dict[str, Any] = {
        "name": "r",
        "hostname": "api.example.com",
        "rules": [{"pathPrefix": "/", "backends": [{"app": "web"}]}],
    }
    if access is not None:
        route["access"] = access
    apps = apps or [{"name": "web", **DEMO}]
    return parse_context({"apps": apps, "routes": [route], **raw}, today=TODAY)


def allow(principal: Any, sid: str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": "vpc-lattice-svcs:Invoke"}
    statement["Resource"] = "*"
    return {**statement, "Condition": condition} if condition else statement


def test_default_route_policy_admits_the_smoke_test_and_the_client_host() -> None:
    cfg = config()
    assert route_policy(cfg, cfg.routes[0], WHO) == {
        "Version": "2012-10-17",
        "Statement": [allow({"AWS": [SMOKE, HOST]}, "Roles")],
    }


def test_route_policy_names_each_kind_of_caller_once_in_order() -> None:
    apps = [
        {"name": "web", **DEMO},
        {"name": "my-app-2", **DEMO, "namespace": "default"},
        {"name": "caller", **DEMO, "calls": ["r"]},
    ]
    callers: list[dict[str, Any]] = [
        {"role": OPS},
        {"account": "999999999999"},
        {"app": "my-app-2"},
        {"role": OPS},
        {"role": SMOKE},
        {"account": "222222222222"},
        {"account": "999999999999"},
    ]
    # Seven entries, repeats included: past access.allow's maximum of six (tests/support/past_maxima.py).
    base = config({"allow": [{"app": "my-app-2"}]}, apps, clusterName="prod", consumers=CONSUMERS)
    cfg = with_allow(base, 0, callers, unsigned=True)
    tags = {"aws:PrincipalTag/eks-cluster-name": "prod"}
    assert route_policy(cfg, cfg.routes[0], WHO)["Statement"] == [
        allow({"AWS": [SMOKE, OPS]}, "Roles"),  # no client host: not named
        allow(
            {"AWS": APP_ROLES["my-app-2"]},
            "AppMyApp2",
            {
                "StringEquals": {
                    **tags,
                    "aws:PrincipalTag/kubernetes-namespace": "default",
                    "aws:PrincipalTag/kubernetes-service-account": "my-app-2",
                }
            },
        ),
        allow(
            {"AWS": APP_ROLES["caller"]},
            "AppCaller",
            {
                "StringEquals": {
                    **tags,
                    "aws:PrincipalTag/kubernetes-namespace": "default",
                    "aws:PrincipalTag/kubernetes-service-account": "caller",
                }
            },
        ),
        allow("*", "Accounts", {"StringEquals": {"aws:PrincipalAccount": ["222222222222", "999999999999"]}}),
        allow("*", "Unsigned", {"StringEquals": {"vpc-lattice-svcs:SourceVpc": list(VPCS)}}),
    ]


def test_an_app_signs_as_its_service_account_in_its_namespace() -> None:
    cfg = parse_context(
        {
            "apps": [{"name": "web", **DEMO, "namespace": "team"}],
            "routes": [
                {
                    "name": "r",
                    "namespace": "team",
                    "hostname": "api.example.com",
                    "rules": [{"pathPrefix": "/", "backends": [{"app": "web"}]}],
                }
            ],
        },
        today=TODAY,
    )
    (app,) = cfg.apps
    assert service_account(app) == "web"
    assert app_condition(cfg, app) == {
        "StringEquals": {
            "aws:PrincipalTag/eks-cluster-name": "eks-demo",
            "aws:PrincipalTag/kubernetes-namespace": "team",
            "aws:PrincipalTag/kubernetes-service-account": "web",
        }
    }


def test_network_statements_admit_this_account_the_consumers_and_unsigned_callers_only_when_asked() -> None:
    this = allow("*", "ThisAccount", {"StringEquals": {"aws:PrincipalAccount": "111111111111"}})
    consumer = {"Sid": "Consumers"}
    assert network_statements(account="111111111111", vpc_ids=["vpc-1"], unsigned=False, consumer_statement=None) == [
        this
    ]
    assert network_statements(
        account="111111111111", vpc_ids=["vpc-1", "vpc-2"], unsigned=True, consumer_statement=consumer
    ) == [
        this,
        consumer,
        allow("*", "UnsignedFromVpcs", {"StringEquals": {"vpc-lattice-svcs:SourceVpc": ["vpc-1", "vpc-2"]}}),
    ]
    assert network_statements(account="1", vpc_ids=[], unsigned=False, consumer_statement={}) == [
        allow("*", "ThisAccount", {"StringEquals": {"aws:PrincipalAccount": "1"}})
    ]


def test_policy_text_is_compact_json() -> None:
    assert policy_text({"a": [1, {"b": "c d"}]}) == '{"a":[1,{"b":"c d"}]}'


def _admitting(callers: list[dict[str, Any]]) -> AppConfig:
    """The one-route config admitting `callers`, past access.allow's maximum (tests/support/past_maxima.py)."""
    return with_allow(config({"allow": [{"clientHost": True}]}), 0, callers)


def _roles_policy_size(cfg: AppConfig) -> int:
    return len(policy_text(route_policy(cfg, cfg.routes[0], placeholder_identities(cfg))).encode())


def _roles(count: int, last_length: int) -> list[dict[str, Any]]:
    """The client host, an app (its statement names its role) and `count` roles, the last one's name
    `last_length` long: every part the placeholders stand in for counts towards the size."""
    prefix = "arn:aws:iam::123456789012:role/"
    roles = [{"role": f"{prefix}r{i:03}"} for i in range(count - 1)]
    return [{"clientHost": True}, {"app": "web"}, *roles, {"role": prefix + "z" * last_length}]


def test_the_largest_auth_policy_is_accepted_and_one_byte_more_refused() -> None:
    # Fill the policy with named roles, then size the last role's name so the policy is exactly 10 KB.
    per_role = len('"arn:aws:iam::123456789012:role/r000",')
    count = 200 + (MAX_AUTH_POLICY_BYTES - _roles_policy_size(_admitting(_roles(200, 1))) - 100) // per_role
    missing = MAX_AUTH_POLICY_BYTES - _roles_policy_size(_admitting(_roles(count, 1)))
    assert 0 < missing < 512  # the last name can absorb it (IAM paths and names: up to 512 here)
    largest = _admitting(_roles(count, 1 + missing))
    assert _roles_policy_size(largest) == MAX_AUTH_POLICY_BYTES
    assert oversized_policy(largest, largest.routes[0]) is None and policy_problems(largest) == []
    assert policy_problems(_admitting(_roles(count, 2 + missing))) == [
        "routes[0].access: its auth policy would be 10001 bytes; Lattice takes at most 10000 (fewer callers)",
    ]


def test_the_size_is_measured_with_the_longest_generated_role_arns() -> None:
    # The smoke and client-host roles are CloudFormation tokens at synth: the check assumes the longest ARN.
    cfg = config({"allow": [{"clientHost": True}]})
    policy = json.loads(policy_text(route_policy(cfg, cfg.routes[0], WHO)))
    assert policy["Statement"][0]["Principal"]["AWS"] == [SMOKE, HOST]
    assert _roles_policy_size(cfg) == len(
        policy_text(
            {
                "Version": "2012-10-17",
                "Statement": [allow({"AWS": [PLACEHOLDER_ROLE_ARN, PLACEHOLDER_ROLE_ARN]}, "Roles")],
            }
        )
    )
    assert len(PLACEHOLDER_ROLE_ARN) == len("arn:aws-iso-b:iam::123456789012:role/") + 64


def test_the_auth_policy_bound_is_the_narrowest_reading_of_every_source() -> None:
    """Lattice's quota page says "10 Kilobytes" (10,000 or 10,240 bytes: no source settles which), botocore's
    AuthPolicyString allows 102,400 and the resource policy's PolicyString 10,000. The bound must pass all."""
    from tests.service_constraints import _botocore_shapes

    shapes = _botocore_shapes("vpc-lattice")
    readings = {"10 KB as 10^3": 10 * 1000, "10 KB as 2^10": 10 * 1024}
    readings |= {f"botocore {s}": int(shapes[s]["max"]) for s in ("AuthPolicyString", "PolicyString")}
    assert min(readings.values()) == MAX_AUTH_POLICY_BYTES, readings
