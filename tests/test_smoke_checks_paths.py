"""constructs.smoke.checks: how a rule's path becomes the request path."""

from __future__ import annotations

import datetime as dt
import json

from constructs.smoke.checks import smoke_checks

from config.loader import DEFAULTS, parse_context


def test_only_trailing_slashes_are_dropped_before_the_env_endpoint() -> None:
    route = {**DEFAULTS["routes"][0], "rules": [{"pathPrefix": "/BOX/", "backends": [{"app": "demo-app-a"}]}]}
    cfg = parse_context({"routes": json.dumps([route])}, today=dt.date(2026, 11, 28))
    [check] = smoke_checks(cfg)
    assert check["url"] == "http://api.example.com/BOX/env?select=POD,ROUTE"
