"""Per-route Lattice auth policies and the service network's, from `routes[].access` and `apps[].calls` (issues 12, 20).

Pure functions of the config and the callers' identities (role ARNs and VPC ids, CloudFormation tokens at synth):
constructs turn the route policies into IAMAuthPolicy objects and the network policy into the CloudFormation-owned
AWS::VpcLattice::AuthPolicy. Both policies must allow a request (SPEC §7).

- Route: the smoke test's role always; the client host's role, named roles, apps (each by its own role ARN and its
  Pod Identity session tags), consumer accounts and unsigned callers from this app's own VPCs as `access` says
  (default: the client host).
- Network: authenticated principals of this account and of the consumer accounts, the roles routes name (by ARN:
  one in another account is admitted explicitly); unsigned callers from this app's own VPCs only when some route
  sets `unsigned: true`.

Every statement that admits a specific identity names it by principal ARN; tags alone never admit anyone (anyone who
can tag a role or pass session tags could claim them). The condition keys are from the VPC Lattice User Guide,
"Condition keys that can be used in auth policies" (https://docs.aws.amazon.com/vpc-lattice/latest/ug/auth-policies.html,
read 2026-12-05): `vpc-lattice-svcs:SourceVpc` "filters access by the VPC the request is made from", present for
signed and anonymous requests alike; a role ARN as `Principal` is that page's example 2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from config.apps import App
from config.limits import LATTICE_AUTH_POLICY
from config.routes import Route
from config.workload import Workload

INVOKE = "vpc-lattice-svcs:Invoke"
SOURCE_VPC = "vpc-lattice-svcs:SourceVpc"
# Session tags EKS Pod Identity sets on every pod's role session (SPEC §8); the three that name the caller.
POD_IDENTITY_TAGS = ("eks-cluster-name", "kubernetes-namespace", "kubernetes-service-account")
# Lattice's auth policy size (config/limits.py LATTICE_AUTH_POLICY, with its source and why 10,000 bytes).
MAX_AUTH_POLICY_BYTES = LATTICE_AUTH_POLICY.limit
# For the size check at validation time, when the real ARNs are tokens: the longest a role ARN this app creates
# can be (role names are at most 64 characters; the longest partition is aws-iso-b).
PLACEHOLDER_ROLE_ARN = "arn:aws-iso-b:iam::123456789012:role/" + "x" * 64
PLACEHOLDER_VPC_ID = "vpc-" + "0" * 17

Policy = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Identities:
    """Who the generated policies name; values may be CloudFormation tokens."""

    account: str
    smoke_role_arn: str
    client_host_role_arn: str
    # This app's own VPCs (the cluster's and the client's): the only ones unsigned callers may come from.
    vpc_ids: tuple[str, ...] = ()
    # The role of each app that calls routes (constructs/access/app_caller.py), by app name.
    app_role_arns: Mapping[str, str] = field(default_factory=dict)

    def app_role(self, app: App) -> str:
        if app.name not in self.app_role_arns:
            raise ValueError(f"no role ARN for app {app.name!r}: its route statements must name its role")
        return self.app_role_arns[app.name]


def service_account(app: App) -> str:
    """The ServiceAccount of an app that calls routes (its Pod Identity association binds the app's role to it)."""
    return app.name


def _statement(sid: str, principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": INVOKE}
    statement["Resource"] = "*"
    if condition:
        statement["Condition"] = condition
    return statement


def _sid(prefix: str, name: str) -> str:
    # Sids take letters and digits only.
    return prefix + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def app_condition(cfg: Workload, app: App) -> dict[str, Any]:
    """An app's pods: sessions of its role (the statement's Principal) that also carry the Pod Identity session tags
    of this cluster, the app's namespace and ServiceAccount (another cluster's association of the same role fails)."""
    tags = (cfg.cluster_name, app.namespace, service_account(app))
    return {
        "StringEquals": {f"aws:PrincipalTag/{key}": value for key, value in zip(POD_IDENTITY_TAGS, tags, strict=True)}
    }


def unsigned_condition(vpc_ids: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Requests from this app's own VPCs only (signed or not)."""
    if not vpc_ids:
        raise ValueError("unsigned callers need the app's VPC ids: an unconditioned statement would admit anyone")
    return {"StringEquals": {SOURCE_VPC: list(vpc_ids)}}


def route_policy(cfg: Workload, route: Route, who: Identities) -> Policy:
    """The route's auth policy (the IAMAuthPolicy's spec.policy, parsed)."""
    access = cfg.access(route)
    roles = [who.smoke_role_arn]
    if any(c.client_host for c in access.allow):
        roles.append(who.client_host_role_arn)
    for caller in access.allow:
        if caller.role is not None and caller.role not in roles:
            roles.append(caller.role)
    statements = [_statement("Roles", {"AWS": roles})]
    statements += [
        _statement(_sid("App", app.name), {"AWS": who.app_role(app)}, app_condition(cfg, app))
        for app in cfg.callers(route)
    ]
    # Consumer accounts only (config.model refuses any other account): every principal there the network admits.
    accounts = sorted({c.account for c in access.allow if c.account is not None})
    if accounts:
        statements.append(_statement("Accounts", "*", {"StringEquals": {"aws:PrincipalAccount": accounts}}))
    if access.unsigned:
        # Anyone in this app's own VPCs, signed or not; never a consumer's VPC (those callers sign, and are
        # admitted where the route names their account).
        statements.append(_statement("Unsigned", "*", unsigned_condition(who.vpc_ids)))
    return {"Version": "2012-10-17", "Statement": statements}


def network_roles(cfg: Workload) -> list[str]:
    """Roles some route names that the network's account statements may not admit: any outside the consumer
    accounts (one in this account is admitted anyway; one in another account only by this explicit statement)."""
    consumers = {c.account for c in cfg.consumers}
    roles = {c.role for r in cfg.routes for c in cfg.access(r).allow if c.role is not None}
    return sorted(r for r in roles if r.split(":")[4] not in consumers)


def network_statements(
    *,
    account: str,
    vpc_ids: list[str],
    unsigned: bool,
    consumer_statement: dict[str, Any] | None,
    roles: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The service network's auth-policy statements: this account's authenticated principals, the consumer
    accounts' (`consumer_statement`), the `roles` routes name (network_roles), and unsigned callers from
    `vpc_ids` only when `unsigned` (a route opted in). Unsigned callers have no principal account, so the
    account statements never match them."""
    statements = [_statement("ThisAccount", "*", {"StringEquals": {"aws:PrincipalAccount": account}})]
    if consumer_statement:
        statements.append(consumer_statement)
    if roles:
        statements.append(_statement("NamedRoles", {"AWS": list(roles)}))
    if unsigned:
        statements.append(_statement("UnsignedFromVpcs", "*", unsigned_condition(vpc_ids)))
    return statements


def policy_text(policy: Policy) -> str:
    return json.dumps(policy, separators=(",", ":"))


def oversized_policy(cfg: Workload, route: Route) -> str | None:
    """Why the route's policy would exceed Lattice's 10 KB, measured with the longest ARNs this app can put in."""
    size = len(policy_text(route_policy(cfg, route, placeholder_identities(cfg))).encode())
    if size <= MAX_AUTH_POLICY_BYTES:
        return None
    return f"its auth policy would be {size} bytes; Lattice takes at most {MAX_AUTH_POLICY_BYTES} (fewer callers)"


def placeholder_identities(cfg: Workload) -> Identities:
    """The longest values the real identities can take (role ARNs, VPC ids: vpc- and 17 hex digits)."""
    return Identities(
        account="123456789012",
        smoke_role_arn=PLACEHOLDER_ROLE_ARN,
        client_host_role_arn=PLACEHOLDER_ROLE_ARN,
        vpc_ids=(PLACEHOLDER_VPC_ID, PLACEHOLDER_VPC_ID),
        app_role_arns={a.name: PLACEHOLDER_ROLE_ARN for a in cfg.apps},
    )


def oversized_network_policy(cfg: Workload) -> str | None:
    """Why the service network's policy would exceed Lattice's 10 KB (the roles all routes name are in it)."""
    condition: dict[str, Any] = {"aws:PrincipalAccount": [c.account for c in cfg.consumers]}
    if cfg.share_with_organization:
        condition["aws:PrincipalOrgID"] = "o-" + "x" * 32  # the longest organization id
    consumer = _statement("ConsumerAccounts", "*", {"StringEquals": condition})
    statements = network_statements(
        account="123456789012",
        vpc_ids=[PLACEHOLDER_VPC_ID, PLACEHOLDER_VPC_ID],
        unsigned=cfg.admits_unsigned,
        consumer_statement=consumer if cfg.consumers else None,
        roles=network_roles(cfg),
    )
    size = len(policy_text({"Version": "2012-10-17", "Statement": statements}).encode())
    if size <= MAX_AUTH_POLICY_BYTES:
        return None
    why = f"the service network's auth policy would be {size} bytes with every role the routes name"
    return f"{why}; Lattice takes at most {MAX_AUTH_POLICY_BYTES} (fewer roles outside the consumer accounts)"
