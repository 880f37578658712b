"""How a test checks that a call bounded by a time budget (a `time_left`, a Lambda context's remaining time, a
`timeoutSeconds`) ended within it, in real time.

The slack is a fixed allowance for what follows the budget's end (raising, formatting the error, a loaded
machine's scheduling), never a share of the budget nor a constant picked per test: a bound that stays put while a
test's budget is scaled down lets a client overrun its budget by the difference (a 0.3 s budget checked against
2.5 s passed a client that waited twice its time left). Since the budget must exceed the slack, a call that takes
twice its budget always fails.
"""

from __future__ import annotations

# About 5 ms past the budget measured here (a 0.3 s budget, 1 s timeoutSeconds); 40x that for a shared, loaded
# machine, and still under every budget the tests give, so that twice the budget is always out of bounds.
SLACK_SECONDS = 0.2


def assert_within_budget(elapsed: float, budget: float, *, slack: float = SLACK_SECONDS) -> None:
    """`elapsed` seconds (measured from before the call) are at most `budget` plus `slack`."""
    assert 0 <= slack < budget, (
        f"a slack of {slack} s against a budget of {budget} s would pass a call that takes twice its budget: "
        "give the test a budget above the slack"
    )
    assert elapsed <= budget + slack, f"took {elapsed:.3f} s with a budget of {budget} s (+ {slack} s slack)"
