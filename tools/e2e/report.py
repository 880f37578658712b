"""The report of a `make e2e` run: reports/e2e-<timestamp>/report.json and report.md.

report.json holds every figure; report.md is rendered from it alone (render), so the two never disagree.
`tools/critical_path.py --from-report report.json` reads `measured_creation_seconds` and the deploy's wall time
back into the deploy model.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from tools.e2e.orchestrate import Outcome

SCHEMA = 1


def creation_seconds(events: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Median creation time per resource type, from CloudFormation stack events (DescribeStackEvents StackEvents:
    ResourceType, LogicalResourceId, ResourceStatus, Timestamp; botocore 1.44.8 cloudformation model): from a
    resource's first CREATE_IN_PROGRESS to its CREATE_COMPLETE."""
    started: dict[tuple[str, str], datetime] = {}
    done: dict[tuple[str, str], tuple[str, float]] = {}
    for event in events:
        key = (str(event.get("StackId") or event.get("StackName") or ""), str(event.get("LogicalResourceId", "")))
        when = event["Timestamp"]
        when = datetime.fromisoformat(when) if isinstance(when, str) else when
        status, kind = event.get("ResourceStatus"), str(event.get("ResourceType", ""))
        if kind == "AWS::CloudFormation::Stack":
            continue  # the stack itself, not a resource in it
        if status == "CREATE_IN_PROGRESS" and (key not in started or when < started[key]):
            started[key] = when
        elif status == "CREATE_COMPLETE":
            done[key] = (kind, when.timestamp())
    by_type: dict[str, list[float]] = {}
    for key, (kind, finished) in done.items():
        if key in started:
            by_type.setdefault(kind, []).append(finished - started[key].timestamp())
    return {kind: round(statistics.median(values), 1) for kind, values in sorted(by_type.items())}


def build(
    *,
    outcome: Outcome,
    prefix: str,
    account: str,
    region: str,
    started: str,
    finished: str,
    ceiling_minutes: float,
    stacks: list[str],
    model_deploy_seconds: float | None,
    measured_creation: Mapping[str, float],
    hourly_usd: float | None,
    left: list[str],
    destroy_command: str,
    simulated: bool = False,
    resources: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`resources`: each stack's resources (logical id, type, physical id) as recorded before the destroy."""
    seconds = sum(p.seconds for p in outcome.phases)
    deploy = outcome.phase("deploy")
    return {
        "schema": SCHEMA,
        "simulated": simulated,
        "prefix": prefix,
        "account": account,
        "region": region,
        "started": started,
        "finished": finished,
        "ceiling_minutes": ceiling_minutes,
        "stacks": stacks,
        "resources": dict(resources or {}),
        "verdict": "passed" if outcome.passed and not left else "failed",
        "interrupted": outcome.interrupted,
        "kept": outcome.kept,
        "phases": json.loads(json.dumps([asdict(p) for p in outcome.phases])),  # as report.json holds them
        "total_seconds": round(seconds, 1),
        "critical_path": {
            "model_deploy_seconds": model_deploy_seconds,
            "measured_deploy_seconds": round(deploy.seconds, 1) if deploy and deploy.status == "passed" else None,
        },
        "measured_creation_seconds": dict(measured_creation),
        "cost": {
            "hourly_usd": hourly_usd,
            "hours": round(seconds / 3600, 3),
            "usd": round(hourly_usd * seconds / 3600, 2) if hourly_usd is not None else None,
            "source": "make cost's standing monthly total (no traffic) / its hours per month, x the run's hours",
        },
        "left": left,
        "destroy_command": destroy_command if outcome.kept or left or outcome.interrupted else "",
    }


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def render(report: Mapping[str, Any], *, level: int = 1) -> str:
    """report.md; `level`: the title's heading level (the documentation page nests it), sections one below."""
    title_mark, section = "#" * level, "#" * (level + 1)
    lines = []
    title = "make e2e report" + (" (SIMULATED: fake AWS, not a real run)" if report["simulated"] else "")
    lines += [f"{title_mark} {title}", ""]
    lines.append(f"- verdict: **{report['verdict']}**" + (" (interrupted)" if report["interrupted"] else ""))
    lines.append(f"- prefix `{report['prefix']}`, account {report['account']}, region {report['region']}")
    when = f"started {report['started']}, finished {report['finished']}"
    lines.append(f"- {when}, time ceiling {report['ceiling_minutes']:g} min")
    lines.append(f"- stacks: {', '.join(f'`{s}`' for s in report['stacks'])}")
    cost = report["cost"]
    if cost["usd"] is not None:
        figures = f"{cost['hours']:.2f} h x ${cost['hourly_usd']:.3f}/h"
        lines.append(f"- cost: ${cost['usd']:.2f} ({figures}; {cost['source']})")
    lines += ["", "| phase | status | wall time | checks |", "|---|---|---|---|"]
    for phase in report["phases"]:
        checks = phase["checks"]
        passed = sum(1 for c in checks if c["ok"])
        summary = f"{passed}/{len(checks)}" if checks else ""
        note = f" ({phase['error']})" if phase["error"] else ""
        lines.append(f"| {phase['name']} | {phase['status']}{note} | {_minutes(phase['seconds'])} | {summary} |")
    cp = report["critical_path"]
    lines += ["", f"{section} Deploy critical path", ""]
    lines.append(f"- modelled (tools/critical_path.py, typical creation times): {_minutes(cp['model_deploy_seconds'])}")
    lines.append(f"- measured (the deploy phase's wall time): {_minutes(cp['measured_deploy_seconds'])}")
    if report["measured_creation_seconds"]:
        lines.append("- measured creation times, fed back with `tools/critical_path.py --from-report`:")
        for kind, seconds in report["measured_creation_seconds"].items():
            lines.append(f"  - {kind}: {seconds:g} s")
    lines += ["", f"{section} Checks", ""]
    for phase in report["phases"]:
        for check in phase["checks"]:
            verdict = "PASS" if check["ok"] else "FAIL"
            tests = ", ".join(f"`{t}`" for t in check["assumed_by"])
            assumed = f" (assumed offline by {tests})" if tests else ""
            detail = f": {check['detail']}" if check["detail"] else ""
            lines.append(f"- {verdict} {phase['name']}: {check['name']}{detail}{assumed}")
    lines += ["", f"{section} Left behind", ""]
    lines += [f"- {item}" for item in report["left"]] or ["- nothing (make audit found no resource of this run)"]
    if report["destroy_command"]:
        lines += ["", f"Destroy with: `{report['destroy_command']}`"]
    return "\n".join(lines) + "\n"


def write(report: Mapping[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    as_json, as_md = directory / "report.json", directory / "report.md"
    as_json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    as_md.write_text(render(report))
    return as_json, as_md
