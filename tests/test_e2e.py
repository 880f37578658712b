"""make e2e (tools/e2e/): the phase order, destroy on failure and on Ctrl-C (not with KEEP), the time ceiling, the
refusals before anything runs, the plan of DRY_RUN, that a run names only its own prefix, and the report.

The orchestration runs against fake steps and a fake clock; main() against moto's STS (the account check and
the caller's role) with fake steps in place of AWS's.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import Synthesized, clear_credential_sources, moto_in
from tools import critical_path
from tools.e2e import aws_steps, planning, run, simulate
from tools.e2e.orchestrate import CLEANUP, FORWARD, PHASES, Check, PhaseResult, PhaseTimeoutError, execute
from tools.e2e.report import build, creation_seconds, render
from tools.synth import cdk_json_context

ACCOUNT = "123456789012"  # moto's default account


class FakeSteps:
    """Records each phase; `fail` makes a phase's check fail, `interrupt` raises Ctrl-C in one, `seconds` advances
    the fake clock."""

    def __init__(
        self,
        *,
        fail: str = "",
        interrupt: str = "",
        raises: str = "",
        seconds: dict[str, float] | None = None,
        clock: list[float] | None = None,
    ) -> None:
        self.fail, self.interrupt, self.raises = fail, interrupt, raises
        self.seconds = seconds or {}
        self.clock = clock if clock is not None else [0.0]
        self.ran: list[str] = []
        self.budgets: dict[str, float] = {}
        self.leftovers: list[str] = []

    def run(self, phase: str, budget: float) -> list[Check]:
        self.ran.append(phase)
        self.budgets[phase] = budget
        self.clock[0] += self.seconds.get(phase, 60.0)
        if phase == self.interrupt:
            raise KeyboardInterrupt
        if phase == self.raises:
            raise RuntimeError("cdk deploy exited 1")
        if self.seconds.get(phase, 0) > budget:
            raise PhaseTimeoutError(f"{phase} outlived the ceiling")
        return [Check(f"{phase} check", phase != self.fail, "exit 1" if phase == self.fail else "exit 0")]

    def destroy_command(self) -> str:
        return "python tools/destroy.py e2e-abc123-Platform e2e-abc123-Gateway -- -c stackPrefix=e2e-abc123"


def go(steps: FakeSteps, *, keep: bool = False, ceiling: float = 3600.0) -> tuple[Any, str]:
    out = io.StringIO()
    outcome = execute(steps, keep=keep, ceiling_seconds=ceiling, out=out, clock=lambda: steps.clock[0])
    return outcome, out.getvalue()


# ------------------------------------------------------------------------------------- orchestration


def test_phases_run_in_order_and_all_pass() -> None:
    steps = FakeSteps()
    outcome, _ = go(steps)
    assert steps.ran == list(PHASES)
    assert outcome.passed and [p.status for p in outcome.phases] == ["passed"] * 6


@pytest.mark.parametrize("phase", FORWARD)
def test_a_failing_phase_skips_the_rest_and_still_destroys_and_audits(phase: str) -> None:
    steps = FakeSteps(fail=phase)
    outcome, out = go(steps)
    assert steps.ran == [*FORWARD[: FORWARD.index(phase) + 1], *CLEANUP]
    assert not outcome.passed
    statuses = {p.name: p.status for p in outcome.phases}
    assert statuses[phase] == "failed"
    assert all(statuses[p] == "skipped" for p in FORWARD[FORWARD.index(phase) + 1 :])
    assert f"  FAIL {phase} check: exit 1" in out


def test_an_error_in_a_phase_is_one_line_and_cleanup_runs() -> None:
    steps = FakeSteps(raises="deploy")
    outcome, out = go(steps)
    assert steps.ran == ["deploy", *CLEANUP]
    assert outcome.phase("deploy") == PhaseResult("deploy", "failed", 60.0, [], "RuntimeError: cdk deploy exited 1")
    assert "e2e: deploy failed in 60 s: RuntimeError: cdk deploy exited 1" in out


@pytest.mark.parametrize("phase", FORWARD)
def test_ctrl_c_destroys_and_audits(phase: str) -> None:
    steps = FakeSteps(interrupt=phase)
    outcome, out = go(steps)
    assert steps.ran[-2:] == list(CLEANUP)
    assert outcome.interrupted and not outcome.passed
    assert f"e2e: interrupted during {phase}" in out


def test_keep_never_destroys_and_prints_the_destroy_command() -> None:
    steps = FakeSteps(fail="smoke")
    outcome, out = go(steps, keep=True)
    assert steps.ran == ["deploy", "smoke"]
    assert outcome.kept and not outcome.passed
    assert f"KEEP=1: the stacks stay. Destroy them with:\n  {steps.destroy_command()}" in out


def test_ctrl_c_during_destroy_prints_how_to_finish() -> None:
    steps = FakeSteps(interrupt="destroy")
    outcome, out = go(steps)
    assert steps.ran == [*FORWARD, "destroy"]
    assert outcome.phase("audit") is not None and outcome.phase("audit").status == "skipped"
    assert f"interrupted during destroy; finish with:\n  {steps.destroy_command()}" in out


def test_the_time_ceiling_stops_the_forward_phases_but_not_the_cleanup() -> None:
    steps = FakeSteps(seconds={"deploy": 2000.0, "smoke": 2000.0})
    outcome, _ = go(steps, ceiling=3000.0)
    # smoke got what was left of the ceiling (1000 s), outlived it, and the run went straight to cleanup.
    assert steps.budgets["smoke"] == pytest.approx(1000.0)
    assert outcome.phase("smoke").status == "timed out"
    assert steps.ran == ["deploy", "smoke", *CLEANUP]
    assert steps.budgets["destroy"] > 3000.0  # its own budget


def test_a_ceiling_spent_before_a_phase_starts_marks_it_timed_out() -> None:
    steps = FakeSteps(seconds={"deploy": 3000.0})
    outcome, _ = go(steps, ceiling=3000.0)
    assert [p.status for p in outcome.phases[:2]] == ["passed", "timed out"]
    assert steps.ran == ["deploy", *CLEANUP]


# ------------------------------------------------------------------------------------ main's refusals


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    with moto_in(monkeypatch, "us-east-1"):
        monkeypatch.setattr(planning, "REPORTS", tmp_path / "reports")
        yield


def role_session(path: str = "/", name: str = "e2e-runner") -> boto3.session.Session:
    """Credentials of an assumed role that exists in (moto's) IAM, under `path`."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT},
             "Action": "sts:AssumeRole"}]}  # fmt: skip
    role = boto3.client("iam").create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust))
    creds = boto3.client("sts").assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="me")
    c = creds["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
        region_name="us-east-1",
    )


