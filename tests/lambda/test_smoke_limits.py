"""The smoke Lambda's rules pinned one by one: settings and their defaults, retry counts and the no-retry answers,
the deadline on both sides, the body cap, the exact detail of every failure, and what it logs."""

from __future__ import annotations

import http.client

import pytest
from smoke import handler as smoke

HOST = "api.example.com"
V1 = "/v1/env?select=POD,ROUTE"
DEMO_A = [{"app": "demo-app-a", "route": "v1"}]


def check(path: str = V1) -> dict[str, object]:
    return {"name": "rule 1", "method": "GET", "url": f"http://{HOST}{path}", "expect": DEMO_A}


@pytest.mark.parametrize("error", [OSError(), http.client.HTTPException()])
def test_an_error_without_text_is_named_by_its_type(error: Exception) -> None:
    def opener(request: smoke.Request, timeout: float) -> smoke.Response:
        raise error

    event = {"checks": [check()], "attempts": 1}
    with pytest.raises(smoke.SmokeTestError) as exc:
        smoke.run(event, resolver=lambda _h, _p: [("192.0.2.1", 80)], opener=opener)
    assert str(exc.value).endswith(f"connection to {HOST} (192.0.2.1:80) failed: {type(error).__name__}")
