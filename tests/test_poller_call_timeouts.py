"""Class test (reviewer c, dupes item 2): a poller's per-call timeouts fit within its synthesized Lambda Timeout.

ram_share_wait and lattice_drain start an API call only when the poll has time for a whole one (connect + read)
before their POLL_MARGIN_SECONDS; a call longer than the function's Timeout less that margin would never start,
so every poll would skip it and the wait would only time out. The Timeouts come from the suite's shared syntheses
(ram_share_wait exists only where a share is made: the variant)."""

from __future__ import annotations

from typing import Any

import pytest
from lattice_drain import calls as drain_calls
from lattice_drain import handler as drain
from ram_share_wait import handler as ram_wait

from tests.conftest import Synthesized

# handler module prefix -> (connect s, read s, the poll's margin s): what one call may take and what it must leave.
# Read at test time (not import time), so a changed constant is what the test sees.
POLLERS: dict[str, Any] = {
    "ram_share_wait.": lambda: (
        ram_wait.CONNECT_TIMEOUT_SECONDS, ram_wait.READ_TIMEOUT_SECONDS, ram_wait.POLL_MARGIN_SECONDS
    ),
    "lattice_drain.": lambda: (
        drain_calls.CONNECT_TIMEOUT_SECONDS, drain_calls.READ_TIMEOUT_SECONDS, drain.POLL_MARGIN_SECONDS
    ),
}  # fmt: skip


def _polling_functions(synth: Synthesized) -> list[tuple[str, str, int]]:
    """(logical id, handler, Timeout) of every is_complete function of a poller in the synthesis."""
    found = []
    for template in synth.templates.values():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            handler = str(props.get("Handler", ""))
            polls = resource["Type"] == "AWS::Lambda::Function" and handler.endswith(".is_complete")
            if polls and any(handler.startswith(prefix) for prefix in POLLERS):
                found.append((logical_id, handler, int(props.get("Timeout", 3))))
    return found


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_one_whole_call_fits_each_pollers_timeout_less_its_margin(which: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(which)
    functions = _polling_functions(synth)
    kinds = {handler.split(".")[0] + "." for _, handler, _ in functions}
    assert kinds == ({"lattice_drain."} if which == "synth" else set(POLLERS)), functions
    for logical_id, handler, timeout in functions:
        connect, read, margin = next(v() for k, v in POLLERS.items() if handler.startswith(k))
        assert connect + read <= timeout - margin, (
            f"{logical_id} ({handler}): one call may take {connect} + {read} s, but the function has {timeout} s "
            f"less a {margin} s margin: no poll would ever call"
        )


def test_the_call_timeouts_are_the_documented_ones() -> None:
    """Each handler's comment gives these (botocore makes one attempt of connect + read)."""
    assert (ram_wait.CONNECT_TIMEOUT_SECONDS, ram_wait.READ_TIMEOUT_SECONDS) == (5.0, 20.0)
    assert (drain_calls.CONNECT_TIMEOUT_SECONDS, drain_calls.READ_TIMEOUT_SECONDS) == (5.0, 10.0)
    assert ram_wait._call_seconds() == 25.0 and drain_calls._call_seconds() == 15.0
