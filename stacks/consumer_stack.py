"""One consumer account's side of the share (issue 13): its isolated VPC (or an existing one), the
service-network VPC association, the private zone's cross-account association, the smoke test and test host.

Deployed with the consumer's account and region as its env, after the provider's Platform stack. Every value
from the provider arrives by `Fn::GetStackOutput` through the provider's reader role (no exports), or is
derived from configuration (stacks/sharing.py), so the stack needs none of the provider's constructs and can
live in its own pipeline stage.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import aws_cdk as cdk
from aws_cdk import Aws, CfnOutput, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_vpclattice as lattice
from constructs import Construct
from constructs.compliance import add_checkov_acknowledgments
from constructs.lattice import LatticePrefixLists, association_rules
from constructs.nag import acknowledge
from constructs.network import ClientVpc
from constructs.observability import LogEncryptionKey
from constructs.observability import retention as log_retention
from constructs.sharing import ConsumerLink, grant_invoke
from constructs.smoke import ClientHost, SmokeTest

from config import AppConfig
from config.consumers import ORG_ARN_PATTERN, Consumer
from stacks.sharing import (
    PRIVATE_ZONE_ID_OUTPUT,
    SERVICE_NETWORK_ARN_OUTPUT,
    SHARE_ARN_OUTPUT,
    SharingContract,
)


class ConsumerStack(Stack):
    @property
    def availability_zones(self) -> list[str]:
        """As the Platform stack's: two AZs from Fn::GetAZs at deploy time, never a context lookup (which
        would need the consumer account's credentials at synth) nor CDK's dummy AZs."""
        return [Fn.select(index, Fn.get_azs()) for index in range(2)]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        consumer: Consumer,
        sharing: SharingContract,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        retention = log_retention(config.log_retention_days)
        reader = f"arn:{Aws.PARTITION}:iam::{sharing.account}:role/{sharing.reader_role}"

        def provider_output(name: str) -> str:
            return Fn.get_stack_output(sharing.platform_stack, name, sharing.region, reader)

        link = ConsumerLink(
            self,
            "Link",
            role_name=sharing.consumer_dns_role(consumer),
            authorizer_role_arn=f"arn:{Aws.PARTITION}:iam::{sharing.account}:role/{sharing.authorizer_role}",
            log_retention=retention,
        )
        org = ORG_ARN_PATTERN.fullmatch(config.share_with_organization or "")
        acceptance = link.accept_share(
            share_arn=provider_output(SHARE_ARN_OUTPUT),
            service_network_arn=provider_output(SERVICE_NETWORK_ARN_OUTPUT),
            organization_id=org.group(1) if org else None,
        )

        if consumer.vpc_cidr is not None:
            log_key = LogEncryptionKey(self, "LogKey", description=f"Consumer {consumer.name}: VPC flow logs").key
            network = ClientVpc(
                self,
                "Network",
                cidr=consumer.vpc_cidr,
                # The consumer account's own first two zones: AZ names map to other zones in every account.
                availability_zones=self.availability_zones,
                log_retention=retention,
                log_key=log_key,
                ssm_endpoints=consumer.test_host,
                description="the consumer VPC",
            )
            vpc: ec2.IVpc = network.vpc
            subnets = network.host_subnets
            cidr = consumer.vpc_cidr
            host_needs: tuple[ec2.IVpcEndpoint, ...] = network.host_endpoints
        else:
            assert consumer.vpc_id is not None  # the config model allows exactly one of the two
            existing = link.existing_vpc(consumer.vpc_id)
            vpc = ec2.Vpc.from_vpc_attributes(
                self, "Vpc", vpc_id=consumer.vpc_id, availability_zones=[Fn.select(0, Fn.get_azs())]
            )
            subnet = ec2.Subnet.from_subnet_id(self, "Subnet", existing.get_att_string("SubnetId"))
            # Nothing here routes through the subnet's table (Lambda ENIs and the host only reach Lattice,
            # whose link-local addresses every VPC association provides).
            cdk.Annotations.of(subnet).acknowledge_warning(
                "@aws-cdk/aws-ec2:noSubnetRouteTableId", "no route is added to an existing consumer subnet"
            )
            subnets = ec2.SubnetSelection(subnets=[subnet])
            cidr = existing.get_att_string("CidrBlock")
            host_needs = ()  # an existing VPC's endpoints are its owner's

        security_group = ec2.SecurityGroup(
            self,
            "AssociationSecurityGroup",
            vpc=vpc,
            description="Lattice association of the consumer VPC: HTTP/HTTPS from that VPC only",
            allow_all_outbound=False,
        )
        for port, what in association_rules(config.association_ports):
            security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(port), what)
        if consumer.vpc_id is not None:
            acknowledge(
                security_group,
                "AwsSolutions-EC23",
                "Ingress comes from the existing VPC's own CIDR, read at deploy time (Custom::ExistingVpc); the "
                "rule cannot evaluate that token, and it is never 0.0.0.0/0 for a private VPC.",
            )
        association = lattice.CfnServiceNetworkVpcAssociation(
            self,
            "ServiceNetworkAssociation",
            service_network_identifier=provider_output(SERVICE_NETWORK_ARN_OUTPUT),
            vpc_identifier=vpc.vpc_id,
            security_group_ids=[security_group.security_group_id],
        )
        # A shared network is usable only once this account accepted the share (or the organization did).
        association.node.add_dependency(acceptance)
        self.zone_association = link.associate_zone(
            hosted_zone_id=provider_output(PRIVATE_ZONE_ID_OUTPUT),
            zone_name=config.private_zone_name,
            vpc_id=vpc.vpc_id,
            vpc_region=self.region,
        )

        smoke = SmokeTest(
            self,
            "SmokeTest",
            config=config,
            vpc=vpc,
            subnets=subnets,
            log_retention=retention,
            # The consumer's account and region look the lists up themselves; IPv4 only (SmokeTest).
            prefix_lists=LatticePrefixLists(self, "LatticePrefixLists", ipv6=False),
            sign_for=sharing.account,
            consumer=(consumer.name, consumer.account),
            description=f"Routing smoke test from consumer {consumer.name}'s VPC through Lattice",
        )
        # The test needs name resolution and the network path in place before anyone invokes it.
        smoke.node.add_dependency(association, self.zone_association)
        CfnOutput(self, "ConsumerVpcId", value=vpc.vpc_id)
        if consumer.test_host:
            host = ClientHost(
                self,
                "TestHost",
                vpc=vpc,
                subnets=subnets,
                instance_type=config.client_instance_type,
                depends_on=host_needs,
            )
            grant_invoke(host.role, provider_account=sharing.account)
            CfnOutput(
                self,
                "TestHostSession",
                value=f"aws ssm start-session --target {host.instance.ref}",
                description="A shell on the consumer's test host; sign requests: curl --aws-sigv4 (docs/sharing.md)",
            )


def add_consumers(scope: Construct, *, config: AppConfig, sharing: SharingContract) -> list[ConsumerStack]:
    """One ConsumerStack per configured consumer, each in its own account and the provider's region, under
    `scope` (the app, or a pipeline stage). Stack ids equal stack names: `cdk deploy <name>` selects one."""
    stacks: list[ConsumerStack] = []
    for consumer in sharing.consumers:
        name = sharing.consumer_stack(consumer)
        stacks.append(
            ConsumerStack(
                scope,
                name,
                stack_name=name,
                config=config,
                consumer=consumer,
                sharing=sharing,
                env=cdk.Environment(account=consumer.account, region=sharing.consumer_region(consumer)),
                description=f"eks-lattice-gateway: consumer {consumer.name} {sharing.consumer_description_suffix}",
            )
        )
    return stacks


class ConsumerStage(cdk.Stage):
    """A pipeline stage holding one consumer's stack (pipeline wiring: see stacks/pipeline_stack.py)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: AppConfig, consumer: Consumer, sharing: SharingContract
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=consumer.account, region=sharing.consumer_region(consumer)),
        )
        (self.stack,) = add_consumers(self, config=config, sharing=dataclasses.replace(sharing, consumers=(consumer,)))
        add_checkov_acknowledgments(self)  # aspects don't cross into a Stage: it carries its own
