"""Routing smoke checks derived from the configuration (one per route rule).

The smoke Lambda (lambda/smoke/handler.py) runs these from inside the client VPC after deploy. They come
from the same `AppConfig` that renders the HTTPRoutes, so the checks can never drift from what was deployed.

Check shape (JSON-serialisable; it travels in a file of the Lambda's code asset, or in its event):

    {"name": "default/demo-http-route rule 1",
     "route": "default/demo-http-route",
     "caller": "smoke role",
     "method": "GET",
     "url": "http://api.example.com/v1/env?select=POD,ROUTE",
     "headers": {"x-canary": "1"},                   # only when the rule matches on headers
     "expect": [{"app": "demo-app-a", "route": "v1"}]}

`caller` names who sends it (the report's column); `"sign": false` sends it unsigned, and `"expectStatus": 403`
expects Lattice to refuse it (an auth policy's denial) instead of reaching a backend.

Routes of other protocols (issue 26) add `"protocol"` (absent: HTTP, as above), `"port"` and `"host"`:

    HTTPS  the HTTP shape (url https://...) plus "caBundle": the file name of a PEM bundle shipped beside the
           handler (smoke/<name>), or null for the runtime's trust store; the chain must validate for `host`.
    GRPC   {"name", "route", "caller", "host", "protocol": "GRPC", "port": 443, "tls": true, "caBundle",
            "grpcService": ""}: a grpc.health.v1.Health/Check call over h2 for that service ("" = the server),
           expected SERVING; one per route whose rules route the Health/Check path.
    TLS    {"name", "route", "caller", "host", "protocol": "TLS", "port", "sni": host, "expectSubject": CN or
            null, "caBundle"}: a handshake with that SNI; the peer certificate's subject CN must equal
           expectSubject (when set), its chain validate against caBundle (when set).

`expect` lists one alternative per backend that can receive the request (weight 0 excluded); the response
must satisfy any one. An alternative with `route` means the demo image's convention: HTTP 200 with JSON
whose ROUTE equals it and whose POD starts with "<app>-". One without `route` means "routed somewhere":
no 5xx and not the 404 Lattice answers when no rule matches.
"""

from __future__ import annotations

import hashlib
from typing import Any

from config.model import PROJECT_DIR, App, AppConfig, Route, RouteRule

# The demo image echoes selected environment variables at <GLOBAL_PREFIX>/env.
DEMO_ENV_KEY = "ROUTE"
DEMO_QUERY = "select=POD,ROUTE"
LISTENER_SCHEME = "http"  # HTTP routes' listener is HTTP:80 (SPEC §1); HTTPS routes' https:443


# Who makes a check's request (the report's caller column).
SMOKE_ROLE = "smoke role"
UNSIGNED = "unsigned"
SECOND_IDENTITY = "second identity"
DENIED = 403  # Lattice's answer when an auth policy refuses the caller


# The gRPC health service and the method the check calls (grpc/grpc-proto, grpc/health/v1/health.proto:
# package grpc.health.v1, service Health, rpc Check(HealthCheckRequest{service}) -> {status: SERVING ...};
# https://github.com/grpc/grpc/blob/master/doc/health-checking.md, read 2026-12-05).
GRPC_HEALTH_SERVICE = "grpc.health.v1.Health"
GRPC_HEALTH_METHOD = "Check"


def ca_bundle_file(route: Route) -> str | None:
    """The name the route's CA bundle has beside the smoke handler (one file per distinct bundle path)."""
    if route.ca_bundle is None:
        return None
    digest = hashlib.sha256(route.ca_bundle.encode()).hexdigest()[:12]
    return f"ca-{digest}.pem"


def ca_bundle_files(cfg: AppConfig) -> dict[str, str]:
    """name beside the handler -> the PEM text, for every route's CA bundle."""
    return {
        name: (PROJECT_DIR / str(r.ca_bundle)).read_text()
        for r in cfg.routes
        if (name := ca_bundle_file(r)) is not None
    }


def smoke_checks(cfg: AppConfig, *, caller: str = SMOKE_ROLE, account: str | None = None) -> list[dict[str, Any]]:
    """One request per route rule, in config order, each expected to reach its backend (gRPC: one health call per
    route, TLS: one handshake). With `account` (a consumer's), routes whose access does not name that account are
    expected to refuse it (403) instead."""
    checks: list[dict[str, Any]] = []
    for route in cfg.routes:
        refused = account is not None and not _admits_account(cfg, route, account)
        if route.protocol in ("GRPC", "TLS"):
            # A refusal there is a gRPC status or a reset handshake, not the 403 the HTTP checks expect: a route that
            # does not admit the consumer is not checked from it (a TLS route admits only this app's VPCs).
            if not refused:
                checks += [{**c, "caller": caller} for c in _stream_checks(route)]
            continue
        for index, rule in enumerate(route.rules, start=1):
            check = {**_check(cfg, route, rule, index), "caller": caller}
            checks.append({**check, "expectStatus": DENIED} if refused else check)
    return checks


