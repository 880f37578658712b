"""Per-route Lattice auth policies and the service network's, from `routes[].access` and `apps[].calls` (issue 12).

Pure functions of the config and the callers' identities (role ARNs, which are CloudFormation tokens at synth):
constructs turn the route policies into IAMAuthPolicy objects and the network policy into the CloudFormation-owned
AWS::VpcLattice::AuthPolicy. Both policies must allow a request (SPEC §7).

- Route: the smoke test's role always; the client host's role, named roles, apps (by their Pod Identity session
  tags), accounts and unsigned callers as `access` says (default: the client host).
- Network: authenticated principals of this account and of the consumer accounts; unsigned callers from the
  associated VPCs only when some route sets `unsigned: true`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from config.model import App, AppConfig, Route

INVOKE = "vpc-lattice-svcs:Invoke"
# Session tags EKS Pod Identity sets on every pod's role session (SPEC §8); the three that name the caller.
POD_IDENTITY_TAGS = ("eks-cluster-name", "kubernetes-namespace", "kubernetes-service-account")
# VPC Lattice User Guide, quotas: auth policy size 10 KB, not adjustable.
MAX_AUTH_POLICY_BYTES = 10 * 1024
# For the size check at validation time, when the real ARNs are tokens: the longest a role ARN this app creates
# can be (role names are at most 64 characters; the longest partition is aws-iso-b).
PLACEHOLDER_ROLE_ARN = "arn:aws-iso-b:iam::123456789012:role/" + "x" * 64

Policy = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Identities:
    """Who the generated policies name; values may be CloudFormation tokens."""

    account: str
    smoke_role_arn: str
    client_host_role_arn: str


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


def app_condition(cfg: AppConfig, app: App, account: str) -> dict[str, Any]:
    """An app's pods: this account's principals carrying the app's Pod Identity session tags."""
    tags = (cfg.cluster_name, app.namespace, service_account(app))
    return {
        "StringEquals": {
            "aws:PrincipalAccount": account,
            **{f"aws:PrincipalTag/{key}": value for key, value in zip(POD_IDENTITY_TAGS, tags, strict=True)},
        }
    }


def route_policy(cfg: AppConfig, route: Route, who: Identities) -> Policy:
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
        _statement(_sid("App", app.name), "*", app_condition(cfg, app, who.account)) for app in cfg.callers(route)
    ]
    accounts = sorted({c.account for c in access.allow if c.account is not None})
    if accounts:
        statements.append(_statement("Accounts", "*", {"StringEquals": {"aws:PrincipalAccount": accounts}}))
    if access.unsigned:
        # Anyone the service network admits, signed or not (the network's policy keeps unsigned callers to the VPCs).
        statements.append(_statement("Unsigned", "*"))
    return {"Version": "2012-10-17", "Statement": statements}


def network_statements(
    *, account: str, vpc_ids: list[str], unsigned: bool, consumer_statement: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The service network's auth-policy statements: this account's authenticated principals, the consumer
    accounts' (`consumer_statement`), and unsigned callers from `vpc_ids` only when `unsigned` (a route opted in).
    Unsigned callers have no principal account, so the account statements never match them."""
    statements = [_statement("ThisAccount", "*", {"StringEquals": {"aws:PrincipalAccount": account}})]
    if consumer_statement:
        statements.append(consumer_statement)
    if unsigned:
        statements.append(
            _statement("UnsignedFromVpcs", "*", {"StringEquals": {"vpc-lattice-svcs:SourceVpc": vpc_ids}})
        )
    return statements


def policy_text(policy: Policy) -> str:
    return json.dumps(policy, separators=(",", ":"))


def oversized_policy(cfg: AppConfig, route: Route) -> str | None:
    """Why the route's policy would exceed Lattice's 10 KB, measured with the longest ARNs this app can put in."""
    placeholder = Identities(
        account="123456789012", smoke_role_arn=PLACEHOLDER_ROLE_ARN, client_host_role_arn=PLACEHOLDER_ROLE_ARN
    )
    size = len(policy_text(route_policy(cfg, route, placeholder)).encode())
    if size <= MAX_AUTH_POLICY_BYTES:
        return None
    return f"its auth policy would be {size} bytes; Lattice takes at most {MAX_AUTH_POLICY_BYTES} (fewer callers)"
