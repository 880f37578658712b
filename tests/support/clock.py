"""The tests' one fake clock, and the Lambda contexts that count time on it or on the real one.

Handlers take their clock and sleep as arguments (or read `time` from their module, which a test replaces), so
a test moves time only through the code's own sleeps: backoff and deadlines cost no real time and every sleep
is recorded.
"""

from __future__ import annotations

import time


class FakeClock:
    """Time that passes only when the code sleeps. Call it (or .monotonic(), where it stands in for a module's
    `time`) for the time; hand .sleep to the code; .slept lists each sleep in order; .time_left() counts down
    to `deadline` (unbounded unless given)."""

    def __init__(self, now: float = 0.0, *, deadline: float = float("inf")) -> None:
        self.now = now
        self.deadline = deadline
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def time_left(self) -> float:
        return self.deadline - self.now


class Sleeps(list[float]):
    """A sleep that only records: the list of what the code asked to sleep."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class FixedContext:
    """A Lambda context whose remaining time stays at `ms` milliseconds."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def get_remaining_time_in_millis(self) -> int:
        return self.ms


class ClockContext:
    """A Lambda context with `seconds` left on a FakeClock: the code's sleeps use its time up."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        self.clock, self.end = clock, clock.now + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.end - self.clock.now) * 1000)


class RealTimeContext:
    """A Lambda context with `seconds` left from now, counting down in real time (for code that waits on sockets,
    which time out in real time)."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.end - time.monotonic()) * 1000)
