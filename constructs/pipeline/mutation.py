"""The pipeline's mutation-testing step: `make mutation` on a fresh clone, as a report that never blocks a deploy.

Wire it as the pipeline's last wave, after every stage, so nothing waits for it:

    self.pipeline.add_wave("Mutation", post=[mutation_step(self.source)])

It reports only (FAIL_UNDER=0): a score below the target shows in the build log's table; the step fails only
when mutmut itself cannot run. Mutation testing is CPU-bound (one test run per mutant), hence 8 vCPUs and a
timeout well above CodeBuild's default hour.
"""

from __future__ import annotations

from aws_cdk import Duration, pipelines
from aws_cdk import aws_codebuild as codebuild

MUTATION_COMMANDS = (
    # The module tests validate against upstream reference data; a fresh clone fetches it (pinned, sha256-checked).
    "make reference",
    "make mutation FAIL_UNDER=0",
)
MUTATION_TIMEOUT = Duration.hours(3)


def mutation_step(source: pipelines.IFileSetProducer) -> pipelines.CodeBuildStep:
    return pipelines.CodeBuildStep(
        "Mutation",
        input=source,
        commands=list(MUTATION_COMMANDS),
        build_environment=codebuild.BuildEnvironment(compute_type=codebuild.ComputeType.LARGE),
        timeout=MUTATION_TIMEOUT,
    )
