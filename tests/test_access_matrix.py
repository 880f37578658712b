"""Who reaches which route (issue 20): both auth policies, the service network's and the route's, evaluated with
the project's IAM evaluator (tests/support/iam_policy.py) for every kind of caller, and the result compared with
the access table of docs/access-control.md, which must equal it cell for cell.

Lattice admits a request only when the network's policy and the route's both allow it (VPC Lattice User Guide,
"How authorization works", https://docs.aws.amazon.com/vpc-lattice/latest/ug/auth-policies.html, read
2026-12-05); a caller's own identity policy is the third half, which every role this app creates has.
Each caller is the request context Lattice builds: the signing role (none when unsigned), its account and session
tags, and the VPC the request comes from (`vpc-lattice-svcs:SourceVpc`, present for signed and unsigned requests).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from constructs.sharing.network_share import consumer_auth_statement

from config import parse_context
from config.access_policy import (
    INVOKE,
    POD_IDENTITY_TAGS,
    Identities,
    network_roles,
    network_statements,
    route_policy,
    service_account,
)
from config.model import AppConfig
from tests.conftest import TODAY
from tests.support import docs
from tests.support.iam_policy import Decision, Request, evaluate_resource_policy, resolve, token_key

PAGE = docs.page("access-control.md")
ACCOUNT, CONSUMER, FOREIGN = "111111111111", "222222222222", "999999999999"
CLUSTER_VPC, CLIENT_VPC, CONSUMER_VPC = "vpc-0c0c0c0c0c0c0c0c0", "vpc-0d0d0d0d0d0d0d0d0", "vpc-0e0e0e0e0e0e0e0e0"


def role(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


SMOKE, SECOND, HOST = role(ACCOUNT, "smoke"), role(ACCOUNT, "smoke-second"), role(ACCOUNT, "client-host")
OPS, CALLER_ROLE, SPOOF = role(ACCOUNT, "ops"), role(ACCOUNT, "caller-pods"), role(ACCOUNT, "tagged-like-caller")
CONSUMER_ROLE, FOREIGN_ROLE = role(CONSUMER, "team-b-app"), role(FOREIGN, "stranger")

DEMO = {"image": "rlawnsdud/demo:latest", "containerPort": 3000, "healthPath": "/health"}


def _route(name: str, access: dict[str, Any] | None) -> dict[str, Any]:
    route: dict[str, Any] = {
        "name": name,
        "hostname": f"{name}.example.com",
        "rules": [{"pathPrefix": "/", "backends": [{"app": "web"}]}],
    }
    return {**route, "access": access} if access is not None else route


# One route per `access` entry kind (the page's columns), the app with `calls` calling the route "calls".
KINDS: dict[str, dict[str, Any] | None] = {
    "no `access`": None,
    "`clientHost`": {"allow": [{"clientHost": True}]},
    "`role`": {"allow": [{"role": OPS}]},
    "`app`": {"allow": [{"app": "caller"}]},
    "`calls`": None,
    "`account`": {"allow": [{"account": CONSUMER}]},
    "`unsigned`": {"unsigned": True},
}


def every_kind_raw() -> dict[str, str]:
    """The context of a config with one route per `access` entry kind (as `-c` delivers it: JSON text)."""
    names = {kind: re.sub(r"[^a-z]+", "-", kind).strip("-") for kind in KINDS}
    names["no `access`"] = "default"
    routes = [_route(names[kind], access) for kind, access in KINDS.items()]
    apps = [{"name": "web", **DEMO}, {"name": "caller", **DEMO, "calls": [names["`calls`"]]}]
    consumers = [{"name": "team-b", "account": CONSUMER, "vpcCidr": "10.3.0.0/16"}]
    return {"apps": json.dumps(apps), "routes": json.dumps(routes), "consumers": json.dumps(consumers)}


def every_kind_config() -> AppConfig:
    return parse_context(every_kind_raw(), today=TODAY)


@dataclass(frozen=True)
class Caller:
    principal: str | None  # the signing role; None: unsigned
    vpc: str
    tags: dict[str, str] = field(default_factory=dict)

    def request(self, route: str) -> Request:
        context: dict[str, str] = {"vpc-lattice-svcs:SourceVpc": self.vpc}
        if self.principal is not None:
            context["aws:PrincipalAccount"] = self.principal.split(":")[4]
            context["aws:PrincipalArn"] = self.principal
            context.update({f"aws:PrincipalTag/{k}": v for k, v in self.tags.items()})
        return Request(
            INVOKE, f"arn:aws:vpc-lattice:ap-northeast-2:{ACCOUNT}:service/{route}/", context, self.principal
        )


def _pod_tags(cfg: AppConfig, app: str) -> dict[str, str]:
    """The session tags Pod Identity gives the app's pods (a config without the app: what they would be)."""
    found = next((a for a in cfg.apps if a.name == app), None)
    values = (
        (cfg.cluster_name, found.namespace, service_account(found)) if found else (cfg.cluster_name, "default", app)
    )
    return dict(zip(POD_IDENTITY_TAGS, values, strict=True))


