"""An app that calls routes shares its pod with the SigV4 signing sidecar (issue 20, item 4): its containerPort
may not be the sidecar's, and the refusal names the key. (tests/test_pod_containers.py checks the emitted pods.)"""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, parse_context
from config.model import SIGNING_SIDECAR_PORT
from tests.conftest import TODAY

WEB = {"image": "nginx:1.27", "healthPath": "/"}


def raw(port: int, *, calls: bool = False, allowed: bool = False, auth: str = "AWS_IAM") -> dict[str, Any]:
    apps = [
        {"name": "front", **WEB, "containerPort": 80},
        {"name": "web", **WEB, "containerPort": port, **({"calls": ["r"]} if calls else {})},
    ]
    route: dict[str, Any] = {
        "name": "r",
        "hostname": "api.example.com",
        "rules": [{"pathPrefix": "/", "backends": [{"app": "front"}]}],
    }
    if allowed:
        route["access"] = {"allow": [{"app": "web"}]}
    return {"apps": apps, "routes": [route], "serviceNetworkAuthType": auth}


WHY = (
    f"apps[1].containerPort: {SIGNING_SIDECAR_PORT} is the port of the SigV4 signing sidecar this app gets because "
    "it calls routes (calls or a route's access.allow); choose another containerPort"
)


@pytest.mark.parametrize(("calls", "allowed"), [(True, False), (False, True), (True, True)])
def test_a_calling_app_on_the_sidecars_port_is_refused_naming_the_key(calls: bool, allowed: bool) -> None:
    with pytest.raises(ConfigError) as err:
        parse_context(raw(SIGNING_SIDECAR_PORT, calls=calls, allowed=allowed), today=TODAY)
    assert str(err.value) == WHY


@pytest.mark.parametrize("port", [SIGNING_SIDECAR_PORT - 1, SIGNING_SIDECAR_PORT + 1, 80])
def test_any_other_port_of_a_calling_app_is_accepted(port: int) -> None:
    cfg = parse_context(raw(port, calls=True), today=TODAY)
    assert [a.name for a in cfg.calling_apps] == ["web"]


def test_an_app_without_a_sidecar_may_use_that_port() -> None:
    assert parse_context(raw(SIGNING_SIDECAR_PORT), today=TODAY).app("web").container_port == SIGNING_SIDECAR_PORT
    # Under NONE nobody signs (and `calls` is refused on its own), so an allow-listed-only app gets no sidecar.
    cfg = parse_context({**raw(SIGNING_SIDECAR_PORT), "serviceNetworkAuthType": "NONE"}, today=TODAY)
    assert cfg.calling_apps == ()
