"""No Lambda function's environment outgrows Lambda's 4 KB, whatever the configuration (issue 20, review finding
F2): the smoke checks once travelled in an environment variable, and seven default-shaped routes overflowed it,
failing the deploy. Anything sized by the configuration (routes, rules, headers, consumers) must travel
elsewhere: in the function's code asset (constructs/python_function.py `files`) or its event.

One synthesis of a configuration at the model's maxima where it has them (10 rules a route, 5 header matches a
rule, the longest names, hostnames, paths and header values the model accepts) and well past the failing size
where it has none (routes, consumers, apps), with every optional feature that adds a function on (the DNS resync,
alarms, consumers, apps that call routes). Every function's variables, measured as tests/service_constraints.py
measures them (Lambda counts the JSON text of the map), must fit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from config.model import MAX_HEADER_NAME, MAX_HEADER_VALUE
from tests.conftest import PROVIDER_ACCOUNT, PROVIDER_REGION, Synthesized
from tests.service_constraints import ROWS, TOKEN
from tests.support.smoke_assets import smoke_functions

ROUTES = 8  # the model has no cap; 7 default-shaped routes overflowed the old CHECKS variable
RULES = 10  # MAX_RULES_PER_ROUTE
HEADERS = 5  # MAX_HEADER_MATCHES
ZONE = "z" * 63 + ".example.com"


def _label(tag: str, length: int = 63) -> str:
    return (tag + "-" + "x" * length)[: length - 1] + "z"


def _hostname(index: int) -> str:
    # 253 characters in all (DnsName's maximum), inside the zone.
    head = _label(f"r{index}")
    host = f"{head}.{_label('b')}.{ZONE}"
    return f"{_label('a', 253 - len(host) - 1)}.{host}"


def _path(index: int) -> str:
    return f"/{index}-" + "p" * (200 - 2 - len(str(index)))  # UrlPath's maximum, 200 characters


def largest_config() -> dict[str, Any]:
    apps = [
        {
            "name": f"app{i}",  # short: alarm names join namespace, route and app names
            "namespace": _label(f"ns{i % 2}"),
            "image": "rlawnsdud/demo:latest",
            "containerPort": 3000,
            "env": {"ROUTE": f"v{i}", "GLOBAL_PREFIX": "/v"},
            "healthPath": "/v/health",
            **({"calls": [f"{_label('ns0')}/route0"]} if i < 2 else {}),
        }
        for i in range(4)
    ]
    consumers = [
        {"name": f"consumer-{'c' * 8}{i}", "account": f"{222222222222 + i}", "vpcCidr": f"10.{3 + i}.0.0/16"}
        for i in range(4)
    ]
    routes = [
        {
            "name": f"route{r}",
            "namespace": _label(f"ns{r % 2}"),
            "hostname": _hostname(r),
            "rules": [
                {
                    ("pathPrefix" if k % 2 else "path"): _path(k),
                    "method": "POST" if k == 3 else "GET",
                    "headers": [
                        {
                            "name": f"x-{h}-" + "n" * (MAX_HEADER_NAME - 3 - len(str(h))),
                            "value": f"{h}" + "v" * (MAX_HEADER_VALUE - 1),
                        }
                        for h in range(HEADERS)
                    ],
                    "backends": [{"app": app["name"]} for app in apps if app["namespace"] == _label(f"ns{r % 2}")],
                }
                for k in range(RULES)
            ],
            "access": {"allow": [{"clientHost": True}, *({"account": c["account"]} for c in consumers)]},
        }
        for r in range(ROUTES)
    ]
    return {
        "privateZoneName": ZONE,
        "apps": json.dumps(apps),
        "routes": json.dumps(routes),
        "consumers": json.dumps(consumers),
        "dnsResyncMinutes": 5,
        "alarms": {"email": "ops@example.com", "errorRatePercent": 5, "latencyP99Ms": 1000},
    }


# A deploy-time value (a Ref, an ARN) in a variable counts as this many bytes: longer than any ARN or name this
# app references there (an IAM role ARN with a 64-character name and a path is the longest, under 200).
TOKEN_BYTES = 256


def test_every_lambda_environment_fits_at_the_configurations_maxima(tmp_path: Path) -> None:
    synth = Synthesized(tmp_path, largest_config(), (PROVIDER_ACCOUNT, PROVIDER_REGION), nag=False)
    (row,) = [r for r in ROWS if r.path == "Environment.Variables"]
    limit = row.constraint.max_len
    assert limit == 4096
    sizes: dict[str, int] = {}
    for stack, template in synth.templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == "AWS::Lambda::Function":
                for _, text in row.values(resource.get("Properties", {})):
                    literal = text.replace(TOKEN, "")
                    sizes[f"{stack}/{logical_id}"] = len(literal.encode()) + TOKEN_BYTES * text.count(TOKEN)
    assert len(sizes) > 10
    too_big = {name: size for name, size in sizes.items() if size > limit}
    assert not too_big, f"environments over Lambda's {limit} bytes ({row.constraint.source}): {too_big}"
    # The synthesis really was that large: every smoke function ships every check, each route's ten rules.
    functions = smoke_functions(synth.outdir, synth.templates)
    provider = [checks for name, _, checks in functions if name.startswith("EksLatticeGateway-Gateway/")]
    assert len(functions) == 2 + 4 and len(provider) == 2
    assert sum(len(c) for c in provider) == ROUTES * RULES + 2 * ROUTES  # signed, unsigned, second identity
    assert sum(len(json.dumps(c)) for c in provider) > 10 * limit  # in the environment: ten times too big
