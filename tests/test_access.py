"""Zero-trust access (issue 12): `routes[].access` and `apps[].calls`, the per-route auth policies (IAMAuthPolicy),
the service network's policy, and the objects of an app that calls routes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from constructs.workload.apps import SIGV4_PROXY_IMAGE, SIGV4_PROXY_PORT, app_objects, caller_service_account
from constructs.workload.routes import iam_auth_policy

from config import ConfigError, parse_context
from config.access_policy import (
    INVOKE,
    MAX_AUTH_POLICY_BYTES,
    Identities,
    network_roles,
    network_statements,
    policy_text,
    route_policy,
)
from config.model import AppConfig
from tests.conftest import TODAY, Synthesized
from tests.service_constraints import parse_json

WHO = Identities(
    account="111111111111",
    smoke_role_arn="arn:aws:iam::111111111111:role/smoke",
    client_host_role_arn="arn:aws:iam::111111111111:role/host",
    vpc_ids=("vpc-0c0c0c0c0c0c0c0c0", "vpc-0d0d0d0d0d0d0d0d0"),
    app_role_arns={"demo-app-b": "arn:aws:iam::111111111111:role/app-b"},
)
CONSUMERS = [
    {"name": "team-b", "account": "222222222222", "vpcCidr": "10.3.0.0/16"},
    {"name": "team-c", "account": "333333333333", "vpcCidr": "10.4.0.0/16"},
]
OPS = "arn:aws:iam::444455556666:role/ops"


def _apps(**extra: Any) -> list[dict[str, Any]]:
    """demo-app-a and demo-app-b (with `extra`) in default, and one backend app for each other namespace."""
    demo = {"image": "rlawnsdud/demo:latest", "containerPort": 3000, "healthPath": "/health"}
    return [
        {"name": "demo-app-a", **demo},
        {"name": "demo-app-b", **demo, **extra},
        *({"name": f"{ns}-app", "namespace": ns, **demo} for ns in ("other", "team")),
    ]


def _route(access: Any = None, name: str = "demo-http-route", namespace: str = "default") -> dict[str, Any]:
    route: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "hostname": f"{name}.{namespace}.example.com",
        "rules": [
            {"pathPrefix": "/v1", "backends": [{"app": "demo-app-a" if namespace == "default" else f"{namespace}-app"}]}
        ],
    }
    if access is not None:
        route["access"] = access
    return route


def parse(**overrides: Any) -> AppConfig:
    overrides.setdefault("apps", _apps())
    return parse_context({k: json.dumps(v) if not isinstance(v, str) else v for k, v in overrides.items()}, today=TODAY)


def _statements(cfg: AppConfig, index: int = 0) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in route_policy(cfg, cfg.routes[index], WHO)["Statement"]}


# ---------------------------------------------------------------------------------------------------- config

REFUSED = [
    (
        {"routes": [_route({"allow": [{"clientHost": True}]})], "serviceNetworkAuthType": "NONE"},
        "routes[0].access: needs serviceNetworkAuthType AWS_IAM: with NONE, Lattice checks no caller",
    ),
    ({"routes": [_route({"allow": []})]}, "routes[0].access.allow: is empty and unsigned is false"),
    ({"routes": [_route({})]}, "routes[0].access.allow: is empty and unsigned is false"),
    ({"routes": [_route({"allow": [{"app": "ghost"}]})]}, "routes[0].access.allow[0].app: 'ghost' is not one of"),
    (
        {"routes": [_route({"allow": [{"role": "arn:aws:iam::123:role/x"}]})]},
        "routes[0].access.allow[0].role: 'arn:aws:iam::123:role/x' is not an IAM role ARN",
    ),
    (
        {"routes": [_route({"allow": [{"role": "arn:aws:iam::123456789012:user/bob"}]})]},
        "routes[0].access.allow[0].role: 'arn:aws:iam::123456789012:user/bob' is not an IAM role ARN",
    ),
    ({"routes": [_route({"allow": [{"account": "12"}]})]}, "routes[0].access.allow[0].account: '12' is not an AWS"),
    # Any account but a consumer's: another one could never pass the network's policy; this one's whole would
    # admit the smoke test's second identity (the account isn't known here, and neither one is a consumer).
    (
        {"routes": [_route({"allow": [{"account": "123456789012"}]})]},
        "routes[0].access.allow[0].account: 123456789012 is not a consumer account (none configured)",
    ),
    (
        {"routes": [_route({"allow": [{"account": "444444444444"}]})], "consumers": CONSUMERS},
        "routes[0].access.allow[0].account: 444444444444 is not a consumer account (222222222222, 333333333333)",
    ),
    ({"routes": [_route({"allow": [{"clientHost": False}]})]}, "routes[0].access.allow[0].clientHost: must be true"),
    (
        {"routes": [_route({"allow": [{"clientHost": True, "account": "123456789012"}]})]},
        "routes[0].access.allow[0]: give exactly one of role, app, clientHost or account",
    ),
    ({"routes": [_route({"allow": [{}]})]}, "routes[0].access.allow[0]: give exactly one of"),
    ({"routes": [_route({"allow": [{"user": "x"}]})]}, "routes[0].access.allow[0].user: unknown field"),
    ({"routes": [_route({"unsigned": "yes"})]}, 'routes[0].access.unsigned: expected bool, got "yes"'),
    ({"apps": _apps(calls=["nope"]), "routes": [_route()]}, "apps[1].calls[0]: 'nope' is not a configured route"),
    (
        {"apps": _apps(calls=["r"]), "routes": [_route(name="r"), _route(name="r", namespace="other")]},
        "apps[1].calls[0]: 'r' names more than one route; write namespace/name",
    ),
    (
        {"apps": _apps(calls=["demo-http-route", "demo-http-route"]), "routes": [_route()]},
        "apps[1].calls: duplicate name 'demo-http-route'",
    ),
    (
        {"apps": _apps(calls=["demo-http-route"]), "routes": [_route()], "serviceNetworkAuthType": "NONE"},
        "apps[1].calls: needs serviceNetworkAuthType AWS_IAM",
    ),
    (
        {"routes": [_route({"allow": [{"role": f"arn:aws:iam::123456789012:role/r{i:03}"} for i in range(7)]})]},
        "routes[0].access.allow: 7 entries; at most 6",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "message"), REFUSED, ids=[m.split(":")[0] + f"-{i}" for i, (_, m) in enumerate(REFUSED)]
)
def test_bad_access_is_refused_naming_the_key(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(**overrides)
    assert caught.value.lines[0].startswith(message), caught.value.lines
    assert all("\n" not in line for line in caught.value.lines)


def test_an_oversized_policy_names_lattices_limit() -> None:
    """Past access.allow's maximum (tests/support/past_maxima.py): the size check itself."""
    from tests.support.past_maxima import policy_problems, with_allow

    roles = [{"role": f"arn:aws:iam::123456789012:role/r{i:03}"} for i in range(300)]
    (line, *_) = policy_problems(with_allow(parse(routes=[_route()]), 0, roles))
    assert line.startswith("routes[0].access: its auth policy would be ")
    assert f"Lattice takes at most {MAX_AUTH_POLICY_BYTES}" in line
    # ... and what fits is accepted: 100 named roles stay under 10 KB even with the longest generated ARNs.
    assert policy_problems(with_allow(parse(routes=[_route()]), 0, roles[:100])) == []


