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
# For a test whose timed part also builds boto3 clients (a session, endpoint and credential resolution, signing) or
# serves moto in-process: 0.3-0.5 s of CPU on a loaded 2-core machine, after which the call's own wait still ends at
# the budget, so such a case overran SLACK_SECONDS (1.77 s against 1.4 s + 0.2 s at load 8). Still under every budget
# these tests give (1.2 s or more); their slow servers answer SLOW_MARGIN_SECONDS past the budget, so a client that
# waits for the answer fails this bound by seconds all the same.
LOADED_SLACK_SECONDS = 1.0
# How much later than its budget a test's slow server answers: far beyond any slack, so a client that waits for the
# answer fails by seconds, not by a margin a loaded machine can eat. Free when the client is right: the server's
# handler threads are daemons (tests/support/background.py) that nobody joins, and the client stops at its budget.
SLOW_MARGIN_SECONDS = 4.0


def assert_within_budget(elapsed: float, budget: float, *, slack: float = SLACK_SECONDS) -> None:
    """`elapsed` seconds (measured from before the call) are at most `budget` plus `slack`."""
    assert 0 <= slack < budget, (
        f"a slack of {slack} s against a budget of {budget} s would pass a call that takes twice its budget: "
        "give the test a budget above the slack"
    )
    assert elapsed <= budget + slack, f"took {elapsed:.3f} s with a budget of {budget} s (+ {slack} s slack)"