def callers(cfg: AppConfig) -> dict[str, Caller]:
    """The page's rows. The smoke functions and the client host run in the client VPC, pods in the cluster VPC."""
    return {
        "smoke test": Caller(SMOKE, CLIENT_VPC),
        "smoke test's second identity": Caller(SECOND, CLIENT_VPC),
        "client host": Caller(HOST, CLIENT_VPC),
        "a role a route names (`role`)": Caller(OPS, CLIENT_VPC),
        "an app with `calls` (its sidecar signs)": Caller(CALLER_ROLE, CLUSTER_VPC, _pod_tags(cfg, "caller")),
        "another role carrying that app's session tags": Caller(SPOOF, CLUSTER_VPC, _pod_tags(cfg, "caller")),
        "an app without `calls` (no sidecar: unsigned)": Caller(None, CLUSTER_VPC),
        "a consumer account's role": Caller(CONSUMER_ROLE, CONSUMER_VPC),
        "a foreign account's role": Caller(FOREIGN_ROLE, CLIENT_VPC),
        "unsigned, cluster VPC": Caller(None, CLUSTER_VPC),
        "unsigned, client VPC": Caller(None, CLIENT_VPC),
        "unsigned, consumer VPC": Caller(None, CONSUMER_VPC),
    }


def identities(cfg: AppConfig) -> Identities:
    apps = {a.name: CALLER_ROLE for a in cfg.calling_apps}
    return Identities(
        account=ACCOUNT,
        smoke_role_arn=SMOKE,
        client_host_role_arn=HOST,
        vpc_ids=(CLUSTER_VPC, CLIENT_VPC),
        app_role_arns=apps,
    )


def network_policy(cfg: AppConfig) -> list[dict[str, Any]]:
    """The statements constructs/lattice/service_network.py puts in the network's AWS::VpcLattice::AuthPolicy for
    `cfg`."""
    return network_statements(
        account=ACCOUNT,
        vpc_ids=[CLUSTER_VPC, CLIENT_VPC],
        unsigned=cfg.admits_unsigned,
        consumer_statement=consumer_auth_statement([c.account for c in cfg.consumers]),
        roles=network_roles(cfg),
    )


def status(cfg: AppConfig, caller: Caller, route_index: int) -> str:
    route = cfg.routes[route_index]
    request = caller.request(f"svc-{route.name}")
    network = evaluate_resource_policy(network_policy(cfg), request)
    own = evaluate_resource_policy(route_policy(cfg, route, identities(cfg))["Statement"], request)
    return "200" if network is own is Decision.ALLOW else "403"


def matrix(cfg: AppConfig) -> dict[str, list[str]]:
    return {name: [status(cfg, c, i) for i in range(len(cfg.routes))] for name, c in callers(cfg).items()}


