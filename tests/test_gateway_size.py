"""The gateway stack at the configured maxima: every route and app adds resources (since issue 20 item 6, an
IAMAuthPolicy and a caller's ServiceAccount are manifest resources of their own), and no config key bounds their
number. The stack must stay within CloudFormation's 500 resources and 1 MB template (aws-cdk-lib 2.273.0
core/lib/stack.js: MAX_RESOURCES, TEMPLATE_BODY_MAXIMUM_SIZE = 1e6), and a config beyond them is refused by its key
before anything is written."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnResource

from config import ConfigError
from config.limits import MAX_APPS, MAX_ROUTES
from stacks.gateway_stack import MAX_RESOURCES
from tests.conftest import TODAY, Synthesized, cached_synthesis, cdk_json_context
from tools import impact
from tools.synth import build_app

GATEWAY = "EksLatticeGateway-Gateway"
TEMPLATE_BODY_MAXIMUM_SIZE = 1_000_000  # bytes, aws-cdk-lib 2.273.0 core/lib/stack.js (read 2026-12-05)
_APP = cdk_json_context()["apps"][0]


def heaviest(routes: int) -> dict[str, Any]:
    """The most resources per route: each in a namespace of its own (a route-reader RoleBinding each) with an app of
    its own that calls it (ServiceAccount, role, Pod Identity association), under AWS_IAM (an IAMAuthPolicy each),
    with every kind of caller."""
    apps = [{**_APP, "name": f"app-{i}", "namespace": f"ns-{i}", "calls": [f"route-{i}"]} for i in range(routes)]
    allow = [{"clientHost": True}, {"role": "arn:aws:iam::111111111111:role/ops"}]
    # (An `account` entry must name a consumer account, which needs the provider's account at synth: not here.)
    return {
        "apps": json.dumps(apps),
        "routes": json.dumps(
            [
                {
                    "name": f"route-{i}",
                    "namespace": f"ns-{i}",
                    "hostname": f"route-{i}.example.com",
                    "rules": [{"pathPrefix": "/v1", "backends": [{"app": f"app-{i}"}]}],
                    "access": {"allow": [*allow, {"app": f"app-{i}"}]},
                }
                for i in range(routes)
            ]
        ),
    }


def size(template: dict[str, Any]) -> int:
    return len(json.dumps(template, indent=1))  # as the CDK writes it (indent 1), what CloudFormation receives


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """An app of its own per route, at MAX_APPS routes (with cdk-nag, as the default synthesis): once per session,
    or read from the synthesis cache (its construct tree is built when a test asks for it)."""
    return cached_synthesis(tmp_path_factory, "gateway-size", heaviest(MAX_APPS), nag=True)


def test_a_stack_at_the_resource_maximum_is_under_a_megabyte(synth: Synthesized, sample: Synthesized) -> None:
    """Per heaviest route, resources and bytes from two real synths (the default's one route and eight): at the
    last accepted count of such routes the template still fits, so the resource count is the bound to check."""
    base, big = synth.templates[GATEWAY], sample.templates[GATEWAY]
    routes = len(sample.config.routes) - len(synth.config.routes)
    per_route = (len(big["Resources"]) - len(base["Resources"])) / routes
    bytes_per_route = (size(big) - size(base)) / routes
    assert per_route >= 8  # its manifests (app, ServiceAccount, route, policy), guard, DNS record, alarms, role...
    most = math.floor((MAX_RESOURCES - len(big["Resources"])) / per_route) + len(sample.config.routes)
    assert size(big) + (most - len(sample.config.routes)) * bytes_per_route < TEMPLATE_BODY_MAXIMUM_SIZE, most


def test_the_resource_check_counts_what_the_template_holds(synth: Synthesized, sample: Synthesized) -> None:
    for synthesized in (synth, sample):
        stack: Any = synthesized.stack(GATEWAY)
        counted = len([c for c in stack.node.find_all() if isinstance(c, CfnResource)])
        assert counted == len(synthesized.templates[GATEWAY]["Resources"])


def test_a_config_past_the_maximum_is_refused_by_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        build_app(tmp_path, heaviest(45), today=TODAY, nag=False)
    assert refused.value.lines == (f"apps: 45 entries; at most {MAX_APPS}", f"routes: 45 entries; at most {MAX_ROUTES}")


def test_the_stacks_own_resource_check_refuses_by_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model's maxima keep the gateway stack under 500 resources (tests/test_largest_config.py); its own check
    stays for a raised maximum, shown here against a lowered limit."""
    import stacks.gateway_stack

    monkeypatch.setattr(stacks.gateway_stack, "MAX_RESOURCES", 100)
    with pytest.raises(ConfigError) as refused:
        build_app(tmp_path, heaviest(MAX_APPS), today=TODAY, nag=False)
    assert refused.value.key == "routes"
    assert "at most 100" in refused.value.reason and f"{MAX_APPS} routes" in refused.value.reason
    # No template and no cloud assembly (CDK stages asset folders while constructs are built; nothing reads them).
    assert not list(tmp_path.glob("*.template.json")) and not (tmp_path / "manifest.json").exists()


def test_every_namespaced_object_is_applied_after_its_namespace(sample: Synthesized) -> None:
    """Class: an object created before the namespace it lives in fails its create (or passes by chance). Every
    manifest resource with an object in a namespace that another resource creates depends on that resource."""
    from tests.test_gateway import reaches

    gw = sample.templates[GATEWAY]
    creates: dict[str, str] = {}
    holders: list[tuple[str, str]] = []
    for lid, res in gw["Resources"].items():
        if res["Type"] == "Custom::AWSCDK-EKS-KubernetesResource":
            for obj in impact.manifest_objects(res) or {}:
                if obj.kind == "Namespace":
                    creates[obj.name] = lid
                elif obj.namespace:
                    holders.append((lid, obj.namespace))
    assert len(creates) >= len(sample.config.routes)
    checked = [(lid, ns) for lid, ns in holders if ns in creates]
    assert len(checked) >= 4 * len(sample.config.routes)  # app, ServiceAccount, route, policy, binding each
    for lid, ns in checked:
        assert reaches(gw, lid, creates[ns]), f"{lid} may be applied before namespace {ns}"


def test_each_policy_goes_before_its_route_and_each_service_account_comes_before_its_pods(
    sample: Synthesized,
) -> None:
    """Deletion order against the controller's finalizer: an IAMAuthPolicy is deleted while its route's Lattice
    service exists (its manifest depends on the route's). Creation order: a caller's pods start with their
    ServiceAccount in place (the app's manifest depends on the ServiceAccount's)."""
    from tests.test_gateway import reaches

    gw = sample.templates[GATEWAY]
    held: dict[impact.K8sObject, str] = {}
    for lid, res in gw["Resources"].items():
        if res["Type"] == "Custom::AWSCDK-EKS-KubernetesResource":
            held.update(dict.fromkeys(impact.manifest_objects(res) or {}, lid))
    policies = [o for o in held if o.kind == "IAMAuthPolicy"]
    accounts = [o for o in held if o.kind == "ServiceAccount" and o.namespace.startswith("ns-")]
    assert len(policies) == len(accounts) == len(sample.config.routes)
    for policy in policies:  # named as its route (constructs/workload/routes.iam_auth_policy)
        route = held[impact.K8sObject("HTTPRoute", policy.namespace, policy.name)]
        assert held[policy] != route and reaches(gw, held[policy], route)
    for account in accounts:
        deployment = held[impact.K8sObject("Deployment", account.namespace, account.name)]
        assert held[account] != deployment and reaches(gw, deployment, held[account])


def test_dropping_namespaces_callers_and_routes_leaves_nothing(synth: Synthesized, sample: Synthesized) -> None:
    """The whole gateway stack both ways between the default and eight routes, each with its namespace, calling app
    and route-reader RoleBinding: no object orphaned by an update's prune, none deleted that the new one keeps."""
    for old, new in ((synth, sample), (sample, synth)):
        found = impact.compare(old.templates, new.templates, stacks=[GATEWAY]).kubernetes
        assert not [c for c in found if c.action == "orphan" or (c.blocking and c.new is None)], found
    dropped = impact.compare(sample.templates, synth.templates, stacks=[GATEWAY]).kubernetes
    kinds = {c.old.kind for c in dropped if c.action == "delete" and c.old is not None}
    assert {"RoleBinding", "ServiceAccount", "IAMAuthPolicy", "Namespace"} <= kinds
