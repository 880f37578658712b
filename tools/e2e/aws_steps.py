"""The real steps against the account: the CLI and the repo's tools in their own process groups (stopped whole
on a timeout or a signal), the live facts and the audit in process, and the creation times measured."""

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
from pathlib import Path
from typing import Any

from tools.e2e import live
from tools.e2e.orchestrate import (
    Check,
    PhaseTimeoutError,
)
from tools.e2e.planning import Plan, _raw, profile_env
from tools.e2e.report import creation_seconds

ROOT = Path(__file__).resolve().parents[2]


GRACE_SECONDS = 20.0  # what a stopped CLI gets to end each step of its shutdown before the next, harder signal
SETTLE_POLL_SECONDS = 15.0


def _interrupted(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def install_signal_handlers() -> None:
    """SIGTERM (a CI job's cancel) and SIGHUP (a closed terminal) end the run as Ctrl-C does: the orchestrator
    then still destroys and audits and the report is written. SIGINT is set to Python's own KeyboardInterrupt
    handler explicitly: Python leaves SIGINT ignored when it starts with it ignored (a background job of a
    non-interactive shell, or a parent that ignores it), and the run would then not stop on it at all."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
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
        from tools.impact import DEFAULT_QUALIFIER  # noqa: PLC0415
        from tools.synth import cdk_json_context  # noqa: PLC0415

        me, config = audit.identity({**cdk_json_context(), **{k: _raw(v) for k, v in self.plan.second().items()}})
        where, _ = audit.places(self.session, config, region=self.plan.region, qualifier=DEFAULT_QUALIFIER)
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