def main(
    environ: dict[str, str], *, session: Any = None, steps: FakeSteps | None = None, argv: list[str] | None = None
) -> tuple[int, str, list[run.Plan]]:
    out = io.StringIO()
    made: list[run.Plan] = []
    steps = steps or FakeSteps()

    def factory(plan: run.Plan, _session: Any) -> FakeSteps:
        made.append(plan)
        return steps

    status = run.main(
        argv or [],
        environ=environ,
        out=out,
        session_factory=(lambda: session) if session is not None else None,
        steps_factory=factory,
        clock=lambda: steps.clock[0],
    )
    return status, out.getvalue(), made


def test_without_credentials_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clear_credential_sources(monkeypatch, tmp_path)  # the premise, stated here (the autouse fixture does it too)
    status, out, made = main({"E2E_ACCOUNT": ACCOUNT, "AWS_REGION": "us-east-1"})
    assert (status, out, made) == (2, "e2e: no AWS credentials (set AWS_PROFILE or log in); nothing was deployed\n", [])


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        ({}, f"e2e: set E2E_ACCOUNT={ACCOUNT} to deploy a test copy of the app there (about an hour of it)\n"),
        (
            {"E2E_ACCOUNT": "999999999999"},
            f"e2e: E2E_ACCOUNT=999999999999 but the credentials are account {ACCOUNT}; nothing was deployed\n",
        ),
        (
            {"E2E_ACCOUNT": ACCOUNT, "E2E_MAX_MINUTES": "soon"},
            "e2e: E2E_MAX_MINUTES='soon' is not a number of minutes\n",
        ),
    ],
)
def test_the_account_must_be_named_and_match(sts: None, environ: dict[str, str], line: str) -> None:
    status, out, made = main({"AWS_REGION": "us-east-1", **environ}, session=role_session())
    assert (status, out, made) == (2, line, [])


def test_a_caller_that_is_not_a_role_is_refused(sts: None) -> None:
    status, out, made = main({"E2E_ACCOUNT": ACCOUNT, "AWS_REGION": "us-east-1"}, session=boto3.session.Session())
    assert status == 2 and made == []
    assert out.startswith("e2e: the caller arn:aws:sts::123456789012:user/moto is not an IAM role")


def test_consumers_need_a_profile_each(sts: None) -> None:
    consumers = json.dumps([{"name": "team-b", "account": "222222222222", "vpcCidr": "10.3.0.0/16"}])
    status, out, made = main(
        {"E2E_ACCOUNT": ACCOUNT, "AWS_REGION": "us-east-1"},
        session=role_session(),
        argv=["-c", f"consumers={consumers}"],
    )
    assert (status, made) == (2, [])
    assert (
        out
        == "e2e: consumers are configured: set E2E_PROFILE_TEAM_B (each consumer account's profile, for its smoke)\n"
    )


class StackEvents:
    """DescribeStackEvents of the run's stacks (moto records no resource events), by name until the stacks are
    deleted: then, as in CloudFormation, a deleted stack is found by its id only."""

    def __init__(self) -> None:
        self.deleted = False

    def get_paginator(self, operation: str) -> Any:
        assert operation == "describe_stack_events"
        return self

    def paginate(self, *, StackName: str) -> Iterator[dict[str, Any]]:  # noqa: N803
        from botocore.exceptions import ClientError

        if self.deleted and not StackName.startswith("arn:"):
            raise ClientError({"Error": {"Code": "ValidationError", "Message": f"Stack with id {StackName} does "
                                         "not exist"}}, "DescribeStackEvents")  # fmt: skip
        yield {"StackEvents": [{**e, "StackId": StackName} for e in EVENTS]}


class EventsSession:
    """The moto session, but CloudFormation's events from StackEvents."""

    def __init__(self, session: Any, events: StackEvents) -> None:
        self.session, self.events = session, events

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.events if service == "cloudformation" else self.session.client(service, **kwargs)


