"""The deployable system: the stacks of one environment and the order between them.

Used directly by app.py for `cdk deploy`, and by the pipeline's stages.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations, Environment
from constructs import Construct
from constructs.checkov import add_checkov_acknowledgments

from config import AppConfig
from stacks.gateway_stack import GatewayStack
from stacks.platform_stack import PlatformStack

PREFIX = "EksLatticeGateway"


@dataclass(frozen=True, kw_only=True)
class System:
    platform: PlatformStack
    gateway: GatewayStack


def add_system(
    scope: Construct, *, config: AppConfig, env: Environment | None = None, stack_prefix: str = PREFIX
) -> System:
    """`stack_prefix` keeps the stack names of several pipeline stages in one account apart."""
    # Construct ids equal the stack names, so `cdk deploy EksLatticeGateway-Gateway` selects what it says.
    platform = PlatformStack(
        scope,
        f"{stack_prefix}-Platform",
        stack_name=f"{stack_prefix}-Platform",
        config=config,
        env=env,
        description="eks-lattice-gateway: VPCs, EKS cluster, VPC Lattice service network, private DNS, client host",
    )
    gateway = GatewayStack(
        scope,
        f"{stack_prefix}-Gateway",
        stack_name=f"{stack_prefix}-Gateway",
        config=config,
        platform=platform,
        env=env,
        description="eks-lattice-gateway: Gateway API CRDs, controller, workload, Lattice DNS records, smoke test",
    )
    gateway.add_stack_dependency(platform, reason="runs on the cluster; uses the service network, zone and VPCs")
    add_checkov_acknowledgments(scope)  # the app, or the pipeline's stage (aspects don't cross into a Stage)
    for index, warning in enumerate(config.warnings):
        Annotations.of(platform).add_warning_v2(f"eks-lattice-gateway:config-{index}", warning)
    return System(platform=platform, gateway=gateway)
