"""Each polled custom resource gives up, readably, before its provider framework does.

The framework's waiter (a Step Functions Retry on the isComplete task, BackoffRate 1) polls every IntervalSeconds
and gives up after MaxAttempts retries (Amazon States Language, states-language.net/spec.html, "Retrying after
error": MaxAttempts is the maximum number of retry attempts, after the first; read 2026-12-05), then answers
CloudFormation with a bare timeout. The handler must therefore reach its own end
(its deadline: a readable failure, or a completion that logs what is left) at least one interval before that.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from lattice_dns import handler as dns

from tests.conftest import Synthesized

# Resource type -> when (seconds after the start, given TimeoutSeconds) its handler stops waiting.
GIVES_UP_AT: dict[str, Callable[[int], float]] = {
    "Custom::LatticeDnsRecord": lambda timeout: dns._deadline(0, timeout),  # Create and (issue 23.11) Delete
    "Custom::LatticeServiceNetworkDrain": lambda timeout: timeout,  # lattice_drain: complete at TimeoutSeconds
    "Custom::LatticeServiceSweep": lambda timeout: timeout,  # the same handler in Mode sweep
}


def _waiter(template: dict[str, Any], service_token: dict[str, Any]) -> tuple[int, int]:
    """(IntervalSeconds, MaxAttempts) of the waiter of the provider whose onEvent function is `service_token`."""
    on_event = service_token["Fn::GetAtt"][0]
    prefix = on_event.split("frameworkonEvent")[0]
    (machine,) = [
        r
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and k.startswith(prefix)
    ]
    text = "".join(p for p in machine["Properties"]["DefinitionString"]["Fn::Join"][1] if isinstance(p, str))
    interval = re.search(r'"IntervalSeconds":(\d+)', text)
    attempts = re.search(r'"MaxAttempts":(\d+)', text)
    assert interval and attempts, text
    assert '"BackoffRate":1,' in text or '"BackoffRate":1}' in text, "a growing interval changes the sum"
    return int(interval.group(1)), int(attempts.group(1))


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_every_polled_handler_gives_up_before_its_provider(request: pytest.FixtureRequest, which: str) -> None:
    app: Synthesized = request.getfixturevalue(which)
    seen = set()
    for template in app.templates.values():
        for logical_id, resource in template["Resources"].items():
            gives_up_at = GIVES_UP_AT.get(resource["Type"])
            if gives_up_at is None:
                continue
            interval, attempts = _waiter(template, resource["Properties"]["ServiceToken"])
            timeout = int(resource["Properties"]["TimeoutSeconds"])
            assert gives_up_at(timeout) + interval <= interval * attempts, (
                f"{logical_id}: gives up at {gives_up_at(timeout)} s, the framework after {interval * attempts} s"
            )
            seen.add(resource["Type"])
    assert seen == set(GIVES_UP_AT)
