"""Parse and validate the configuration once, at the edge.

The models in `config.model` do the checking; this module feeds them cdk.json's context (JSON-decoding what
`-c key=value` delivers as strings) and turns every problem into a `ConfigError` line that names the key and
the reason. `app.py` prints the lines and exits before any construct exists, so a bad value never leaves
half-written templates behind.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, to_jsonable_python

from config.errors import ConfigError, expect_list, expect_object, expect_type
from config.errors import hint as _hint
from config.model import AppConfig
from config.versions import EKS_EXTENDED_HOURLY_USD, EKS_STANDARD_HOURLY_USD, EKS_VERSIONS

# Importable from here as before config.errors held them (config.pipeline's helpers, ConfigError).
__all__ = [
    "CROSS_FIELD_READS",
    "DEFAULTS",
    "ConfigError",
    "expect_list",
    "expect_object",
    "expect_type",
    "parse_context",
]


# cdk.json's keys and the defaults it repeats for users to edit (a test keeps the two equal).
DEFAULTS: dict[str, Any] = {
    field.alias or name: to_jsonable_python(field.default)
    for name, field in AppConfig.model_fields.items()
    if not field.exclude
}

# Context keys that belong to other tools (CDK feature flags, the pipeline issue's key); not ours to check.
_FOREIGN_KEYS = {"pipeline"}
_TYPE_NAMES = {"int_type": "int", "string_type": "str", "bool_type": "bool", "dict_type": "dict",
               "model_type": "dict", "list_type": "list", "tuple_type": "list", "float_type": "number"}  # fmt: skip


def parse_context(raw: Mapping[str, Any], *, today: dt.date) -> AppConfig:
    """Build the config from context values (cdk.json merged with `-c` overrides, as CDK hands them over).
    Every problem is reported together: unknown keys, values that are not JSON, each key's own checks and the
    cross-field checks of the keys that passed their own."""
    problems = [_unknown_key(key) for key in raw if _is_unknown(key)]
    values: dict[str, Any] = {}
    for key in (k for k in raw if k in DEFAULTS):
        try:
            values[key] = _decode(key, raw[key])
        except ConfigError as err:
            problems.append(err)
    try:
        config = AppConfig.model_validate(values, context={"today": today, "crossField": not problems})
    except ValidationError as err:
        problems += _problems(err)
    if problems:
        # pydantic runs a model's "after" checks only when every field is valid, so one bad key (an unsupported
        # kubernetesVersion) would hide them all: run them again without the bad keys.
        problems += _cross_field_problems(values, today, {_top(p.key) for p in problems})
        first, *more = problems
        raise ConfigError(first.key, first.reason, more=tuple(more))
    return config.model_copy(update={"warnings": _support_warnings(config.kubernetes_version, today)})


# The keys each cross-field check (AppConfig._consistent) reads, by the top-level key it reports on: a problem
# found with a bad key at its default would be about the default, not the user's value, so it is dropped.
# tests/test_config_loader.py checks that every key _consistent reports on is here.
CROSS_FIELD_READS: dict[str, frozenset[str]] = {
    "nodeDesiredSize": frozenset({"nodeDesiredSize", "nodeMinSize", "nodeMaxSize"}),
    "clientVpcCidr": frozenset({"clientVpcCidr", "clusterVpcCidr"}),
    "clusterEndpointPublicCidrs": frozenset({"clusterEndpointPublicCidrs", "clusterEndpointAccess"}),
    "gatewayApiVersion": frozenset({"gatewayApiVersion", "controllerChartVersion"}),
    "clusterAdminRoleArns": frozenset({"clusterAdminRoleArns"}),
    "apps": frozenset({"apps", "routes", "serviceNetworkAuthType"}),
    "routes": frozenset(
        {"routes", "apps", "privateZoneName", "clusterName", "serviceNetworkAuthType", "consumers"}
        | {"clusterVpcCidr", "clientVpcCidr", "shareWithOrganization"}  # the network policy's size
    ),
    "consumers": frozenset({"consumers", "clusterVpcCidr", "clientVpcCidr"}),
    "goneConsumerAccounts": frozenset({"goneConsumerAccounts", "consumers"}),
}


def _top(key: str) -> str:
    return re.split(r"[.\[]", key, maxsplit=1)[0]


def _problems(err: ValidationError) -> list[ConfigError]:
    return [p for p in (_problem(e) for e in err.errors()) if p is not None]


def _cross_field_problems(values: dict[str, Any], today: dt.date, bad: set[str]) -> list[ConfigError]:
    """The cross-field problems of the keys that passed their own checks (the bad keys at their defaults)."""
    try:
        AppConfig.model_validate(
            {k: v for k, v in values.items() if k not in bad}, context={"today": today, "crossField": True}
        )
    except ValidationError as err:
        # An unmapped key counts as reading every key: better one line missing than one about a default.
        return [p for p in _problems(err) if not CROSS_FIELD_READS.get(_top(p.key), frozenset(DEFAULTS)) & bad]
    return []


def _is_unknown(key: str) -> bool:
    # Feature flags ("@aws-cdk/...") and CDK's own keys ("aws:cdk:...") are namespaced; ours are plain.
    return key not in DEFAULTS and key not in _FOREIGN_KEYS and bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key))


def _unknown_key(key: str) -> ConfigError:
    return ConfigError(key, "unknown configuration key" + _hint(key, DEFAULTS))


def _decode(key: str, value: Any) -> Any:
    """`-c key=value` delivers strings; JSON-decode them where the key takes a list, object, number or bool."""
    default = DEFAULTS[key]
    if not isinstance(value, str) or isinstance(default, str) or default is None:  # None: an optional string
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise ConfigError(key, f"expected JSON ({type(default).__name__}), got {value!r}: {err.msg}") from None


def _support_warnings(version: str, today: dt.date) -> tuple[str, ...]:
    eks = EKS_VERSIONS[version]
    if today <= eks.end_of_standard:
        return ()
    extra = (EKS_EXTENDED_HOURLY_USD - EKS_STANDARD_HOURLY_USD) * 730
    return (
        f"kubernetesVersion {version} is in EKS extended support since {eks.end_of_standard:%Y-%m-%d} "
        f"(until {eks.end_of_extended:%Y-%m-%d}): the control plane costs ${EKS_EXTENDED_HOURLY_USD:.2f}/h "
        f"instead of ${EKS_STANDARD_HOURLY_USD:.2f}/h, about ${extra:.0f} more a month",
    )


# ----------------------------------------------------------------------------------------- error lines


def _problem(err: ErrorDetails) -> ConfigError | None:
    """One pydantic error as our line; None for an echo of another error."""
    loc, kind, value = err["loc"], err["type"], err["input"]
    ctx = err.get("ctx") or {}
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc if p != "[key]").removeprefix(".")
    if kind == "too_short" and isinstance(value, list | tuple) and len(value) >= ctx["min_length"]:
        return None  # "too few after validation": its invalid items are reported themselves
    if kind == "missing":
        reason = "is required"
    elif kind == "extra_forbidden":
        reason = "unknown field" + _hint(str(loc[-1]), _aliases(loc[:-1]))
    elif kind in _TYPE_NAMES:
        reason = f"expected {_TYPE_NAMES[kind]}, got {json.dumps(value, default=repr)}"
    elif kind == "literal_error":
        choices = re.findall(r"'([^']*)'", ctx["expected"])
        reason = f"{value!r} is not one of {', '.join(choices)}"
    elif kind == "too_short":
        n = ctx["min_length"]
        reason = f"needs at least {n} entr{'y' if n == 1 else 'ies'}"
    elif kind == "too_long":
        reason = f"{ctx['actual_length']} entries; at most {ctx['max_length']}"
    else:  # ours ("config": the text is the reason) or a check of pydantic's own we have no wording for
        reason = err["msg"]
    return ConfigError(key, reason)


def _aliases(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the object at `loc` accepts, for "did you mean" hints."""
    model: Any = AppConfig
    for part in (p for p in loc if isinstance(p, str)):
        field = {f.alias or n: f for n, f in model.model_fields.items()}.get(part)
        model = next((t for t in _types(field.annotation) if _is_model(t)), None) if field else None
        if model is None:
            return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _types(annotation: Any) -> list[Any]:
    """The annotation and every type inside it (tuple[App, ...] -> App)."""
    return [annotation, *(t for a in getattr(annotation, "__args__", ()) for t in _types(a))]


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)