def test_calls_by_namespace_and_name_resolve_a_shared_name() -> None:
    cfg = parse(apps=_apps(calls=["other/r"]), routes=[_route(name="r"), _route(name="r", namespace="other")])
    assert [a.name for a in cfg.callers(cfg.routes[1])] == ["demo-app-b"]
    assert cfg.callers(cfg.routes[0]) == ()


# ------------------------------------------------------------------------------------------- route policies


def test_default_route_admits_the_smoke_test_and_the_client_host_only() -> None:
    cfg = parse()
    assert route_policy(cfg, cfg.routes[0], WHO) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Roles",
                "Effect": "Allow",
                "Principal": {"AWS": [WHO.smoke_role_arn, WHO.client_host_role_arn]},
                "Action": INVOKE,
                "Resource": "*",
            }
        ],
    }
    assert not cfg.admits_unsigned
    assert cfg.calling_apps == ()


def test_role_callers_are_named_principals_and_the_smoke_test_always_stays() -> None:
    cfg = parse(routes=[_route({"allow": [{"role": OPS}, {"role": OPS}]})])
    assert _statements(cfg) == {
        "Roles": {
            "Sid": "Roles",
            "Effect": "Allow",
            "Principal": {"AWS": [WHO.smoke_role_arn, OPS]},  # no client host unless named; OPS once
            "Action": INVOKE,
            "Resource": "*",
        }
    }


