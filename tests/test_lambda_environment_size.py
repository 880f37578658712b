"""No Lambda function's environment outgrows Lambda's 4 KB, whatever the configuration (issue 20, review finding
F2): the smoke checks once travelled in an environment variable, and seven default-shaped routes overflowed it,
failing the deploy. Anything sized by the configuration (routes, rules, headers, consumers) must travel
elsewhere: in the function's code asset (constructs/python_function.py `files`) or its event.

The session's `largest` synthesis (tests/largest_config.py: every list, string and number at the model's maximum,
every option that adds a function on: the DNS resync, alarms, 50 consumers, apps that call routes). Every
function's variables, measured as tests/service_constraints.py measures them (Lambda counts the JSON text of the
map), must fit."""

from __future__ import annotations

import json

from tests.conftest import Synthesized
from tests.largest_config import most
from tests.service_constraints import ROWS, TOKEN
from tests.support.smoke_assets import smoke_functions

# A deploy-time value (a Ref, an ARN) in a variable counts as this many bytes: longer than any ARN or name this
# app references there (an IAM role ARN with a 64-character name and a path is the longest, under 200).
TOKEN_BYTES = 256


def test_every_lambda_environment_fits_at_the_configurations_maxima(largest: Synthesized) -> None:
    synth = largest
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
    # The synthesis really was that large: every smoke function ships every check, each HTTP and HTTPS route's ten
    # rules (signed, then unsigned and a second identity per route), a GRPC route's health call, a TLS handshake.
    functions = smoke_functions(synth.outdir, synth.templates)
    provider = [checks for name, _, checks in functions if name.split("/")[0].endswith("-Gateway")]
    http = [r for r in synth.config.routes if r.protocol in ("HTTP", "HTTPS")]
    assert len(synth.config.routes) == most("routes") and {r.protocol for r in synth.config.routes} == {
        "HTTP",
        "HTTPS",
        "GRPC",
        "TLS",
    }
    assert all(len(r.rules) == most("routes[].rules") for r in http)
    assert len(functions) == 2 + most("consumers") and len(provider) == 2
    streams = len(synth.config.routes) - len(http)  # one health call or handshake each
    assert sum(len(c) for c in provider) == sum(len(r.rules) for r in http) + streams + 2 * len(http)
    assert sum(len(json.dumps(c)) for c in provider) > 10 * limit  # in the environment: ten times too big
