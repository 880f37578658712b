"""Whatever a configuration the model accepts puts into a check, a smoke run ends in a report or SmokeTestError,
never another exception (issue 20, review finding F4): a header value of "café-中" once raised UnicodeEncodeError
and "a\\r\\nb" ValueError out of http.client, and the whole run died with a traceback instead of a report.

Property style with a fixed seed (no generator library in the pins): each case is a configuration built from
values drawn from the model's own alphabets, with odd ones mixed in on purpose, validated by the model (a refused
one is skipped and counted), turned into checks by constructs/smoke/checks.py and run through the handler's real
resolver-free opener, signing included, against a local server."""

from __future__ import annotations

import json
import random
import string
from typing import Any

import pytest
from constructs.smoke.checks import SECOND_IDENTITY, UNSIGNED, denial_checks, smoke_checks
from smoke import handler as smoke

from config.loader import DEFAULTS, ConfigError, parse_context
from tests.conftest import TODAY
from tests.support.raw_http import RawCaptureServer
from tests.support.smoke_wire import assert_signed_as_sent, signing_environment

CASES = 60
# Header values as odd as the model lets through (it takes any 1-4096 characters).
ODD_VALUES = [
    "café-中",
    "a\r\nb",
    "a\nb",
    "a\rb",
    "\x00",
    "\x7f",
    " leading and trailing ",
    "\t",
    "é",
    "😀" * 3,
    "%zz",
    '"quoted", ;=',
    "v" * 200,  # Lattice's longest header value (config.model.MAX_HEADER_VALUE)
    "ÿ",
    "\u2028",
]
# What a path may carry since the model follows the HTTPRoute CRD and Lattice's pattern (config.model URL_PATH).
PATH_CHARS = string.ascii_letters + string.digits + "-._~&+=:@"
NAME_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"


def _value(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(ODD_VALUES)
    return "".join(rng.choice(string.printable + "é中") for _ in range(rng.randint(1, 40)))


def _rule(rng: random.Random) -> dict[str, Any]:
    path = "/" + "".join(rng.choice(PATH_CHARS) for _ in range(rng.randint(0, 30)))
    names = rng.sample([f"x-{c}" for c in NAME_CHARS], rng.randint(0, 5))
    rule: dict[str, Any] = {
        rng.choice(["pathPrefix", "path"]): path,
        "backends": [{"app": rng.choice(["demo-app-a", "demo-app-b"])}],
        "headers": [{"name": name, "value": _value(rng)} for name in names],
    }
    if rng.random() < 0.3:
        rule["method"] = rng.choice(["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "GET"])
    return rule


def _config(rng: random.Random) -> Any:
    route = {**DEFAULTS["routes"][0], "rules": [_rule(rng) for _ in range(rng.randint(1, 4))]}
    return parse_context({**DEFAULTS, "routes": json.dumps([route])}, today=TODAY)


def _checks(seed: int) -> list[dict[str, Any]] | None:
    try:
        cfg = _config(random.Random(seed))
    except ConfigError:
        return None
    return smoke_checks(cfg) + denial_checks(cfg, caller=UNSIGNED) + denial_checks(cfg, caller=SECOND_IDENTITY)


def test_a_smoke_run_ends_in_a_report_or_smoke_test_error(monkeypatch: pytest.MonkeyPatch) -> None:
    signing_environment(monkeypatch)
    accepted = 0
    odd_seen: set[str] = set()
    body = json.dumps({"ROUTE": "v1", "POD": "demo-app-a-1"}).encode()
    with RawCaptureServer(lambda _: (200, body)) as server:
        for seed in range(CASES):
            checks = _checks(seed)
            if checks is None:
                continue
            accepted += 1
            odd_seen |= {v for c in checks for v in (c.get("headers") or {}).values() if v in ODD_VALUES}
            event = {"checks": checks, "attempts": 1, "timeoutSeconds": 2, "retryDelaySeconds": 0}
            try:
                report = smoke.run(
                    event, resolver=lambda host, port: [("127.0.0.1", server.port)], sleep=lambda _: None
                )
            except smoke.SmokeTestError as err:
                lines = str(err).splitlines()
                assert len(lines) == 1 + len(checks), f"seed {seed}: one line per check"
            else:
                assert report["passed"] is True and len(report["results"]) == len(checks)
    # The property was exercised, not skipped: most cases are accepted and the odd values reached the handler.
    assert accepted >= CASES // 2
    assert {"café-中", "a\r\nb", "\x00"} <= odd_seen


@pytest.mark.parametrize(
    ("value", "sent"),
    [("café-中", "café-中".encode()), ("é", "é".encode())],
)
def test_a_non_ascii_header_value_goes_out_as_the_utf8_that_was_signed(
    monkeypatch: pytest.MonkeyPatch, value: str, sent: bytes
) -> None:
    signing_environment(monkeypatch)
    body = json.dumps({"ROUTE": "v1", "POD": "demo-app-a-1"}).encode()
    check = {
        "url": "http://api.example.com/v1/env?select=POD,ROUTE",
        "headers": {"x-canary": value},
        "expect": [{"app": "demo-app-a", "route": "v1"}],
    }
    with RawCaptureServer(lambda _: (200, body)) as server:
        event = {"checks": [check], "attempts": 1, "timeoutSeconds": 2}
        report = smoke.run(event, resolver=lambda host, port: [("127.0.0.1", server.port)])
    assert report["passed"] is True
    (head,) = server.heads
    assert b"\r\nx-canary: " + sent + b"\r\n" in head
    # ... and the independent verifier, hashing the bytes that arrived, accepts the signature over it.
    request = assert_signed_as_sent(head, check)
    assert "x-canary" in request.values("authorization")[0]


@pytest.mark.parametrize("value", ["a\r\nb", "a\nb", "a\rb"])
def test_a_header_value_with_a_line_break_fails_its_check_alone(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    signing_environment(monkeypatch)
    body = json.dumps({"ROUTE": "v1", "POD": "demo-app-a-1"}).encode()
    good = {"url": "http://api.example.com/v1/env", "expect": [{"app": "demo-app-a", "route": "v1"}]}
    bad = {**good, "name": "broken", "headers": {"x-canary": value}}
    with RawCaptureServer(lambda _: (200, body)) as server, pytest.raises(smoke.SmokeTestError) as exc:
        smoke.run({"checks": [good, bad], "attempts": 1}, resolver=lambda host, port: [("127.0.0.1", server.port)])
    summary, first, second = str(exc.value).splitlines()
    assert summary == "1 of 2 smoke checks failed"
    assert first.startswith("PASS ")
    assert second.startswith("FAIL ") and "the request could not be made: ValueError: " in second
    assert len(server.heads) == 1  # nothing half-sent for the broken one
