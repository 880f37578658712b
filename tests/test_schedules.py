"""Every function run on a schedule runs once per tick: EventBridge's retry off AND Lambda's own asynchronous
retries off (constructs/schedule.py: an AWS::Lambda::EventInvokeConfig with MaximumRetryAttempts 0), issue 22
review. Checked in every synthesis, and in the source: no construct makes a schedule except through run_every."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from constructs.schedule import MAX_EVENT_AGE_SECONDS, MIN_EVENT_AGE_SECONDS, event_age_seconds

from tests.conftest import PipelineSynth, Synthesized

ROOT = Path(__file__).resolve().parent.parent


def _ref(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    return None


def test_every_scheduled_function_has_no_async_retries(
    synth: Synthesized, variant: Synthesized, two_stages: PipelineSynth, one_stage: PipelineSynth
) -> None:
    from tests.service_constraints import assembly_templates

    scheduled = 0
    for outdir in (synth.outdir, variant.outdir, two_stages.outdir, one_stage.outdir):
        for where, template in assembly_templates(outdir):
            resources = template.get("Resources", {})
            configs = {
                _ref(r["Properties"]["FunctionName"]): r["Properties"]
                for r in resources.values()
                if r["Type"] == "AWS::Lambda::EventInvokeConfig"
            }
            for rule_id, rule in resources.items():
                if rule["Type"] != "AWS::Events::Rule" or "ScheduleExpression" not in rule["Properties"]:
                    continue
                for target in rule["Properties"].get("Targets", []):
                    function = _ref(target["Arn"])
                    if function is None or resources.get(function, {}).get("Type") != "AWS::Lambda::Function":
                        continue
                    scheduled += 1
                    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0, (where, rule_id)
                    config = configs.get(function)
                    assert config is not None, (where, rule_id, function)
                    assert config["MaximumRetryAttempts"] == 0, (where, function)
                    age = config["MaximumEventAgeInSeconds"]
                    assert MIN_EVENT_AGE_SECONDS <= age <= MAX_EVENT_AGE_SECONDS, (where, function)
    assert scheduled >= 4  # the publisher in each synthesis's gateway stacks, at least


def test_no_construct_schedules_a_function_except_through_run_every() -> None:
    """The DNS re-sync is off in every synthesis above; this keeps it (and any later schedule) on run_every."""
    makers = re.compile(r"Schedule\.(rate|cron|expression)\(")
    sources = {
        p.relative_to(ROOT / "constructs").as_posix(): p.read_text() for p in (ROOT / "constructs").rglob("*.py")
    }
    assert {"schedule.py", "observability/target_health.py"} <= set(sources)  # the packages are searched too
    users = {name for name, text in sources.items() if makers.search(text)}
    assert users == {"schedule.py"}
    callers = {name for name, text in sources.items() if "run_every(" in text}
    assert {"observability/target_health.py", "dns/records.py"} <= callers


def test_the_event_age_is_one_interval_within_lambdas_bounds() -> None:
    assert [event_age_seconds(m) for m in (1, 5, 60, 360, 1440)] == [60, 300, 3600, 21_600, 21_600]