def test_app_callers_are_their_own_role_with_the_three_pod_identity_session_tags() -> None:
    for cfg in (
        parse(apps=_apps(namespace="team"), routes=[_route({"allow": [{"app": "demo-app-b"}]})]),
        parse(apps=_apps(namespace="team", calls=["demo-http-route"]), routes=[_route()]),
    ):
        assert _statements(cfg)["AppDemoAppB"] == {
            "Sid": "AppDemoAppB",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:role/app-b"},  # its own role, never tags alone
            "Action": INVOKE,
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "aws:PrincipalTag/eks-cluster-name": "eks-demo",
                    "aws:PrincipalTag/kubernetes-namespace": "team",
                    "aws:PrincipalTag/kubernetes-service-account": "demo-app-b",
                }
            },
        }
        assert [a.name for a in cfg.calling_apps] == ["demo-app-b"]


def test_account_callers_match_the_principal_account_exactly() -> None:
    cfg = parse(
        routes=[_route({"allow": [{"account": "333333333333"}, {"account": "222222222222"}]})], consumers=CONSUMERS
    )
    assert _statements(cfg)["Accounts"] == {
        "Sid": "Accounts",
        "Effect": "Allow",
        "Principal": "*",
        "Action": INVOKE,
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": ["222222222222", "333333333333"]}},
    }


def test_unsigned_is_an_explicit_opt_in_per_route_from_this_apps_own_vpcs_only() -> None:
    cfg = parse(routes=[_route({"unsigned": True}), _route(name="closed")])
    assert _statements(cfg, 0)["Unsigned"] == {
        "Sid": "Unsigned",
        "Effect": "Allow",
        "Principal": "*",
        "Action": INVOKE,
        "Resource": "*",
        "Condition": {"StringEquals": {"vpc-lattice-svcs:SourceVpc": list(WHO.vpc_ids)}},
    }
    # Never an unconditioned statement: without the VPC ids there is no policy at all.
    with pytest.raises(ValueError, match="VPC ids"):
        route_policy(cfg, cfg.routes[0], Identities(account="1", smoke_role_arn="s", client_host_role_arn="h"))
    assert "Unsigned" not in _statements(cfg, 1)
    assert cfg.admits_unsigned


def test_policies_are_generated_per_route() -> None:
    cfg = parse(routes=[_route({"allow": [{"role": OPS}]}), _route(name="other")])
    first, second = (route_policy(cfg, r, WHO) for r in cfg.routes)
    assert OPS in json.dumps(first) and OPS not in json.dumps(second)
    assert WHO.client_host_role_arn in json.dumps(second) and WHO.client_host_role_arn not in json.dumps(first)


# ------------------------------------------------------------------------------------------ network policy


def test_network_policy_denies_unsigned_callers_by_default() -> None:
    (statement,) = network_statements(
        account="111111111111", vpc_ids=["vpc-1"], unsigned=False, consumer_statement=None
    )
    # Unsigned requests have no principal account, so this never matches them.
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "111111111111"}}
    assert statement["Principal"] == "*"


def test_network_policy_admits_unsigned_callers_from_the_vpcs_when_a_route_opts_in() -> None:
    consumers = {"Sid": "ConsumerAccounts"}
    statements = network_statements(
        account="1", vpc_ids=["vpc-1", "vpc-2"], unsigned=True, consumer_statement=consumers
    )
    assert [s["Sid"] for s in statements] == ["ThisAccount", "ConsumerAccounts", "UnsignedFromVpcs"]
    assert statements[-1]["Condition"] == {"StringEquals": {"vpc-lattice-svcs:SourceVpc": ["vpc-1", "vpc-2"]}}


