#!/usr/bin/env python3
"""`make destroy`: destroy what the user means, or refuse; never "No stacks match" and exit 0.

The pinned CDK CLI (aws-cdk 2.1148.1, lib/cli/cli.js explicitOrDefaultStacks; read 2026-12-05) maps
`destroy --all` to StackSelectionStrategy.MAIN_ASSEMBLY, the top-level stacks only, and matches a pattern against
each stack's construct path (hierarchicalId), not its stack name. With a `pipeline` key the app's top level is the
pipeline and its cross-region support stacks; every stage's stacks sit in a nested assembly under
`EksLatticeGateway-Pipeline/<stage>/...`. So there, `cdk destroy --all` would delete the pipeline and strand every
stage (clusters, VPCs, consumer stacks in other accounts), and `STACKS=EksLatticeGateway-dev-Gateway` matches
nothing and still exits 0 (review of issue 21).

So this synthesizes the app once (`cdk synth`, with CDK_ARGS) and reads the cloud assembly:
- no `pipeline`: `STACKS` (each pattern checked with the pinned `cdk ls` first: one that matches nothing is an
  error) or every stack (`--all`, which there is every stack);
- a pipeline: `STAGE=<name>` destroys that stage: its consumers' stages first, then the stage's own stacks (the
  CLI destroys the Gateway before the Platform it depends on). Without STAGE or STACKS it refuses and prints the
  commands, every stage first and the pipeline last. STACKS takes construct paths (`EksLatticeGateway-Pipeline/
  dev/*`); a stack name that matches nothing is refused with the path it has.

Usage: tools/destroy.py [--stage NAME] [--dry-run] [--assembly DIR] [STACK ...] [-- CDK_ARGS ...]
`--dry-run` prints the `cdk destroy` commands instead of running them; `--assembly` reads a synthesized assembly
instead of synthesizing. Exit 0 destroyed (or planned), 1 a CLI command failed, 2 refused.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
PIPELINE = "EksLatticeGateway-Pipeline"  # stacks.system.PREFIX + "-Pipeline", the pipeline stack's construct id
CONSUMER_STAGE = "-Consumer-"  # a consumer's stage: <stage>-Consumer-<name> (stacks/pipeline_stack.py)


class RefusedError(Exception):
    """Nothing safe to run: the message says why and what to run instead."""


@dataclass(frozen=True)
class Layout:
    """The cloud assembly's top level and, for a pipeline, its stages in pipeline order."""

    top: list[str]  # hierarchical ids of the top-level stacks
    stages: list[str]  # provider stages (a pipeline's), in pipeline order
    consumers: dict[str, list[str]]  # stage -> its consumers' stage names

    @property
    def pipeline(self) -> bool:
        return PIPELINE in self.top


def read_layout(assembly: Path) -> Layout:
    artifacts = json.loads((assembly / "manifest.json").read_text()).get("artifacts", {})
    top = [
        artifact.get("displayName", artifact_id)
        for artifact_id, artifact in artifacts.items()
        if artifact.get("type") == "aws:cloudformation:stack"
    ]
    nested = [
        str(artifact["properties"]["displayName"]).split("/", 1)[1]
        for artifact in artifacts.values()
        if artifact.get("type") == "cdk:cloud-assembly"
    ]
    stages = [name for name in nested if not any(name.startswith(f"{other}{CONSUMER_STAGE}") for other in nested)]
    consumers = {stage: [name for name in nested if name.startswith(f"{stage}{CONSUMER_STAGE}")] for stage in stages}
    return Layout(top=top, stages=stages, consumers=consumers)


def stage_commands(layout: Layout, stage: str) -> list[list[str]]:
    """The patterns of each `cdk destroy` for one stage, in order: its consumers, then its own stacks."""
    if stage not in layout.stages:
        raise RefusedError(f"no stage {stage!r} in the pipeline (its stages: {', '.join(layout.stages)})")
    commands = [[f"{PIPELINE}/{consumer}/*" for consumer in layout.consumers[stage]], [f"{PIPELINE}/{stage}/*"]]
    return [patterns for patterns in commands if patterns]


