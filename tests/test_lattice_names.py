"""config.lattice_names: the Lattice service name the controller gives each route, why a hostname change
reaches Lattice (a new route object, hence a new Lattice service with the new custom domain), and why two
clusters in one account and region never ask for the same service."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from constructs.workload.routes import route_object

from config import ConfigError, parse_context
from config.lattice_names import (
    SERVICE_NAME_OVERRIDE_ANNOTATION,
    controller_service_name,
    lattice_service_name,
    route_digest,
    route_object_name,
    truncate,
)
from config.model import AppConfig, Route
from tests.conftest import TODAY, Synthesized


def config_with(*routes: tuple[str, str, str], cluster: str = "eks-demo") -> AppConfig:
    """A config of cluster `cluster` whose routes are (name, namespace, hostname), each served by an app in its
    namespace."""
    namespaces = sorted({ns for _, ns, _ in routes})
    apps = [
        {"name": f"app-{i}", "namespace": ns, "image": "nginx:1.27", "containerPort": 80, "healthPath": "/"}
        for i, ns in enumerate(namespaces)
    ]
    app_of = {ns: f"app-{i}" for i, ns in enumerate(namespaces)}
    return parse_context(
        {
            "clusterName": cluster,
            "apps": json.dumps(apps),
            "routes": json.dumps(
                [
                    {
                        "name": name,
                        "namespace": ns,
                        "hostname": host,
                        "rules": [{"pathPrefix": "/", "backends": [{"app": app_of[ns]}]}],
                    }
                    for name, ns, host in routes
                ]
            ),
        },
        today=TODAY,
    )


def controller_view(cfg: AppConfig, route: Route) -> tuple[str, str]:
    """(object name, Lattice service name) as the controller sees the emitted HTTPRoute: its own naming applied
    to the object's name, namespace and annotation, not this app's helper."""
    meta: dict[str, Any] = route_object(cfg, route)["metadata"]
    override = meta.get("annotations", {}).get(SERVICE_NAME_OVERRIDE_ANNOTATION)
    return meta["name"], controller_service_name(meta["name"], meta["namespace"], override)


# -- the controller's naming, as v2.1.3 pkg/utils/common.go does it ---------------------------------------------------


def test_truncate_cuts_then_strips_hyphens() -> None:
    assert truncate("demo-http-route", 20) == "demo-http-route"
    assert truncate("orders-api-primary-v2-canary", 20) == "orders-api-primary-v"
    assert truncate("orders-api-primaryv-2", 20) == "orders-api-primaryv"  # the cut ends on '-': stripped
    assert truncate("production-namespace-eu", 18) == "production-namespa"


def test_controller_name_without_and_with_override() -> None:
    assert controller_service_name("demo-http-route", "default") == "demo-http-route-default"
    assert controller_service_name("a" * 30, "b" * 30) == "a" * 20 + "-" + "b" * 18
    assert controller_service_name("demo-http-route", "default", "chosen-name") == "chosen-name"


# -- the name the controller will use for each route ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "object_name", "service_name"),
    [
        (("demo-http-route", "default", "api.example.com"), "demo-http-route-06a7ea", "demo-http-route-default-06a7ea"),
        (("extra-route", "default", "extra.example.com"), "extra-route-41b7cd", "extra-route-default-41b7cd"),
        (
            ("orders-api-primary-v2-canary", "production-namespace-eu", "orders.example.com"),
            "orders-api-primary-v2-canary-60e7be",
            "orders-api-primary-v-production-n-60e7be",
        ),
    ],
)
def test_lattice_service_name_of_each_route(route: tuple[str, str, str], object_name: str, service_name: str) -> None:
    cfg = config_with(route)
    assert controller_view(cfg, cfg.routes[0]) == (object_name, service_name)
    assert lattice_service_name(cfg.routes[0], cfg.cluster_name) == service_name
    assert len(service_name) <= 40


def test_each_synthesized_route_names_its_service(synth: Synthesized, variant: Synthesized) -> None:
    for app in (synth, variant):
        for route in app.config.routes:
            name, service = controller_view(app.config, route)
            assert service == lattice_service_name(route, app.config.cluster_name)
            assert service.endswith("-" + route_digest(app.config.cluster_name, route.hostname))
            assert name == route_object_name(route, app.config.cluster_name)


# -- a hostname change is a new route object and a new Lattice service ----------------------------------------------

NAMES = ["r", "demo-http-route", "orders-api-primary-v", "orders-api-primary-v2-canary", "x" * 63]
NAMESPACES = ["default", "production-namespace-eu", "n" * 63]
# Two copies of the app in one account and region: EKS cluster names are unique there, the routes need not be.
CLUSTERS = ["eks-demo", "eks-staging", "a" * 100]


@pytest.mark.parametrize(("name", "namespace"), list(itertools.product(NAMES, NAMESPACES)))
def test_hostname_change_gives_a_new_route_and_a_new_service(name: str, namespace: str) -> None:
    before = config_with((name, namespace, "api.example.com"))
    after = config_with((name, namespace, "api2.example.com"))
    old_name, old_service = controller_view(before, before.routes[0])
    new_name, new_service = controller_view(after, after.routes[0])
    # A new object: CloudFormation creates it, then `kubectl delete`s the old one, whose service goes with it.
    assert new_name != old_name
    # A new service, not the old one re-used: the controller finds services by name, and Lattice cannot
    # change the old one's custom domain. The new one is created with the new hostname as its domain.
    assert new_service != old_service
    assert route_object(after, after.routes[0])["spec"]["hostnames"][0] == "api2.example.com"


def test_a_route_object_keeps_its_service_name_and_domain_for_life() -> None:
    """The override must never change on an existing object (the controller ignores such a change), and the
    custom domain cannot: whatever maps to the same object name must carry the same annotation and hostname."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    hosts = ["api.example.com", "api2.example.com", "a.b.example.com"]
    for name, namespace, host, cluster in itertools.product(NAMES, NAMESPACES, hosts, CLUSTERS):
        cfg = config_with((name, namespace, host), cluster=cluster)
        obj = route_object(cfg, cfg.routes[0])
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        fixed = {"annotations": obj["metadata"]["annotations"], "hostnames": obj["spec"]["hostnames"]}
        assert seen.setdefault(key, fixed) == fixed, key


