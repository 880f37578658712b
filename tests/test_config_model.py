"""config/model.py's building blocks (fail, says, Between, Matches, OneOf, _cidr), tested on fresh TypeAdapters:
the models use them at import time, so only a test that builds with them pins what they do. And the
cross-field rules of AppConfig that config.loader cannot see: access and calls, their wording and keys."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import AfterValidator, Field, TypeAdapter, ValidationError

from config import ConfigError, parse_context
from config.model import Between, Matches, OneOf, _cidr, _error, fail, says
from tests.conftest import TODAY


def errors(annotation: Any, value: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(annotation).validate_python(value)
    return [{k: v for k, v in e.items() if k != "url"} for e in caught.value.errors()]


def ok(annotation: Any, value: Any) -> Any:
    return TypeAdapter(annotation).validate_python(value)


# ------------------------------------------------------------------------------------------------ fail


def test_fail_without_problems_returns() -> None:
    fail()


def test_fail_raises_each_problem_as_our_error_at_its_location() -> None:
    with pytest.raises(ValidationError) as caught:
        fail((("a", 1), "first"), ((), "second"))
    assert caught.value.title == "config"
    assert [(e["type"], e["loc"], e["msg"]) for e in caught.value.errors()] == [
        ("config", ("a", 1), "first"),
        ("config", (), "second"),
    ]


# ------------------------------------------------------------------------------------------------ says


def test_says_rewords_a_failed_constraint_of_the_value_with_its_input_and_context() -> None:
    short = Annotated[str, Field(max_length=3), says("{input!r} is longer than {max_length}")]
    assert ok(short, "abc") == "abc"
    assert errors(short, "abcd") == [{"type": "config", "loc": (), "msg": "'abcd' is longer than 3", "input": "abcd"}]


def test_says_without_kinds_rewords_every_constraint_but_not_type_errors() -> None:
    anything = Annotated[str, Field(min_length=2, pattern="^[a-z]+$"), says("bad {input}")]
    assert [e["msg"] for e in errors(anything, "a")] == ["bad a"]
    assert [e["msg"] for e in errors(anything, "AB")] == ["bad AB"]
    (type_error,) = errors(anything, 5)
    assert (type_error["type"], type_error["loc"], type_error["input"]) == ("string_type", (), 5)


def test_says_with_kinds_rewords_only_those() -> None:
    upper = Annotated[int, Field(ge=1, le=9), says("{input} above {le}", "less_than_equal")]
    assert errors(upper, 10)[0]["msg"] == "10 above 9"
    (below,) = errors(upper, 0)
    assert below == {
        "type": "greater_than_equal",
        "loc": (),
        "msg": "Input should be greater than or equal to 1",
        "input": 0,
        "ctx": {"ge": 1},
    }


def test_says_keeps_the_items_errors_as_they_are_and_where_they_are() -> None:
    item = Annotated[int, Field(ge=1)]
    items = Annotated[list[item], Field(max_length=2), says("{actual_length} items")]
    assert errors(items, [1, 0]) == [
        {
            "type": "greater_than_equal",
            "loc": (1,),
            "msg": "Input should be greater than or equal to 1",
            "input": 0,
            "ctx": {"ge": 1},
        }
    ]
    assert errors(items, [1, 2, 3])[0]["msg"] == "3 items"
    (wrong_type,) = errors(items, ["x"])
    assert (wrong_type["type"], wrong_type["loc"], wrong_type["input"]) == ("int_parsing", (0,), "x")


def test_says_keeps_our_own_errors_from_deeper_down_with_their_text_and_location() -> None:
    def refuse(value: int) -> int:
        raise _error(f"{value} is not welcome")

    items = Annotated[list[Annotated[int, AfterValidator(refuse)]], says("never shown")]
    assert errors(items, [1]) == [{"type": "config", "loc": (0,), "msg": "1 is not welcome", "input": None}]


# ------------------------------------------------------------------------------------------- Between


def test_between_accepts_both_ends_and_refuses_one_beyond_each() -> None:
    small = Annotated[int, Between(3, 7)]
    assert [ok(small, n) for n in (3, 7)] == [3, 7]
    assert errors(small, 2)[0]["msg"] == "2 is out of range 3..7"
    assert errors(small, 8)[0]["msg"] == "8 is out of range 3..7"


def test_between_is_strict_and_takes_its_own_message() -> None:
    odd = Annotated[int, Between(0, 5, "{input} not in {lo}-{hi}")]
    assert errors(odd, 6)[0]["msg"] == "6 not in 0-5"
    assert errors(odd, -1)[0]["msg"] == "-1 not in 0-5"
    assert [errors(odd, v)[0]["type"] for v in ("3", 3.0, True)] == ["int_type", "int_type", "int_type"]


# ------------------------------------------------------------------------------------------- Matches


def test_matches_takes_the_whole_string_up_to_its_length() -> None:
    word = Annotated[str, Matches("[a-z]+", "{input!r} is no word", max_length=3)]
    assert ok(word, "abc") == "abc"
    for bad in ("abcd", "ab1", "1ab", ""):
        assert errors(word, bad) == [{"type": "config", "loc": (), "msg": f"{bad!r} is no word", "input": bad}]
    assert errors(word, b"ab")[0]["type"] == "string_type"  # strict: no bytes


def test_matches_without_a_length_takes_any_length() -> None:
    assert ok(Annotated[str, Matches("a+", "no")], "a" * 1000) == "a" * 1000


# --------------------------------------------------------------------------------------------- OneOf


def test_one_of_accepts_only_its_choices_and_lists_them() -> None:
    days = Annotated[int, OneOf([1, 7, 30], "{input} is not one of {known}")]
    assert ok(days, 7) == 7
    assert errors(days, 8) == [{"type": "config", "loc": (), "msg": "8 is not one of 1, 7, 30", "input": 8}]
    assert errors(days, "7")[0]["type"] == "int_type"
    assert TypeAdapter(days).json_schema()["enum"] == [1, 7, 30]


def test_one_of_reads_a_table_as_it_is_at_validation_time() -> None:
    table = {"v1": object()}
    version = Annotated[str, OneOf(table, "{input} unknown ({known})")]
    assert OneOf(table, "").choices is table
    adapter = TypeAdapter(version)
    table["v2"] = object()
    assert adapter.validate_python("v2") == "v2"
    assert errors(version, "v3")[0]["msg"] == "v3 unknown (v1, v2)"


def test_one_of_keeps_any_other_iterable_as_a_tuple() -> None:
    choices = OneOf(iter([1, 2]), "").choices
    assert choices == (1, 2)
    assert list(choices) == list(choices)  # not a spent iterator


# ---------------------------------------------------------------------------------------------- CIDRs


def vpc() -> Any:
    return Annotated[str, _cidr(22)]  # built in the test: see the module docstring


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.0.0.0/22", "172.16.0.0/20", "192.168.0.0/16"])
def test_a_vpc_takes_a_private_slash_16_to_its_max_prefix(cidr: str) -> None:
    assert ok(vpc(), cidr) == cidr


@pytest.mark.parametrize(
    ("cidr", "msg"),
    [
        ("10.0.0.0/15", "10.0.0.0/15 is a /15; VPCs here need a prefix from /16 to /22 (room for the subnets)"),
        ("10.0.0.0/23", "10.0.0.0/23 is a /23; VPCs here need a prefix from /16 to /22 (room for the subnets)"),
        ("8.8.0.0/16", "8.8.0.0/16 is not a private address range (RFC 1918)"),
        ("10.0.0.1/16", "'10.0.0.1/16' is not an IPv4 CIDR block (10.0.0.1/16 has host bits set)"),
        ("fd00::/16", "'fd00::/16' is not an IPv4 CIDR block (Expected 4 octets in 'fd00::')"),
    ],
)
def test_a_vpc_refuses_other_ranges_saying_why(cidr: str, msg: str) -> None:
    assert errors(vpc(), cidr) == [{"type": "config", "loc": (), "msg": msg, "input": cidr}]


def test_other_cidrs_take_any_size_and_public_ranges_but_no_host_bits() -> None:
    any_size = Annotated[str, _cidr(None)]
    assert [ok(any_size, c) for c in ("0.0.0.0/0", "8.8.8.8/32", "203.0.113.0/24")] == [
        "0.0.0.0/0",
        "8.8.8.8/32",
        "203.0.113.0/24",
    ]
    assert errors(any_size, "203.0.113.1/24")[0]["msg"] == (
        "'203.0.113.1/24' is not an IPv4 CIDR block (203.0.113.1/24 has host bits set)"
    )


# ------------------------------------------------------------------------------------ access and calls

DEMO = {"image": "nginx:1.27", "containerPort": 80, "healthPath": "/"}
APPS = [{"name": "a", **DEMO}, {"name": "b", **DEMO}]


def route(name: str = "r", namespace: str = "default", **extra: Any) -> dict[str, Any]:
    rules = [{"pathPrefix": "/", "backends": [{"app": "a" if namespace == "default" else "c"}]}]
    return {
        "name": name,
        "namespace": namespace,
        "hostname": f"{name}.{namespace}.example.com",
        "rules": rules,
        **extra,
    }


def refused(**raw: Any) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_context({"apps": APPS, "routes": [route()], **raw}, today=TODAY)
    return caught.value.lines


def parse(**raw: Any) -> Any:
    return parse_context({"apps": APPS, "routes": [route()], **raw}, today=TODAY)


def test_access_under_auth_type_none_is_refused() -> None:
    assert refused(serviceNetworkAuthType="NONE", routes=[route(access={"unsigned": True})]) == (
        "routes[0].access: needs serviceNetworkAuthType AWS_IAM: with NONE, Lattice checks no caller, so an allow "
        "list would protect nothing",
    )


def test_an_allowed_app_must_be_configured() -> None:
    access = {"allow": [{"app": "a"}, {"clientHost": True}, {"app": "ghost"}]}
    assert refused(routes=[route(access=access)]) == (
        "routes[0].access.allow[2].app: 'ghost' is not one of the configured apps (a, b)",
    )


def test_an_unknown_backend_app_lists_the_configured_ones() -> None:
    rules = [{"pathPrefix": "/", "backends": [{"app": "ghost"}]}]
    assert refused(routes=[route(rules=rules)]) == (
        "routes[0].rules[0].backends[0].app: 'ghost' is not one of the configured apps (a, b)",
    )


def test_calls_under_auth_type_none_are_refused() -> None:
    apps = [{**APPS[0], "calls": ["r"]}, APPS[1]]
    assert refused(serviceNetworkAuthType="NONE", apps=apps) == (
        "apps[0].calls: needs serviceNetworkAuthType AWS_IAM: with NONE, Lattice checks no signature (nothing to "
        "sign for)",
    )


def test_apps_without_calls_are_fine_under_auth_type_none() -> None:
    cfg = parse(serviceNetworkAuthType="NONE")
    assert cfg.calling_apps == ()


def test_calls_must_name_one_configured_route_once() -> None:
    apps = [APPS[0], {**APPS[1], "calls": ["ghost", "r", "default/r", "r"]}, {"name": "c", "namespace": "x", **DEMO}]
    routes = [route(), route(namespace="x")]
    assert refused(apps=apps, routes=routes) == (
        "apps[1].calls[0]: 'ghost' is not a configured route (default/r, x/r)",
        "apps[1].calls[1]: 'r' names more than one route; write namespace/name (default/r, x/r)",
        "apps[1].calls[3]: 'r' names more than one route; write namespace/name (default/r, x/r)",
        "apps[1].calls: duplicate name 'r'",
    )


def test_callers_are_the_allowed_and_the_calling_apps_in_config_order() -> None:
    apps = [{"name": "a", **DEMO, "calls": ["s"]}, {"name": "b", **DEMO}, {"name": "c", **DEMO, "calls": ["r"]}]
    routes = [route(access={"allow": [{"app": "b"}, {"clientHost": True}]}), route("s"), route("t")]
    cfg = parse(apps=apps, routes=routes)
    r, s, t = cfg.routes
    assert [a.name for a in cfg.callers(r)] == ["b", "c"]
    assert [a.name for a in cfg.callers(s)] == ["a"]
    assert cfg.callers(t) == ()
    assert [a.name for a in cfg.calling_apps] == ["a", "b", "c"]
    assert cfg.app("c").calls == ("r",)
    assert cfg.app("a").name == "a"


def test_policy_size_is_checked_per_route_at_its_access_key() -> None:
    from tests.support.past_maxima import policy_problems, with_allow

    roles = [{"role": f"arn:aws:iam::123456789012:role/r{i:03}"} for i in range(300)]
    # The service network's policy names the same roles (issue 20): it is over too, at the routes key.
    line, network = policy_problems(with_allow(parse(routes=[route(), route("s")]), 1, roles))
    assert line.startswith("routes[1].access: its auth policy would be ")
    assert line.endswith(" bytes; Lattice takes at most 10000 (fewer callers)")
    assert network.startswith("routes: the service network's auth policy would be ")
