"""The deployable system: the stacks of one environment and the order between them.

Used directly by app.py for `cdk deploy`, and by the pipeline's stages.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations, Environment, Stack, Tags
from constructs import Construct
from constructs.compliance import add_checkov_acknowledgments

from config import AppConfig
from config.consumers import Sharing, check_provider
from config.release import VERSION_TAG, app_version
from stacks.consumer_stack import ConsumerStack, ConsumerStage, add_consumers
from stacks.gateway_stack import GatewayStack
from stacks.platform_stack import PlatformStack
from stacks.sharing import DEFAULT_QUALIFIER, SharingContract

PREFIX = "EksLatticeGateway"


@dataclass(frozen=True, kw_only=True)
class System:
    platform: PlatformStack
    gateway: GatewayStack
    sharing: SharingContract | None = None
    consumers: tuple[ConsumerStack, ...] = ()


def sharing_contract(
    scope: Construct, *, config: AppConfig, env: Environment | None, stack_prefix: str = PREFIX
) -> SharingContract | None:
    """The provider's side of config.consumers, once its account and region are known (else ConfigError)."""
    if not config.consumers:
        return None
    account, region = (env.account, env.region) if env else (None, None)
    check_provider(Sharing(consumers=config.consumers), account=account, region=region)
    assert account is not None  # check_provider refuses an unknown environment
    assert region is not None
    qualifier = scope.node.try_get_context("@aws-cdk/core:bootstrapQualifier") or DEFAULT_QUALIFIER
    return SharingContract(
        stack_prefix=stack_prefix, account=account, region=region, consumers=config.consumers, qualifier=qualifier
    )


def add_system(
    scope: Construct,
    *,
    config: AppConfig,
    env: Environment | None = None,
    stack_prefix: str = PREFIX,
    consumers: bool = True,
) -> System:
    """`stack_prefix` keeps the stack names of several pipeline stages in one account apart.

    With config.consumers, the Platform stack shares the service network and, when `consumers`, one
    ConsumerStack per consumer follows it in `scope` (a pipeline passes False and deploys them in their
    own stages: stacks.consumer_stack.ConsumerStage).
    """
    sharing = sharing_contract(scope, config=config, env=env, stack_prefix=stack_prefix)
    # Construct ids equal the stack names, so `cdk deploy EksLatticeGateway-Gateway` selects what it says.
    platform = PlatformStack(
        scope,
        f"{stack_prefix}-Platform",
        stack_name=f"{stack_prefix}-Platform",
        config=config,
        gateway_stack_name=f"{stack_prefix}-Gateway",
        sharing=sharing,
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
    consumer_stacks: list[ConsumerStack] = []
    if sharing is not None and consumers:
        consumer_stacks = add_consumers(scope, config=config, sharing=sharing)
        for stack in consumer_stacks:
            # Deploy after (and destroy before) the provider: the share, outputs and roles must exist.
            stack.add_stack_dependency(platform, reason="reads the provider's outputs and uses its share and roles")
    tag_version(scope)
    return System(platform=platform, gateway=gateway, sharing=sharing, consumers=tuple(consumer_stacks))


def tag_version(scope: Construct) -> None:
    """The app's version as a stack tag on every stack in `scope` (the app, or a pipeline's stage). Stack tags only:
    CloudFormation propagates them to the resources at deploy, and the templates do not change with the version."""
    for construct in scope.node.find_all():
        if isinstance(construct, Stack):
            Tags.of(construct).add(VERSION_TAG, app_version(), include_resource_types=["aws:cdk:stack"])


def add_consumer_stages(
    scope: Construct, *, config: AppConfig, env: Environment, stack_prefix: str, stage_prefix: str
) -> list[ConsumerStage]:
    """For a pipeline: one stage per consumer of the provider stage deployed with `env` and `stack_prefix`
    (the provider's add_system(..., consumers=False)). Stage ids are `<stage_prefix>-<consumer name>`; each
    holds `<stack_prefix>-Consumer-<name>` in the consumer's account. Nothing crosses the stage boundary but
    names: provider values are read at deploy time (Fn::GetStackOutput through the provider's reader role)."""
    sharing = sharing_contract(scope, config=config, env=env, stack_prefix=stack_prefix)
    if sharing is None:
        return []
    stages = [
        ConsumerStage(scope, f"{stage_prefix}-{consumer.name}", config=config, consumer=consumer, sharing=sharing)
        for consumer in sharing.consumers
    ]
    for stage in stages:
        tag_version(stage)
    return stages
