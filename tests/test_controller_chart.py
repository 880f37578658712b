"""The real controller chart, rendered with the values the app synthesizes (issue 24 item 4).

../shared/reference/aws-gateway-controller-v2.1.3/ is the chart (templates, Chart.yaml, values.yaml; `make
reference` fetches the same files where ../shared is absent). It is rendered by the helm binary of the kubectl
layer the app deploys with, from the Values of the synthesized Custom::AWSCDK-EKS-HelmChart resource (each
intrinsic replaced by a marker naming it, so the rendered environment shows where each value comes from), and
from the values of generated configurations.
"""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from constructs.controller.values import controller_values

from config.versions import CONTROLLER_NAMESPACE, EKS_VERSIONS
from tests import config_fuzz
from tests.conftest import Synthesized
from tests.k8s_schemas import validate_core
from tests.support.helm import helm_binary

CHART = "Custom::AWSCDK-EKS-HelmChart"


def resolved(node: Any) -> Any:
    """A template value with each intrinsic replaced by a marker: Ref X -> "ref:X", an output -> "output:Name"."""
    if isinstance(node, dict):
        if "Fn::Join" in node:
            separator, parts = node["Fn::Join"]
            return separator.join(str(resolved(p)) for p in parts)
        if "Ref" in node:
            return f"ref:{node['Ref']}"
        if "Fn::GetStackOutput" in node:
            return f"output:{node['Fn::GetStackOutput']['OutputName']}"
        if "Fn::ImportValue" in node:
            return f"import:{resolved(node['Fn::ImportValue'])}"
        return {k: resolved(v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolved(v) for v in node]
    return node


def synthesized_values(synth: Synthesized) -> tuple[dict[str, Any], str]:
    """The controller release's values (markers for intrinsics) and its namespace."""
    (chart,) = [r for t in synth.templates.values() for r in t["Resources"].values() if r["Type"] == CHART]
    values: dict[str, Any] = json.loads(resolved(chart["Properties"]["Values"]))
    return values, chart["Properties"]["Namespace"]


def render(chart_dir: Path, values: dict[str, Any], namespace: str, tmp_path: Path) -> list[dict[str, Any]]:
    """`helm template` of the chart with these values: the objects it would install."""
    layer = EKS_VERSIONS["1.35"].kubectl_layer_module
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps(values))
    done = subprocess.run(
        [
            str(helm_binary(layer)),
            "template",
            "gateway-api-controller",
            str(chart_dir),
            "--namespace",
            namespace,
            "-f",
            str(values_file),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.load_all(done.stdout, Loader=yaml.CSafeLoader) if d]


@cache
def _leaves(values: str) -> tuple[str, ...]:
    def walk(node: Any, prefix: str) -> list[str]:
        if isinstance(node, dict) and node:
            return [p for k, v in node.items() for p in walk(v, f"{prefix}.{k}" if prefix else k)]
        return [prefix]

    return tuple(walk(json.loads(values), ""))


@pytest.fixture(scope="module")
def chart_dir(reference_dir: Path) -> Path:
    folder = reference_dir / "aws-gateway-controller-v2.1.3"
    assert (folder / "templates" / "deployment.yaml").is_file(), f"{folder} lacks the chart's templates"
    return folder


@pytest.fixture(scope="module")
def rendered(synth: Synthesized, chart_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    values, namespace = synthesized_values(synth)
    return render(chart_dir, values, namespace, tmp_path_factory.mktemp("chart"))


def test_every_rendered_object_validates(rendered: list[dict[str, Any]], synth: Synthesized) -> None:
    kinds = {o["kind"] for o in rendered}
    assert {"Deployment", "ClusterRole", "ClusterRoleBinding"} <= kinds
    for obj in rendered:
        if obj["kind"] == "CustomResourceDefinition":
            continue  # the chart's own DNSEndpoint CRD: apiextensions, not in kubernetes-validate's core kinds
        validate_core(obj, synth.config.kubernetes_version)


def test_the_deployment_carries_region_account_vpc_and_cluster(rendered: list[dict[str, Any]]) -> None:
    (deployment,) = [o for o in rendered if o["kind"] == "Deployment"]
    assert deployment["metadata"]["namespace"] == CONTROLLER_NAMESPACE
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["REGION"] == "ref:AWS::Region"
    assert env["AWS_ACCOUNT_ID"] == "ref:AWS::AccountId"
    assert env["CLUSTER_VPC_ID"].startswith("output:") and "Vpc" in env["CLUSTER_VPC_ID"]
    assert env["CLUSTER_NAME"] == "eks-demo"
    assert env["DEFAULT_SERVICE_NETWORK"] == ""


def test_every_value_the_app_sets_is_a_key_of_the_charts_values(synth: Synthesized, chart_dir: Path) -> None:
    """A key the chart does not have is silently ignored by helm: each leaf the app sets exists in values.yaml."""
    values, _ = synthesized_values(synth)
    chart_keys = set(_leaves(json.dumps(yaml.safe_load((chart_dir / "values.yaml").read_text()))))
    chart_prefixes = {k.rsplit(".", 1)[0] for k in chart_keys if "." in k}
    ours = _leaves(json.dumps(values))
    assert ours and all(k in chart_keys or k in chart_prefixes for k in ours), sorted(set(ours) - chart_keys)


def test_generated_configurations_render_valid_objects(chart_dir: Path, tmp_path: Path, reference_dir: Path) -> None:
    """The values of a few generated configurations the model accepts (cluster names, log levels ...)."""
    from hypothesis import HealthCheck, given, seed, settings

    seen: list[str] = []

    @seed(4)
    @settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(config_fuzz.configs())
    def each(context: dict[str, Any]) -> None:
        config = config_fuzz.model_outcome(context)
        if isinstance(config, tuple):
            return
        values = controller_values(config, region="ap-northeast-2", account="111111111111", vpc_id="vpc-0abc1234")
        objects = render(chart_dir, values, CONTROLLER_NAMESPACE, tmp_path)
        (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
        validate_core(deployment, config.kubernetes_version)
        env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["CLUSTER_NAME"] == config.cluster_name and env["LOG_LEVEL"] == config.controller_log_level
        seen.append(config.cluster_name)

    each()
    assert seen
