#!/usr/bin/env python3
"""`make e2e`: deploy the app under a prefix of its own, smoke-test it, update it (after comparing make impact with
CloudFormation's change set), check the live facts, destroy it and audit what is left; write a report.

Environment (all optional but E2E_ACCOUNT):
  E2E_ACCOUNT=<12 digits>   the account in the credentials: the explicit opt-in (anything else refuses)
  DRY_RUN=1                 print the plan (stack names, phases, commands) and touch nothing
  KEEP=1                    leave the stacks up (no destroy, no audit) and print the destroy command
  E2E_MAX_MINUTES=150       the time ceiling of deploy .. live facts; then destroy runs regardless
  E2E_PROFILE_<CONSUMER>    for each configured consumer (name upper-cased, '-' as '_'), the AWS profile of its
                            account, for its smoke test from inside its VPC
CDK context (`-c key=value`, as CDK_ARGS) changes the configuration the run starts from; the run's own keys
(tools/e2e/naming.py) are put on top. Exit 0 passed, 1 failed (report written), 2 refused before anything ran.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.e2e import live  # noqa: E402
from tools.e2e.naming import NamingError, cdk_args, decoded, new_prefix, run_context  # noqa: E402
from tools.e2e.orchestrate import (  # noqa: E402
    FORWARD,
    PHASES,
    Check,
    Outcome,
    PhaseTimeoutError,
    RefusedError,
    execute,
)
from tools.e2e.report import build, creation_seconds, write  # noqa: E402

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


# ------------------------------------------------------------------------------------------ real steps

GRACE_SECONDS = 20.0  # what a stopped CLI gets to end each step of its shutdown before the next, harder signal
SETTLE_POLL_SECONDS = 15.0


def _interrupted(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def install_signal_handlers() -> None:
    """SIGTERM (a CI job's cancel) and SIGHUP (a closed terminal) end the run as Ctrl-C does: the orchestrator
    then still destroys and audits and the report is written."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupted)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we may not signal still exists
        return True
    return True


def stop_group(child: subprocess.Popen[Any], grace: float = GRACE_SECONDS) -> None:
    """Stop a child and every process it started (its own session and process group): SIGINT, then SIGTERM,
    then SIGKILL, each after `grace` seconds without the whole group gone."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if not _group_alive(child.pid):
            break
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if child.poll() is not None and not _group_alive(child.pid):
                break
            time.sleep(0.05)
    child.poll()


def run_group(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float,
              check: bool = False, grace: float = GRACE_SECONDS) -> subprocess.CompletedProcess[Any]:  # fmt: skip
    """subprocess.run in a session of its own: a terminal's Ctrl-C reaches only this process, which stops the
    child's whole group (the CDK CLI and its node/asset children) on a timeout, Ctrl-C, SIGTERM or SIGHUP."""
    child = subprocess.Popen(list(command), cwd=cwd, env=dict(env), start_new_session=True)  # noqa: S603
    try:
        returncode = child.wait(timeout=timeout)
    except BaseException:
        stop_group(child, grace)
        raise
    if check and returncode:
        raise subprocess.CalledProcessError(returncode, list(command))
    return subprocess.CompletedProcess(list(command), returncode)


def run_log_groups(resources: Sequence[Mapping[str, str]], prefix: str) -> list[str]:
    """The log groups a stack's deletion leaves, by exact name, each under the run's prefix:
    - its AWS::Logs::LogGroup resources: aws-cdk-lib gives the kubectl provider's handler and onEvent and
      AwsCustomResource's function (AWS679f...) log groups DeletionPolicy Retain (tests/test_e2e.py finds every
      Retain/Snapshot resource of a synth in this list);
    - /aws/lambda/<function> of every function: CloudWatch creates it at the first invocation when the function's
      LoggingConfig names no LogGroup (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html
      and https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html, LogGroup; read 2026-12-05);
      a function with a log group of its own has none, and the delete finds nothing;
    - /aws/eks/<cluster>/cluster of every AWS::EKS::Cluster (its physical id is its name): EKS's control-plane group
      (https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html: one group per cluster; read
      2026-12-05), which EKS creates and CloudFormation does not delete.
    A name without the prefix as a path segment's start is never returned (another deployment's)."""
    names: list[str] = []
    for resource in resources:
        physical = str(resource.get("physical") or "")
        if resource.get("type") == "AWS::Logs::LogGroup":
            names.append(physical)
        elif resource.get("type") == "AWS::Lambda::Function" and physical:
            names.append(f"/aws/lambda/{physical}")
        elif resource.get("type") == "AWS::EKS::Cluster" and physical:
            names.append(f"/aws/eks/{physical}/cluster")
    mine = re.compile(rf"(^|/){re.escape(prefix)}([-/]|$)")
    return sorted({name for name in names if name and mine.search(name)})


def left_by_design(templates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """From a synth, what outlives CloudFormation's delete, one line each (stack, logical id, why): the
    resources run_log_groups finds at run time, for the simulated run and its test."""
    found: list[str] = []
    for stack, template in sorted(templates.items()):
        for logical, resource in template.get("Resources", {}).items():
            kind, props = resource.get("Type"), resource.get("Properties", {})
            if resource.get("DeletionPolicy") in {"Retain", "Snapshot", "RetainExceptOnCreate"}:
                found.append(f"{stack} {logical} ({kind}, DeletionPolicy {resource['DeletionPolicy']})")
            elif kind == "AWS::Lambda::Function" and "LogGroup" not in props.get("LoggingConfig", {}):
                ref = json.dumps({"Ref": logical})
                groups = [r for r in template["Resources"].values() if r.get("Type") == "AWS::Logs::LogGroup"]
                if not any(ref in json.dumps(g.get("Properties", {}).get("LogGroupName")) for g in groups):
                    found.append(f"{stack} {logical} (its /aws/lambda/ group, created at run time)")
            elif kind == "AWS::EKS::Cluster":
                found.append(f"{stack} {logical} (its /aws/eks/<name>/cluster group, created by EKS)")
    return found


def stack_status(cloudformation: Any, stack: str) -> str | None:
    """A stack's status, None when it does not exist (any more)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        found = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as err:
        if "does not exist" in str(err.response.get("Error", {}).get("Message", "")):
            return None
        raise
    return str(found[0]["StackStatus"]) if found else None


class AwsSteps:
    """Each phase against the account: the pinned CDK CLI and the repo's tools as subprocesses, the live facts and
    the audit in-process."""

    def __init__(
        self,
        plan: Plan,
        session: Any,
        *,
        runner: Callable[..., Any] = run_group,
        profile_session: Callable[[str, str], Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plan, self.session, self.runner = plan, session, runner
        self.profile_session = profile_session or _profile_session
        self.sleep, self.clock = sleep, clock
        self.smoke_results: list[dict[str, Any]] = []
        self.leftovers: list[str] = []
        self.recorded: dict[str, list[dict[str, str]]] = {}  # stack -> its resources, read before destroy

    def stack_sessions(self) -> list[tuple[str, Any, str]]:
        """Each stack of the run with a session of its account (a consumer's: its profile) and its region."""
        found = [(stack, self.session, self.plan.region) for stack in self.plan.stacks[:2]]
        for name, _, region in self.plan.consumers:
            session = self.profile_session(self.plan.profiles[name], region) if name in self.plan.profiles else None
            if session is not None:
                found.append((f"{self.plan.prefix}-Consumer-{name}", session, region))
        return found

    def stack_clients(self, service: str = "cloudformation") -> list[tuple[str, Any]]:
        return [(stack, session.client(service, region_name=region)) for stack, session, region in
                self.stack_sessions()]  # fmt: skip

    def statuses(self) -> dict[str, str | None]:
        return {stack: stack_status(cfn, stack) for stack, cfn in self.stack_clients()}

    def settle(self, budget: float) -> list[str]:
        """Wait until no stack of the run is *_IN_PROGRESS (a CLI stopped mid-deploy leaves its stack working, and
        DeleteStack refuses such a stack); an UPDATE_IN_PROGRESS is cancelled (CancelUpdateStack) so it rolls
        back instead of finishing. Returns what it did, one line each."""
        deadline, cancelled, did = self.clock() + budget, set[str](), []
        while True:
            busy = []
            for stack, cfn in self.stack_clients():
                status = stack_status(cfn, stack)
                if not status or not status.endswith("_IN_PROGRESS"):
                    continue
                if status == "UPDATE_IN_PROGRESS" and stack not in cancelled:
                    cfn.cancel_update_stack(StackName=stack)
                    cancelled.add(stack)
                    did.append(f"cancelled the update of {stack}")
                busy.append(f"{stack} {status}")
            if not busy:
                return did
            if self.clock() >= deadline:
                raise PhaseTimeoutError(f"stacks still in progress before destroy: {', '.join(busy)}")
            if not did or did[-1] != f"waited for {', '.join(busy)}":
                did.append(f"waited for {', '.join(busy)}")
            self.sleep(SETTLE_POLL_SECONDS)

    def destroy_command(self) -> str:
        return self.plan.destroy_command()

    def run(self, phase: str, budget: float) -> list[Check]:
        if phase == "live-facts":
            return self.live_facts(budget)
        if phase == "audit":
            return self.audit()
        if phase == "destroy":
            return self.destroy(budget)
        return self.commands(phase, budget)

    def destroy(self, budget: float) -> list[Check]:
        """Destroy once every stack has settled; once more after a DELETE_FAILED (a dependency CloudFormation
        deleted late, e.g. an ENI Lambda or the controller left behind). Then the log groups the stacks leave by
        design (see run_log_groups), by the names recorded before."""
        started = self.clock()
        settled = self.settle(budget)
        checks = [Check("no stack in progress before destroy", True, "; ".join(settled) or "none was")]
        self.recorded = self.record()
        checks += self.commands("destroy", budget - (self.clock() - started))
        if not checks[-1].ok:
            failed = [stack for stack, status in self.statuses().items() if status == "DELETE_FAILED"]
            if not failed:
                return checks
            self.settle(budget - (self.clock() - started))
            again = self.commands("destroy", budget - (self.clock() - started))
            note = f"retried after DELETE_FAILED of {', '.join(failed)}"
            if not again[-1].ok:
                return [*checks, *again]
            checks = [checks[0], Check(checks[1].name, True, f"{checks[1].detail}; {note}"), *again[1:]]
        return [*checks, self.delete_log_groups()]

    def record(self) -> dict[str, list[dict[str, str]]]:
        """Every stack's resources (ListStackResources, every page): logical id, type, physical id."""
        recorded: dict[str, list[dict[str, str]]] = {}
        for stack, cfn in self.stack_clients():
            if stack_status(cfn, stack) is None:
                continue
            rows: list[dict[str, str]] = []
            token: str | None = None
            while True:
                page = cfn.list_stack_resources(StackName=stack, **({"NextToken": token} if token else {}))
                rows += [{"logical": str(r.get("LogicalResourceId", "")), "type": str(r.get("ResourceType", "")),
                          "physical": str(r.get("PhysicalResourceId", ""))}
                         for r in page.get("StackResourceSummaries", [])]  # fmt: skip
                token = page.get("NextToken")
                if not token:
                    break
            recorded[stack] = rows
        return recorded

    def delete_log_groups(self) -> Check:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        deleted, failed = [], []
        for stack, logs in self.stack_clients("logs"):
            for name in run_log_groups(self.recorded.get(stack, []), self.plan.prefix):
                try:
                    logs.delete_log_group(logGroupName=name)
                    deleted.append(name)
                except ClientError as err:
                    if err.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                        failed.append(f"{name}: {err.response.get('Error', {}).get('Code')}")
        detail = f"deleted {len(deleted)}: {', '.join(deleted)}" if deleted else "none was left"
        return Check("the log groups the stacks leave are deleted", not failed,
                     detail + (f"; not deleted: {', '.join(failed)}" if failed else ""))  # fmt: skip

    def commands(self, phase: str, budget: float) -> list[Check]:
        checks = []
        for planned in self.plan.commands()[phase]:
            env = dict(os.environ)
            command = planned
            if planned[0] == "env":  # a consumer's smoke test, with its account's profile
                env = profile_env(env, planned[1].split("=", 1)[1])
                command = planned[2:]
            started = time.monotonic()
            try:
                result = self.runner(command, cwd=ROOT, env=env, timeout=budget, check=False)
            except subprocess.TimeoutExpired:
                raise PhaseTimeoutError(f"{shlex.join(command[:3])} ... outlived the time ceiling") from None
            budget -= time.monotonic() - started
            name = " ".join(Path(part).name if i == 0 else part for i, part in enumerate(command[:3]))
            checks.append(Check(f"{name} ...", result.returncode == 0, f"exit {result.returncode}"))
            if result.returncode != 0:
                break
        return checks

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.plan.region)

    def live_facts(self, budget: float) -> list[Check]:
        """Each fact within the phase's budget (what is left of the ceiling): the waits for metrics and alarms take
        at most what remains."""
        from config import parse_context  # noqa: PLC0415
        from tools import smoke  # noqa: PLC0415
        from tools.synth import cdk_json_context  # noqa: PLC0415

        if str(ROOT / "lambda") not in sys.path:
            sys.path.insert(0, str(ROOT / "lambda"))
        from k8s_api import KubeClient, regional_sts_client  # noqa: PLC0415

        config = parse_context({**cdk_json_context(), **self.plan.second()}, today=dt.date.today())
        cloudwatch = self.client("cloudwatch")
        checks: list[Check] = []
        deadline = self.clock() + budget
        series_wait = int(max(0.0, min(900.0, budget)))
        missing = smoke.missing_series(cloudwatch, self.plan.gateway, series_wait, sleep=self.sleep, clock=self.clock)
        checks.append(live.metrics_listed(missing))
        results: list[dict[str, Any]] = []
        for function in smoke.find_functions(self.client("cloudformation"), self.plan.gateway):
            payload = smoke.invoke(self.client("lambda"), function)
            results += list(payload.get("results") or [])
            if payload.get("error"):
                results.append({"ok": False, "route": "-", "caller": function, "detail": payload.get("errorMessage")})
        checks.append(live.signed(results))
        wait = max(0.0, min(live.ALARM_WAIT_SECONDS, deadline - self.clock()))
        checks.append(live.alarms_ok(cloudwatch, self.plan.gateway, wait=wait, sleep=self.sleep, clock=self.clock))
        if self.clock() >= deadline:
            raise PhaseTimeoutError("the live facts outlived what was left of the time ceiling")
        routes = [(r.namespace, r.name) for r in config.routes]
        kube = KubeClient.for_eks_cluster(
            config.cluster_name,
            eks_client=self.client("eks"),
            sts_client=regional_sts_client(self.session, self.plan.region),
        )
        if config.service_network_auth_type == "AWS_IAM":
            checks.append(live.auth_policies(live.kube_items(kube, live.IAM_AUTH_POLICIES), routes))
        checks.append(live.http_routes(live.kube_items(kube, live.HTTP_ROUTES), routes))
        records = live.zone_cnames(self.client("route53"), config.private_zone_name)
        checks.append(live.cnames(records, results, [r.hostname for r in config.routes]))
        return checks

    def audit(self) -> list[Check]:
        from tools import audit  # noqa: PLC0415
        from tools.synth import cdk_json_context  # noqa: PLC0415

        me, config = audit.identity({**cdk_json_context(), **{k: _raw(v) for k, v in self.plan.second().items()}})
        where, _ = audit.places(self.session, config, region=self.plan.region, qualifier=audit.DEFAULT_QUALIFIER)
        skipped: list[Any] = []
        left = audit.audit(where, me, skipped=skipped)
        # First the resources recorded before the destroy, by physical id; the names and tags above are the
        # fallback (a run interrupted before anything was recorded, a name CloudFormation shortened).
        for stack, session, region in self.stack_sessions():
            account = where[0].account if session is self.session else next(
                (a for n, a, _ in self.plan.consumers if stack.endswith(f"-Consumer-{n}")), "?")  # fmt: skip
            for kind, name in audit.by_ids(_clients_of(session, region), self.recorded.get(stack, [])):
                item = audit.Leftover(account, region, kind, name)
                if kind == audit.SKIPPED:
                    skipped.append(item)
                elif not any(x.name == name for x in left):
                    left.append(item)
        self.leftovers = [f"{x.account} {x.region} {x.kind} {x.name}" for x in left]
        detail = "; ".join(self.leftovers) or "nothing of the run's prefix is left"
        if skipped:
            detail += "; not readable, skipped: " + ", ".join(f"{x.account} {x.name}" for x in skipped)
        return [Check("make audit finds nothing left", not left, detail)]


def _clients_of(session: Any, region: str) -> Callable[[str], Any]:
    def client(service: str) -> Any:
        return session.client(service, region_name=region)

    return client


def _profile_session(profile: str, region: str) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.session.Session(profile_name=profile, region_name=region)


def _raw(value: Any) -> Any:
    """A run key as the config loader takes it from -c: JSON text for lists and objects."""
    return value if isinstance(value, str) else json.dumps(value)


def measure(session: Any, plan: Plan) -> dict[str, float]:
    """Per-type creation times from the run's stacks' events in the provider's account (DescribeStackEvents,
    paginated). Called before destroy: a deleted stack's events are found by its unique id only (botocore 1.44.8
    cloudformation model, DescribeStackEventsInput StackName; read 2026-12-05)."""
    client = session.client("cloudformation", region_name=plan.region)
    events: list[dict[str, Any]] = []
    for stack in plan.stacks[:2]:  # the provider's own stacks
        try:
            for page in client.get_paginator("describe_stack_events").paginate(StackName=stack):
                events += page.get("StackEvents", [])
        except Exception:  # noqa: S112 - a stack that never got created has no events to measure
            continue
    return creation_seconds(events)


ASSEMBLY = ROOT / "cdk.out"  # where the deploy's `cdk deploy` synthesizes


def model_and_cost(plan: Plan) -> tuple[float | None, float | None]:
    """The critical-path model of the run's deploy, and the stack's standing cost per hour, both from the
    assembly the deploy synthesized (cdk.out)."""
    from tools import cost  # noqa: PLC0415
    from tools.critical_path import critical_path  # noqa: PLC0415
    from tools.synth import read_assembly  # noqa: PLC0415

    try:
        assembly = read_assembly(ASSEMBLY)
    except Exception:  # the deploy never synthesized
        return None, None
    chain = critical_path(assembly.templates, assembly.dependencies)
    estimate = cost.estimate(assembly.templates, region=plan.region, gb=0.0, requests=0, log_gb=0.0)
    return (chain[-1].finish if chain else None), round(estimate.total_usd / estimate.hours_per_month, 4)


# ------------------------------------------------------------------------------------------------ CLI


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes"}


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    session_factory: Callable[[], Any] | None = None,
    steps_factory: Callable[[Plan, Any], Any] = AwsSteps,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    environ = os.environ if environ is None else environ
    out = out or sys.stdout
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        return _main(argv, environ, out, session_factory=session_factory, steps_factory=steps_factory, clock=clock)
    except RefusedError as err:
        print(f"e2e: {err}", file=out)
        return 2


def _session() -> Any:
    import boto3  # noqa: PLC0415

    return boto3.session.Session()


class deferred_signals:  # noqa: N801 - used as a statement, like contextlib's
    """SIGINT, SIGTERM and SIGHUP held while the report is written (a half-written report.json is worse than a
    second's wait); the run then ends as interrupted."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received: list[int] = []
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> deferred_signals:
        for sig in self.SIGNALS:
            self.previous[sig] = signal.signal(sig, lambda signum, _frame: self.received.append(signum))
        return self

    def __exit__(self, *_: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _main(
    argv: list[str],
    environ: Mapping[str, str],
    out: TextIO,
    *,
    session_factory: Callable[[], Any] | None,
    steps_factory: Callable[[Plan, Any], Any],
    clock: Callable[[], float],
) -> int:
    from tools.impact import ImpactError, caller_account, parse_context  # noqa: PLC0415
    from tools.synth import cdk_json_context  # noqa: PLC0415

    pairs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in {"-c", "--context"}]
    try:
        base = {**cdk_json_context(), **parse_context(pairs)}
    except ImpactError as err:
        raise RefusedError(str(err)) from None
    dry, keep = _truthy(environ.get("DRY_RUN")), _truthy(environ.get("KEEP"))
    try:
        ceiling = float(environ.get("E2E_MAX_MINUTES") or DEFAULT_CEILING_MINUTES)
    except ValueError:
        raise RefusedError(f"E2E_MAX_MINUTES={environ.get('E2E_MAX_MINUTES')!r} is not a number of minutes") from None
    prefix, stamp = new_prefix(), dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    from botocore.exceptions import ProfileNotFound  # noqa: PLC0415

    try:
        session = (session_factory or _session)()
    except ProfileNotFound as err:  # a misspelled AWS_PROFILE: also under DRY_RUN, before anything else
        raise RefusedError(f"AWS_PROFILE: {err}; nothing was deployed") from None
    region = str(environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or session.region_name or "")
    if dry:
        account = environ.get("E2E_ACCOUNT") or "<E2E_ACCOUNT>"
        # The caller's role joins clusterAdminRoleArns in a real run (read from the credentials, which a dry run
        # does not need).
        plan = make_plan(
            base, prefix=prefix, account=account, region=region or "<region>", admin_role=None, environ=environ,
            stamp=stamp,
        )  # fmt: skip
        print_plan(plan, out, ceiling=ceiling, keep=keep)
        return 0
    if session.get_credentials() is None:
        raise RefusedError("no AWS credentials (set AWS_PROFILE or log in); nothing was deployed")
    wanted = environ.get("E2E_ACCOUNT", "")
    try:
        account = caller_account(session)
        caller = str(session.client("sts").get_caller_identity()["Arn"])
    except ImpactError as err:
        raise RefusedError(str(err)) from None
    if not wanted:
        raise RefusedError(f"set E2E_ACCOUNT={account} to deploy a test copy of the app there (about an hour of it)")
    if wanted != account:
        raise RefusedError(f"E2E_ACCOUNT={wanted} but the credentials are account {account}; nothing was deployed")
    if not region:
        raise RefusedError("no AWS region (set AWS_REGION)")
    admin = admin_role_arn(session, caller)
    if admin is None:
        raise RefusedError(f"the caller {caller} is not an IAM role; the live facts read the cluster as one")
    plan = make_plan(base, prefix=prefix, account=account, region=region, admin_role=admin, environ=environ,
                     stamp=stamp)  # fmt: skip
    lacking = [name for name, _, _ in plan.consumers if name not in plan.profiles]
    if lacking:
        names = ", ".join(f"E2E_PROFILE_{env_name(n)}" for n in lacking)
        raise RefusedError(f"consumers are configured: set {names} (each consumer account's profile, for its smoke)")
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    steps = steps_factory(plan, session)
    print(f"e2e: run {plan.prefix} in {account} {region}; report in {plan.directory}", file=out, flush=True)
    measured: dict[str, float] = {}

    def measure_now() -> None:  # before destroy: DescribeStackEvents by name finds no deleted stack
        measured.update(measure(session, plan))

    outcome: Outcome = execute(steps, keep=keep, ceiling_seconds=ceiling * 60, out=out, clock=clock,
                               before_cleanup=measure_now)  # fmt: skip
    if keep:
        try:
            measure_now()
        except (KeyboardInterrupt, Exception) as err:  # the report matters more than a measurement
            print(f"e2e: creation times not measured: {type(err).__name__}", file=out)
    with deferred_signals() as held:
        finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        model, hourly = model_and_cost(plan)
        report = build(
            outcome=outcome,
            prefix=plan.prefix,
            account=account,
            region=region,
            started=started,
            finished=finished,
            ceiling_minutes=ceiling,
            stacks=plan.stacks,
            model_deploy_seconds=model,
            measured_creation=measured,
            hourly_usd=hourly,
            left=list(getattr(steps, "leftovers", [])),
            destroy_command=plan.destroy_command(),
            resources=dict(getattr(steps, "recorded", {})),
        )
        as_json, as_md = write(report, plan.directory)
    if held.received:
        print(f"e2e: {signal.Signals(held.received[0]).name} while the report was written: it is complete", file=out)
    print(f"e2e: {report['verdict']}; report {as_md} ({as_json.name})", file=out)
    return 0 if report["verdict"] == "passed" and not held.received else 1


__all__ = ["PHASES", "AwsSteps", "Plan", "main", "make_plan"]

if __name__ == "__main__":
    install_signal_handlers()
    sys.exit(main())