class DeletingSteps(FakeSteps):
    def __init__(self, events: StackEvents, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events = events

    def run(self, phase: str, budget: float) -> list[Check]:
        if phase == "destroy":
            self.events.deleted = True
        return super().run(phase, budget)


def test_a_full_run_against_fakes_writes_the_report(
    sts: None, synth: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "ASSEMBLY", synth.outdir)  # the assembly the deploy would have synthesized
    events = StackEvents()
    steps = DeletingSteps(events, seconds=dict.fromkeys(PHASES, 100.0))
    session = EventsSession(role_session(), events)
    status, out, made = main({"E2E_ACCOUNT": ACCOUNT, "AWS_REGION": "us-east-1"}, session=session, steps=steps)
    assert status == 0, out
    plan = made[0]
    # measured while the stacks were still there (DescribeStackEvents by name finds no deleted stack)
    assert json.loads((plan.directory / "report.json").read_text())["measured_creation_seconds"] == creation_seconds(
        EVENTS
    )
    assert creation_seconds(EVENTS)
    assert plan.context["clusterAdminRoleArns"] == [f"arn:aws:iam::{ACCOUNT}:role/e2e-runner"]
    report = json.loads((plan.directory / "report.json").read_text())
    assert report["verdict"] == "passed" and report["prefix"] == plan.prefix
    assert [p["name"] for p in report["phases"]] == list(PHASES)
    assert report["critical_path"]["model_deploy_seconds"] == critical_path.critical_path(synth.templates, {
        n: list(d) for n, d in _dependencies(synth).items()
    })[-1].finish  # fmt: skip
    assert report["cost"]["hourly_usd"] > 0 and report["cost"]["usd"] == round(
        report["cost"]["hourly_usd"] * 600 / 3600, 2
    )
    assert (plan.directory / "report.md").read_text() == render(report)


def _dependencies(synth: Synthesized) -> dict[str, tuple[str, ...]]:
    from tools.synth import read_assembly

    return read_assembly(synth.outdir).dependencies


# ----------------------------------------------------------------------------------- plan and prefix


def test_dry_run_prints_the_plan_and_needs_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    status, out, made = main({"DRY_RUN": "1", "AWS_REGION": "us-east-1"})
    assert (status, made) == (0, [])
    prefix = re.search(r"prefix (e2e-[a-z0-9]{6})", out)
    assert prefix, out
    p = prefix[1]
    assert f"stacks: {p}-Platform, {p}-Gateway" in out
    assert [line for line in out.splitlines() if re.match(r"^\d\. ", line)] == [
        f"{i}. {phase}" for i, phase in enumerate(PHASES, 1)
    ]
    assert f"   cdk deploy --require-approval never --concurrency 4 --no-notices -c stackPrefix={p} " in out
    assert f"   python tools/smoke.py --stack {p}-Gateway --region us-east-1" in out
    assert "   python tools/impact.py --changeset --region us-east-1 " in out
    assert f"   python tools/destroy.py {p}-Platform {p}-Gateway -- -c stackPrefix={p} " in out


def test_a_run_names_only_its_own_prefix() -> None:
    consumers = [{"name": "team-b", "account": "222222222222", "vpcCidr": "10.3.0.0/16"}]
    plan = run.make_plan(
        {**cdk_json_context(), "consumers": consumers},
        prefix="e2e-abc123",
        account=ACCOUNT,
        region="us-east-1",
        admin_role=None,
        environ={"E2E_PROFILE_TEAM_B": "team-b"},
        stamp="20261205T000000Z",
    )
    assert plan.stacks == ["e2e-abc123-Platform", "e2e-abc123-Gateway", "e2e-abc123-Consumer-team-b"]
    destroy = plan.commands()["destroy"][0]
    named = destroy[2 : destroy.index("--")]
    assert named == plan.stacks and all(s.startswith("e2e-abc123-") for s in named)
    for phase, commands in plan.commands().items():
        for command in commands:
            if "-c" in command:  # every command that configures the app carries every one of the run's names
                for key in ("stackPrefix", "clusterName", "serviceNetworkName"):
                    assert f"{key}=e2e-abc123" in command, (phase, key)
    assert plan.commands()["smoke"][1][:2] == ["env", "AWS_PROFILE=team-b"]


def test_the_update_adds_a_route_and_changes_the_node_count() -> None:
    base = cdk_json_context()
    plan = run.make_plan(base, prefix="e2e-abc123", account=ACCOUNT, region="us-east-1", admin_role=None, environ={},
                         stamp="x")  # fmt: skip
    assert plan.update["nodeDesiredSize"] == base["nodeDesiredSize"] + 1
    assert [r["name"] for r in plan.update["routes"]][-1] == "e2e-abc123-e2e-update"
    at_max = {**base, "nodeDesiredSize": 3, "nodeMaxSize": 3}
    plan = run.make_plan(at_max, prefix="e2e-abc123", account=ACCOUNT, region="us-east-1", admin_role=None, environ={},
                         stamp="x")  # fmt: skip
    assert plan.update["nodeDesiredSize"] == 2


@pytest.mark.parametrize(
    "path", ["/", "/aws-reserved/sso.amazonaws.com/", "/aws-reserved/sso.amazonaws.com/eu-west-2/", "/team/x/"]
)
def test_the_admin_role_is_the_callers_role_as_iam_names_it(sts: None, path: str) -> None:
    """Class of fault: the admin ARN rebuilt from the STS caller ARN (which has the role's name, never its path):
    for a role under any path, SSO's included, the plan's admin is GetRole's ARN exactly."""
    session = role_session(path, "AWSReservedSSO_Admin_0123456789abcdef")
    status, out, made = main({"E2E_ACCOUNT": ACCOUNT, "AWS_REGION": "us-east-1"}, session=session)
    assert status == 0, out
    arn = boto3.client("iam").get_role(RoleName="AWSReservedSSO_Admin_0123456789abcdef")["Role"]["Arn"]
    assert arn.endswith(f":role{path}AWSReservedSSO_Admin_0123456789abcdef")
    assert made[0].context["clusterAdminRoleArns"] == [arn]


def test_the_callers_role_name() -> None:
    assert planning.role_name("arn:aws:sts::111122223333:assumed-role/Admin/me") == "Admin"
    assert planning.role_name("arn:aws:iam::111122223333:role/x/Admin") == "Admin"
    assert planning.role_name("arn:aws:iam::111122223333:user/alice") is None


def test_a_role_iam_cannot_describe_is_refused_in_one_line(sts: None) -> None:
    creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/gone", RoleSessionName="me")
    c = creds["Credentials"]
    session = boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                    aws_session_token=c["SessionToken"], region_name="us-east-1")  # fmt: skip
    status, out, made = main({"E2E_ACCOUNT": ACCOUNT, "AWS_REGION": "us-east-1"}, session=session)
    assert (status, made, len(out.splitlines())) == (2, [], 1)
    assert out.startswith("e2e: iam:GetRole gone: NoSuchEntityException")


# ---------------------------------------------------------------------------------------- the report


def event(logical_id: str, kind: str, status: str, at: str, reason: str = "") -> dict[str, str]:
    found = {"StackId": "s", "LogicalResourceId": logical_id, "ResourceType": kind, "ResourceStatus": status}
    return {**found, "Timestamp": f"2026-12-05T10:{at}+00:00", **({"ResourceStatusReason": reason} if reason else {})}


CLUSTER, ROLE, STACK = "AWS::EKS::Cluster", "AWS::IAM::Role", "AWS::CloudFormation::Stack"
EVENTS = [
    event("C", CLUSTER, "CREATE_IN_PROGRESS", "00:00"),
    event("C", CLUSTER, "CREATE_IN_PROGRESS", "00:05", "Resource creation Initiated"),
    event("C", CLUSTER, "CREATE_COMPLETE", "09:00"),
    event("R1", ROLE, "CREATE_IN_PROGRESS", "00:00"),
    event("R1", ROLE, "CREATE_COMPLETE", "00:10"),
    event("R2", ROLE, "CREATE_IN_PROGRESS", "00:00"),
    event("R2", ROLE, "CREATE_COMPLETE", "00:30"),
    event("s", STACK, "CREATE_COMPLETE", "10:00"),
]


