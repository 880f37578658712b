"""Consumer side of a share: the custom resources that accept the RAM share, look up an existing VPC, and
associate the consumer VPC with the provider's private zone (lambda/consumer_link/handler.py)."""

from __future__ import annotations

from aws_cdk import Aws, CustomResource, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.nag import acknowledge
from constructs.provider import CustomResourceProvider
from constructs.python_function import PythonFunction


class ConsumerLink(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        authorizer_role_arn: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        """`role_name`: the handler role's fixed name, which the provider's authorizer role trusts."""
        super().__init__(scope, construct_id)
        self.authorizer_role_arn = authorizer_role_arn
        handler = PythonFunction(
            self,
            "Handler",
            packages=("consumer_link",),
            handler="consumer_link.handler.on_event",
            description="Accepts the service-network share and associates the VPC with the provider's zone",
            timeout=Duration.minutes(5),
            log_retention=log_retention,
            role_name=role_name,
        )
        role = handler.role
        role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[authorizer_role_arn]))
        # The zone is another account's, known only at deploy time (Fn::GetStackOutput): any hosted zone, but
        # Route 53 itself refuses an association the zone's owner has not authorized.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["route53:AssociateVPCWithHostedZone", "route53:DisassociateVPCFromHostedZone"],
                resources=[f"arn:{Aws.PARTITION}:route53:::hostedzone/*"],
            )
        )
        # List/Get actions without resource-level permissions (IAM service authorization reference); read-only.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "route53:ListHostedZonesByVPC",
                    "route53:GetChange",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcAttribute",
                    "ram:GetResourceShareInvitations",
                    "ram:GetResourceShares",
                    "ram:ListResources",
                    "organizations:DescribeOrganization",
                ],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ram:AcceptResourceShareInvitation"],
                resources=[f"arn:{Aws.PARTITION}:ram:{Aws.REGION}:*:resource-share-invitation/*"],
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::hostedzone/*]",
            "The provider's zone id arrives at deploy time; Route 53 refuses associations its owner did not authorize.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Route 53 ListHostedZonesByVPC/GetChange, EC2 Describe*, RAM Get*/ListResources and Organizations "
            "DescribeOrganization (this account's own) take no resource-level permissions.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ram:<AWS::Region>:*:resource-share-invitation/*]",
            "The invitation's id and sender are known only when RAM sends it; accepting grants nothing by itself.",
        )
        self.provider = CustomResourceProvider(self, "Provider", on_event=handler.function, log_retention=log_retention)

    def _resource(self, construct_id: str, kind: str, properties: dict[str, str]) -> CustomResource:
        return CustomResource(
            self, construct_id, service_token=self.provider.service_token, resource_type=kind, properties=properties
        )

    def accept_share(
        self, *, share_arn: str, service_network_arn: str, organization_id: str | None = None
    ) -> CustomResource:
        """Completes once the share, with the service network in it, is usable in this account.
        `organization_id` (shareWithOrganization): a share that never arrives is explained by this account
        being outside it, when it is."""
        properties = {"ResourceShareArn": share_arn, "ServiceNetworkArn": service_network_arn}
        if organization_id:
            properties["OrganizationId"] = organization_id
        return self._resource("ShareAcceptance", "Custom::LatticeShareAcceptance", properties)

    def existing_vpc(self, vpc_id: str) -> CustomResource:
        """Data: CidrBlock, SubnetId (looked up at deploy time)."""
        return self._resource("ExistingVpc", "Custom::ExistingVpc", {"VpcId": vpc_id})

    def associate_zone(self, *, hosted_zone_id: str, zone_name: str, vpc_id: str, vpc_region: str) -> CustomResource:
        """`zone_name` lets the handler refuse a VPC holding another zone of that name before authorizing."""
        return self._resource(
            "ZoneAssociation",
            "Custom::CrossAccountZoneAssociation",
            {
                "HostedZoneId": hosted_zone_id,
                "ZoneName": zone_name,
                "VpcId": vpc_id,
                "VpcRegion": vpc_region,
                "AuthorizerRoleArn": self.authorizer_role_arn,
            },
        )
