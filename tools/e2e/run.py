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
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.e2e.aws_steps import AwsSteps, install_signal_handlers, measure  # noqa: E402
from tools.e2e.naming import new_prefix  # noqa: E402
from tools.e2e.orchestrate import (  # noqa: E402
    PHASES,
    Outcome,
    RefusedError,
    execute,
)
from tools.e2e.planning import DEFAULT_CEILING_MINUTES, Plan, admin_role_arn, env_name, make_plan, print_plan  # noqa: E402
from tools.e2e.report import build, write  # noqa: E402

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
