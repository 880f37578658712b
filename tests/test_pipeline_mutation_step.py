"""constructs/pipeline/mutation.py: the pipeline's report-only `make mutation` step.

Where it sits in the pipeline (a last wave of its own) is checked on the pipeline's own synthesis, in
tests/test_pipeline.py, once stacks/pipeline_stack.py wires it."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT


def test_step_runs_make_mutation_report_only_on_a_fresh_clone() -> None:
    from aws_cdk import aws_codebuild as codebuild
    from aws_cdk import pipelines
    from constructs.pipeline.mutation import mutation_step

    source = pipelines.CodePipelineSource.connection(
        "example/eks-lattice-gateway", "main", connection_arn="arn:aws:codeconnections:us-east-1:1:connection/x"
    )
    step = mutation_step(source)
    assert step.id == "Mutation"
    assert step.commands == ["make reference", "make mutation FAIL_UNDER=0"]
    assert step.build_environment is not None
    assert step.build_environment.compute_type == codebuild.ComputeType.LARGE
    assert step.timeout is not None
    assert step.timeout.to_minutes() == 180  # CodeBuild's default is 60


def test_make_passes_the_threshold_and_modules_to_the_tool() -> None:
    result = subprocess.run(
        [
            "make",
            "-n",
            "--no-print-directory",  # under `make test` this is a sub-make, which prints its directory
            "-o",
            ".venv/.installed",
            "mutation",
            "FAIL_UNDER=0",
            "JOBS=3",
            "MODULES=lambda/smoke/handler.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip().endswith(
        "/.venv/bin/python tools/mutation.py --jobs 3 --fail-under 0 lambda/smoke/handler.py"
    )
