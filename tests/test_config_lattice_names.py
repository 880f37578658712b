"""config/lattice_names.py's limits from both sides: the controller's cuts (20 and 18 characters), the object name
at 63 and the service name at 40 characters, and the two refusals with their text. The hostname digest's inputs
may change: these tests compare names with what the module itself computes, never with literal digests."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from config import lattice_names as names
from config.lattice_names import DIGEST_CHARS, MAX_OBJECT_NAME, MAX_SERVICE_NAME, controller_service_name, truncate
from config.model import Route

CLUSTER = "eks-lattice"  # the digest's other input; tests/test_lattice_names.py varies it


def route_object_name(route: Route) -> str:
    return names.route_object_name(route, CLUSTER)


def service_name_override(route: Route) -> str:
    return names.service_name_override(route, CLUSTER)


def lattice_service_name(route: Route) -> str:
    return names.lattice_service_name(route, CLUSTER)


def route_name_problem(routes: Sequence[Route]) -> tuple[int, str] | None:
    return names.route_name_problem(routes, CLUSTER)


def route(name: str, namespace: str = "default", hostname: str = "api.example.com") -> Route:
    rules = [{"pathPrefix": "/", "backends": [{"app": "a"}]}]
    return Route.model_validate({"name": name, "namespace": namespace, "hostname": hostname, "rules": rules})


def digest_of(name: str) -> str:
    return name[-DIGEST_CHARS:]


def test_truncate_strips_only_hyphens_at_both_ends_after_the_cut() -> None:
    assert truncate("-ab-c", 4) == "ab"
    assert truncate("X-y", 2) == "X"  # the controller's Truncate strips "-" only
    assert truncate(" a ", 3) == " a "


def test_the_controller_keeps_20_characters_of_the_route_and_18_of_the_namespace() -> None:
    assert controller_service_name("r" * 20, "n" * 18) == "r" * 20 + "-" + "n" * 18
    assert controller_service_name("r" * 21, "n" * 19) == "r" * 20 + "-" + "n" * 18
    assert controller_service_name("r" * 19 + "-x", "n" * 17 + "-x") == "r" * 19 + "-" + "n" * 17


def test_the_object_name_is_at_most_63_characters() -> None:
    longest = route("a" * 63)
    name = route_object_name(longest)
    assert len(name) == MAX_OBJECT_NAME
    assert name == "a" * (MAX_OBJECT_NAME - DIGEST_CHARS - 1) + "-" + digest_of(name)
    short = route_object_name(route("a" * 5))
    assert short == "aaaaa-" + digest_of(short)


def test_the_object_name_drops_a_hyphen_left_at_the_cut() -> None:
    keep = MAX_OBJECT_NAME - DIGEST_CHARS - 1
    name = route_object_name(route("a" * (keep - 1) + "-" + "b" * 7))
    assert name == "a" * (keep - 1) + "-" + digest_of(name)


def test_the_service_name_is_at_most_40_characters() -> None:
    longest = route("a" * 63, "b" * 63)
    name = service_name_override(longest)
    assert len(name) == MAX_SERVICE_NAME
    assert name == ("a" * 20 + "-" + "b" * 18)[: MAX_SERVICE_NAME - DIGEST_CHARS - 1] + "-" + digest_of(name)
    assert lattice_service_name(longest) == name


def test_the_service_name_drops_a_hyphen_left_at_the_cut() -> None:
    # controller name: 20 + "-" + 18 = 39 characters; the cut at 33 ends on the namespace's hyphen
    cut = route("a" * 20, "b" * 11 + "-" + "c" * 6)
    name = service_name_override(cut)
    assert name == "a" * 20 + "-" + "b" * 11 + "-" + digest_of(name)
    assert lattice_service_name(cut) == name


def test_a_short_route_keeps_its_controller_name_before_the_digest() -> None:
    name = lattice_service_name(route("demo", "default"))
    assert name == "demo-default-" + digest_of(name)
    assert route_name_problem([route("demo", "default")]) is None


def test_a_name_lattice_refuses_is_reported_with_the_reason() -> None:
    bad = route("svc-api")
    name = lattice_service_name(bad)
    assert route_name_problem([route("ok"), bad]) == (
        1,
        f"gives the Lattice service name {name!r}, which Lattice refuses (3-40 of a-z, 0-9 and '-', not starting "
        "with 'svc-', no leading, trailing or doubled '-'); rename the route or its namespace",
    )


def test_two_routes_with_one_service_name_are_reported_on_the_second() -> None:
    # Same first 20 characters, same namespace, same hostname (refused elsewhere, but the names still collide).
    first, second = route("a" * 20 + "-one"), route("a" * 20 + "-two")
    name = lattice_service_name(first)
    assert lattice_service_name(second) == name
    assert route_name_problem([route("other", hostname="b.example.com"), first, second]) == (
        2,
        f"gives the Lattice service name {name!r}, the same as routes[1] (default/{'a' * 20}-one): the controller "
        "keeps only the first 20 characters of the route name and 18 of the namespace, and the digests of cluster "
        "name and hostname collide; make the names differ within those characters",
    )


@pytest.mark.parametrize("hostname", ["a.example.com", "b.example.com"])
def test_a_new_hostname_means_a_new_object_and_service_name(hostname: str) -> None:
    old, new = route("r"), route("r", hostname=hostname)
    assert route_object_name(old) != route_object_name(new)
    assert lattice_service_name(old) != lattice_service_name(new)
