"""Every AWS client the Lambda code makes is bounded the way its comments say (a class of fault: botocore's
`retries={"max_attempts": N}` counts retries *after* the first attempt, so N meant N + 1 attempts in three
handlers, and a client without a Config waits up to 60 s per read, five attempts over)."""

from __future__ import annotations

import ast
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.conftest import ROOT

LAMBDA = ROOT / "lambda"
SOURCES = sorted(LAMBDA.rglob("*.py"))
# Clients that make no request, so no Config bounds anything: (file, service) -> why.
NO_REQUESTS = {("k8s_api/eks_auth.py", "sts"): "only presigns GetCallerIdentity for the EKS token; never sends it"}


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    found.append((path, node))
    return found


def _where(path: Path, node: ast.Call) -> str:
    return f"{path.relative_to(LAMBDA)}:{node.lineno}"


def test_retries_name_total_attempts_never_botocores_retry_count() -> None:
    configs = [(p, c) for p, c in _calls("Config") if any(k.arg == "retries" for k in c.keywords)]
    assert len(configs) >= 8, [_where(p, c) for p, c in configs]  # the scan sees every handler's clients
    wrong = []
    for path, call in configs:
        (retries,) = [k.value for k in call.keywords if k.arg == "retries"]
        keys = {k.value for k in retries.keys if isinstance(k, ast.Constant)} if isinstance(retries, ast.Dict) else None
        if keys is None or "total_max_attempts" not in keys or "max_attempts" in keys:
            wrong.append(f"{_where(path, call)}: {ast.unparse(retries)}")
    assert wrong == []


def test_every_client_that_sends_requests_has_a_config() -> None:
    clients = _calls("client")
    assert len(clients) >= 10
    unbounded = []
    for path, call in clients:
        service = str(call.args[0].value) if call.args and isinstance(call.args[0], ast.Constant) else "?"
        if (str(path.relative_to(LAMBDA)), service) in NO_REQUESTS:
            continue
        if not any(k.arg == "config" for k in call.keywords):
            unbounded.append(f"{_where(path, call)}: {service}")
    assert unbounded == []


@pytest.mark.parametrize(("retries", "attempts"), [({"max_attempts": 1}, 2), ({"total_max_attempts": 1}, 1)])
def test_what_botocore_makes_of_each_key(
    retries: dict[str, int], attempts: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The premise, checked on the pinned botocore: max_attempts counts retries, total_max_attempts attempts."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("sts", region_name="eu-west-1", config=Config(retries={"mode": "standard", **retries}))
    assert client.meta.config.retries["total_max_attempts"] == attempts
