"""The per-run configuration of `make e2e`: the user's context with every name the app derives made unique.

Nothing new decides a name: the configuration's own keys do. `stackPrefix` names the stacks (and, through their
names, the roles, functions, alarms and dashboard CloudFormation or the app names after them); `clusterName`,
`serviceNetworkName` (also the access-log group) and `privateZoneName` (with each route's hostname moved inside
it) name the rest; the routes' names, and the `calls` that name them, name the Lattice services and target groups
the controller creates. A run writes these keys with its prefix `e2e-<6 characters>` and passes them to every
command with `-c`, so a run never touches another deployment of this app (tests/test_e2e_naming.py synthesizes with
a prefix and finds no name without it).
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Mapping
from typing import Any

PREFIX_PATTERN = re.compile(r"e2e-[a-z0-9]{6}")
_ALPHABET = string.ascii_lowercase + string.digits
K8S_NAME_MAX = 63  # DNS-1035 labels (config/model.py K8sName)


class NamingError(Exception):
    """A configuration the run cannot make unique; the message names the key."""


def new_prefix() -> str:
    return "e2e-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


def decoded(value: Any) -> Any:
    """A context value as cdk.json holds it, or as `-c` delivered it (a JSON string)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def run_context(base: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The keys a run overrides (JSON-ready values), from the user's context `base` (cdk.json merged with -c)."""
    if not PREFIX_PATTERN.fullmatch(prefix):
        raise NamingError(f"prefix {prefix!r} is not e2e-<6 lowercase letters or digits>")
    if base.get("pipeline") is not None:
        raise NamingError("pipeline: make e2e deploys the plain stacks; run it from a configuration without `pipeline`")
    zone = str(decoded(base.get("privateZoneName", "example.com")))
    routes = [dict(r) for r in decoded(base.get("routes", [])) or []]
    renamed: dict[str, str] = {}
    for i, route in enumerate(routes):
        name = str(route.get("name", ""))
        new = f"{prefix}-{name}"
        if len(new) > K8S_NAME_MAX:
            raise NamingError(f"routes[{i}].name: {name!r} is too long to carry the run's prefix ({new!r})")
        namespace = str(route.get("namespace", "default"))
        renamed[name] = new
        renamed[f"{namespace}/{name}"] = f"{namespace}/{new}"
        route["name"] = new
        hostname = str(route.get("hostname", ""))
        if hostname.endswith("." + zone):
            route["hostname"] = f"{hostname.removesuffix('.' + zone)}.{prefix}.{zone}"
    apps = [dict(a) for a in decoded(base.get("apps", [])) or []]
    calling = [app for app in apps if app.get("calls")]
    for app in calling:
        app["calls"] = [renamed.get(str(c), str(c)) for c in app["calls"]]
    context: dict[str, Any] = {
        "stackPrefix": prefix,
        "clusterName": prefix,
        "serviceNetworkName": prefix,
        "privateZoneName": f"{prefix}.{zone}",
    }
    if routes:
        context["routes"] = routes
    if calling:  # only when a `calls` entry names a renamed route
        context["apps"] = apps
    return context


def cdk_args(context: Mapping[str, Any]) -> list[str]:
    """`-c key=value` for each key, as the CDK CLI and tools/*.py take them (JSON for lists and objects)."""
    args: list[str] = []
    for key, value in context.items():
        args += ["-c", f"{key}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}"]
    return args
