"""Every smoke check the configurations generate is sent with a signature the independent SigV4 verifier accepts
over the bytes that arrive (issue 20, item 1): the checks of every smoke function in the default and the variant
synthesis (the checks file each ships, as `make smoke` runs them), and the checks of configurations using every
rule feature."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from constructs.smoke.checks import SECOND_IDENTITY, UNSIGNED, denial_checks, smoke_checks
from smoke import handler as smoke
from smoke import verdict

from config.loader import DEFAULTS, parse_context
from tests.conftest import Synthesized
from tests.sigv4_verifier import RawRequest
from tests.support.smoke_assets import smoke_functions
from tests.support.smoke_wire import (
    assert_asks_for_the_check,
    assert_signed_as_sent,
    sent_by_the_lambda,
    signing_environment,
)

TODAY = dt.date(2026, 11, 28)
Check = dict[str, Any]


def synthesized_checks(synth: Synthesized) -> list[tuple[str, bool, Check]]:
    """(function, signs, check) for every smoke function in the synthesis: what its checks file holds."""
    found = []
    for function, props, checks in smoke_functions(synth.outdir, synth.templates):
        signs = "SIGV4_REGION" in props.get("Environment", {}).get("Variables", {})
        found += [(function, signs, c) for c in checks]
    return found


# Configurations beyond the syntheses: every rule feature a check is derived from (exact and prefix paths, header
# and method matches, weights, another namespace, paths with the characters an HTTPRoute path may carry raw), a
# route open to unsigned callers, and a consumer's view.
APPS = [*DEFAULTS["apps"], {**DEFAULTS["apps"][0], "name": "team-app", "namespace": "team"}]
RULES = [
    *DEFAULTS["routes"][0]["rules"],
    {"path": "/v1/env", "backends": [{"app": "demo-app-a"}]},
    {"path": "/a=b&c/@x:y~z", "backends": [{"app": "demo-app-b"}]},
    {
        "pathPrefix": "/canary",
        "headers": [{"name": "x-canary", "value": "yes please"}],
        "backends": [{"app": "demo-app-b"}],
    },
    {"pathPrefix": "/v1/orders", "method": "POST", "backends": [{"app": "demo-app-a"}]},
    {"pathPrefix": "/w", "backends": [{"app": "demo-app-a", "weight": 90}, {"app": "demo-app-b", "weight": 10}]},
]
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "every rule feature": {
        "apps": json.dumps(APPS),
        "routes": json.dumps(
            [
                {**DEFAULTS["routes"][0], "rules": RULES, "access": {"allow": [{"account": "222222222222"}]}},
                {
                    "name": "team-route",
                    "namespace": "team",
                    "hostname": "team.example.com",
                    "rules": [{"pathPrefix": "/", "backends": [{"app": "team-app"}]}],
                    "access": {"allow": [{"clientHost": True}], "unsigned": True},
                },
            ]
        ),
        # An `account` entry must name a consumer account (issue 20 item 8).
        "consumers": json.dumps([{"name": "team-b", "account": "222222222222", "vpcCidr": "10.3.0.0/16"}]),
    },
}


def generated_checks(raw: dict[str, Any]) -> list[Check]:
    cfg = parse_context(raw, today=TODAY)
    return [
        *smoke_checks(cfg),
        *denial_checks(cfg, caller=UNSIGNED),
        *denial_checks(cfg, caller=SECOND_IDENTITY),
        *smoke_checks(cfg, caller="consumer team-b", account="222222222222"),
        *smoke_checks(cfg, caller="consumer team-c", account="333333333333"),
    ]


def assert_sent_as_the_function_would(check: Check, *, signs: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    signing_environment(monkeypatch, sign=signs)
    head, _ = sent_by_the_lambda(check)
    if signs and check.get("sign", True) is not False:
        assert_signed_as_sent(head, check)
    else:
        request = RawRequest.parse(head)
        assert not request.values("authorization") and not request.values("x-amz-date")
        assert_asks_for_the_check(request, check)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_generated_check_is_signed_as_sent(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    checks = generated_checks(CONFIGS[name])
    assert any("?" in c["url"] for c in checks)  # the queries of item 1 are among them
    for check in checks:
        assert_sent_as_the_function_would(check, signs=True, monkeypatch=monkeypatch)


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_every_synthesized_smoke_check_is_signed_as_sent(
    which: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = synthesized_checks(request.getfixturevalue(which))
    # The default has the smoke function and the second identity's; the variant its own and each consumer's.
    assert len({function for function, _, _ in found}) >= 2 and any(signs for _, signs, _ in found)
    for _, signs, check in found:
        assert_sent_as_the_function_would(check, signs=signs, monkeypatch=monkeypatch)


def test_the_paths_sent_raw_are_exactly_what_the_httproute_crd_accepts(reference_dir: Path) -> None:
    """The smoke Lambda leaves a path's characters raw only where the pinned HTTPRoute CRD's path rule accepts them
    (so a configured path is sent as its rule matches it) and percent-encodes everything else."""
    crd = (reference_dir / "crds" / "gateway-api-v1.5.1" / "gateway.networking.k8s.io_httproutes.yaml").read_text()
    patterns = set(re.findall(r'self\.value\.matches\(r"""(.+?)"""\)', crd))
    (pattern,) = {p.replace("''", "'") for p in patterns}  # YAML's single-quoted scalar doubles its quotes
    for code in range(0x21, 0x7F):
        char = chr(code)
        if char == "%":
            continue
        accepted = re.fullmatch(pattern, f"/{char}") is not None
        assert accepted == (smoke.request_target(f"/{char}", "") == f"/{char}"), char
    assert re.fullmatch(pattern, "/%2C") and smoke.request_target("/%2c", "") == "/%2C"


# ------------------------------------------------------------------- which 403 is which (issue 20 review, 2)

# Exception names AWS uses for a refused signature or credential (curl/curl#11007 and awslabs/aws-sigv4-proxy#116
# show Lattice's IncompleteSignatureException; the others are AWS's usual ones, unverified for Lattice).
SIGNATURE_NAMES = (
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
)
# Names the configurations never generate but a user may choose: each holds a word of the signature names.
HOSTILE_NAMES = ("signature", "security-token", "ExpiredToken", "InvalidSignatureException", "UnrecognizedClient")


def bodies(name: str, message: str) -> list[bytes]:
    """An error named `name` with `message`, in each form a body may take: Lattice's plain text, AWS's JSON (with
    and without a namespace, message first or last) and XML."""
    as_json = [
        {"__type": name, "message": message},
        {"message": message, "__type": f"com.amazon.coral.service#{name}"},
    ]
    texts = [
        f"{name}: {message}",
        *(json.dumps(d) for d in as_json),
        f"<ErrorResponse><Error><Code>{name}</Code><Message>{message}</Message></Error></ErrorResponse>",
    ]
    return [t.encode() for t in texts]


def denial_messages(paths: set[str], roles: set[str], functions: set[str]) -> list[str]:
    """IAM-style denials with every path, role and function (the session name of a Lambda's role) in place."""
    service = "arn:aws:vpc-lattice:us-east-1:111111111111:service/svc-0123456789abcdef0"
    return [
        f"User: arn:aws:sts::111111111111:assumed-role/{role}/{function} is not authorized to perform: "
        f"vpc-lattice-svcs:Invoke on resource: {service}{path} because no service-based policy allows it"
        for path in sorted(paths)
        for role in sorted(roles)
        for function in sorted(functions)[:3]
    ]


def names_in(raw: dict[str, Any], synths: list[Synthesized]) -> tuple[set[str], set[str], set[str]]:
    """(paths, role names, function names) the configuration and the syntheses can put into a denial."""
    sent = (urlsplit(c["url"]) for c in generated_checks(raw))
    paths = {smoke.request_target(u.path, u.query) for u in sent} | {f"/{n}" for n in HOSTILE_NAMES}
    roles = set(HOSTILE_NAMES)
    functions = set(HOSTILE_NAMES)
    for route in parse_context(raw, today=TODAY).routes:
        for entry in route.access.allow if route.access else ():
            if entry.role:
                roles.add(entry.role.rsplit("/", 1)[-1])
    for synth in synths:
        for stack, template in synth.templates.items():
            for logical_id, resource in template.get("Resources", {}).items():
                props = resource.get("Properties", {})
                if resource["Type"] == "AWS::IAM::Role":
                    roles.add(str(props.get("RoleName") or f"{stack}-{logical_id}"))
                elif resource["Type"] == "AWS::Lambda::Function":
                    functions.add(str(props.get("FunctionName") or f"{stack}-{logical_id}"))
    return paths, roles, functions


def is_signature_refusal(body: bytes) -> bool:
    return bool(verdict._signature_error(verdict.Response(status=403, body=body)))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_policy_denial_the_configurations_can_produce_is_a_policy_denial(
    name: str, synth: Synthesized, variant: Synthesized
) -> None:
    paths, roles, functions = names_in(CONFIGS[name], [synth, variant])
    assert {"/signature", "/v1/env?select=POD%2CROUTE"} <= paths and "security-token" in roles
    for message in denial_messages(paths, roles, functions):
        for body in [message.encode(), *bodies("AccessDeniedException", message)]:
            assert not is_signature_refusal(body), body


@pytest.mark.parametrize("name", SIGNATURE_NAMES)
def test_every_signature_exception_name_is_a_signature_refusal(name: str) -> None:
    # Its message may quote anything; the name decides.
    for message in ("", "User: arn:aws:sts::1:assumed-role/r/f is not authorized", "'x-amz-date' is missing"):
        for body in bodies(name, message):
            assert is_signature_refusal(body), body
    assert not is_signature_refusal(f"AccessDeniedException: {name}".encode())