def _stream_checks(route: Route) -> list[dict[str, Any]]:
    """The gRPC health call or TLS handshake of a GRPC or TLS route (no HTTP status: no refusal expectation)."""
    common: dict[str, Any] = {
        "route": f"{route.namespace}/{route.name}",
        "host": route.hostname,
        "protocol": route.protocol,
        "port": route.listener_port,
        "caBundle": ca_bundle_file(route),
    }
    if route.protocol == "TLS":
        name = f"{route.namespace}/{route.name} tls handshake"
        return [{"name": name, **common, "sni": route.hostname, "expectSubject": route.expect_subject}]
    # Only a rule that routes /grpc.health.v1.Health/Check can answer the call: its service (or any), its method
    # (or any).
    health = [
        j
        for j, rule in enumerate(route.rules, start=1)
        if rule.grpc_service in (None, GRPC_HEALTH_SERVICE) and rule.grpc_method in (None, GRPC_HEALTH_METHOD)
    ]
    if not health:
        return []
    name = f"{route.namespace}/{route.name} rule {health[0]} grpc health"
    return [{"name": name, **common, "tls": True, "grpcService": ""}]


def denial_checks(cfg: AppConfig, *, caller: str) -> list[dict[str, Any]]:
    """Under AWS_IAM, one request per route from `caller` (UNSIGNED: no signature; SECOND_IDENTITY: a role no
    route names), expected to be refused (403), or to get through where the route sets `unsigned: true` (its
    policy then admits anyone in this app's own VPCs, where both smoke functions run)."""
    if cfg.service_network_auth_type != "AWS_IAM":
        return []
    checks: list[dict[str, Any]] = []
    for route in cfg.routes:
        if route.protocol in ("GRPC", "TLS"):
            # A TLS route admits anonymous callers only (nothing to deny); a gRPC refusal is a gRPC status, not the
            # 403 these checks expect: the smoke role's health call shows the route admits its caller.
            continue
        check = {**_check(cfg, route, route.rules[0], 1), "caller": caller}
        check["name"] = f"{route.namespace}/{route.name} {caller}"
        if caller == UNSIGNED:
            check["sign"] = False
        checks.append(check if cfg.access(route).unsigned else {**check, "expectStatus": DENIED})
    return checks


def _admits_account(cfg: AppConfig, route: Route, account: str) -> bool:
    if cfg.service_network_auth_type != "AWS_IAM":
        return True  # no policies: Lattice admits everyone the network lets in
    # Not `unsigned`: that admits this app's own VPCs only, never a consumer's (config/access_policy.py).
    return any(c.account == account for c in cfg.access(route).allow)


def _check(cfg: AppConfig, route: Route, rule: RouteRule, index: int) -> dict[str, Any]:
    method = rule.method or "GET"
    apps = [cfg.app(b.app) for b in rule.backends if b.weight != 0]
    demo = method == "GET" and any(_demo_route(app) is not None for app in apps)
    path = _request_path(rule, demo=demo)
    if demo and not rule.has_path:
        # A rule without a path matches every path ("/" prefix) after the earlier rules: ask the demo app at its
        # own prefix when no earlier rule would take that request, else only that it routed.
        prefixes = {dict(app.env).get("GLOBAL_PREFIX", "") for app in apps}
        earlier = route.rules[: index - 1]
        own = f"{prefixes.pop().rstrip('/')}/env?{DEMO_QUERY}" if len(prefixes) == 1 else path
        path = own if not any(_takes(r, own.split("?")[0]) for r in earlier) else "/"
    # The demo expectation needs the /env endpoint; an Exact path elsewhere can only show that it routed.
    demo_path = path.endswith(f"/env?{DEMO_QUERY}")
    expect: list[dict[str, str]] = []
    for app in apps:
        route_value = _demo_route(app)
        alternative = {"app": app.name}
        if route_value is not None and demo_path:
            alternative["route"] = route_value
        expect.append(alternative)
    scheme = "https" if route.protocol == "HTTPS" else LISTENER_SCHEME
    check: dict[str, Any] = {
        "name": f"{route.namespace}/{route.name} rule {index}",
        "route": f"{route.namespace}/{route.name}",
        "method": method,
        "url": f"{scheme}://{route.hostname}{path}",
        "expect": expect,
    }
    if route.protocol == "HTTPS":
        check |= {"protocol": "HTTPS", "port": route.listener_port, "host": route.hostname}
        check["caBundle"] = ca_bundle_file(route)
    if rule.headers:
        check["headers"] = {h.name: h.value for h in rule.headers}
    return check


def _takes(rule: RouteRule, path: str) -> bool:
    """Whether `rule`'s path match takes `path` (Lattice matches case-insensitively; headers and methods aside)."""
    if rule.path_type == "Exact":
        return rule.path.lower() == path.lower()
    prefix = rule.path.lower().rstrip("/")
    return path.lower() == prefix or path.lower().startswith(prefix + "/")


def _request_path(rule: RouteRule, *, demo: bool) -> str:
    if rule.path_type == "Exact":
        # Lattice matches the path only, so a query string keeps an exact /env match intact.
        return f"{rule.path}?{DEMO_QUERY}" if demo and rule.path.endswith("/env") else rule.path
    if demo:
        return f"{rule.path.rstrip('/')}/env?{DEMO_QUERY}"
    return rule.path


def _demo_route(app: App) -> str | None:
    return dict(app.env).get(DEMO_ENV_KEY)