def test_auth_type_none_emits_no_auth_policy_of_either_kind(variant: Synthesized) -> None:
    """The variant runs auth NONE: no policy at all, and no IAMAuthPolicy (the services stay NONE too)."""
    for template in variant.templates.values():
        assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::VpcLattice::AuthPolicy"]
        assert "IAMAuthPolicy" not in json.dumps(template)


# ------------------------------------------------------------------------------------------- IAMAuthPolicy


def _auth_policies(synth: Synthesized) -> list[dict[str, Any]]:
    found = []
    for resource in synth.templates["EksLatticeGateway-Gateway"]["Resources"].values():
        if resource["Type"] == "Custom::AWSCDK-EKS-KubernetesResource":
            found += [o for o in parse_json(resource["Properties"]["Manifest"]) or [] if o["kind"] == "IAMAuthPolicy"]
    return found


def test_the_default_synth_emits_one_iam_auth_policy_per_route_never_on_the_gateway(synth: Synthesized) -> None:
    policies = _auth_policies(synth)
    assert len(policies) == len(synth.config.routes) == 1
    (policy,) = policies
    assert policy["spec"]["targetRef"] == {
        "group": "gateway.networking.k8s.io",
        "kind": "HTTPRoute",
        "name": "demo-http-route-06a7ea",
    }
    document = json.loads(policy["spec"]["policy"].replace("\ue000", "TOKEN"))
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"AWS": ["TOKEN", "TOKEN"]}  # the smoke test's and the client host's roles
    assert "Gateway" not in {p["spec"]["targetRef"]["kind"] for p in policies}


def test_the_route_policy_names_the_smoke_role_and_the_client_host_role(synth: Synthesized) -> None:
    gateway = synth.templates["EksLatticeGateway-Gateway"]
    (manifest,) = [
        r["Properties"]["Manifest"]
        for r in gateway["Resources"].values()
        if r["Type"] == "Custom::AWSCDK-EKS-KubernetesResource" and "IAMAuthPolicy" in json.dumps(r)
    ]
    text = json.dumps(manifest)
    smoke_role = next(
        lid for lid, r in gateway["Resources"].items() if r["Type"] == "AWS::IAM::Role" and "SmokeTestFunction" in lid
    )
    assert json.dumps({"Fn::GetAtt": [smoke_role, "Arn"]}) in text
    assert "ClientHostRole" in text  # the Platform stack's output, read through a weak reference


def test_iam_auth_policy_object_is_the_routes() -> None:
    cfg = parse(routes=[_route(namespace="team")])
    obj = iam_auth_policy(cfg, cfg.routes[0], policy_text(route_policy(cfg, cfg.routes[0], WHO)))
    assert obj["metadata"] == {"name": obj["spec"]["targetRef"]["name"], "namespace": "team"}
    assert json.loads(obj["spec"]["policy"]) == route_policy(cfg, cfg.routes[0], WHO)


# ------------------------------------------------------------------------------------------ in-cluster callers


def test_a_calling_app_gets_its_service_account_and_a_pinned_signing_sidecar() -> None:
    cfg = parse(apps=_apps(calls=["demo-http-route"]), routes=[_route()])
    caller = cfg.app("demo-app-b")
    objects = [caller_service_account(caller), *app_objects(caller, signing_region="ap-northeast-2")]
    assert [o["kind"] for o in objects] == ["ServiceAccount", "Deployment", "Service", "TargetGroupPolicy"]
    assert objects[0]["metadata"] == {"name": "demo-app-b", "namespace": "default"}
    pod = objects[1]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "demo-app-b"
    (sidecar,) = pod["initContainers"]
    assert sidecar["restartPolicy"] == "Always"  # a native sidecar: up before the app, down after it
    assert sidecar["image"] == SIGV4_PROXY_IMAGE
    assert not SIGV4_PROXY_IMAGE.endswith(":latest") and SIGV4_PROXY_IMAGE.rsplit(":", 1)[1][0].isdigit()
    assert sidecar["args"] == [
        "--name", "vpc-lattice-svcs", "--region", "ap-northeast-2", "--unsigned-payload",
        "--upstream-url-scheme", "http", "--port", f"127.0.0.1:{SIGV4_PROXY_PORT}",
    ]  # fmt: skip
    # Loopback only, no declared port, no probe (tests/test_pod_containers.py holds the class tests).
    assert "ports" not in sidecar and not {"readinessProbe", "livenessProbe", "startupProbe"} & set(sidecar)
    assert sidecar["securityContext"]["allowPrivilegeEscalation"] is False
    assert sidecar["securityContext"]["readOnlyRootFilesystem"] is True
    # An app that calls nothing keeps the default ServiceAccount and no sidecar.
    plain = app_objects(cfg.app("demo-app-a"))
    assert [o["kind"] for o in plain] == ["Deployment", "Service", "TargetGroupPolicy"]
    assert "initContainers" not in plain[0]["spec"]["template"]["spec"]


