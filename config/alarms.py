"""`alarms`: the CloudWatch alarms per route and per app, their thresholds, periods and who is told."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict, model_validator

from config.errors import fail
from config.fields import Between, Matches, Model, OneOf, says

# An email address as SNS accepts it for the email protocol: one @, a dotted domain, no spaces or quotes.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+"
ALARM_PERIODS = (60, 300, 900, 3600)  # CloudWatch periods for a standard-resolution alarm, up to an hour
# The target-health publisher's schedule: EventBridge's rate() takes whole minutes (1 at least); at most an hour,
# so the health alarms' period (the longer of this and periodSeconds) stays within ALARM_PERIODS' largest.
MAX_TARGET_HEALTH_MINUTES = 60
# How long an alarm may look back, Period x EvaluationPeriods (botocore 1.44.8 cloudwatch PutMetricAlarm `Period`,
# read 2026-12-05): at most a day for a period under an hour, at most seven days otherwise.
SHORT_PERIOD_BELOW, SHORT_WINDOW_MAX, LONG_WINDOW_MAX = 3600, 86_400, 604_800


def alarm_window_max(period_seconds: int) -> int:
    """The longest Period x EvaluationPeriods CloudWatch accepts for an alarm of this period."""
    return SHORT_WINDOW_MAX if period_seconds < SHORT_PERIOD_BELOW else LONG_WINDOW_MAX


class Alarms(Model):
    """CloudWatch alarms per route (5XX rate, p99 latency) and per app (no healthy targets), and who is told."""

    email: Annotated[str, Matches(_EMAIL, "{input!r} is not an email address (like ops@example.com)", 254)] | None = (
        None
    )
    """an encrypted SNS topic mails this address (confirm the subscription); none: alarms show on the dashboard"""
    error_rate_percent: Annotated[
        float,
        Strict(),
        Field(gt=0, le=100),
        says("{input} must be above 0 and at most 100", "greater_than", "less_than_equal"),
    ] = 5
    """5XX responses as a share of a route's requests; above it the route's error alarm fires"""
    latency_p99_ms: Annotated[int, Between(1, 600_000)] = 1000
    """p99 of Lattice's RequestTime per route; above it the latency alarm fires"""
    evaluation_periods: Annotated[int, Between(1, 60)] = 3
    """consecutive periods over a threshold before an alarm fires; times the longest alarm period (the health
    alarms': the longer of periodSeconds and targetHealthMinutes) at most a day for a period under an hour,
    at most seven days otherwise"""
    period_seconds: Annotated[int, OneOf(ALARM_PERIODS, "{input} is not one of {known}")] = 60
    """length of one evaluation period"""
    target_health_minutes: Annotated[int, Between(1, MAX_TARGET_HEALTH_MINUTES)] = 1
    """how often a function counts each app's healthy Lattice targets (ListTargets) for the no-healthy-targets
    alarms; their period is this or periodSeconds, whichever is longer (and evaluationPeriods of them must fit in
    CloudWatch's look-back: see evaluationPeriods)"""

    @property
    def health_period_seconds(self) -> int:
        """The no-healthy-targets and publisher alarms' period: never shorter than the publisher's interval, so a
        period without a run never breaches."""
        return max(self.period_seconds, 60 * self.target_health_minutes)

    @model_validator(mode="after")
    def _window_fits(self) -> Alarms:
        """CloudWatch refuses an alarm whose Period x EvaluationPeriods is too long (alarm_window_max)."""
        for period, keys in (
            (self.period_seconds, "periodSeconds"),
            (self.health_period_seconds, "targetHealthMinutes (or periodSeconds, the longer)"),
        ):
            window = period * self.evaluation_periods
            if window > alarm_window_max(period):
                why = (
                    f"{self.evaluation_periods} periods of {period} s (from {keys}) look back {window} s; CloudWatch "
                    f"allows at most {alarm_window_max(period)} s for a {period} s period: lower evaluationPeriods "
                    "or the period"
                )
                fail((("evaluationPeriods",), why))
        return self
