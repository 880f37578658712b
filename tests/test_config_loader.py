"""config/loader.py: which context keys are ours, the support-calendar warning at its boundary, the wording of
each kind of pydantic error, "did you mean" hints at every depth, and the hand-checking helpers that
config/pipeline.py uses."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
from typing import Annotated, Any

import pytest
from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from config import loader
from config.loader import ConfigError, expect_list, expect_object, expect_type, parse_context
from config.model import AppConfig
from config.versions import EKS_VERSIONS
from tests.conftest import TODAY
from tests.test_config import BAD_INPUTS

APP = {"name": "web", "image": "nginx:1.27", "containerPort": 80, "healthPath": "/"}
RULE = {"pathPrefix": "/", "backends": [{"app": "web"}]}
ROUTE = {"name": "r", "hostname": "api.example.com", "rules": [RULE]}


def refused(raw: dict[str, Any], *, today: dt.date = TODAY) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_context(raw, today=today)
    return caught.value.lines


# ------------------------------------------------------------------------------------------- keys


@pytest.mark.parametrize("key", ["@aws-cdk/core:newStyleStackSynthesis", "aws:cdk:enableDiffNoFail", "pipeline"])
def test_cdk_and_other_tools_keys_are_not_ours_to_check(key: str) -> None:
    assert parse_context({key: True, "clusterName": "prod"}, today=TODAY).cluster_name == "prod"


@pytest.mark.parametrize("key", ["ClusterName", "cluster2", "x"])
def test_any_other_plain_key_is_refused_even_after_known_ones(key: str) -> None:
    # Plain keys start with a letter of either case; the known key first must not end the check.
    assert refused({"clusterName": "prod", key: 1})[0].startswith(f"{key}: unknown configuration key")


def test_unknown_key_without_a_close_match_gets_no_hint() -> None:
    assert refused({"zzzzzz": 1}) == ("zzzzzz: unknown configuration key",)


# -------------------------------------------------------------------------------- support calendar


def test_no_warning_on_the_last_day_of_standard_support_and_one_the_day_after() -> None:
    end = EKS_VERSIONS["1.34"].end_of_standard
    assert parse_context({"kubernetesVersion": "1.34"}, today=end).warnings == ()
    (warning,) = parse_context({"kubernetesVersion": "1.34"}, today=end + dt.timedelta(days=1)).warnings
    assert warning == (
        "kubernetesVersion 1.34 is in EKS extended support since 2026-12-02 (until 2027-12-02): the control "
        "plane costs $0.60/h instead of $0.10/h, about $365 more a month"
    )


def test_extended_support_warning_counts_730_hours_a_month(monkeypatch: pytest.MonkeyPatch) -> None:
    # With prices a dollar apart the monthly figure is the hour count itself.
    monkeypatch.setattr(loader, "EKS_STANDARD_HOURLY_USD", 1.0)
    monkeypatch.setattr(loader, "EKS_EXTENDED_HOURLY_USD", 2.0)
    (warning,) = parse_context({"kubernetesVersion": "1.33"}, today=TODAY).warnings
    assert warning.endswith("costs $2.00/h instead of $1.00/h, about $730 more a month")


def test_last_day_of_extended_support_is_accepted_the_next_refused() -> None:
    end = EKS_VERSIONS["1.32"].end_of_extended
    assert parse_context({"kubernetesVersion": "1.32"}, today=end).warnings
    assert refused({"kubernetesVersion": "1.32"}, today=end + dt.timedelta(days=1)) == (
        "kubernetesVersion: 1.32 left EKS extended support on 2027-03-23; upgrade",
    )


# ----------------------------------------------------------------------------------- error wording


def test_missing_required_fields_are_each_named() -> None:
    assert refused({"apps": [{"name": "web"}]}) == (
        "apps[0].image: is required",
        "apps[0].containerPort: is required",
        "apps[0].healthPath: is required",
    )


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        # two levels down: the hint comes from HealthCheck's fields, reached through the aliases
        (
            {"apps": [{**APP, "healthCheck": {"intervalSecond": 3}}]},
            "apps[0].healthCheck.intervalSecond: unknown field (did you mean 'intervalSeconds'?)",
        ),
        (
            {"routes": [{**ROUTE, "rules": [{**RULE, "headers": [{"name": "x", "value": "1", "typ": "Exact"}]}]}]},
            "routes[0].rules[0].headers[0].typ: unknown field (did you mean 'type'?)",
        ),
        (
            {"routes": [{**ROUTE, "access": {"allow": [{"clientHost": True}], "unsignd": True}}]},
            "routes[0].access.unsignd: unknown field (did you mean 'unsigned'?)",
        ),
        ({"alarms": {"emial": "a@example.com"}}, "alarms.emial: unknown field (did you mean 'email'?)"),
        ({"apps": [{**APP, "zzzzzz": 1}]}, "apps[0].zzzzzz: unknown field"),
    ],
)
def test_unknown_nested_field_hints_at_the_closest_of_its_own_objects_keys(raw: dict[str, Any], line: str) -> None:
    assert line in refused({"apps": [APP], "routes": [ROUTE], **raw})


def test_hint_offers_one_name() -> None:
    assert loader._hint("apx", ["app", "apps", "api"]) == " (did you mean 'app'?)"
    assert loader._hint("zzz", ["app"]) == ""


@pytest.mark.parametrize(
    ("loc", "keys"),
    [
        ((), list(loader.DEFAULTS)),
        (("apps", 0), ["name", "namespace", "image", "replicas", "containerPort", "env", "healthPath",
                       "healthCheck", "resources", "calls", "args"]),
        (("routes", 0, "access"), ["allow", "unsigned"]),
        (("nosuch",), []),  # not a field
        (("clusterName",), []),  # a field, but not an object
        (("apps", 0, "env"), []),  # an object without a model (free-form names)
    ],
)  # fmt: skip
def test_aliases_are_the_keys_of_the_object_at_a_location(loc: tuple[Any, ...], keys: list[str]) -> None:
    assert [k for k in loader._aliases(loc) if k != "warnings"] == keys


def test_is_model_needs_a_class() -> None:
    assert loader._is_model(loader.AppConfig)
    assert not loader._is_model(str)
    assert not loader._is_model(tuple[int, ...])
    assert not loader._is_model(Ellipsis)


def test_type_errors_show_the_value_as_json_and_any_other_value_without_a_traceback() -> None:
    assert refused({"clusterName": ["a"]}) == ('clusterName: expected str, got ["a"]',)
    assert refused({"clusterName": {1}}) == ('clusterName: expected str, got "{1}"',)


def errors_of(annotation: Any, value: Any) -> list[ErrorDetails]:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(annotation).validate_python(value)
    return caught.value.errors()


@pytest.mark.parametrize(
    ("annotation", "value", "reason"),
    [
        (Annotated[list[int], Field(min_length=1)], [], "needs at least 1 entry"),
        (Annotated[list[int], Field(min_length=2)], [1], "needs at least 2 entries"),
        (Annotated[list[int], Field(max_length=2)], [1, 2, 3], "3 entries; at most 2"),
        # a check of pydantic's own without our wording keeps pydantic's sentence
        (Annotated[int, Field(multiple_of=2)], 3, "Input should be a multiple of 2"),
    ],
)
def test_each_kind_of_error_gets_its_wording(annotation: Any, value: Any, reason: str) -> None:
    (error,) = errors_of(annotation, value)
    error["loc"] = ("key", *error["loc"])
    problem = loader._problem(error)
    assert problem is not None
    assert str(problem) == f"key: {reason}"


def test_too_few_after_dropping_invalid_items_is_not_reported_twice() -> None:
    # apps: [1] fails as one bad item, not also as "needs at least 1 entry".
    assert refused({"apps": [1]}) == ("apps[0]: expected dict, got 1",)


def test_location_parts_become_a_dotted_key_with_indexes() -> None:
    (error,) = errors_of(dict[str, list[int]], {"a": ["x"]})
    error["loc"] = ("routes", 2, *error["loc"])
    problem = loader._problem(error)
    assert problem is not None and problem.key == "routes[2].a[0]"


# ----------------------------------------------------------------------- -c values arrive as strings


def test_c_value_that_is_not_json_names_the_key_and_type() -> None:
    assert refused({"nodeMaxSize": "three"}) == ("nodeMaxSize: expected JSON (int), got 'three': Expecting value",)


def test_string_keys_and_optional_strings_are_taken_as_they_are() -> None:
    cfg = parse_context({"clusterName": "123", "shareWithOrganization": ""}, today=TODAY)
    assert (cfg.cluster_name, cfg.share_with_organization) == ("123", None)


# -------------------------------------------------------------- helpers for hand-checked keys (pipeline)


@pytest.mark.parametrize(("value", "kind"), [("x", str), (3, int), ([], list), ({}, dict), (False, bool)])
def test_expect_type_returns_a_value_of_the_kind(value: Any, kind: type) -> None:
    assert expect_type("k", value, kind) is value


@pytest.mark.parametrize(
    ("value", "kind", "line"),
    [
        (True, int, "p.q: expected int, got true"),
        ("3", int, 'p.q: expected int, got "3"'),
        (None, str, "p.q: expected str, got null"),
        ([1], dict, "p.q: expected dict, got [1]"),
    ],
)
def test_expect_type_refuses_other_kinds_and_bool_for_int(value: Any, kind: type, line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        expect_type("p.q", value, kind)
    assert (str(caught.value), caught.value.key) == (line, "p.q")


def test_expect_object_checks_type_fields_and_required_fields() -> None:
    obj = {"a": 1, "b": 2}
    assert expect_object("k", obj, {"a", "b", "c"}, {"a"}) is obj
    assert expect_object("k", {}, {"a"}) == {}
    cases: list[tuple[Any, str]] = [
        ([], "k: expected dict, got []"),
        ({"a": 1, "bb": 2}, "k.bb: unknown field (did you mean 'b'?)"),
        ({"a": 1, "zz": 2}, "k.zz: unknown field"),
        ({}, "k.a: is required"),  # the first missing one, in name order
        ({"c": 1}, "k.a: is required"),
        ({"a": 1}, "k.b: is required"),
    ]
    for value, line in cases:
        with pytest.raises(ConfigError) as caught:
            expect_object("k", value, {"a", "b", "c"}, {"b", "a"})
        assert str(caught.value) == line, value
        assert caught.value.key == line.split(": ")[0]


def test_expect_list_checks_type_and_the_minimum_from_both_sides() -> None:
    assert expect_list("k", []) == []
    assert expect_list("k", [1], min_len=1) == [1]
    assert expect_list("k", [1, 2], min_len=2) == [1, 2]
    for value, min_len, line in [
        ({}, 0, "k: expected list, got {}"),
        ([], 1, "k: needs at least 1 entry"),
        ([1], 2, "k: needs at least 2 entries"),
    ]:
        with pytest.raises(ConfigError) as caught:
            expect_list("k", value, min_len=min_len)
        assert (str(caught.value), caught.value.key) == (line, "k")


def test_config_error_keeps_key_reason_and_one_line_per_problem() -> None:
    more = ConfigError("b", "two")
    err = ConfigError("a", "one", more=(more,))
    assert (err.key, err.reason, str(err), err.lines) == ("a", "one", "a: one", ("a: one", "b: two"))
    assert json.dumps(err.lines)  # plain strings


# ------------------------------------------------------------------------------ every problem together

ADMIN = "arn:aws:iam::111111111111:role/admin"
# Cross-field problems, each with the keys its check reads (config.loader.CROSS_FIELD_READS).
PROBES: list[tuple[dict[str, Any], str]] = [
    ({"nodeDesiredSize": 5}, "nodeDesiredSize: 5 must lie between nodeMinSize (1) and nodeMaxSize (3)"),
    ({"clusterAdminRoleArns": [ADMIN, ADMIN]}, f"clusterAdminRoleArns[1]: {ADMIN!r} is listed twice"),
]


def test_an_unsupported_version_does_not_hide_the_cross_field_problems() -> None:
    # The case: 1.31, nodeDesiredSize above nodeMaxSize and a hostname outside the zone, all three lines.
    route = {**ROUTE, "hostname": "api.other.org", "rules": [{**RULE, "backends": [{"app": "demo-app-a"}]}]}
    lines = refused({"kubernetesVersion": "1.31", "nodeDesiredSize": 5, "routes": [route]})
    assert lines == (
        "kubernetesVersion: '1.31' is not supported here; choose one of " + ", ".join(EKS_VERSIONS),
        "nodeDesiredSize: 5 must lie between nodeMinSize (1) and nodeMaxSize (3)",
        "routes[0].hostname: 'api.other.org' is outside privateZoneName 'example.com'",
    )


@pytest.mark.parametrize(("bad", "expected"), BAD_INPUTS)
def test_each_refused_input_is_reported_with_an_unrelated_cross_field_problem(
    bad: dict[str, Any], expected: str
) -> None:
    # The class: whatever a key's own problem (type, JSON, range, choice, nested), a cross-field problem of keys
    # it does not touch is reported beside it, and nothing about the defaults that stood in for the bad keys.
    probe, probe_line = next((p, line) for p, line in PROBES if not loader.CROSS_FIELD_READS[next(iter(p))] & set(bad))
    lines = refused({**bad, **probe})
    assert any(expected in line for line in lines), lines
    assert sum(line.startswith(probe_line) for line in lines) == 1, lines
    assert len(lines) == len(refused(bad)) + 1, lines


def test_a_bad_key_drops_the_cross_field_problems_that_read_it() -> None:
    # nodeMaxSize is not JSON: nodeDesiredSize=5 against its default (3) would be a line about the default.
    assert refused({"nodeMaxSize": "x", "nodeDesiredSize": 5}) == (
        "nodeMaxSize: expected JSON (int), got 'x': Expecting value",
    )


def test_unknown_keys_are_reported_with_the_rest() -> None:
    assert refused({"bogus": 1, "nodeDesiredSize": 5}) == (
        "bogus: unknown configuration key",
        "nodeDesiredSize: 5 must lie between nodeMinSize (1) and nodeMaxSize (3)",
    )


def test_every_key_a_cross_field_check_reports_on_has_its_reads() -> None:
    fields = {f.alias or n for n, f in AppConfig.model_fields.items()}
    source = "".join(
        inspect.getsource(getattr(AppConfig, name))
        for name in ("_consistent", "_backends", "_access", "_policy_sizes", "_calls", "_sidecar_ports")
    )
    reported = set(re.findall(r'\(\("(\w+)"', source)) | {"consumers"}  # consumers: from consumer_problems
    assert reported <= set(loader.CROSS_FIELD_READS), reported - set(loader.CROSS_FIELD_READS)
    for key, reads in loader.CROSS_FIELD_READS.items():
        assert key in reads
        assert reads <= fields, reads - fields