def test_creation_times_are_measured_from_the_first_in_progress_event() -> None:
    assert creation_seconds(EVENTS) == {"AWS::EKS::Cluster": 540.0, "AWS::IAM::Role": 20.0}


def sample(outcome: Any, **kwargs: Any) -> dict[str, Any]:
    return build(
        outcome=outcome,
        prefix="e2e-abc123",
        account=ACCOUNT,
        region="us-east-1",
        started="2026-12-05T10:00:00+00:00",
        finished="2026-12-05T11:00:00+00:00",
        ceiling_minutes=150,
        stacks=["e2e-abc123-Platform", "e2e-abc123-Gateway"],
        model_deploy_seconds=1416.0,
        measured_creation={"AWS::EKS::Cluster": 540.0},
        hourly_usd=0.4,
        destroy_command="python tools/destroy.py e2e-abc123-Platform e2e-abc123-Gateway -- ...",
        **kwargs,
    )


def test_the_report_renders_every_phase_check_cost_and_leftover() -> None:
    outcome, _ = go(FakeSteps(fail="update", seconds=dict.fromkeys(PHASES, 300.0)))
    report = sample(outcome, left=["123456789012 us-east-1 log group /aws/eks/e2e-abc123/cluster"])
    text = render(report)
    assert report["verdict"] == "failed"
    assert "| deploy | passed | 5.0 min | 1/1 |" in text
    assert "| update | failed | 5.0 min | 0/1 |" in text
    assert "| live-facts | skipped | 0.0 min |  |" in text
    assert "- cost: $0.17 (0.42 h x $0.400/h;" in text  # five phases of 300 s ran
    assert "- modelled (tools/critical_path.py, typical creation times): 23.6 min" in text
    assert "- measured (the deploy phase's wall time): 5.0 min" in text
    assert "  - AWS::EKS::Cluster: 540 s" in text
    assert "- FAIL update: update check: exit 1" in text
    assert "- 123456789012 us-east-1 log group /aws/eks/e2e-abc123/cluster" in text
    assert "Destroy with: `python tools/destroy.py" in text
    assert json.loads(json.dumps(report)) == report


def test_a_clean_report_has_nothing_left_and_no_destroy_command() -> None:
    outcome, _ = go(FakeSteps())
    report = sample(outcome, left=[])
    assert report["verdict"] == "passed" and report["destroy_command"] == ""
    assert "- nothing (make audit found no resource of this run)" in render(report)


