"""How apps and routes refer to each other, as the top model's methods (config.model.AppConfig inherits them):
the cross-field checks of backends, access, `calls` and the signing sidecar, and the questions the constructs
and policies ask (a route's callers, the apps that call, the ports a VPC association admits).

A mixin rather than functions of AppConfig, so that config.access_policy can take it as its configuration
without importing config.model (which imports config.access_policy for the policy-size check).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from config.access import DEFAULT_ACCESS, TLS_ACCESS_WHY, Access, AuthType
from config.apps import SIGNING_SIDECAR_PORT, App
from config.consumers import Consumer
from config.errors import Problem
from config.fields import duplicates
from config.routes import HTTPS_PORT, SERVICE_PORT_HTTP, TARGET_KIND, Route


class Workload:
    """The apps, routes and access of AppConfig: checks and queries over them."""

    if TYPE_CHECKING:  # AppConfig's fields these read (declared there, with their validation)
        cluster_name: str
        service_network_auth_type: AuthType
        apps: tuple[App, ...]
        routes: tuple[Route, ...]
        consumers: tuple[Consumer, ...]
        share_with_organization: str | None

    def _backends(self, i: int, route: Route) -> list[Problem]:
        """Each backend names a configured app in the route's namespace."""
        apps = {a.name: a for a in self.apps}
        problems: list[Problem] = []
        for j, rule in enumerate(route.rules):
            for b, backend in enumerate(rule.backends):
                app, at = apps.get(backend.app), ("routes", i, "rules", j, "backends", b, "app")
                if app is None:
                    problems.append((at, f"{backend.app!r} is not one of the configured apps ({', '.join(apps)})"))
                elif app.namespace != route.namespace:
                    why = f"{backend.app!r} is in namespace {app.namespace!r}, the route in {route.namespace!r}"
                    problems.append((at, f"{why}; cross-namespace backends are not supported"))
        return problems

    def _access(self, i: int, route: Route) -> list[Problem]:
        """Access control needs AWS_IAM, and its app callers must exist."""
        if route.protocol == "TLS":
            return self._tls_access(i, route)
        if route.access is None:
            return []
        if self.service_network_auth_type == "NONE":
            why = ("needs serviceNetworkAuthType AWS_IAM: with NONE, Lattice checks no caller, so an allow list "
                   "would protect nothing")  # fmt: skip
            return [(("routes", i, "access"), why)]
        apps = [a.name for a in self.apps]
        consumers = [c.account for c in self.consumers]
        problems: list[Problem] = []
        for k, c in enumerate(route.access.allow):
            if c.app is not None and c.app not in apps:
                why = f"{c.app!r} is not one of the configured apps ({', '.join(apps)})"
                problems.append((("routes", i, "access", "allow", k, "app"), why))
            if c.account is not None and c.account not in consumers:
                # The network admits only this account's and the consumers' principals: another account could
                # never pass; this account's whole would admit the smoke test's second identity too.
                why = (f"{c.account} is not a consumer account ({', '.join(consumers) or 'none configured'}); "
                       "name this account's callers by role, app or clientHost")  # fmt: skip
                problems.append((("routes", i, "access", "allow", k, "account"), why))
        return problems

    def _tls_access(self, i: int, route: Route) -> list[Problem]:
        """A TLS route admits anonymous callers only: `unsigned` (from this app's VPCs), never named callers."""
        if route.access is not None and route.access.allow:
            return [(("routes", i, "access", "allow"), f"names callers on a TLS route; {TLS_ACCESS_WHY}: use "
                     '{"unsigned": true} (any caller in this app\'s VPCs)')]  # fmt: skip
        if self.service_network_auth_type == "AWS_IAM" and (route.access is None or not route.access.unsigned):
            why = (f'must be {{"unsigned": true}} on a TLS route under AWS_IAM (the default admits the client host by '
                   f"its identity); {TLS_ACCESS_WHY}")  # fmt: skip
            return [(("routes", i, "access"), why)]
        if self.service_network_auth_type == "NONE" and route.access is not None:
            return [
                (("routes", i, "access"), "needs serviceNetworkAuthType AWS_IAM (with NONE, Lattice checks no caller)")
            ]
        return []

    def _one_target_kind(self, i: int, app: App) -> list[Problem]:
        """An app's Service has one TargetGroupPolicy, so the routes it backs agree on the target group's protocol."""
        kinds = {TARGET_KIND[r.protocol]: r for r in self.routes for rule in r.rules for b in rule.backends
                 if b.app == app.name}  # fmt: skip
        if len(kinds) < 2:
            return []
        named = ", ".join(f"{r.namespace}/{r.name} ({r.protocol})" for r in kinds.values())
        why = (f"backs routes whose target groups differ ({named}): its one TargetGroupPolicy sets HTTP, gRPC or "
               "TCP (controller v2.1.3 TargetGroupPolicy CRD); give each protocol an app of its own")  # fmt: skip
        return [(("apps", i, "name"), why)]

    def target_kind(self, app: App) -> Literal["HTTP", "GRPC", "TCP"]:
        """The target group protocol of the routes `app` backs (HTTP when none)."""
        for r in self.routes:
            if any(b.app == app.name for rule in r.rules for b in rule.backends):
                return TARGET_KIND[r.protocol]
        return "HTTP"

    def _calls(self, i: int, app: App) -> list[Problem]:
        """Each called route exists, once; calling needs AWS_IAM (a signature means nothing with NONE)."""
        if app.calls and self.service_network_auth_type == "NONE":
            why = "needs serviceNetworkAuthType AWS_IAM: with NONE, Lattice checks no signature (nothing to sign for)"
            return [(("apps", i, "calls"), why)]
        problems: list[Problem] = []
        for k, name in enumerate(app.calls):
            found = self._called(name)
            if len(found) != 1:
                known = ", ".join(f"{r.namespace}/{r.name}" for r in self.routes)
                why = "names more than one route; write namespace/name" if found else "is not a configured route"
                problems.append((("apps", i, "calls", k), f"{name!r} {why} ({known})"))
        problems += duplicates(list(app.calls), ("apps", i, "calls"))
        if not problems:
            protocols = {r.protocol for r in self.routes if app in self.callers(r)}
            if protocols - {"HTTP", "HTTPS"} or len(protocols) > 1:
                why = (f"calls routes of protocol {', '.join(sorted(protocols))}: its signing sidecar "
                       "(aws-sigv4-proxy) forwards HTTP/1.1 with one scheme (--upstream-url-scheme), so an app "
                       "calls only HTTP or only HTTPS routes")  # fmt: skip
                problems.append((("apps", i, "calls"), why))
        return problems

    def _private_ca_callers(self) -> list[Problem]:
        """A route's caBundle (a private CA) reaches only the smoke test: an app that calls the route goes through
        its signing sidecar, the aws-sigv4-proxy image, built FROM scratch with only the build image's public CA
        bundle (awslabs/aws-sigv4-proxy Dockerfile at 4165dc7, read 2026-12-05), which cannot verify the route's
        certificate. Refused at the app's calls entry, or at the route's access.allow entry that names the app."""
        problems: list[Problem] = []
        if self.service_network_auth_type == "NONE":  # no sidecar: the app calls with its own trust store
            return problems
        for j, route in enumerate(self.routes):
            if route.ca_bundle is None or route.protocol != "HTTPS":
                continue
            for app in self.callers(route):
                i = self.apps.index(app)
                named = [k for k, name in enumerate(app.calls) if route in self._called(name)]
                allowed = [m for m, c in enumerate(self.access(route).allow) if c.app == app.name]
                key: tuple[str | int, ...] = (
                    ("apps", i, "calls", named[0]) if named else ("routes", j, "access", "allow", allowed[0])
                )
                why = (f"{app.name} would call {route.namespace}/{route.name}, whose certificate is from a private CA "
                       f"({route.ca_bundle}): the app's signing sidecar (aws-sigv4-proxy, public roots only) cannot "
                       "verify it; call a route with a publicly trusted certificate, or drop caBundle")  # fmt: skip
                problems.append((key, why))
        return problems

    def _sidecar_ports(self) -> list[Problem]:
        """An app that calls routes shares its pod with the signing sidecar: their ports must differ."""
        callers = self.calling_apps
        why = (f"{SIGNING_SIDECAR_PORT} is the port of the SigV4 signing sidecar this app gets because it calls "
               "routes (calls or a route's access.allow); choose another containerPort")  # fmt: skip
        return [
            (("apps", i, "containerPort"), why)
            for i, app in enumerate(self.apps)
            if app in callers and app.container_port == SIGNING_SIDECAR_PORT
        ]

    def _called(self, name: str) -> list[Route]:
        return [r for r in self.routes if name in (r.name, f"{r.namespace}/{r.name}")]

    def access(self, route: Route) -> Access:
        """The route's access with the default filled in (AWS_IAM; with NONE Lattice admits everyone anyway)."""
        return route.access or DEFAULT_ACCESS

    def callers(self, route: Route) -> tuple[App, ...]:
        """The apps admitted to `route`: named in its allow list, or calling it (`calls`), in config order."""
        named = {c.app for c in self.access(route).allow if c.app is not None}
        return tuple(a for a in self.apps if a.name in named or any(route in self._called(n) for n in a.calls))

    def called_hostnames(self, app: App) -> tuple[str, ...]:
        """The hostnames of the routes `app` may call (`calls` or a route's allow list), sorted, each once."""
        return tuple(sorted({str(r.hostname) for r in self.routes if app in self.callers(r)}))

    @property
    def calling_apps(self) -> tuple[App, ...]:
        """Apps that call some route: each gets a ServiceAccount, a Pod Identity role and a signing sidecar."""
        if self.service_network_auth_type == "NONE":
            return ()
        return tuple(a for a in self.apps if any(a in self.callers(r) for r in self.routes))

    @property
    def association_ports(self) -> tuple[int, ...]:
        """The ports a VPC association's security group admits from its VPC: every Gateway listener's (a client
        reaches a Lattice service only through what its VPC association's security groups admit:
        https://docs.aws.amazon.com/vpc-lattice/latest/ug/security-groups.html, read 2026-12-05), with HTTP's 80
        and HTTPS's 443 always, as before TLS ports existed."""
        return tuple(sorted({SERVICE_PORT_HTTP, HTTPS_PORT} | {r.listener_port for r in self.routes}))

    @property
    def admits_unsigned(self) -> bool:
        """Some route opts in to unsigned callers: only then does the service network's policy admit them."""
        return self.service_network_auth_type == "AWS_IAM" and any(self.access(r).unsigned for r in self.routes)

    def app(self, name: str) -> App:
        return next(a for a in self.apps if a.name == name)

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace the workload uses, in first-seen order."""
        return tuple(dict.fromkeys([*(a.namespace for a in self.apps), *(r.namespace for r in self.routes)]))
