"""make e2e's per-run prefix reaches every name the app gives (tools/e2e/naming.py).

The class of fault: a name that some construct derives from a constant, or from a key the run does not set, so two
runs (or a run and a user's deployment) in one account collide, or the audit and destroy miss it. The checker walks
every synthesized template: each stack's name, each literal physical name (a top-level property ending in `Name`),
and each Gateway/HTTPRoute the Kubernetes manifests create (the controller names Lattice resources after them) must
carry the prefix. It is run on the default synthesis too, where it must find names (else it checks nothing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROVIDER_ACCOUNT, PROVIDER_REGION, VARIANT, Synthesized, cached_synthesis
from tools.e2e.naming import NamingError, cdk_args, new_prefix, run_context
from tools.synth import cdk_json_context

PREFIX = "e2e-t3st01"
# Names scoped inside a parent that carries the prefix, so they cannot collide across deployments.
SCOPED = {
    ("AWS::IAM::Policy", "PolicyName"): "an inline policy of its role (the role's name carries the prefix)",
    ("AWS::EKS::Nodegroup", "NodegroupName"): "unique within its cluster",
    ("AWS::EKS::Addon", "AddonName"): "the add-on's type, within its cluster",
    ("AWS::EC2::VPCEndpoint", "ServiceName"): "the AWS service the endpoint reaches, not a name of this app's",
}
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"


def unprefixed(templates: Mapping[str, Mapping[str, Any]], prefix: str) -> Iterator[str]:
    """Every name in `templates` that lacks `prefix`."""
    for stack, template in templates.items():
        if not stack.startswith(prefix):
            yield f"stack {stack}"
        for logical_id, resource in template.get("Resources", {}).items():
            kind = resource.get("Type", "")
            for key, value in (resource.get("Properties") or {}).items():
                # A literal name; a name built from a reference is the referenced resource's generated name,
                # which CloudFormation starts with the stack's name.
                literal = key.endswith("Name") and isinstance(value, str) and (kind, key) not in SCOPED
                if literal and prefix not in value:
                    yield f"{stack}/{logical_id} {kind}.{key}={value}"
            if kind == MANIFEST:
                manifest = resource["Properties"].get("Manifest")
                docs = json.loads(manifest) if isinstance(manifest, str) else []
                for doc in docs:
                    if doc.get("kind") in {"Gateway", "HTTPRoute"} and prefix not in doc["metadata"]["name"]:
                        yield f"{stack}/{logical_id} {doc['kind']} {doc['metadata']['name']}"
                    for host in doc.get("spec", {}).get("hostnames", []) if doc.get("kind") == "HTTPRoute" else []:
                        if f".{prefix}." not in host:
                            yield f"{stack}/{logical_id} hostname {host}"


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The variant (consumer stacks included) with a run's keys on top, as make e2e passes them; synthesized once
    per session, or read from the synthesis cache (its key holds these overrides)."""
    base = {**cdk_json_context(), **VARIANT}
    overrides = {**VARIANT, **run_context(base, PREFIX)}
    return cached_synthesis(tmp_path_factory, "e2e-prefixed", overrides, (PROVIDER_ACCOUNT, PROVIDER_REGION))


def test_every_name_carries_the_prefix(prefixed: Synthesized) -> None:
    assert any("-Consumer-" in s for s in prefixed.templates)  # consumer stacks are covered too
    assert list(unprefixed(prefixed.templates, PREFIX)) == []


def test_the_checker_finds_the_default_names(synth: Synthesized) -> None:
    found = list(unprefixed(synth.templates, PREFIX))
    assert "stack EksLatticeGateway-Platform" in found
    assert any("AWS::EKS::Cluster.Name=eks-demo" in f for f in found)
    assert any("HTTPRoute demo-http-route" in f for f in found)
    assert any("hostname " in f for f in found)


def test_calls_follow_renamed_routes() -> None:
    base = {
        "privateZoneName": "corp.internal",
        "routes": [{"name": "r1", "namespace": "team", "hostname": "a.corp.internal"}],
        "apps": [{"name": "caller", "calls": ["r1", "team/r1", "elsewhere"]}],
    }
    context = run_context(base, PREFIX)
    assert context["privateZoneName"] == f"{PREFIX}.corp.internal"
    assert context["routes"][0]["hostname"] == f"a.{PREFIX}.corp.internal"
    assert context["apps"][0]["calls"] == [f"{PREFIX}-r1", f"team/{PREFIX}-r1", "elsewhere"]


def test_refuses_what_it_cannot_prefix() -> None:
    with pytest.raises(NamingError, match=r"routes\[0\]\.name"):
        run_context({"routes": [{"name": "r" * 60, "hostname": "a.example.com"}]}, PREFIX)
    with pytest.raises(NamingError, match="pipeline"):
        run_context({"pipeline": {"stages": []}}, PREFIX)
    with pytest.raises(NamingError, match="prefix"):
        run_context({}, "EksLatticeGateway")


def test_prefixes_are_unique_and_valid() -> None:
    prefixes = {new_prefix() for _ in range(200)}
    assert len(prefixes) == 200
    assert all(run_context({}, p)["stackPrefix"] == p for p in prefixes)


def test_cdk_args_round_trip(tmp_path: Path) -> None:
    args = cdk_args({"stackPrefix": PREFIX, "routes": [{"name": "x"}]})
    assert args == ["-c", f"stackPrefix={PREFIX}", "-c", 'routes=[{"name":"x"}]']


def test_a_stack_prefix_with_a_pipeline_is_refused_naming_the_key(tmp_path: Path) -> None:
    """The pipeline names its stages' stacks itself (and tools/destroy.py and the dashboard know those names): a
    stackPrefix there would be silently ignored, so it is refused, by key, before anything is synthesized."""
    import datetime as dt

    import aws_cdk as cdk

    import app as entry
    from config import ConfigError, parse_context
    from config.pipeline import parse_pipeline
    from tests.conftest import ONE_STAGE

    config = parse_context({**cdk_json_context(), "stackPrefix": PREFIX}, today=dt.date(2026, 12, 5))
    with pytest.raises(ConfigError) as refused:
        entry.build(cdk.App(outdir=str(tmp_path)), config, parse_pipeline(ONE_STAGE), nag=False)
    assert str(refused.value).startswith("stackPrefix: applies to `make deploy` only")
    assert not list(tmp_path.iterdir())


def test_the_config_digest_ignores_only_what_changes_no_deployed_stack() -> None:
    """constructs/sharing/producer_inputs.py: stackPrefix and goneConsumerAccounts leave the gateway's configuration
    marker alone (existing deployments' templates stay byte-identical); any other key moves it."""
    import datetime as dt

    from constructs.sharing.producer_inputs import inputs_digest

    from config import parse_context

    def digest(**overrides: Any) -> str:
        return inputs_digest(parse_context({**cdk_json_context(), **overrides}, today=dt.date(2026, 12, 5)))

    base = digest()
    assert digest(stackPrefix=PREFIX) == base
    assert digest(goneConsumerAccounts=["222222222222"]) == base
    assert digest(clusterName=PREFIX) != base
    assert digest(nodeDesiredSize=3) != base
