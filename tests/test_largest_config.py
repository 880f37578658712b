"""The largest configuration synthesizes and fits every size limit (issue 24 item 2).

tests/largest_config.py builds it from config/schema.json: every list at its maxItems, every string at its
maxLength, every number at its maximum, every option on, 50 consumers. One synthesis (the session's `largest`,
shared with tests/test_lambda_environment_size.py and tests/test_custom_resource_responses.py) is measured against:
- CloudFormation: 500 resources and a 1,000,000-byte template per stack (aws-cdk-lib 2.273.0 core/lib/stack.js:
  MAX_RESOURCES = 500, TEMPLATE_BODY_MAXIMUM_SIZE = 1e6, read 2026-12-05), measured on the file CDK writes;
- IAM: trust policies 2,048, a role's inline policies 10,240, a managed policy 6,144 characters, white space not
  counted; Lattice auth policies 10,000 bytes, the lower reading of 10 KB (config/limits.py, with the IAM and
  Lattice quota pages);
- tags: at most 50 per resource ("Maximum number of tags per resource - 50", ECS API reference, Tag,
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html, read 2026-12-05; the same rule in the
  other services' Tag shapes); key and value lengths by the service-constraint table (tests/service_constraints.py);
- the service-constraint table, the Kubernetes schemas, the namespace order and make cost's type list (the checks
  make fuzz runs on every accepted configuration; cfn-lint aside, which lints the default and variant synths).
Custom-resource responses (4,096 bytes) and Lambda environments (4 KB) are measured on this synthesis by their own
tests. A stack past a limit means a maximum in config/limits.py or config/model.py must come down.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from config import parse_context
from tests import config_fuzz
from tests.conftest import TODAY, Synthesized
from tests.largest_config import (
    EVERY_VALUE,
    EXEMPT,
    FEWER,
    LEFT_OUT,
    context_schema_top,
    largest_context,
    most,
    paths,
    shortfalls,
)
from tests.support.policy_sizes import largest as largest_documents
from tests.support.policy_sizes import oversized

MAX_RESOURCES = 500  # aws-cdk-lib 2.273.0 core/lib/stack.js MAX_RESOURCES
TEMPLATE_BODY_MAXIMUM_SIZE = 1_000_000  # bytes, aws-cdk-lib 2.273.0 core/lib/stack.js
MAX_TAGS = 50


def test_the_fixture_is_the_largest_configuration_the_schema_allows() -> None:
    assert shortfalls(largest_context()) == []
    assert set(LEFT_OUT) <= set(json.loads(Path("config/schema.json").read_text())["$defs"]["Context"]["properties"])
    # Every exception names a key the schema has (a renamed key does not leave a stale one behind).
    assert set(EXEMPT) | set(FEWER) | EVERY_VALUE <= {path for path, _ in paths(context_schema_top(), "", frozenset())}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda c: c["apps"].pop(), "apps: a list shorter than its maxItems"),
        (lambda c: c.pop("dnsResyncMinutes"), "dnsResyncMinutes: never set"),
        (lambda c: c.update(latticeIpv6=False), "latticeIpv6: never on"),
        (lambda c: c.update(clusterName="c"), "clusterName: never at its maxLength"),
        (lambda c: [a["env"].popitem() for a in c["apps"]], "apps[].env: a map with fewer entries"),
        (lambda c: c["alarms"].update(latencyP99Ms=1), "alarms.latencyP99Ms: never at its maximum"),
        (
            lambda c: [r.update(protocol="HTTPS") for r in c["routes"] if r["protocol"] == "GRPC"],
            "routes[].protocol: never GRPC",
        ),
        (lambda c: [a.update(calls=a["calls"][:-1]) for a in c["apps"]], "apps[].calls: no list at its bound"),
        (
            lambda c: [rule["backends"].pop() for r in c["routes"] for rule in r["rules"]],
            "routes[].rules[].backends: no list at its bound",
        ),
        (lambda c: [r["rules"].pop() for r in c["routes"] if len(r["rules"]) > 1], "routes[].rules: no list at its"),
        (lambda c: [r.pop("caBundle", None) for r in c["routes"]], "routes[].caBundle: never set"),
    ],
)
def test_a_shortfall_is_named(change: Any, named: str) -> None:
    """The coverage check can fail: a list one short, a key left out, an option off, a short name, a number
    under its maximum, a protocol no route has, a list of FEWER under its bound."""
    context = copy.deepcopy(largest_context())
    change(context)
    assert any(line.startswith(named) for line in shortfalls(context)), shortfalls(context)


def test_the_model_accepts_it() -> None:
    config = parse_context(largest_context(), today=TODAY)
    assert len(config.routes) == most("routes") and len(config.consumers) == most("consumers")


def test_every_stack_fits_cloudformation(largest: Synthesized) -> None:
    sizes = {}
    for name, stack in largest.stacks.items():
        template = largest.templates[name]
        assert len(template["Resources"]) <= MAX_RESOURCES, (name, len(template["Resources"]))
        sizes[name] = Path(stack.template_full_path).stat().st_size
    too_big = {name: size for name, size in sizes.items() if size > TEMPLATE_BODY_MAXIMUM_SIZE}
    assert not too_big, f"templates over {TEMPLATE_BODY_MAXIMUM_SIZE} bytes: {too_big}"
    # It really is large: the gateway stack carries most of it (a stack of 52, consumers included).
    assert max(sizes.values()) > TEMPLATE_BODY_MAXIMUM_SIZE // 2
    assert len(sizes) == 2 + most("consumers")  # the platform and gateway stacks, one stack per consumer


def test_every_policy_fits_iam_and_lattice(largest: Synthesized) -> None:
    assert oversized(largest.templates) == []
    measured = largest_documents(largest.templates)
    # Every kind of document was measured, and the Lattice auth policies came close to their limit.
    assert set(measured) == {"2048 characters", "10240 characters", "10000 bytes", "6144 characters"}, measured
    assert measured["10000 bytes"] > 5000, measured
    # The provider's zone-authorizer role trusts each of the 50 consumer accounts (trust policies grew ~122
    # characters a consumer: 16 once passed 2,048).
    trust = next(
        resource["Properties"]["AssumeRolePolicyDocument"]
        for logical_id, resource in next(t for n, t in largest.templates.items() if n.endswith("-Platform"))[
            "Resources"
        ].items()
        # By logical id: at the longest stackPrefix the role's name is shortened to 64 characters.
        if resource["Type"] == "AWS::IAM::Role" and "ZoneAuthorizer" in logical_id
    )
    accounts = trust["Statement"][0]["Condition"]["StringEquals"]["aws:PrincipalAccount"]
    assert len(accounts) == most("consumers")


def test_every_resource_has_at_most_50_tags(largest: Synthesized) -> None:
    counts = {
        f"{stack}/{lid}": len(resource["Properties"]["Tags"])
        for stack, template in largest.templates.items()
        for lid, resource in template["Resources"].items()
        if isinstance((resource.get("Properties") or {}).get("Tags"), list | dict)
    }
    assert counts and not {k: n for k, n in counts.items() if n > MAX_TAGS}


def test_the_synthesis_passes_the_fuzzers_checks(largest: Synthesized, reference_dir: Path) -> None:
    problems = config_fuzz.assembly_problems(largest.outdir, largest.config, reference_dir / "crds", lint=False)
    assert problems == []


def test_its_kubernetes_objects_pass_the_crds_cel_rules(reference_dir: Path) -> None:
    """The objects built from the largest configuration, against the Kubernetes schemas, the CRDs' structural
    schemas and their CEL rules (tests/crd_rules.py), as make fuzz checks each accepted configuration."""
    config = parse_context(largest_context(), today=TODAY)
    assert config_fuzz.object_problems(config, reference_dir / "crds") == []


def test_every_instance_type_ec2_lists_fits_the_maximum() -> None:
    from config.limits import MAX_INSTANCE_TYPE
    from config.model import ec2_instance_types

    assert max(len(t) for t in ec2_instance_types()) <= MAX_INSTANCE_TYPE
