"""A boto3 client stand-in whose operations answer from scripts, for the handlers' rule-by-rule tests: no moto,
no server, each test in milliseconds. The scenario tests use moto or the local fakes beside this file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


def client_error(
    code: str, message: str = "it failed", *, status: int | None = None, operation: str = "Op"
) -> ClientError:
    """botocore's ClientError as the service sends it: the code in response["Error"]["Code"], and the HTTP
    status when given."""
    response: dict[str, Any] = {"Error": {"Code": code, "Message": message}}
    if status is not None:
        response["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(response, operation)


class ScriptedClient:
    """Each operation named in `scripts` answers from its script in order (the last answer repeats): a response,
    an exception to raise, or a callable given the call's parameters that returns either. An operation without
    a script does not exist (AttributeError), so a call the code should not make fails the test. Every call is
    recorded in `calls` (pass a list to share one record between clients). throttle: each operation's first
    call raises Throttling, so every call site must retry. More than `runaway` calls fail as a runaway loop."""

    def __init__(
        self,
        calls: list[tuple[str, dict[str, Any]]] | None = None,
        *,
        throttle: bool = False,
        runaway: int = 200,
        **scripts: Any,
    ) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = [] if calls is None else calls
        self.scripts = {name: list(s) if isinstance(s, list) else [s] for name, s in scripts.items()}
        self.unthrottled = set(scripts) if throttle else set()
        self.runaway = runaway

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        if operation.startswith("_") or operation not in self.scripts:
            raise AttributeError(operation)

        def call(**params: Any) -> Any:
            self.calls.append((operation, params))
            assert len(self.calls) <= self.runaway, f"runaway loop: more than {self.runaway} calls"
            if operation in self.unthrottled:
                self.unthrottled.discard(operation)
                raise client_error("Throttling", "Throttling", status=400)
            script = self.scripts[operation]
            answer = script.pop(0) if len(script) > 1 else script[0]
            if callable(answer) and not isinstance(answer, BaseException):
                answer = answer(**params)
            if isinstance(answer, BaseException):
                raise answer
            return answer

        call.__name__ = operation
        return call

    def ops(self) -> list[str]:
        return [operation for operation, _ in self.calls]
