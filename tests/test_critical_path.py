"""tools/critical_path.py: the longest weighted dependency chain of a deploy, across stacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import Synthesized
from tools import critical_path as cp
from tools import synth as synth_tool


def res(resource_type: str, **extra: Any) -> dict[str, Any]:
    return {"Type": resource_type, **extra}


NETWORK = {
    "Resources": {
        "Vpc": res("AWS::EC2::VPC"),
        "Nat": res("AWS::EC2::NatGateway", Properties={"SubnetId": {"Fn::GetAtt": ["Vpc", "DefaultSubnet"]}}),
        "Cluster": res("AWS::EKS::Cluster", DependsOn="Nat", Properties={"Name": "c"}),
        "Quick": res("AWS::SNS::Topic"),
    },
    "Outputs": {"ClusterName": {"Value": {"Ref": "Cluster"}, "Export": {"Name": "Net-ClusterName"}}},
}
WORKLOAD = {
    "Resources": {
        "Chart": res(
            "Custom::AWSCDK-EKS-HelmChart", Properties={"ClusterName": {"Fn::ImportValue": "Net-ClusterName"}}
        ),
        "Route": res("Custom::AWSCDK-EKS-KubernetesResource", DependsOn=["Chart"]),
        "Lonely": res("AWS::IAM::Role"),
        "Named": res("AWS::SSM::Parameter", Properties={"Value": {"Fn::Sub": "${Lonely.Arn}/x"}}),
    }
}


def test_two_stacks_through_an_import() -> None:
    chain = cp.critical_path({"Net": NETWORK, "App": WORKLOAD})
    assert [s.logical_id for s in chain] == ["Vpc", "Nat", "Cluster", "Chart", "Route"]
    assert chain[-1].finish == 15 + 120 + 600 + 120 + 20
    assert [s.stack for s in chain] == ["Net", "Net", "Net", "App", "App"]


def test_stack_dependency_delays_every_resource_of_the_dependent_stack() -> None:
    lonely_only = {"Resources": {"Lonely": res("AWS::IAM::Role")}}
    chain = cp.critical_path({"Net": NETWORK, "App": lonely_only}, {"App": ["Net"]})
    assert [s.logical_id for s in chain] == ["Vpc", "Nat", "Cluster", "Lonely"]
    assert chain[-1].finish == 735 + 15
    # Without the stack order the role is independent, and the cluster ends the path.
    assert cp.critical_path({"Net": NETWORK, "App": lonely_only})[-1].logical_id == "Cluster"


def test_fn_sub_and_get_stack_output_edges() -> None:
    graph = cp.dependency_graph({"Net": NETWORK, "App": WORKLOAD})
    assert ("App", "Lonely") in graph[("App", "Named")]
    consumer = {
        "Resources": {
            "X": res(
                "AWS::SSM::Parameter",
                Properties={"Value": {"Fn::GetStackOutput": {"StackName": "Net", "OutputName": "ClusterName"}}},
            )
        }
    }
    assert graph_of({"Net": NETWORK, "C": consumer})[("C", "X")] == {("Net", "Cluster")}


def graph_of(templates: dict[str, Any]) -> dict[cp.Node, set[cp.Node]]:
    return cp.dependency_graph(templates)


def test_weights_are_documented_defaults() -> None:
    assert cp.seconds_for("AWS::EKS::Cluster") == 600
    assert cp.seconds_for("AWS::EKS::Nodegroup") == 180
    assert cp.seconds_for("AWS::EC2::NatGateway") == 120
    assert cp.seconds_for("Custom::AWSCDK-EKS-HelmChart") == 120
    assert cp.seconds_for("AWS::Made::Up") == cp.DEFAULT_SECONDS == 5


def test_real_app_critical_path_runs_through_the_cluster(synth: Synthesized) -> None:
    assembly = synth_tool.read_assembly(Path(synth.outdir))
    assert set(assembly.templates) == set(synth.templates)
    chain = cp.critical_path(assembly.templates, assembly.dependencies)
    types = [step.type for step in chain]
    assert "AWS::EKS::Cluster" in types
    assert types.index("AWS::EKS::Cluster") < len(types) - 1 or len(assembly.templates) == 1
    assert chain[-1].finish >= 600 + 120
    finishes = [step.finish for step in chain]
    assert finishes == sorted(finishes)
    # Every stack a stack depends on comes earlier on the path, if the path crosses stacks.
    order = list(dict.fromkeys(step.stack for step in chain))
    for index, stack in enumerate(order):
        assert not set(assembly.dependencies.get(stack, ())) & set(order[index + 1 :])
    rendered = cp.render(chain)
    assert rendered[0].startswith("Deploy critical path")


def test_lambda_asset_sizes(synth: Synthesized) -> None:
    rows = cp.lambda_assets(Path(synth.outdir), synth.templates)
    assert rows and all(size > 0 for _, _, size in rows)
    assert any(asset.endswith(".zip") for _, asset, _ in rows)  # the kubectl layer ships as a zip file
