"""Everything that does not run on the cluster: both VPCs, the cluster itself, Lattice, DNS, the client host.

One stack, so CloudFormation creates the service network, its associations, the private zone and the client
host in parallel with the EKS cluster (nothing here waits for the cluster that doesn't need it).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Fn, Stack, Token
from constructs import Construct
from constructs.cluster import EksCluster
from constructs.controller import controller_managed_by
from constructs.dns import PrivateZone
from constructs.lattice import AssociatedVpc, LatticePrefixListIngress, LatticePrefixLists, LatticeServiceNetwork
from constructs.network import ClientVpc, ClusterVpc
from constructs.observability import LogEncryptionKey
from constructs.observability import retention as log_retention
from constructs.sharing import ServiceNetworkShare, consumer_auth_statement, grant_invoke
from constructs.smoke import ClientHost

from config import AppConfig, ConfigError
from config.access_policy import network_roles
from config.consumers import ORG_ARN_PATTERN
from config.model import zones_outside
from stacks.sharing import SharingContract


class PlatformStack(Stack):
    @property
    def availability_zones(self) -> list[str]:
        """The region's first two AZs (availabilityZones' default), resolved by CloudFormation (Fn::GetAZs) even
        when the stack has a concrete account/region: synth stays hermetic (no AZ context lookup, no credentials)."""
        return [Fn.select(index, Fn.get_azs()) for index in range(2)]

    def _zones(self, config: AppConfig) -> list[str]:
        """availabilityZones, else the region's first two. Names and IDs must lie in the stack's region when that
        is known at synth (a pipeline stage's, or the CLI's with credentials)."""
        zones = list(config.availability_zones)
        strays = [] if Token.is_unresolved(self.region) else zones_outside(zones, self.region)
        if strays:
            where = f"{self.stack_name}'s region {self.region}"
            raise ConfigError("availabilityZones", f"{', '.join(strays)} not in {where}")
        return zones or self.availability_zones

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        gateway_stack_name: str,
        sharing: SharingContract | None = None,
        **kwargs: Any,
    ) -> None:
        """`gateway_stack_name`: the stack whose DNS records live in the private zone (removed when it goes);
        `sharing`: the consumer accounts that get the service network (config.consumers), when any."""
        super().__init__(scope, construct_id, **kwargs)
        retention = log_retention(config.log_retention_days)
        org = ORG_ARN_PATTERN.fullmatch(config.share_with_organization or "")
        consumer_statement = consumer_auth_statement(
            [c.account for c in config.consumers], org.group(1) if org else None
        )
        log_key = LogEncryptionKey(
            self, "LogKey", description=f"{config.cluster_name}: VPC flow logs and Lattice access logs"
        ).key

        zones = self._zones(config)
        self.cluster_network = ClusterVpc(
            self,
            "ClusterNetwork",
            cidr=config.cluster_vpc_cidr,
            cluster_name=config.cluster_name,
            availability_zones=zones,
            zone_ids=config.uses_az_ids,
            log_retention=retention,
            log_key=log_key,
        )
        self.client_network = ClientVpc(
            self,
            "ClientNetwork",
            cidr=config.client_vpc_cidr,
            availability_zones=zones,
            zone_ids=config.uses_az_ids,
            log_retention=retention,
            log_key=log_key,
        )

        self.lattice = LatticeServiceNetwork(
            self,
            "Lattice",
            name=config.service_network_name,
            auth_type=config.service_network_auth_type,
            vpcs=[
                AssociatedVpc(name="Cluster", vpc=self.cluster_network.vpc, cidr=config.cluster_vpc_cidr),
                AssociatedVpc(name="Client", vpc=self.client_network.vpc, cidr=config.client_vpc_cidr),
            ],
            controller_managed_by=controller_managed_by(
                account=Aws.ACCOUNT_ID, cluster_name=config.cluster_name, vpc_id=self.cluster_network.vpc.vpc_id
            ),
            log_retention=retention,
            log_key=log_key,
            admit_unsigned=config.admits_unsigned,
            consumer_statement=consumer_statement,
            named_roles=network_roles(config),
            ports=config.association_ports,
        )
        self.zone = PrivateZone(
            self,
            "PrivateZone",
            zone_name=config.private_zone_name,
            vpcs=[self.cluster_network.vpc, self.client_network.vpc],
            record_owner_stack=gateway_stack_name,
            log_retention=retention,
        )
        self.client_host = ClientHost(
            self,
            "ClientHost",
            vpc=self.client_network.vpc,
            subnets=self.client_network.host_subnets,
            instance_type=config.client_instance_type,
            depends_on=self.client_network.host_endpoints,
        )

        if config.service_network_auth_type == "AWS_IAM":
            # The identity half of its signed calls (docs/access-control.md: Security); the route policies name
            # the role.
            grant_invoke(self.client_host.role, provider_account=Aws.ACCOUNT_ID)

        self.eks = EksCluster(self, "Eks", config=config, vpc=self.cluster_network.vpc)
        # The lookup takes the ingress's old construct id and the ingress the id "Default", which aws-cdk-lib leaves
        # out of logical IDs (core/lib/private/uniqueid.js, HIDDEN_ID, read 2026-12-06): both keep the logical IDs
        # they had when one construct held them, so an update replaces neither the lookups nor the rules.
        prefix_lists = LatticePrefixLists(self, "LatticeIngress", ipv6=config.lattice_ipv6)
        LatticePrefixListIngress(
            prefix_lists,
            "Default",
            prefix_lists=prefix_lists,
            security_group_id=self.eks.cluster.cluster_security_group_id,
            ports=tuple(sorted({app.container_port for app in config.apps})),
        )

        self.share: ServiceNetworkShare | None = None
        if sharing is not None and sharing.consumers:
            self.share = ServiceNetworkShare(
                self,
                "ConsumerShare",
                name=f"{self.stack_name}-service-network",
                service_network_arn=self.lattice.network.attr_arn,
                hosted_zone_id=self.zone.zone.hosted_zone_id,
                consumer_accounts=[c.account for c in sharing.consumers],
                organization_arn=config.share_with_organization,
                reader_role_name=sharing.reader_role,
                reader_trusts=sharing.cfn_exec_role_pattern,
                authorizer_role_name=sharing.authorizer_role,
                authorizer_trusts=sharing.consumer_dns_role_name,
                authorizable_vpcs=sharing.authorizable_vpcs,
                log_retention=retention,
            )

        CfnOutput(self, "ClusterName", value=self.eks.cluster.cluster_name)
        CfnOutput(self, "ServiceNetworkArn", value=self.lattice.network.attr_arn)
        CfnOutput(self, "PrivateZoneId", value=self.zone.zone.hosted_zone_id)
        CfnOutput(
            self,
            "ClientHostSession",
            value=f"aws ssm start-session --target {self.client_host.instance.ref}",
            description="Open a shell on the client test host (Session Manager, no inbound ports). Routes need signed "
            "requests: curl --aws-sigv4 aws:amz:<region>:vpc-lattice-svcs with the instance role's credentials and "
            "-H x-amz-content-sha256:UNSIGNED-PAYLOAD (docs/getting-started.md: Deploy, diff, smoke-test, destroy)",
        )
