"""The CodePipeline's own parts: its source connection, impact, smoke and mutation steps, and its acknowledged
findings."""

from constructs.pipeline.findings import acknowledge_cdk_pipelines
from constructs.pipeline.impact import impact_step
from constructs.pipeline.mutation import mutation_step
from constructs.pipeline.smoke import grant_smoke
from constructs.pipeline.source import grant_connection_use

__all__ = ["acknowledge_cdk_pipelines", "grant_connection_use", "grant_smoke", "impact_step", "mutation_step"]
