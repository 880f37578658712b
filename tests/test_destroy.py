"""`make destroy` destroys every stack it is meant to, in order, or refuses (review of issue 21): with a `pipeline`
key, `cdk destroy --all` selected only the pipeline (the CLI's --all is the top-level assembly; the stages are
nested), and a stack name (`STACKS=EksLatticeGateway-dev-Gateway`) matched nothing (the CLI matches construct
paths) and exited 0.

Class test: every `make deploy|destroy|diff` form the README documents, resolved by the pinned CDK CLI itself
(`cdk ls <pattern> --app <assembly>`, offline) on the assembly its mode synthesizes, matches stacks; and the
documented teardown of a pipeline (what bare `make destroy` prints, then each step's `cdk destroy` commands) covers
every stack of the assembly, each consumer before its stage's Platform, dependents before what they depend on,
and the pipeline last.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, PipelineSynth, Synthesized
from tests.support import docs
from tests.test_makefile import cli_options
from tools import destroy


def all_stacks(assembly: Path) -> dict[str, set[str]]:
    """hierarchical id -> the hierarchical ids it depends on, over the assembly and its nested assemblies."""
    stacks: dict[str, set[str]] = {}
    for manifest in [assembly / "manifest.json", *assembly.glob("assembly-*/manifest.json")]:
        artifacts = json.loads(manifest.read_text())["artifacts"]
        ids = {
            artifact_id: artifact.get("displayName", artifact_id)
            for artifact_id, artifact in artifacts.items()
            if artifact["type"] == "aws:cloudformation:stack"
        }
        for artifact_id, path in ids.items():
            stacks[path] = {ids[d] for d in artifacts[artifact_id].get("dependencies", []) if d in ids}
    return stacks


def cli_selection(assembly: Path, patterns: list[str]) -> set[str]:
    """What the pinned CLI matches for these patterns, with their upstream stacks (as `cdk ls` lists them)."""
    result = subprocess.run(
        [str(destroy.CDK), "ls", "--no-notices", "--app", str(assembly), *patterns],
        capture_output=True,
        text=True,
        check=True,
    )
    return {line.split(" (", 1)[0] for line in result.stdout.splitlines() if line.strip()}


def destroy_patterns(command: list[str]) -> list[str]:
    assert command[:2] == ["destroy", "--force"], command
    return [word for word in command[2:] if not word.startswith("-")]


# ------------------------------------------------------------------------------------ the pipeline teardown


@pytest.fixture(params=["one_stage", "two_stages"])
def pipeline(request: pytest.FixtureRequest) -> PipelineSynth:
    synth: PipelineSynth = request.getfixturevalue(request.param)
    return synth


def test_a_bare_destroy_of_a_pipeline_refuses_and_its_teardown_covers_every_stack_in_order(
    pipeline: PipelineSynth, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = pipeline.outdir
    assert destroy.main(["--assembly", str(assembly), "--dry-run"]) == 2
    printed = capsys.readouterr().err
    steps = [shlex.split(line.strip()) for line in printed.splitlines() if line.strip().startswith("make destroy ")]
    assert steps, printed

    stacks = all_stacks(assembly)
    position: dict[str, int] = {}  # stack -> the index of the `cdk destroy` that deletes it
    commands: list[list[str]] = []
    for step in steps:
        variables = dict(word.split("=", 1) for word in step[2:])
        planned = destroy.plan(
            assembly, stage=variables.get("STAGE"), stacks=shlex.split(variables.get("STACKS", "")), cdk_args=[]
        )
        commands += planned
    for index, command in enumerate(commands):
        selected = cli_selection(assembly, destroy_patterns(command))
        assert selected, command
        for stack in selected - set(position):  # `cdk ls` adds upstream stacks: each counts where first selected
            position[stack] = index
    assert set(position) == set(stacks)  # nothing stranded

    # Dependents first: within one command the CLI orders by these dependencies, so equal positions are fine.
    for stack, dependencies in stacks.items():
        for dependency in dependencies:
            assert position[stack] <= position[dependency], (stack, dependency)
    # A consumer has no artifact dependency on its provider stage (another stage of the pipeline): strictly first.
    layout = destroy.read_layout(assembly)
    for stage in layout.stages:
        platform = next(s for s in stacks if s.startswith(f"{destroy.PIPELINE}/{stage}/") and s.endswith("-Platform"))
        for consumer in layout.consumers[stage]:
            for stack in (s for s in stacks if s.startswith(f"{destroy.PIPELINE}/{consumer}/")):
                assert position[stack] < position[platform], (stack, platform)
    # The pipeline last: it would deploy a destroyed stage again.
    last = max(position.values())
    assert position[destroy.PIPELINE] == last
    assert all(position[s] < last for s in stacks if s.startswith(f"{destroy.PIPELINE}/"))


def test_the_two_stage_teardown_has_each_consumer_stage(two_stages: PipelineSynth) -> None:
    """The fixture's shape is what the test above needs to mean something: consumers in both stages."""
    layout = destroy.read_layout(two_stages.outdir)
    assert layout.stages == ["dev", "prod"]
    assert all(len(layout.consumers[stage]) == 2 for stage in layout.stages)


