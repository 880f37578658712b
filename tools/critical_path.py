#!/usr/bin/env python3
"""The deploy's critical path, read from synthesized templates.

A resource starts when its stack has started and every resource it depends on (DependsOn, Ref, Fn::GetAtt,
Fn::Sub references, Fn::ImportValue / Fn::GetStackOutput across stacks) has finished; a stack starts when
every stack it depends on (cdk.out/manifest.json) has finished. Each resource takes the typical creation
time of its type (CREATION_SECONDS). The critical path is the chain that finishes last.

    python tools/critical_path.py [--cdk-out cdk.out] [--from-report reports/e2e-<timestamp>/report.json]

`--from-report` feeds a real run back into the model: the creation times `make e2e` measured per resource type
(its stack events) replace the typical ones, and the path is printed beside the deploy's measured wall time.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Typical CloudFormation creation times, in seconds (observed orders of magnitude, not guarantees).
CREATION_SECONDS: dict[str, float] = {
    "AWS::EKS::Cluster": 600,  # control plane: 8-12 minutes
    "AWS::EKS::Nodegroup": 180,  # managed node group: 2-4 minutes
    "AWS::EKS::Addon": 60,
    "AWS::EKS::AccessEntry": 10,
    "AWS::EC2::NatGateway": 120,  # ~1-2 minutes to become available
    "AWS::EC2::Instance": 60,
    "AWS::EC2::VPCEndpoint": 90,  # interface endpoints: ENIs and private DNS
    "AWS::EC2::VPC": 15,
    "AWS::EC2::InternetGateway": 15,
    "AWS::Route53::HostedZone": 40,  # private zone association with VPCs
    "AWS::VpcLattice::ServiceNetwork": 10,
    "AWS::VpcLattice::ServiceNetworkVpcAssociation": 60,
    "AWS::Lambda::Function": 10,
    "AWS::Lambda::LayerVersion": 15,
    "AWS::IAM::Role": 15,
    "AWS::IAM::Policy": 15,
    "AWS::IAM::InstanceProfile": 120,  # instance profiles propagate slowly
    "AWS::KMS::Key": 20,
    "AWS::StepFunctions::StateMachine": 10,
    "Custom::AWSCDK-EKS-HelmChart": 120,  # helm install --wait
    "Custom::AWSCDK-EKS-KubernetesResource": 20,  # kubectl apply through the provider Lambda
    "Custom::AWSCDK-EKS-KubernetesObjectValue": 20,
    "Custom::ControllerCredentials": 20,  # one look at the pods; ~30 s more when some must be restarted
    "Custom::PodCredentials": 20,  # the same check for an app's pods
}
DEFAULT_SECONDS = 5.0

Template = Mapping[str, Any]
Node = tuple[str, str]  # (stack name, logical id)

_SUB_REF = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


@dataclass(frozen=True, kw_only=True)
class Step:
    stack: str
    logical_id: str
    type: str
    seconds: float
    finish: float  # seconds from the start of the deploy


def seconds_for(resource_type: str, measured: Mapping[str, float] | None = None) -> float:
    """`measured`: creation times a real deploy took (make e2e's report), ahead of the typical ones."""
    if measured and resource_type in measured:
        return float(measured[resource_type])
    return CREATION_SECONDS.get(resource_type, DEFAULT_SECONDS)


def _references(value: Any) -> Iterator[tuple[str, Any]]:
    """('local', logical id) and ('import', export name) / ('output', (stack, output)) found in a value."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str) and not inner.startswith("AWS::"):
                yield "local", inner
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0]
                yield "local", target
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                if isinstance(text, str):
                    for match in _SUB_REF.finditer(text):
                        if not match.group(1).startswith("AWS"):
                            yield "local", match.group(1)
                if isinstance(inner, list) and len(inner) > 1:
                    yield from _references(inner[1])
            elif key == "Fn::ImportValue" and isinstance(inner, str):
                yield "import", inner
            elif key == "Fn::GetStackOutput" and isinstance(inner, dict):
                yield "output", (inner.get("StackName"), inner.get("OutputName"))
            else:
                yield from _references(inner)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def dependency_graph(templates: Mapping[str, Template]) -> dict[Node, set[Node]]:
    """Every resource and the resources it waits for, across stacks."""
    exports: dict[str, Node] = {}
    outputs: dict[tuple[str, str], Any] = {}
    for stack, template in templates.items():
        for output_name, output in template.get("Outputs", {}).items():
            outputs[(stack, output_name)] = output.get("Value")
            name = output.get("Export", {}).get("Name")
            if isinstance(name, str):
                outputs[("export", name)] = output.get("Value")
                exports[name] = (stack, output_name)

    def output_targets(stack: str, value: Any) -> set[Node]:
        return {(stack, ref) for kind, ref in _references(value) if kind == "local"}

    graph: dict[Node, set[Node]] = {}
    for stack, template in templates.items():
        local = template.get("Resources", {})
        for logical_id, resource in local.items():
            deps: set[Node] = set()
            depends_on = resource.get("DependsOn", [])
            for target in [depends_on] if isinstance(depends_on, str) else depends_on:
                deps.add((stack, target))
            for kind, ref in _references({k: v for k, v in resource.items() if k != "DependsOn"}):
                if kind == "local" and ref in local:
                    deps.add((stack, ref))
                elif kind == "import" and ref in exports:
                    source_stack, _ = exports[ref]
                    deps |= output_targets(source_stack, outputs[("export", ref)])
                elif kind == "output":
                    source_stack, output_name = ref
                    if (source_stack, output_name) in outputs:
                        deps |= output_targets(source_stack, outputs[(source_stack, output_name)])
            deps.discard((stack, logical_id))
            graph[(stack, logical_id)] = deps
    return graph


def critical_path(
    templates: Mapping[str, Template],
    stack_dependencies: Mapping[str, Sequence[str]] | None = None,
    measured: Mapping[str, float] | None = None,
) -> list[Step]:
    """The chain of resources that finishes last, first resource first (`measured`: see seconds_for)."""
    graph = dependency_graph(templates)
    stack_deps = {s: tuple(d for d in (stack_dependencies or {}).get(s, ()) if d in templates) for s in templates}
    types = {
        (stack, logical_id): str(resource.get("Type", ""))
        for stack, template in templates.items()
        for logical_id, resource in template.get("Resources", {}).items()
    }

    @cache
    def stack_finish(stack: str) -> tuple[float, Node | None]:
        best: tuple[float, Node | None] = (0.0, None)
        for node in graph:
            if node[0] == stack:
                best = max(best, (finish(node)[0], node), key=lambda b: b[0])
        return best

    @cache
    def finish(node: Node) -> tuple[float, Node | None]:
        """(finish time, the predecessor that gated the start)."""
        gate: tuple[float, Node | None] = (0.0, None)
        for dep_stack in stack_deps.get(node[0], ()):
            gate = max(gate, stack_finish(dep_stack), key=lambda b: b[0])
        for dep in graph[node]:
            if dep in graph:
                gate = max(gate, (finish(dep)[0], dep), key=lambda b: b[0])
        return gate[0] + seconds_for(types[node], measured), gate[1]

    if not graph:
        return []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 1000))
    last = max(graph, key=lambda n: finish(n)[0])
    chain: list[Step] = []
    node: Node | None = last
    while node is not None:
        chain.append(
            Step(
                stack=node[0],
                logical_id=node[1],
                type=types[node],
                seconds=seconds_for(types[node], measured),
                finish=finish(node)[0],
            )
        )
        node = finish(node)[1]
    return list(reversed(chain))


def render(chain: Sequence[Step], *, basis: str = "typical creation times") -> list[str]:
    if not chain:
        return ["critical path: (no resources)"]
    total = chain[-1].finish
    out = [f"Deploy critical path: ~{total / 60:.1f} min ({total:.0f} s, {basis})"]
    out += [
        f"  {step.finish:>6.0f} s  +{step.seconds:<4.0f} {step.stack}/{step.logical_id} ({step.type})"
        for step in chain
        if step.seconds > DEFAULT_SECONDS or step is chain[-1]
    ]
    skipped = sum(1 for step in chain if step.seconds <= DEFAULT_SECONDS and step is not chain[-1])
    if skipped:
        out.append(f"  (+ {skipped} quick steps of {DEFAULT_SECONDS:g} s each not listed)")
    return out


def lambda_assets(outdir: Path, templates: Mapping[str, Template]) -> list[tuple[str, str, int]]:
    """(function or layer, asset path, size in bytes) for every Lambda code asset in the assembly."""
    rows: list[tuple[str, str, int]] = []
    seen: set[str] = set()
    for stack, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            props = resource.get("Properties", {})
            code = {"AWS::Lambda::Function": props.get("Code"), "AWS::Lambda::LayerVersion": props.get("Content")}.get(
                resource.get("Type")
            )
            key = code.get("S3Key") if isinstance(code, dict) else None
            if not isinstance(key, str):
                continue
            digest = key.split(".", 1)[0]
            for candidate in (outdir / f"asset.{digest}", outdir / f"asset.{digest}.zip"):
                if candidate.exists() and str(candidate) not in seen:
                    seen.add(str(candidate))
                    rows.append((f"{stack}/{logical_id}", candidate.name, _size(candidate)))
    return rows


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def from_report(path: Path) -> tuple[dict[str, float], float | None]:
    """(measured creation seconds per type, the deploy phase's measured wall time) of a make e2e report.json."""
    import json  # noqa: PLC0415

    try:
        report = json.loads(path.read_text())
        measured = {str(k): float(v) for k, v in report["measured_creation_seconds"].items()}
        wall = report["critical_path"]["measured_deploy_seconds"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise SystemExit(f"critical_path: {path} is not a make e2e report.json: {type(err).__name__}: {err}") from None
    return measured, float(wall) if wall is not None else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The deploy's critical path and Lambda asset sizes.")
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out")
    parser.add_argument("--from-report", type=Path, metavar="REPORT_JSON", help="a make e2e report.json")
    args = parser.parse_args(argv)
    from tools import synth  # noqa: PLC0415

    measured, wall = from_report(args.from_report) if args.from_report else ({}, None)
    assembly = synth.load(outdir=args.cdk_out, emit=lambda m: print(m, file=sys.stderr))
    print("\n".join(render(critical_path(assembly.templates, assembly.dependencies))))
    if args.from_report:
        chain = critical_path(assembly.templates, assembly.dependencies, measured)
        print("\n".join(render(chain, basis=f"the {len(measured)} creation times measured in {args.from_report}")))
        if wall is not None and chain:
            print(f"Measured deploy wall time: {wall / 60:.1f} min ({wall:.0f} s; model with measured times: "
                  f"{chain[-1].finish:.0f} s, {chain[-1].finish - wall:+.0f} s)")  # fmt: skip
        return 0
    for name, asset, size in lambda_assets(assembly.outdir, assembly.templates):
        print(f"  lambda asset {size / 1024:>9.1f} KiB  {asset}  ({name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