def teardown(layout: Layout) -> list[str]:
    """Every `make destroy` a pipeline's teardown takes: each stage (the last deployed first), then the pipeline."""
    steps = [f"make destroy STAGE={stage}" for stage in reversed(layout.stages)]
    steps.append(f"make destroy STACKS={shlex.quote(' '.join(layout.top))}")
    return steps


def cdk_ls(assembly: Path, pattern: str, cdk_args: list[str]) -> list[str]:
    """The pinned CLI's own match of a pattern: the hierarchical ids it lists (the matches and their upstream
    stacks; none when nothing matches, with exit 0)."""
    result = subprocess.run(  # noqa: S603 - the pinned CLI; the user's own patterns and CDK_ARGS, no shell
        [str(CDK), "ls", "--no-notices", "--app", str(assembly), *cdk_args, pattern],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RefusedError(f"`cdk ls {pattern}` failed: {result.stderr.strip()}")
    return [line.split(" (", 1)[0] for line in result.stdout.splitlines() if line.strip()]


def check_patterns(assembly: Path, patterns: list[str], cdk_args: list[str], layout: Layout) -> None:
    for pattern in patterns:
        if cdk_ls(assembly, pattern, cdk_args):
            continue
        hint = ""
        if layout.pipeline:
            paths = [p for p in cdk_ls(assembly, f"{PIPELINE}/*/*", cdk_args) if p.rsplit("/", 1)[-1] == pattern]
            hint = f"; in the pipeline its path is {paths[0]}" if paths else ""
            hint += f"; to destroy a stage: make destroy STAGE=<{'|'.join(layout.stages)}>"
        raise RefusedError(f"STACKS: {pattern!r} matches no stack (the CLI matches construct paths){hint}")


def plan(assembly: Path, *, stage: str | None, stacks: list[str], cdk_args: list[str]) -> list[list[str]]:
    """The `cdk destroy` argument lists to run, in order; RefusedError when there is nothing safe to run."""
    layout = read_layout(assembly)
    if stage and stacks:
        raise RefusedError("give STAGE or STACKS, not both")
    if stage:
        if not layout.pipeline:
            raise RefusedError("STAGE is for a pipeline (a `pipeline` key); without one, STACKS names the stacks")
        return [["destroy", "--force", *cdk_args, *patterns] for patterns in stage_commands(layout, stage)]
    if stacks:
        check_patterns(assembly, stacks, cdk_args, layout)
        return [["destroy", "--force", *cdk_args, *stacks]]
    if layout.pipeline:
        steps = "\n".join(f"  {step}" for step in teardown(layout))
        raise RefusedError(
            "with a `pipeline` key, `cdk destroy --all` would delete only the pipeline and strand every stage."
            f" Destroy each stage (its consumers first, then its Gateway and Platform), then the pipeline:\n{steps}"
        )
    return [["destroy", "--force", *cdk_args, "--all"]]


def synthesize(cdk_args: list[str]) -> Path:
    outdir = ROOT / "cdk.out"
    command = [str(CDK), "synth", "--quiet", "--no-notices", "--output", str(outdir), *cdk_args]
    subprocess.run(command, check=True)  # noqa: S603 - the pinned CLI with the user's CDK_ARGS, no shell
    return outdir


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cdk_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default=None, help="a pipeline stage to destroy (its consumers first)")
    parser.add_argument("--dry-run", action="store_true", help="print the cdk destroy commands, run nothing")
    parser.add_argument("--assembly", type=Path, default=None, help="a synthesized cloud assembly to read")
    parser.add_argument("stacks", nargs="*", help="stack patterns (construct paths), as `cdk destroy` takes them")
    args = parser.parse_args(own)
    try:
        assembly = args.assembly or synthesize(cdk_args)
        commands = plan(assembly, stage=args.stage, stacks=args.stacks, cdk_args=cdk_args)
    except RefusedError as refused:
        print(f"make destroy: {refused}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as failed:
        return failed.returncode or 1
    for command in commands:
        line = [str(CDK), *command[:1], "--app", str(assembly), *command[1:]]
        print(shlex.join(["cdk", *line[1:]]), flush=True)
        # the pinned CLI with the user's patterns and CDK_ARGS, no shell
        if not args.dry_run and subprocess.run(line, env=os.environ, check=False).returncode != 0:  # noqa: S603
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
