"""Routing smoke checks derived from the configuration (one per route rule).

The smoke Lambda (lambda/smoke/handler.py) runs these from inside the client VPC after deploy. They come
from the same `AppConfig` that renders the HTTPRoutes, so the checks can never drift from what was deployed.

Check shape (JSON-serialisable; it travels in the Lambda's CHECKS environment variable or its event):

    {"name": "default/demo-http-route rule 1",
     "method": "GET",
     "url": "http://api.example.com/v1/env?select=POD,ROUTE",
     "headers": {"x-canary": "1"},                   # only when the rule matches on headers
     "expect": [{"app": "demo-app-a", "route": "v1"}]}

`expect` lists one alternative per backend that can receive the request (weight 0 excluded); the response
must satisfy any one. An alternative with `route` means the demo image's convention: HTTP 200 with JSON
whose ROUTE equals it and whose POD starts with "<app>-". One without `route` means "routed somewhere":
no 5xx and not the 404 Lattice answers when no rule matches.
"""

from __future__ import annotations

from typing import Any

from config.model import App, AppConfig, Route, RouteRule

# The demo image echoes selected environment variables at <GLOBAL_PREFIX>/env.
DEMO_ENV_KEY = "ROUTE"
DEMO_QUERY = "select=POD,ROUTE"
LISTENER_SCHEME = "http"  # the Gateway's only listener is HTTP:80 (SPEC §1)


def smoke_checks(cfg: AppConfig) -> list[dict[str, Any]]:
    """One request per route rule, in config order."""
    checks: list[dict[str, Any]] = []
    for route in cfg.routes:
        for index, rule in enumerate(route.rules, start=1):
            checks.append(_check(cfg, route, rule, index))
    return checks


def _check(cfg: AppConfig, route: Route, rule: RouteRule, index: int) -> dict[str, Any]:
    method = rule.method or "GET"
    apps = [cfg.app(b.app) for b in rule.backends if b.weight != 0]
    demo = method == "GET" and any(_demo_route(app) is not None for app in apps)
    path = _request_path(rule, demo=demo)
    # The demo expectation needs the /env endpoint; an Exact path elsewhere can only show that it routed.
    demo_path = path.endswith(f"/env?{DEMO_QUERY}")
    expect: list[dict[str, str]] = []
    for app in apps:
        route_value = _demo_route(app)
        alternative = {"app": app.name}
        if route_value is not None and demo_path:
            alternative["route"] = route_value
        expect.append(alternative)
    check: dict[str, Any] = {
        "name": f"{route.namespace}/{route.name} rule {index}",
        "method": method,
        "url": f"{LISTENER_SCHEME}://{route.hostname}{path}",
        "expect": expect,
    }
    if rule.headers:
        check["headers"] = {h.name: h.value for h in rule.headers}
    return check


def _request_path(rule: RouteRule, *, demo: bool) -> str:
    if rule.path_type == "Exact":
        # Lattice matches the path only, so a query string keeps an exact /env match intact.
        return f"{rule.path}?{DEMO_QUERY}" if demo and rule.path.endswith("/env") else rule.path
    if demo:
        return f"{rule.path.rstrip('/')}/env?{DEMO_QUERY}"
    return rule.path


def _demo_route(app: App) -> str | None:
    return dict(app.env).get(DEMO_ENV_KEY)
