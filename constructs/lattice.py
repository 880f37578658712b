"""The VPC Lattice service network, owned by CloudFormation (not by the controller), and its two VPC
associations, access logs and auth policy."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_vpclattice as lattice
from constructs import Construct
from constructs.nag import acknowledge
from constructs.provider import CustomResourceProvider
from constructs.python_function import PythonFunction


@dataclass(frozen=True, kw_only=True)
class AssociatedVpc:
    name: str
    vpc: ec2.IVpc
    cidr: str


class LatticeServiceNetwork(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        auth_type: str,
        vpcs: list[AssociatedVpc],
        log_retention: logs.RetentionDays,
        log_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.network = lattice.CfnServiceNetwork(self, "ServiceNetwork", name=name, auth_type=auth_type)
        self.network.apply_removal_policy(RemovalPolicy.DESTROY)

        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/aws/vpclattice/{name}",
            retention=log_retention,
            encryption_key=log_key,  # every request's caller, path and status: the app's log key
            removal_policy=RemovalPolicy.DESTROY,
        )
        lattice.CfnAccessLogSubscription(
            self,
            "AccessLogSubscription",
            resource_identifier=self.network.attr_arn,
            destination_arn=access_logs.log_group_arn,
        )

        if auth_type == "AWS_IAM":
            # Unsigned callers (plain curl) are admitted only from the associated VPCs (SPEC §7).
            lattice.CfnAuthPolicy(
                self,
                "AuthPolicy",
                resource_identifier=self.network.attr_id,
                policy={
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "vpc-lattice-svcs:Invoke",
                            "Resource": "*",
                            "Condition": {"StringEquals": {"vpc-lattice-svcs:SourceVpc": [v.vpc.vpc_id for v in vpcs]}},
                        }
                    ],
                },
            )

        drain = self._drain_waiter(log_retention)
        self.associations: dict[str, lattice.CfnServiceNetworkVpcAssociation] = {}
        for item in vpcs:
            sg = ec2.SecurityGroup(
                self,
                f"{item.name}AssociationSecurityGroup",
                vpc=item.vpc,
                description=f"Lattice association of the {item.name} VPC: HTTP/HTTPS from that VPC only",
                allow_all_outbound=False,
            )
            sg.add_ingress_rule(ec2.Peer.ipv4(item.cidr), ec2.Port.tcp(80), "HTTP from the VPC")
            sg.add_ingress_rule(ec2.Peer.ipv4(item.cidr), ec2.Port.tcp(443), "HTTPS from the VPC")
            association = lattice.CfnServiceNetworkVpcAssociation(
                self,
                f"{item.name}Association",
                service_network_identifier=self.network.attr_id,
                vpc_identifier=item.vpc.vpc_id,
                security_group_ids=[sg.security_group_id],
            )
            # Deleted before the waiter, which holds the network's delete until Lattice has really let go.
            association.node.add_dependency(drain)
            self.associations[item.name] = association

    def _drain_waiter(self, log_retention: logs.RetentionDays) -> CustomResource:
        """On delete, wait until the network has no VPC or service associations left (Lattice deletes them
        asynchronously and answers 409 to a network delete until then)."""
        handler = PythonFunction(
            self,
            "DrainHandler",
            packages=("lattice_drain",),
            handler="lattice_drain.handler.on_event",
            description="Waits for Lattice associations to go before the service network is deleted",
            timeout=Duration.minutes(1),
            log_retention=log_retention,
        )
        waiter = PythonFunction(
            self,
            "DrainWaiter",
            packages=("lattice_drain",),
            handler="lattice_drain.handler.is_complete",
            description="Polls the service network's associations during delete",
            timeout=Duration.minutes(1),
            log_retention=log_retention,
        )
        for fn in (handler, waiter):
            fn.role.add_to_policy(
                iam.PolicyStatement(actions=["vpc-lattice:GetServiceNetwork"], resources=[self.network.attr_arn])
            )
            # The association List actions take no resource-level permissions (IAM service authorization
            # reference for VPC Lattice): "*" is the only resource they accept. Read-only.
            fn.role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "vpc-lattice:ListServiceNetworkVpcAssociations",
                        "vpc-lattice:ListServiceNetworkServiceAssociations",
                    ],
                    resources=["*"],
                )
            )
            acknowledge(
                fn.role,
                "AwsSolutions-IAM5[Resource::*]",
                "Lattice's List*Associations actions support no resource-level permissions; read-only.",
            )
        provider = CustomResourceProvider(
            self,
            "DrainProvider",
            on_event=handler.function,
            is_complete=waiter.function,
            query_interval=Duration.seconds(15),
            total_timeout=Duration.minutes(20),
            log_retention=log_retention,
        )
        resource = CustomResource(
            self,
            "DrainWaiterResource",
            service_token=provider.service_token,
            resource_type="Custom::LatticeServiceNetworkDrain",
            properties={"ServiceNetworkId": self.network.attr_id, "TimeoutSeconds": "1080"},
        )
        return resource