def test_critical_path_takes_a_reports_measured_times(synth: Synthesized, tmp_path: Path, capsys: Any) -> None:
    outcome, _ = go(FakeSteps(seconds={"deploy": 1800.0}))
    report = sample(outcome, left=[])
    report["measured_creation_seconds"] = {"AWS::EKS::Cluster": 900.0}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    assert critical_path.main(["--cdk-out", str(synth.outdir), "--from-report", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    typical = next(line for line in lines if "typical creation times" in line)
    measured = next(line for line in lines if f"creation times measured in {path}" in line)
    seconds = [float(re.search(r"\((\d+) s", line)[1]) for line in (typical, measured)]  # type: ignore[index]
    assert seconds[1] == seconds[0] + 300  # the cluster, on the path, took 900 s instead of 600
    assert any(line.startswith("Measured deploy wall time: 30.0 min (1800 s;") for line in lines)


def test_critical_path_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text("{}")
    with pytest.raises(SystemExit, match=r"is not a make e2e report\.json: KeyError"):
        critical_path.main(["--from-report", str(path)])


def test_the_page_shows_the_simulated_report(tmp_path: Path) -> None:
    import datetime as dt

    from tools.e2e.naming import run_context
    from tools.synth import synthesize

    overrides = {**run_context(cdk_json_context(), simulate.PREFIX), "aws:cdk:disable-asset-staging": True}
    assembly = synthesize(tmp_path, overrides, today=dt.date(2026, 12, 5))
    block = simulate.page_block(simulate.simulated_report(assembly.templates, assembly.dependencies))
    page = simulate.PAGE.read_text()
    assert "SIMULATED" in block
    assert block in page, "docs/e2e.md's simulated report is stale: run `python -m tools.e2e.simulate --page`"
    # The section's prose quotes the same figures: the hourly cost and the modelled deploy.
    report = simulate.simulated_report(assembly.templates, assembly.dependencies)
    prose = " ".join(page.split())
    assert f"about ${report['cost']['hourly_usd']:.2f} an hour" in prose
    assert f"critical path is about {report['critical_path']['model_deploy_seconds'] / 60:.0f} minutes" in prose


# ------------------------------------------------------------------------------------------- make targets


@pytest.mark.parametrize(
    ("target", "line"),
    [
        ("e2e", "e2e: no AWS credentials (set AWS_PROFILE or log in); nothing was deployed"),
        ("audit", "audit: no AWS credentials (set AWS_PROFILE or log in); nothing was listed"),
    ],
)
def test_make_targets_without_credentials_print_one_line_and_exit_2(target: str, line: str, tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.conftest import ROOT

    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    none = str(tmp_path / "none")
    environ |= {"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true"}
    environ |= {"AWS_REGION": "us-east-1", "E2E_ACCOUNT": ACCOUNT}
    result = subprocess.run(["make", "-s", target], cwd=ROOT, env=environ, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    lines = (result.stdout + result.stderr).splitlines()
    # make's own closing line ("make: *** [Makefile:N: e2e] Error 2", make[1] when nested) aside: one line.
    assert [x for x in lines if not re.match(r"^make(\[\d+\])?: \*\*\* ", x)] == [line]


def test_the_deploy_commands_take_only_flags_the_pinned_cli_has() -> None:
    from tests.test_makefile import cli_options

    plan = run.make_plan(cdk_json_context(), prefix="e2e-abc123", account=ACCOUNT, region="us-east-1",
                         admin_role=None, environ={}, stamp="x")  # fmt: skip
    deploys = [c for phase in plan.commands().values() for c in phase if len(c) > 1 and c[1] == "deploy"]
    assert len(deploys) == 2
    for command in deploys:
        flags = [arg.split("=", 1)[0] for arg in command[2:] if arg.startswith("-")]
        assert [f for f in flags if re.sub(r"^--no-", "--", f) not in cli_options("deploy")] == []


# ------------------------------------------------------------------------- the user's context in every phase

USER_PAIRS = [
    "consumers=" + json.dumps([{"name": "team-b", "account": "222222222222", "vpcCidr": "10.3.0.0/16"}]),
    "nodeDesiredSize=1",
]


def _user_plan() -> run.Plan:
    from tools.impact import parse_context as parse_pairs

    base = {**cdk_json_context(), **parse_pairs(USER_PAIRS)}  # as run._main builds it from CDK_ARGS
    return run.make_plan(base, prefix="e2e-abc123", account=ACCOUNT, region="us-east-1", admin_role=None,
                         environ={"E2E_PROFILE_TEAM_B": "team-b"}, stamp="x")  # fmt: skip


def _context_of(command: list[str]) -> dict[str, str]:
    from tools.impact import parse_context as parse_pairs

    return parse_pairs([command[i + 1] for i, arg in enumerate(command[:-1]) if arg == "-c"])


def test_every_phase_command_configures_the_plans_app() -> None:
    """Class of fault: a phase's command built from the run's keys alone, losing the user's -c values (CDK_ARGS):
    each command's -c pairs, loaded over cdk.json as the app loads them, give the very configuration the plan
    deploys (the first deploy's) or updates to (every later phase's)."""
    import datetime as dt

    from config import parse_context as load

    plan, today = _user_plan(), dt.date(2026, 12, 5)
    from tools.impact import parse_context as parse_pairs

    base = {**cdk_json_context(), **parse_pairs(USER_PAIRS)}
    deployed = load({**base, **{k: planning._raw(v) for k, v in plan.context.items()}}, today=today)
    updated = load({**base, **{k: planning._raw(v) for k, v in plan.update.items()}}, today=today)
    assert [c.name for c in updated.consumers] == ["team-b"] and updated.node_desired_size == 2
    configured = 0
    for phase, commands in plan.commands().items():
        for command in commands:
            if "-c" not in command:
                continue
            configured += 1
            got = load({**cdk_json_context(), **_context_of(command)}, today=today)
            assert got == (deployed if phase == "deploy" else updated), (phase, command[:3])
    assert configured == 5  # deploy, impact, the second deploy, destroy, audit: every one that takes -c


@pytest.fixture(scope="module")
def run_synth(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app synthesized from the destroy command's -c pairs of a plan with a consumer (as the CLI would); once per
    session, or read from the synthesis cache (its key holds these overrides, the environment and the day)."""
    import datetime as dt

    from tests.conftest import cached_app_assembly
    from tools.synth import read_assembly

    destroy = _user_plan().commands()["destroy"][0]
    overrides = {**_context_of(destroy[destroy.index("--") + 1 :]), "aws:cdk:disable-asset-staging": True}
    outdir = cached_app_assembly(
        tmp_path_factory, "e2e-run", overrides, (ACCOUNT, "us-east-1"), today=dt.date(2026, 12, 5), nag=False
    )
    return read_assembly(outdir)


def test_destroy_with_the_plans_context_matches_every_stack_of_the_plan(run_synth: Any) -> None:
    """The destroy command's -c pairs synthesize an app with every stack the plan deployed (the consumer's too),
    and destroy.py's dry run (the pinned CLI's `cdk ls` for each name) refuses none of them."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    plan = _user_plan()
    destroy = plan.commands()["destroy"][0]
    args = destroy[destroy.index("--") + 1 :]
    assert set(plan.stacks) <= set(run_synth.templates)
    names = destroy[2 : destroy.index("--")]
    result = subprocess.run(
        [sys.executable, "tools/destroy.py", "--dry-run", "--assembly", str(run_synth.outdir), *names, "--", *args],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert all(name in result.stdout for name in plan.stacks), result.stdout


def test_a_consumers_smoke_acts_as_its_profile_whatever_the_environment_holds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Class of fault: a child given AWS_PROFILE but still holding credentials that botocore reads before any
    profile. The env the consumer's smoke gets, handed to a real Python child, resolves the profile's keys, and
    holds none of the variables botocore's EnvProvider reads."""
    import subprocess
    import sys

    from botocore.credentials import EnvProvider

    shared = tmp_path / "credentials"
    shared.write_text("[team-b]\naws_access_key_id = AKIACONSUMERPROFILE0\naws_secret_access_key = consumer\n")
    provider = {
        "AWS_ACCESS_KEY_ID": "AKIAPROVIDERENV00000", "AWS_SECRET_ACCESS_KEY": "provider",
        "AWS_SESSION_TOKEN": "provider-token", "AWS_SECURITY_TOKEN": "provider-token",
        "AWS_CREDENTIAL_EXPIRATION": "2099-01-01T00:00:00Z", "AWS_ACCOUNT_ID": ACCOUNT,
    }  # fmt: skip
    for name, value in {**provider, "AWS_SHARED_CREDENTIALS_FILE": str(shared),
                        "AWS_CONFIG_FILE": str(tmp_path / "none")}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    plan = _user_plan()
    seen: list[tuple[list[str], dict[str, str]]] = []

    def runner(command: list[str], **kwargs: Any) -> Any:
        seen.append((command, kwargs["env"]))
        return subprocess.CompletedProcess(command, 0)

    run.AwsSteps(plan, session=None, runner=runner).run("smoke", 60.0)
    consumer = [env for command, env in seen if "e2e-abc123-Consumer-team-b" in command]
    assert len(consumer) == 1 and consumer[0]["AWS_PROFILE"] == "team-b"
    read = {EnvProvider.ACCESS_KEY, EnvProvider.SECRET_KEY, *EnvProvider.TOKENS, EnvProvider.EXPIRY_TIME}
    assert read <= set(provider) and not read & set(consumer[0])
    probe = "import boto3; c = boto3.session.Session().get_credentials(); print(c.access_key, c.method)"
    child = subprocess.run([sys.executable, "-c", probe], env=consumer[0], capture_output=True, text=True, check=True)
    assert child.stdout.split() == ["AKIACONSUMERPROFILE0", "shared-credentials-file"]
    gateway = [env for command, env in seen if "e2e-abc123-Gateway" in command]
    assert gateway[0]["AWS_ACCESS_KEY_ID"] == "AKIAPROVIDERENV00000"  # the provider's own smoke keeps them


# ------------------------------------------------------------------ interrupts, stacks left in progress


class FakeCloudFormation:
    """Stacks that keep working after the CLI that started them died: a CREATE_IN_PROGRESS or a rollback ends
    after `polls` DescribeStacks; an UPDATE_IN_PROGRESS never ends unless cancelled. DeleteStack refuses a stack
    *_IN_PROGRESS, and the first `fail_deletes` deletes end in DELETE_FAILED."""

    def __init__(
        self,
        statuses: dict[str, str],
        *,
        polls: int = 2,
        fail_deletes: int = 0,
        resources: dict[str, list[dict[str, str]]] | None = None,
    ) -> None:
        self.statuses, self.polls, self.fail_deletes = dict(statuses), polls, fail_deletes
        self.left = dict.fromkeys(statuses, polls)
        self.calls: list[tuple[str, str]] = []
        self.resources = resources or {}

    def list_stack_resources(self, *, StackName: str, NextToken: str = "0") -> dict[str, Any]:  # noqa: N803
        """One resource a page (every caller must follow NextToken)."""
        self.calls.append(("ListStackResources", StackName))
        rows, at = self.resources.get(StackName, []), int(NextToken)
        page: dict[str, Any] = {"StackResourceSummaries": rows[at : at + 1]}
        if at + 1 < len(rows):
            page["NextToken"] = str(at + 1)
        return page

    def _error(self, operation: str, message: str) -> Exception:
        from botocore.exceptions import ClientError

        return ClientError({"Error": {"Code": "ValidationError", "Message": message}}, operation)

    def describe_stacks(self, *, StackName: str) -> dict[str, Any]:  # noqa: N803 - the API's parameter names
        self.calls.append(("DescribeStacks", StackName))
        if StackName not in self.statuses:
            raise self._error("DescribeStacks", f"Stack with id {StackName} does not exist")
        status = self.statuses[StackName]
        if status in {"CREATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"}:
            self.left[StackName] -= 1
            if self.left[StackName] <= 0:
                self.statuses[StackName] = status.replace("_IN_PROGRESS", "_COMPLETE")
        return {"Stacks": [{"StackName": StackName, "StackStatus": status}]}

    def cancel_update_stack(self, *, StackName: str) -> None:  # noqa: N803
        self.calls.append(("CancelUpdateStack", StackName))
        assert self.statuses[StackName] == "UPDATE_IN_PROGRESS"
        self.statuses[StackName], self.left[StackName] = "UPDATE_ROLLBACK_IN_PROGRESS", self.polls

    def delete_stack(self, *, StackName: str) -> None:  # noqa: N803
        self.calls.append(("DeleteStack", StackName))
        status = self.statuses.get(StackName)
        if status is None:
            return
        if status.endswith("_IN_PROGRESS"):
            raise self._error("DeleteStack", f"Stack {StackName} is in {status} state and can not be deleted")
        if self.fail_deletes:
            self.fail_deletes -= 1
            self.statuses[StackName] = "DELETE_FAILED"
            return
        del self.statuses[StackName]


class FakeLogs:
    """CloudWatch Logs' DeleteLogGroup over a set of names."""

    def __init__(self, names: set[str] | None = None) -> None:
        self.names = set(names or ())

    def delete_log_group(self, *, logGroupName: str) -> None:  # noqa: N803
        from botocore.exceptions import ClientError

        if logGroupName not in self.names:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}, "DeleteLogGroup")
        self.names.discard(logGroupName)


class FakeSession:
    def __init__(self, cloudformation: FakeCloudFormation, logs: FakeLogs | None = None) -> None:
        self.clients = {"cloudformation": cloudformation, "logs": logs or FakeLogs()}

    def client(self, service: str, region_name: str | None = None) -> Any:
        return self.clients[service]


class StepsOverFakes(run.AwsSteps):
    """The real AwsSteps (settle, destroy, its retry); the CLI is a fake that deletes through the fake
    CloudFormation, and dies (Ctrl-C) in `dies_in`; the audit (tested on its own with moto) is left out."""

    def __init__(self, plan: run.Plan, provider: FakeCloudFormation, consumer: FakeCloudFormation, dies_in: str,
                 logs: tuple[FakeLogs, FakeLogs] | None = None) -> None:  # fmt: skip
        logs = logs or (FakeLogs(), FakeLogs())
        super().__init__(plan, FakeSession(provider, logs[0]), runner=self.cli,
                         profile_session=lambda _profile, _region: FakeSession(consumer, logs[1]),
                         sleep=lambda _s: None)  # fmt: skip
        self.provider, self.consumer, self.dies_in = provider, consumer, dies_in
        self.ran: list[str] = []

    def cli(self, command: list[str], **_: Any) -> Any:
        import subprocess

        phase = next(p for p, commands in self.plan.commands().items() if command in [c[-len(command):] for c in
                                                                                     commands])  # fmt: skip
        self.ran.append(phase)
        if phase == self.dies_in:
            raise KeyboardInterrupt
        if phase != "destroy":
            return subprocess.CompletedProcess(command, 0)
        failed = False
        for stack in reversed(command[2 : command.index("--")]):  # `cdk destroy`: dependants first
            cfn = self.consumer if "-Consumer-" in stack else self.provider
            try:
                cfn.delete_stack(StackName=stack)
            except Exception:
                failed = True
            failed = failed or cfn.statuses.get(stack) == "DELETE_FAILED"
        return subprocess.CompletedProcess(command, 1 if failed else 0)

    def audit(self) -> list[Check]:
        return [Check("audit (left out)", True)]


def test_an_interrupted_update_is_settled_then_destroyed() -> None:
    """Ctrl-C in the update leaves the Gateway UPDATE_IN_PROGRESS (it never ends on its own) and the consumer
    CREATE_IN_PROGRESS: destroy cancels the update, waits for both, and then deletes every stack."""
    plan = _user_plan()
    provider = FakeCloudFormation(
        {"e2e-abc123-Platform": "UPDATE_COMPLETE", "e2e-abc123-Gateway": "UPDATE_IN_PROGRESS"}
    )
    consumer = FakeCloudFormation({"e2e-abc123-Consumer-team-b": "CREATE_IN_PROGRESS"})
    steps = StepsOverFakes(plan, provider, consumer, dies_in="update")
    outcome = execute(steps, keep=False, ceiling_seconds=3600, out=io.StringIO(), clock=lambda: 0.0)
    assert outcome.interrupted and steps.ran == ["deploy", "smoke", "smoke", "update", "destroy"]
    destroy = outcome.phase("destroy")
    assert destroy is not None and destroy.status == "passed", destroy
    assert ("CancelUpdateStack", "e2e-abc123-Gateway") in provider.calls
    assert provider.statuses == {} and consumer.statuses == {}
    assert "cancelled the update of e2e-abc123-Gateway" in destroy.checks[0].detail


def test_a_delete_failed_is_retried_once() -> None:
    plan = _user_plan()
    provider = FakeCloudFormation(dict.fromkeys(plan.stacks[:2], "CREATE_COMPLETE"), fail_deletes=1)
    consumer = FakeCloudFormation({"e2e-abc123-Consumer-team-b": "CREATE_COMPLETE"})
    steps = StepsOverFakes(plan, provider, consumer, dies_in="")
    checks = steps.run("destroy", 600.0)
    assert all(c.ok for c in checks) and "retried after DELETE_FAILED" in checks[1].detail
    assert provider.statuses == {} and steps.ran.count("destroy") == 2
    stuck = FakeCloudFormation(dict.fromkeys(plan.stacks[:2], "CREATE_COMPLETE"), fail_deletes=5)
    again = StepsOverFakes(plan, stuck, FakeCloudFormation({}), dies_in="")
    assert not all(c.ok for c in again.run("destroy", 600.0)) and again.ran.count("destroy") == 2  # once, not more


def test_stacks_that_never_settle_end_the_destroy_at_its_budget() -> None:
    plan = _user_plan()
    provider = FakeCloudFormation({"e2e-abc123-Gateway": "CREATE_IN_PROGRESS"}, polls=10**9)
    steps = StepsOverFakes(plan, provider, FakeCloudFormation({}), dies_in="")
    now = [0.0]
    steps.clock, steps.sleep = (lambda: now[0]), (lambda s: now.__setitem__(0, now[0] + s))
    with pytest.raises(PhaseTimeoutError, match="e2e-abc123-Gateway CREATE_IN_PROGRESS"):
        steps.run("destroy", 120.0)
    assert "destroy" not in steps.ran  # nothing was asked to delete a stack still in progress


_TREE = """
import os, signal, subprocess, sys, time
stubborn = ("import signal, time; [signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)];"
            " time.sleep(600)")
grandchild = subprocess.Popen([sys.executable, "-c", stubborn])
with open(sys.argv[1], "w") as f:
    f.write(f"{os.getpid()}\\n{grandchild.pid}\\n")
time.sleep(600)
"""

_DRIVER = """
import os, sys
from pathlib import Path
sys.path.insert(0, os.getcwd())
from tools.e2e import aws_steps
from tools.e2e.orchestrate import Check, execute

class Steps:
    def run(self, phase, budget):
        if phase == "deploy":
            aws_steps.run_group([sys.executable, "-c", sys.argv[1], sys.argv[2]], cwd=Path.cwd(), env=os.environ,
                          timeout=budget, grace=0.25)
        print("ran", phase, flush=True)
        return [Check(phase, True)]

    def destroy_command(self):
        return "python tools/destroy.py"

aws_steps.install_signal_handlers()
outcome = execute(Steps(), keep=False, ceiling_seconds=600, out=sys.stdout)
print("outcome", [(p.name, p.status) for p in outcome.phases], flush=True)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie (no init reaps it here) is dead


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_mid_phase_stops_the_whole_child_tree_and_still_destroys(signum: str, tmp_path: Path) -> None:
    """A real driver (the real orchestrator and run_group) with a real child that started a grandchild ignoring
    SIGINT and SIGTERM: the signal ends the phase, the whole tree is gone, destroy and audit still run."""
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    pids = tmp_path / "pids"
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, _TREE, str(pids)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len(pids.read_text().split() if pids.exists() else []) < 2:
            assert time.monotonic() < deadline and driver.poll() is None, "the child tree never started"
            time.sleep(0.05)
        tree = [int(p) for p in pids.read_text().split()]
        assert all(_alive(p) for p in tree)
        driver.send_signal(getattr(signal, signum))
        output, _ = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == 0, output
    assert "e2e: interrupted during deploy" in output and "ran destroy" in output and "ran audit" in output, output
    assert "ran deploy" not in output
    assert not [p for p in tree if _alive(p)], output


def _physical(stack: str, logical: str, resource: dict[str, Any], functions: dict[str, str]) -> str:
    """A resource's physical id as CloudFormation gives it: its name property, or a generated name (stack name
    and logical id cut to fit 64 characters, then a random suffix)."""
    props = resource.get("Properties", {})
    name = props.get("FunctionName") or props.get("LogGroupName") or props.get("Name")
    if isinstance(name, str):
        return name
    if isinstance(name, dict) and "Fn::Join" in name:  # "/aws/lambda/" + Ref of a function
        parts = name["Fn::Join"][1]
        return "".join(p if isinstance(p, str) else functions[p["Ref"]] for p in parts)
    import hashlib

    return f"{stack[:30]}-{logical[:20]}-{hashlib.sha256(logical.encode()).hexdigest()[:12].upper()}"


def test_destroy_deletes_every_log_group_the_stacks_leave_and_only_the_runs(run_synth: Any) -> None:
    """Class of fault: what outlives CloudFormation's delete. From the synth: every Retain/Snapshot resource,
    every function's default group (LoggingConfig without LogGroup: CloudWatch creates /aws/lambda/<name>) and
    every cluster's control-plane group exist after the stacks are gone; e2e's destroy deletes exactly those, and
    no group of another prefix (one that extends this one's included)."""
    plan = _user_plan()
    retained_kinds: set[str] = set()
    left: dict[str, set[str]] = {"provider": set(), "consumer": set()}
    resources: dict[str, list[dict[str, str]]] = {}
    for stack, template in run_synth.templates.items():
        if stack not in plan.stacks:
            continue
        items = template.get("Resources", {})
        functions = {
            lid: _physical(stack, lid, r, {}) for lid, r in items.items() if r["Type"] == "AWS::Lambda::Function"
        }
        rows, side = [], "consumer" if "-Consumer-" in stack else "provider"
        for lid, r in items.items():
            physical = functions.get(lid) or _physical(stack, lid, r, functions)
            rows.append({"LogicalResourceId": lid, "ResourceType": r["Type"], "PhysicalResourceId": physical})
            if r.get("DeletionPolicy") in {"Retain", "Snapshot", "RetainExceptOnCreate"}:
                retained_kinds.add(r["Type"])
                left[side].add(physical)
            if r["Type"] == "AWS::Lambda::Function" and "LogGroup" not in r.get("Properties", {}).get(
                "LoggingConfig", {}
            ):
                left[side].add(f"/aws/lambda/{physical}")
            if r["Type"] == "AWS::EKS::Cluster":
                left[side].add(f"/aws/eks/{physical}/cluster")
        resources[stack] = rows
    assert retained_kinds == {"AWS::Logs::LogGroup"}, "a retained resource e2e's destroy does not delete"
    # aws-cdk-lib's 4 retained groups (platform 3, gateway 1; each a function's /aws/lambda/ group), the default-SG
    # handler's, the cluster's
    assert len(left["provider"]) >= 6, left
    decoys = {"/aws/eks/e2e-abc1234/cluster", "/aws/eks/e2e-zzz999/cluster", "/aws/lambda/e2e-zzz999-Platform-X-Y"}
    logs = (FakeLogs(left["provider"] | decoys), FakeLogs(left["consumer"] | decoys))
    complete = dict.fromkeys(resources, "CREATE_COMPLETE")
    provider = FakeCloudFormation({s: v for s, v in complete.items() if "-Consumer-" not in s}, resources=resources)
    consumer = FakeCloudFormation({s: v for s, v in complete.items() if "-Consumer-" in s}, resources=resources)
    steps = StepsOverFakes(plan, provider, consumer, dies_in="", logs=logs)
    checks = steps.run("destroy", 600.0)
    assert all(c.ok for c in checks), checks
    assert (logs[0].names, logs[1].names) == (decoys, decoys)
    assert sum(len(rows) for rows in steps.recorded.values()) == sum(len(rows) for rows in resources.values())
    # The simulated run (docs/e2e.md) is seeded with the same: one line per group that outlives the stacks.
    ours = {s: t for s, t in run_synth.templates.items() if s in plan.stacks}
    assert len(aws_steps.left_by_design(ours)) == len(left["provider"]) + len(left["consumer"])


@pytest.mark.parametrize("interrupt", ["", "update"])
def test_what_reads_the_stacks_runs_before_destroy_and_its_failure_skips_nothing(interrupt: str) -> None:
    steps = FakeSteps(interrupt=interrupt)
    order: list[str] = []

    def before() -> None:
        order.append(f"before {len(steps.ran)}")
        raise RuntimeError("throttled")

    out = io.StringIO()
    outcome = execute(steps, keep=False, ceiling_seconds=3600, out=out, clock=lambda: steps.clock[0],
                      before_cleanup=before)  # fmt: skip
    assert order == [f"before {steps.ran.index('destroy')}"] and steps.ran[-2:] == list(CLEANUP)
    assert "e2e: before destroy: RuntimeError: throttled" in out.getvalue() and outcome.phase("audit") is not None


@pytest.mark.parametrize("dry", [True, False])
def test_a_misspelled_aws_profile_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dry: bool
) -> None:
    (tmp_path / "config").write_text("[profile team-a]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "taem-a")
    environ = {"AWS_REGION": "us-east-1", "E2E_ACCOUNT": ACCOUNT, **({"DRY_RUN": "1"} if dry else {})}
    status, out, made = main(environ)
    assert (status, made) == (2, [])
    assert out == "e2e: AWS_PROFILE: The config profile (taem-a) could not be found; nothing was deployed\n"


class InterruptedEvents(StackEvents):
    def paginate(self, *, StackName: str) -> Iterator[dict[str, Any]]:  # noqa: N803
        raise KeyboardInterrupt


def test_ctrl_c_while_measuring_still_destroys_and_writes_the_report(
    sts: None, synth: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "ASSEMBLY", synth.outdir)
    events = InterruptedEvents()
    steps = DeletingSteps(events)
    status, out, made = main({"E2E_ACCOUNT": ACCOUNT, "AWS_REGION": "us-east-1"},
                             session=EventsSession(role_session(), events), steps=steps)  # fmt: skip
    assert status == 1 and steps.ran[-2:] == list(CLEANUP), out
    report = json.loads((made[0].directory / "report.json").read_text())
    assert report["interrupted"] and report["verdict"] == "failed"


def test_a_signal_while_the_report_is_written_leaves_it_complete(
    sts: None, synth: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    monkeypatch.setattr(run, "ASSEMBLY", synth.outdir)
    real_write = run.write

    def write(report: Any, directory: Path) -> Any:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C halfway through
        return real_write(report, directory)

    monkeypatch.setattr(run, "write", write)
    before = signal.getsignal(signal.SIGINT)
    status, out, made = main({"E2E_ACCOUNT": ACCOUNT, "AWS_REGION": "us-east-1"}, session=role_session())
    assert status == 1
    assert "e2e: SIGINT while the report was written: it is complete" in out
    report = json.loads((made[0].directory / "report.json").read_text())
    assert (made[0].directory / "report.md").read_text() == render(report)
    assert signal.getsignal(signal.SIGINT) is before  # restored


def test_sigint_stops_the_run_even_when_it_started_ignored() -> None:
    """A run started with SIGINT ignored (a background job of a non-interactive shell; a test worker whose parent
    ignores it) still turns SIGINT into KeyboardInterrupt, so the orchestrator destroys and audits: Python keeps
    an inherited SIG_IGN for SIGINT unless the handler is set explicitly."""
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT

    probe = (
        "import signal, sys; sys.path.insert(0, '.')\n"
        "from tools.e2e import run\n"
        "before = signal.getsignal(signal.SIGINT) is signal.SIG_IGN\n"
        "run.install_signal_handlers()\n"
        "print(before, signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
    )
    ignored = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert ignored.stdout.split() == ["True", "True"], ignored.stdout + ignored.stderr