def test_variant_changes_a_hostname_the_way_an_update_would(synth: Synthesized, variant: Synthesized) -> None:
    """The suite's two syntheses differ in demo-http-route's hostname: the route manifest is a new resource
    with a new object, while the DNS record keeps its logical id and waits for the new route."""
    before = {r.name: r for r in synth.config.routes}["demo-http-route"]
    after = {r.name: r for r in variant.config.routes}["demo-http-route"]
    assert before.hostname != after.hostname
    cluster = synth.config.cluster_name
    assert variant.config.cluster_name == cluster
    assert route_object_name(before, cluster) != route_object_name(after, cluster)
    assert lattice_service_name(before, cluster) != lattice_service_name(after, cluster)


# -- two clusters in one account and region ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "namespace"), list(itertools.product(NAMES, NAMESPACES)))
def test_two_clusters_with_the_same_routes_ask_for_different_services(name: str, namespace: str) -> None:
    """Lattice service names are unique per account and region: dev and staging clusters with identical routes
    (name, namespace, hostname) must not ask for one service, whatever the controller cuts off."""
    views = {}
    for cluster in CLUSTERS:
        cfg = config_with((name, namespace, "api.example.com"), cluster=cluster)
        views[cluster] = controller_view(cfg, cfg.routes[0])
    services = [service for _, service in views.values()]
    assert len(set(services)) == len(CLUSTERS), views
    # And the object names differ too: the controller ignores a changed override on an existing object, so a
    # service name that depends on the cluster needs an object name that does.
    assert len({obj for obj, _ in views.values()}) == len(CLUSTERS), views
    # Still names Lattice accepts (the config check would have refused the config otherwise; assert it anyway).
    assert all(3 <= len(s) <= 40 and not s.startswith("svc-") and "--" not in s for s in services)


def test_the_emitted_objects_depend_on_the_cluster_name_only_through_the_digest() -> None:
    dev = config_with(("demo-http-route", "default", "api.example.com"), cluster="eks-dev")
    staging = config_with(("demo-http-route", "default", "api.example.com"), cluster="eks-staging")
    (dev_obj, dev_svc), (stg_obj, stg_svc) = (
        controller_view(dev, dev.routes[0]),
        controller_view(staging, staging.routes[0]),
    )
    assert (dev_obj, dev_svc) == (
        f"demo-http-route-{route_digest('eks-dev', 'api.example.com')}",
        f"demo-http-route-default-{route_digest('eks-dev', 'api.example.com')}",
    )
    assert (stg_obj, stg_svc) == (
        f"demo-http-route-{route_digest('eks-staging', 'api.example.com')}",
        f"demo-http-route-default-{route_digest('eks-staging', 'api.example.com')}",
    )
    assert dev_svc != stg_svc


# -- refused at synth time --------------------------------------------------------------------------------------------


def _colliding_hostnames() -> tuple[str, str]:
    """Two hostnames whose digests collide (found by search, ~5,000 tries by the birthday bound)."""
    seen: dict[str, str] = {}
    for i in itertools.count():
        host = f"h{i}.example.com"
        other = seen.setdefault(route_digest("eks-demo", host), host)
        if other != host:
            return other, host
    raise AssertionError("unreachable")


def test_routes_whose_service_names_collide_are_refused() -> None:
    first, second = _colliding_hostnames()
    # Same first 20 characters of the name: the controller's part of the service name is the same, and so is
    # the digest. (Past the 20th character the controller sees nothing.)
    with pytest.raises(ConfigError) as caught:
        config_with(("orders-api-primary-v2-a", "default", first), ("orders-api-primary-v2-b", "default", second))
    assert caught.value.key == "routes[1].name"
    assert "the same as routes[0] (default/orders-api-primary-v2-a)" in str(caught.value)
    assert "\n" not in str(caught.value)
    # The same two names with ordinary hostnames are fine: the digest tells their services apart.
    cfg = config_with(
        ("orders-api-primary-v2-a", "default", "a.example.com"), ("orders-api-primary-v2-b", "default", "b.example.com")
    )
    assert len({lattice_service_name(r, cfg.cluster_name) for r in cfg.routes}) == 2


@pytest.mark.parametrize(
    ("route", "key"),
    [
        (("svc-orders", "default", "api.example.com"), "routes[0].name"),  # Lattice reserves svc- (service ids)
        (("my--route", "default", "api.example.com"), "routes[0].name"),  # no doubled '-'
        (("route", "my--team", "api.example.com"), "routes[0].name"),
    ],
)
def test_service_names_lattice_refuses_are_refused(route: tuple[str, str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with(route)
    assert caught.value.key == key
    assert "which Lattice refuses" in str(caught.value)