def render(cfg: AppConfig) -> str:
    """The page's table: one row per caller, one column per `access` entry kind."""
    head = ["caller", *KINDS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([name, *cells]) + " |" for name, cells in matrix(cfg).items()]
    return "\n".join(lines)


def page_table() -> str:
    text = PAGE.read_text()
    found = re.search(r"<!-- access-matrix -->\n(.*?)\n<!-- /access-matrix -->", text, re.DOTALL)
    assert found, f"{PAGE.name} lost its access table markers (<!-- access-matrix --> ... <!-- /access-matrix -->)"
    return found.group(1).strip()


def test_the_pages_access_table_is_the_evaluated_matrix() -> None:
    expected = render(every_kind_config())
    assert page_table() == expected, f"{PAGE.name}'s access table differs; the evaluated one is:\n" + expected


@pytest.mark.parametrize(
    "raw",
    [{}, {"apps": json.dumps([{"name": "web", **DEMO}]), "routes": json.dumps([_route("a", None), _route("b", None)])}],
    ids=["default-config", "two-default-routes"],
)
def test_every_default_route_matches_the_pages_no_access_column(raw: dict[str, Any]) -> None:
    cfg = parse_context(raw, today=TODAY)
    table = page_table().splitlines()[2:]
    column = {row.split(" | ")[0].strip("| "): row.strip("| ").split(" | ")[1] for row in table}
    got = matrix(cfg)
    assert set(column) == set(got)
    for i, route in enumerate(cfg.routes):
        assert route.access is None
        for name, cells in got.items():
            assert cells[i] == column[name], (route.name, name)


def test_the_matrix_says_what_zero_trust_means() -> None:
    """The properties the table shows, stated once more so that a table edited to match a regression fails."""
    cfg = every_kind_config()
    got = matrix(cfg)
    assert set(got["smoke test"]) == {"200"}  # the smoke test reaches every route
    assert got["smoke test's second identity"] == ["403"] * 6 + ["200"]  # only where anyone in our VPCs may
    assert got["another role carrying that app's session tags"] == got["unsigned, cluster VPC"]  # tags alone: nothing
    assert set(got["a foreign account's role"]) - {"200"} == {"403"}
    assert got["a foreign account's role"][-1] == "200"  # from inside our VPCs, like anyone there
    assert set(got["unsigned, consumer VPC"]) == {"403"}  # unsigned: this app's own VPCs only (item 9)
    assert set(got["a consumer account's role"]) == {"403", "200"}  # only the route naming its account


# Condition keys that describe where a request comes from or a whole account, never one identity.
ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/.+")
NOT_IDENTITY_KEYS = {"aws:principalaccount", "aws:principalorgid", "vpc-lattice-svcs:sourcevpc"}


def _identity_class_problems(statements: list[dict[str, Any]]) -> list[str]:
    """Statements that admit a specific identity without naming its principal ARN: a `"*"` principal narrowed by
    anything but an account, an organization or a source VPC (tags, for one, are claimable)."""
    problems = []
    for s in statements:
        keys = {k.lower() for keys in (s.get("Condition") or {}).values() for k in keys}
        if s["Principal"] == "*" and keys - NOT_IDENTITY_KEYS:
            problems.append(f"{s.get('Sid')}: Principal * narrowed by {sorted(keys - NOT_IDENTITY_KEYS)}")
        if s["Principal"] != "*":
            arns = s["Principal"]["AWS"]
            for arn in [arns] if isinstance(arns, str) else arns:
                if not ROLE_ARN.fullmatch(arn):
                    problems.append(f"{s.get('Sid')}: principal {arn} is not a role ARN")
    return problems