def test_a_calling_apps_role_is_bound_by_pod_identity_and_may_only_invoke_lattice() -> None:
    import aws_cdk as cdk
    from aws_cdk import assertions
    from aws_cdk import aws_eks_v2 as eks
    from constructs.access.app_caller import AppCaller

    cfg = parse(apps=_apps(namespace="team", calls=["demo-http-route"]), routes=[_route()])
    stack = cdk.Stack(cdk.App(), "Callers")
    cluster = eks.Cluster.from_cluster_attributes(stack, "Cluster", cluster_name="eks-demo")
    AppCaller(stack, "Caller", cluster=cluster, app=cfg.app("demo-app-b"))
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::EKS::PodIdentityAssociation",
        {"ClusterName": "eks-demo", "Namespace": "team", "ServiceAccount": "demo-app-b"},
    )
    (role,) = template.find_resources("AWS::IAM::Role").values()
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]  # Pod Identity tags each session
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == INVOKE
    assert ":service/*" in json.dumps(statement["Resource"])


# ------------------------------------------------------------------- what the network admits (issue 20 item 8)


def test_the_network_admits_by_arn_every_named_role_outside_the_consumer_accounts() -> None:
    """A named role of another account would otherwise pass its route's policy and never the network's: the
    network names it explicitly. A consumer account's role is admitted by the consumer statement already."""
    consumer_role = "arn:aws:iam::222222222222:role/team-b"
    here = "arn:aws:iam::111111111111:role/reporting"
    cfg = parse(
        routes=[_route({"allow": [{"role": OPS}, {"role": consumer_role}]}), _route({"allow": [{"role": here}]}, "r2")],
        consumers=CONSUMERS,
    )
    assert network_roles(cfg) == [here, OPS]
    statements = network_statements(
        account="111111111111", vpc_ids=["vpc-1"], unsigned=False, consumer_statement=None, roles=network_roles(cfg)
    )
    assert statements[-1] == {
        "Sid": "NamedRoles",
        "Effect": "Allow",
        "Principal": {"AWS": [here, OPS]},
        "Action": INVOKE,
        "Resource": "*",
    }
    assert network_roles(parse()) == []  # the default names no role: no statement


def test_the_network_policy_with_every_named_role_must_fit_lattices_10_kb() -> None:
    # 6 roles of 500-character paths and names per route (access.allow's maximum) fit each route's policy; the
    # network's holds all of them (5 routes x 6) and not.
    routes = [
        _route({"allow": [{"role": f"arn:aws:iam::444455556666:role/{n}{i:03}" + "x" * 500} for i in range(6)]}, n)
        for n in ("ra", "rb", "rc", "rd", "re")
    ]
    with pytest.raises(ConfigError) as caught:
        parse(routes=routes)
    assert caught.value.lines[0].startswith("routes: the service network's auth policy would be ")
    assert "Lattice takes at most 10000" in caught.value.lines[0]
    parse(routes=routes[:1])  # one route's roles fit both


def test_an_app_statement_without_the_apps_role_is_never_written() -> None:
    cfg = parse(apps=_apps(calls=["demo-http-route"]), routes=[_route()])
    no_roles = Identities(account="1", smoke_role_arn="s", client_host_role_arn="h", vpc_ids=("vpc-1",))
    with pytest.raises(ValueError, match="no role ARN for app 'demo-app-b'"):
        route_policy(cfg, cfg.routes[0], no_roles)
