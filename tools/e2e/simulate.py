"""A SIMULATED make e2e run, for the documentation (docs/e2e.md): the real orchestration and report against fake
steps and a fake clock, nothing of AWS. Each phase takes a stated figure: the deploy the critical-path model's own
time for the default configuration, the others the round figures below; every check passes; nothing is left. The
cost is the real one of those hours (make cost's standing total for the default configuration).

    python -m tools.e2e.simulate            print the simulated report.md
    python -m tools.e2e.simulate --page     rewrite docs/e2e.md's block between its markers with it
"""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.e2e.orchestrate import Check, Outcome, execute
from tools.e2e.report import build, render

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "e2e.md"
BEGIN, END = "<!-- e2e-simulated-report:begin -->", "<!-- e2e-simulated-report:end -->"
PREFIX, ACCOUNT, REGION = "e2e-s1m001", "111111111111", "ap-northeast-2"
# Simulated phase times (seconds), but deploy, which is the model's.
SECONDS = {"smoke": 420.0, "update": 600.0, "live-facts": 120.0, "destroy": 1200.0, "audit": 30.0}


class SimulatedSteps:
    def __init__(self, clock: list[float], deploy_seconds: float, left: list[str] | None = None) -> None:
        self.clock, self.seconds = clock, {**SECONDS, "deploy": deploy_seconds}
        self.left = left or []  # what outlives the stacks' delete (tools/e2e/aws_steps.py left_by_design)

    def run(self, phase: str, budget: float) -> list[Check]:
        self.clock[0] += self.seconds[phase]
        if phase == "live-facts":
            from tools.e2e.live import ASSUMED_BY, NAMES  # noqa: PLC0415

            return [Check(f"(simulated) {NAMES[fact]}", True, "", tests) for fact, tests in ASSUMED_BY.items()]
        if phase == "destroy":
            deleted = f"deleted {len(self.left)}: {'; '.join(self.left)}"
            return [Check("(simulated) destroy", True, "exit 0"),
                    Check("(simulated) the log groups the stacks leave are deleted", True, deleted)]  # fmt: skip
        return [Check(f"(simulated) {phase}", True, "exit 0")]

    def destroy_command(self) -> str:
        return f"python tools/destroy.py {PREFIX}-Platform {PREFIX}-Gateway -- -c stackPrefix={PREFIX} ..."


def simulated_report(templates: Mapping[str, Any], dependencies: Mapping[str, Any]) -> dict[str, Any]:
    from tools import cost  # noqa: PLC0415
    from tools.critical_path import critical_path  # noqa: PLC0415
    from tools.e2e.aws_steps import left_by_design  # noqa: PLC0415

    chain = critical_path(templates, dependencies)
    model = chain[-1].finish
    clock = [0.0]
    outcome: Outcome = execute(
        SimulatedSteps(clock, model, left_by_design(templates)),
        keep=False,
        ceiling_seconds=150 * 60,
        out=io.StringIO(),
        clock=lambda: clock[0],
    )
    estimate = cost.estimate(templates, region=REGION, gb=0.0, requests=0, log_gb=0.0)
    return build(
        outcome=outcome,
        prefix=PREFIX,
        account=ACCOUNT,
        region=REGION,
        started="2026-12-05T09:00:00+00:00",
        finished="(simulated)",
        ceiling_minutes=150,
        stacks=[f"{PREFIX}-Platform", f"{PREFIX}-Gateway"],
        model_deploy_seconds=model,
        measured_creation={},
        hourly_usd=round(estimate.total_usd / estimate.hours_per_month, 4),
        left=[],
        destroy_command=SimulatedSteps(clock, model).destroy_command(),
        simulated=True,
    )


def page_block(report: Mapping[str, Any]) -> str:
    return f"{BEGIN}\n\n{render(report, level=3)}\n{END}"


def main(argv: list[str]) -> int:
    import datetime as dt  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from tools.e2e.naming import run_context  # noqa: PLC0415
    from tools.synth import cdk_json_context, synthesize  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as outdir:
        context = run_context(cdk_json_context(), PREFIX)
        assembly = synthesize(
            Path(outdir), {**context, "aws:cdk:disable-asset-staging": True}, today=dt.date(2026, 12, 5)
        )
    report = simulated_report(assembly.templates, assembly.dependencies)
    if "--page" not in argv:
        print(render(report), end="")
        return 0
    text = PAGE.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    PAGE.write_text(text[:start] + page_block(report) + text[end:])
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