def test_every_statement_that_admits_a_specific_identity_names_its_principal_arn() -> None:
    """Issue 20 item 5, as a class: over both policies of the every-kind config."""
    cfg = every_kind_config()
    policies = [network_policy(cfg), *(route_policy(cfg, r, identities(cfg))["Statement"] for r in cfg.routes)]
    assert [p for statements in policies for p in _identity_class_problems(statements)] == []
    # ... and the check is not vacuous: the old tag-only app statement fails it.
    tags_only = {"Sid": "AppOld", "Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/x": "y"}}}
    assert _identity_class_problems([tags_only]) == ["AppOld: Principal * narrowed by ['aws:principaltag/x']"]


# -- the same matrix from the synthesized templates ---------------------------------------------------------------

# What each intrinsic the policies hold stands for (by the logical id or output name it refers to).
TOKENS = (
    (r"SmokeTestSecondIdentityFunctionRole", SECOND),
    (r"SmokeTestFunctionRole", SMOKE),
    (r"ClientHostRole[0-9A-F]{8}Arn", HOST),
    (r"WorkloadCallercallerRole[0-9A-F]{8}", CALLER_ROLE),
    (r"RefClusterNetworkVpc[0-9A-F]{8}|^ClusterNetworkVpc[0-9A-F]{8}$", CLUSTER_VPC),
    (r"RefClientNetworkVpc[0-9A-F]{8}|^ClientNetworkVpc[0-9A-F]{8}$", CLIENT_VPC),
)


def _token_table(template: dict[str, Any]) -> dict[str, str]:
    table = {token_key({"Ref": "AWS::AccountId"}): ACCOUNT}

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if len(node) == 1:
                ((fn, arg),) = node.items()
                name = {"Ref": arg, "Fn::GetAtt": arg[0] if isinstance(arg, list) else arg}.get(fn)
                if fn == "Fn::GetStackOutput":
                    name = arg["OutputName"]
                for pattern, value in TOKENS:
                    if isinstance(name, str) and re.search(pattern, name):
                        table[token_key(node)] = value
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)

    visit(template)
    return table


@pytest.fixture(scope="module")
def synthesized(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The network's policy and each route's (by route name), as the every-kind config synthesizes them."""
    from tests.conftest import cached_synthesis

    overrides: dict[str, object] = dict(every_kind_raw())
    # Once per session, or read from the synthesis cache (its key holds these overrides and the environment).
    synth = cached_synthesis(tmp_path_factory, "access-matrix", overrides, (ACCOUNT, "ap-northeast-2"))
    platform, gateway = (synth.templates[f"EksLatticeGateway-{s}"] for s in ("Platform", "Gateway"))
    (network,) = [r for r in platform["Resources"].values() if r["Type"] == "AWS::VpcLattice::AuthPolicy"]
    network_statements_ = resolve(network["Properties"]["Policy"]["Statement"], _token_table(platform))
    routes: dict[str, list[dict[str, Any]]] = {}
    table = _token_table(gateway)
    for resource in gateway["Resources"].values():
        if resource["Type"] != "Custom::AWSCDK-EKS-KubernetesResource":
            continue
        for obj in json.loads(resolve(resource["Properties"]["Manifest"], table)):
            if obj["kind"] == "IAMAuthPolicy":
                routes[obj["spec"]["targetRef"]["name"]] = json.loads(obj["spec"]["policy"])["Statement"]
    return network_statements_, routes


def test_the_synthesized_policies_give_the_same_matrix(
    synthesized: tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]],
) -> None:
    """What deploys, not only the functions that build it: every token resolved to the identity it names."""
    network, routes = synthesized
    cfg = every_kind_config()
    assert len(routes) == len(cfg.routes)
    expected = matrix(cfg)
    for name, caller in callers(cfg).items():
        for i, route in enumerate(cfg.routes):
            (own,) = [s for target, s in routes.items() if target.startswith(f"{route.name}-")]
            request = caller.request(f"svc-{route.name}")
            decisions = {evaluate_resource_policy(network, request), evaluate_resource_policy(own, request)}
            assert ("200" if decisions == {Decision.ALLOW} else "403") == expected[name][i], (name, route.name)
    for statements in [network, *routes.values()]:
        assert _identity_class_problems(statements) == []
