"""The run's plan: its prefix, stacks, context, update and commands, from the user's configuration; printed
under DRY_RUN=1."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tools.e2e.naming import NamingError, cdk_args, decoded, run_context
from tools.e2e.orchestrate import (
    FORWARD,
    RefusedError,
)

ROOT = Path(__file__).resolve().parents[2]


CDK = ROOT / "node_modules" / ".bin" / "cdk"
PYTHON = sys.executable
REPORTS = ROOT / "reports"
DEFAULT_CEILING_MINUTES = 150.0
UPDATE_ROUTE = "e2e-update"
LIVE_FACTS = (
    "(in-process: tools/e2e/live.py; ListMetrics, DescribeAlarms, the smoke functions, the cluster's IAMAuthPolicies "
    "and HTTPRoutes, the private zone's CNAMEs)"
)
_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/[^/]+$")
_ROLE = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(.+)$")


@dataclass
class Plan:
    prefix: str
    account: str
    region: str
    directory: Path
    context: dict[str, Any]  # the run's keys, as deployed first
    update: dict[str, Any]  # the same, with the update applied
    stacks: list[str]
    consumers: list[tuple[str, str, str]] = field(default_factory=list)  # (name, account, region)
    profiles: dict[str, str] = field(default_factory=dict)  # consumer name -> AWS profile
    # The user's own context (CDK_ARGS' -c, and anything else that differs from cdk.json), as -c passes it: every
    # command carries it under the run's keys, or destroy and audit would configure a different app (no consumers).
    overrides: dict[str, str] = field(default_factory=dict)

    def first(self) -> dict[str, Any]:
        """The context every command of the first deploy gets on top of cdk.json."""
        return {**self.overrides, **self.context}

    def second(self) -> dict[str, Any]:
        """The same after the update (every later phase)."""
        return {**self.overrides, **self.update}

    @property
    def gateway(self) -> str:
        return f"{self.prefix}-Gateway"

    def commands(self) -> dict[str, list[list[str]]]:
        """Each phase's commands, as run (in-process steps shown as the tool that does the same)."""
        first, second = cdk_args(self.first()), cdk_args(self.second())
        deploy = [str(CDK), "deploy", "--require-approval", "never", "--concurrency", "4", "--no-notices"]
        smoke = [[PYTHON, "tools/smoke.py", "--stack", self.gateway, "--region", self.region]]
        for name, _, region in self.consumers:
            stack = f"{self.prefix}-Consumer-{name}"
            profile = self.profiles.get(name, f"<E2E_PROFILE_{env_name(name)}>")
            smoke.append(["env", f"AWS_PROFILE={profile}", PYTHON, "tools/smoke.py", "--stack", stack, "--region",
                          region, "--no-metrics-check"])  # fmt: skip
        return {
            "deploy": [[*deploy, *first, "--all"]],
            "smoke": smoke,
            "update": [
                [PYTHON, "tools/impact.py", "--changeset", "--region", self.region, *second],
                [*deploy, *second, "--all"],
            ],
            "live-facts": [[LIVE_FACTS]],
            "destroy": [[PYTHON, "tools/destroy.py", *self.stacks, "--", *second]],
            "audit": [[PYTHON, "tools/audit.py", "--region", self.region, *second]],
        }

    def destroy_command(self) -> str:
        return shown(self.commands()["destroy"][0])


def env_credentials() -> list[str]:
    """The variables botocore's EnvProvider reads, which it consults before any profile (botocore 1.44.8
    credentials.py create_credential_resolver: env_provider first; read 2026-12-05)."""
    from botocore.credentials import EnvProvider  # noqa: PLC0415

    return [EnvProvider.ACCESS_KEY, EnvProvider.SECRET_KEY, *EnvProvider.TOKENS, EnvProvider.EXPIRY_TIME,
            EnvProvider.ACCOUNT_ID]  # fmt: skip


def profile_env(environ: Mapping[str, str], profile: str) -> dict[str, str]:
    """`environ` for a child that acts as `profile`: without the provider's own keys in the environment, which
    would otherwise win over AWS_PROFILE (the consumer's smoke would run as the provider)."""
    drop = set(env_credentials())
    return {**{k: v for k, v in environ.items() if k not in drop}, "AWS_PROFILE": profile}


def shown(command: Sequence[str]) -> str:
    """A command as a user would type it in the repository (make's virtualenv and node_modules on PATH)."""
    parts = ["python" if part == PYTHON else "cdk" if part == str(CDK) else part for part in command]
    return shlex.join(parts) if len(parts) > 1 else parts[0]


def env_name(consumer: str) -> str:
    return consumer.upper().replace("-", "_")


def role_name(caller_arn: str) -> str | None:
    """The name of the IAM role an assumed-role (or role) caller acts as, else None. The STS ARN carries the role's
    name only, never its IAM path."""
    if match := _ASSUMED_ROLE.match(caller_arn):
        return match[3]
    if match := _ROLE.match(caller_arn):
        return match[3].rsplit("/", 1)[-1]
    return None


