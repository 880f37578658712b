"""Route 53 private hosted zone for the routes' custom domain names, visible from both VPCs, and the sweeper
that empties it of the gateway stack's records when it goes (lambda/zone_sweep/handler.py says why)."""

from __future__ import annotations

from aws_cdk import Aws, CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from constructs import Construct
from constructs.provider import CustomResourceProvider
from constructs.python_function import PythonFunction


class PrivateZone(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        zone_name: str,
        vpcs: list[ec2.IVpc],
        record_owner_stack: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        """`record_owner_stack`: the stack whose Lattice DNS records the sweeper removes when the zone goes."""
        super().__init__(scope, construct_id)
        first, *rest = vpcs
        self.zone = route53.PrivateHostedZone(
            self, "Zone", zone_name=zone_name, vpc=first, comment="eks-lattice-gateway: Lattice custom domains"
        )
        for vpc in rest:
            self.zone.add_vpc(vpc)
        self.zone.apply_removal_policy(RemovalPolicy.DESTROY)

        sweeper = PythonFunction(
            self,
            "Sweeper",
            packages=("lattice_dns", "zone_sweep"),
            handler="zone_sweep.handler.on_event",
            description="Removes the Lattice DNS records from the private zone before the zone is deleted",
            timeout=Duration.minutes(2),
            log_retention=log_retention,
        )
        zone_arn = f"arn:{Aws.PARTITION}:route53:::hostedzone/{self.zone.hosted_zone_id}"
        # Its own managed policy whose Description (create-only) names the zone: a replaced zone replaces the
        # policy, so the old one still covers the old zone when the cleanup deletes the old sweep (which depends
        # on it, so it goes first). An updated policy would name only the new zone by then.
        access = iam.ManagedPolicy(
            self,
            "SweeperAccess",
            description=f"Zone sweeper: deletes Lattice DNS records in zone {self.zone.hosted_zone_id} ({zone_name})",
            statements=[
                iam.PolicyStatement(actions=["route53:ListResourceRecordSets"], resources=[zone_arn]),
                iam.PolicyStatement(
                    actions=["route53:ChangeResourceRecordSets"],
                    resources=[zone_arn],
                    conditions={
                        "ForAllValues:StringLike": {
                            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [f"*.{zone_name}"],
                        },
                        "ForAllValues:StringEquals": {
                            "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME", "TXT"],
                            "route53:ChangeResourceRecordSetsActions": ["DELETE"],
                        },
                    },
                ),
            ],
        )
        access.attach_to_role(sweeper.role)
        provider = CustomResourceProvider(
            self, "SweeperProvider", on_event=sweeper.function, log_retention=log_retention
        )
        self.sweep = CustomResource(
            self,
            "Sweep",
            service_token=provider.service_token,
            resource_type="Custom::PrivateZoneSweep",
            properties={"HostedZoneId": self.zone.hosted_zone_id, "OwnerStack": record_owner_stack},
        )
        self.sweep.node.add_dependency(access, self.zone)