def test_a_stage_stack_name_is_refused_with_its_path(two_stages: PipelineSynth) -> None:
    with pytest.raises(
        destroy.RefusedError, match=r"matches no stack.*EksLatticeGateway-Pipeline/dev/EksLatticeGateway-dev-Gateway"
    ):
        destroy.plan(two_stages.outdir, stage=None, stacks=["EksLatticeGateway-dev-Gateway"], cdk_args=[])
    with pytest.raises(destroy.RefusedError, match="no stage 'nope'"):
        destroy.plan(two_stages.outdir, stage="nope", stacks=[], cdk_args=[])


def test_without_a_pipeline_destroy_is_every_stack_and_a_name_must_match(synth: Synthesized) -> None:
    (command,) = destroy.plan(synth.outdir, stage=None, stacks=[], cdk_args=[])
    assert command == ["destroy", "--force", "--all"]
    assert not list(synth.outdir.glob("assembly-*"))  # --all (the top-level assembly) is then every stack
    with pytest.raises(destroy.RefusedError, match="'EksLatticeGateway-Gatewy' matches no stack"):
        destroy.plan(synth.outdir, stage=None, stacks=["EksLatticeGateway-Gatewy"], cdk_args=[])
    with pytest.raises(destroy.RefusedError, match="STAGE is for a pipeline"):
        destroy.plan(synth.outdir, stage="dev", stacks=[], cdk_args=[])


def test_every_planned_command_takes_only_flags_cdk_destroy_has(two_stages: PipelineSynth) -> None:
    known = cli_options("destroy") | {"--app"}
    planned = destroy.plan(two_stages.outdir, stage="prod", stacks=[], cdk_args=["-c", "x=1", "--profile", "p"])
    for command in planned:
        flags = [word for word in command[1:] if word.startswith("-")]
        assert [flag for flag in flags if flag not in known] == []


def test_make_destroy_hands_stage_stacks_and_cdk_args_to_the_tool() -> None:
    result = subprocess.run(
        ["make", "-n", "destroy", "STAGE=prod", "STACKS=a b/*", "CDK_ARGS=-c x=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (line,) = [shlex.split(line) for line in result.stdout.splitlines() if "tools/destroy.py" in line]
    assert line[line.index("tools/destroy.py") + 1 :] == ["--stage", "prod", "a", "b/*", "--", "-c", "x=1"]


# ------------------------------------------------------------------------ every form the documentation shows

# `make deploy|destroy|diff` with its variables, as written in README.md or a docs/ page (inline code or a code
# block).
# A double-quoted value may hold backslash-escaped quotes (CDK_ARGS="-c 'key=[\"...\"]'", tests/test_makefile.py).
_FORM = re.compile(r"make (deploy|destroy|diff)((?:[ \t]+[A-Z_]+=(?:\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s`]+))*)")
# The documentation's placeholders, as the two-stage fixture has them.
_PLACEHOLDERS = {"<stage>": "dev", "<name>": "team-b"}


def documented_forms() -> list[tuple[str, dict[str, str]]]:
    forms = []
    for target, variables in _FORM.findall(docs.text()):
        values = dict(word.split("=", 1) for word in shlex.split(variables.replace("\\\n", " ")))
        forms.append((target, values))
    return forms


def test_the_readme_documents_the_forms_this_checks() -> None:
    forms = documented_forms()
    assert ("destroy", {"STACKS": "EksLatticeGateway-Gateway"}) in forms
    assert any(target == "destroy" and "STAGE" in values for target, values in forms)
    assert ("deploy", {"STACKS": "EksLatticeGateway-Pipeline"}) in forms


def test_every_documented_stacks_name_matches_stacks(
    synth: Synthesized, variant: Synthesized, two_stages: PipelineSynth
) -> None:
    """Each pattern of each documented STACKS, on the assembly of its mode: a pipeline's (a construct path under
    the pipeline, or the pipeline itself) or the app's own (the variant has the README's consumer team-b)."""
    checked: dict[tuple[Path, str], bool] = {}
    for target, values in documented_forms():
        if "STAGE" in values:
            stage = _PLACEHOLDERS.get(values["STAGE"], values["STAGE"])
            layout = destroy.read_layout(two_stages.outdir)
            assert stage in layout.stages, (target, values)
            continue
        for written in shlex.split(values.get("STACKS", "")):
            if written == "...":
                continue
            pattern = written
            for placeholder, value in _PLACEHOLDERS.items():
                pattern = pattern.replace(placeholder, value)
            pipeline_form = pattern.startswith((destroy.PIPELINE, "cross-region-stack-"))
            assembly = two_stages.outdir if pipeline_form else variant.outdir
            if (assembly, pattern) not in checked:
                checked[(assembly, pattern)] = bool(destroy.cdk_ls(assembly, pattern, []))
            assert checked[(assembly, pattern)], f"make {target} STACKS={pattern} matches no stack"
    assert len(checked) >= 4