def admin_role_arn(session: Any, caller_arn: str) -> str | None:
    """The caller's role ARN exactly as IAM has it, path included (GetRole). EKS access entries need the exact
    principal ARN, and IAM Identity Center's roles sit under /aws-reserved/sso.amazonaws.com/[<region>/]
    (https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html; rebuilding the ARN
    from the STS one drops the path: terraform-aws-modules/terraform-aws-eks#2969 "The specified principalArn is
    invalid"; read 2026-12-05). RefusedError when IAM does not answer."""
    name = role_name(caller_arn)
    if name is None:
        return None
    try:
        return str(session.client("iam").get_role(RoleName=name)["Role"]["Arn"])
    except Exception as err:  # any failure is one line: the run cannot name its access entry
        raise RefusedError(
            f"iam:GetRole {name}: {type(err).__name__}: {err}; the run needs the caller role's exact ARN (its IAM "
            "path included) for the cluster's access entry"
        ) from None


def overrides_of(base: Mapping[str, Any], cdk_json: Mapping[str, Any]) -> dict[str, str]:
    """The keys of `base` that cdk.json does not already hold with the same value, as `-c` text."""
    return {
        key: _raw(value)
        for key, value in base.items()
        if key not in cdk_json or decoded(value) != decoded(cdk_json[key])
    }


def update_of(base: Mapping[str, Any], context: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The update step's change: one node more (or less, at the maximum) and a new route beside the first."""
    from config import parse_context  # noqa: PLC0415

    config = parse_context({**base, **context}, today=dt.date.today())
    desired = (
        config.node_desired_size + 1
        if config.node_desired_size < config.node_max_size
        else config.node_desired_size - 1
    )
    routes = [dict(r) for r in context["routes"]]
    zone = str(context["privateZoneName"])
    routes.append({**routes[0], "name": f"{prefix}-{UPDATE_ROUTE}", "hostname": f"{UPDATE_ROUTE}.{zone}"})
    return {**context, "nodeDesiredSize": desired, "routes": routes}


def make_plan(
    base: Mapping[str, Any],
    *,
    prefix: str,
    account: str,
    region: str,
    admin_role: str | None,
    environ: Mapping[str, str],
    stamp: str,
) -> Plan:
    """RefusedError naming the key for a configuration the run cannot use."""
    from config import ConfigError, parse_context  # noqa: PLC0415

    try:
        context = run_context(base, prefix)
    except NamingError as err:
        raise RefusedError(str(err)) from None
    if admin_role:
        # The live facts read the cluster as the caller: give its role an access entry, as clusterAdminRoleArns does.
        admins = list(json.loads(base["clusterAdminRoleArns"]) if isinstance(base.get("clusterAdminRoleArns"), str)
                      else base.get("clusterAdminRoleArns") or [])  # fmt: skip
        context["clusterAdminRoleArns"] = [*admins, admin_role] if admin_role not in admins else admins
    try:
        update = update_of(base, context, prefix)
        config = parse_context({**base, **update}, today=dt.date.today())
    except ConfigError as err:
        raise RefusedError(f"the run's configuration: {err}") from None
    from tools.synth import cdk_json_context  # noqa: PLC0415

    consumers = [(c.name, c.account, c.region or region) for c in config.consumers]
    profiles = {name: environ[f"E2E_PROFILE_{env_name(name)}"] for name, _, _ in consumers
                if f"E2E_PROFILE_{env_name(name)}" in environ}  # fmt: skip
    stacks = [f"{prefix}-Platform", f"{prefix}-Gateway", *(f"{prefix}-Consumer-{name}" for name, _, _ in consumers)]
    return Plan(
        prefix=prefix,
        account=account,
        region=region,
        directory=REPORTS / f"e2e-{stamp}",
        context=context,
        update=update,
        stacks=stacks,
        consumers=consumers,
        profiles=profiles,
        overrides=overrides_of(base, cdk_json_context()),
    )


def print_plan(plan: Plan, out: TextIO, *, ceiling: float, keep: bool) -> None:
    print(f"e2e plan (DRY_RUN=1: nothing runs): prefix {plan.prefix}, account {plan.account}, region {plan.region}",
          file=out)  # fmt: skip
    print(f"stacks: {', '.join(plan.stacks)}", file=out)
    print(f"names: cluster {plan.context['clusterName']}, service network {plan.context['serviceNetworkName']}, "
          f"zone {plan.context['privateZoneName']}", file=out)  # fmt: skip
    print(f"update: nodeDesiredSize -> {plan.update['nodeDesiredSize']}, new route {plan.prefix}-{UPDATE_ROUTE}",
          file=out)  # fmt: skip
    print(f"time ceiling: {ceiling:g} min for {', '.join(FORWARD)}; then destroy and audit"
          + (" (KEEP=1: skipped; the destroy command is printed)" if keep else ""), file=out)  # fmt: skip
    for i, (phase, commands) in enumerate(plan.commands().items(), 1):
        print(f"{i}. {phase}", file=out)
        for command in commands:
            print(f"   {shown(command)}", file=out)
    print(f"report: {plan.directory.relative_to(ROOT)}/report.md and report.json", file=out)


def _raw(value: Any) -> Any:
    """A run key as the config loader takes it from -c: JSON text for lists and objects."""
    return value if isinstance(value, str) else json.dumps(value)
