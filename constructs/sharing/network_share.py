"""Provider side of a consumer share: the RAM share of the service network, and two narrow roles the consumer
accounts may assume (one to read the Platform stack's outputs, one to authorize their VPCs on the zone)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_cdk import Aws, CfnOutput, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ram as ram
from constructs import Construct
from constructs.nag import acknowledge
from constructs.sharing.ram_share_waiter import RamShareWaiter

from config.consumers import ORG_ARN_PATTERN


def consumer_auth_statement(accounts: list[str], organization_id: str | None = None) -> dict[str, Any] | None:
    """The service-network auth-policy statement admitting the consumer accounts' authenticated principals.

    Pure, so the per-route access policy (issue 12) can combine it with its own statements. Unsigned callers
    have no principal account, so they never match; with an organization, the principal must be in it too.
    """
    if not accounts:
        return None
    condition: dict[str, Any] = {"aws:PrincipalAccount": sorted(accounts)}
    if organization_id:
        condition["aws:PrincipalOrgID"] = organization_id
    return {
        "Sid": "ConsumerAccounts",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "vpc-lattice-svcs:Invoke",
        "Resource": "*",
        "Condition": {"StringEquals": condition},
    }


# What a consumer account may do with the shared network: associate its own VPCs, and read the network. Not
# CreateServiceNetworkServiceAssociation: a consumer's own *service* in the network would reach the provider's VPCs
# (and hold the network's delete). RAM's default permission for vpc-lattice:ServiceNetwork allows that too; VPC
# Lattice supports customer managed RAM permissions for service networks (VPC Lattice User Guide, "Share your VPC
# Lattice entities", https://docs.aws.amazon.com/vpc-lattice/latest/ug/sharing.html, read 2026-12-05), and
# ram:CreatePermission takes a policy template of Effect and Action only, Resource and Principal filled in by RAM
# (botocore ram 2018-01-04 service-2.json, CreatePermissionRequest.policyTemplate: "only actions that are supported
# by the specified resource type"). Unverified (no source lists the actions RAM accepts for this resource type):
# that it takes both; a deploy with consumers is the first to tell.
SHARED_NETWORK_ACTIONS = ("vpc-lattice:CreateServiceNetworkVpcAssociation", "vpc-lattice:GetServiceNetwork")
SHARED_NETWORK_RESOURCE_TYPE = "vpc-lattice:ServiceNetwork"
# botocore ram PermissionName: 1-36 characters of [\w.-].
MAX_PERMISSION_NAME = 36


def vpc_association_template() -> dict[str, Any]:
    return {"Effect": "Allow", "Action": list(SHARED_NETWORK_ACTIONS)}


def permission_name(share_name: str) -> str:
    """Unique per share and template: the template is create-only, so a changed one is a new permission, and the
    old one (same account and region) must not hold the name during the replacement."""
    digest = hashlib.sha256((share_name + json.dumps(vpc_association_template())).encode()).hexdigest()[:8]
    prefix = "".join(c if c.isalnum() or c in "._-" else "-" for c in share_name)[: MAX_PERMISSION_NAME - 9]
    return f"{prefix}-{digest}"


def grant_invoke(role: iam.IRole, *, provider_account: str) -> None:
    """A consumer-account caller's own half of cross-account IAM auth: Lattice admits a signed request only
    when both the service network's auth policy and the caller's identity policy allow it."""
    # The provider's own callers pass the AccountId pseudo parameter, which cdk-nag shows as <AWS::AccountId>.
    nag_account = "<AWS::AccountId>" if Token.is_unresolved(provider_account) else provider_account
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["vpc-lattice-svcs:Invoke"],
            resources=[f"arn:{Aws.PARTITION}:vpc-lattice:{Aws.REGION}:{provider_account}:service/*"],
        )
    )
    acknowledge(
        role,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:vpc-lattice:<AWS::Region>:{nag_account}:service/*]",
        "The controller creates the Lattice services (ids unknown here); only the provider account's, and the "
        "service network's auth policy decides which requests pass.",
    )


def _trust(accounts: list[str], role_name: str, organization_id: str | None) -> iam.PrincipalBase:
    """One role in each of `accounts`, named `role_name` (IAM's ArnLike wildcards allowed), in one statement
    whose size grows by one account id per consumer: the accounts as a condition list, the role by an ARN pattern
    with the account left to that list. (One principal and one role ARN per account, ~122 characters each, put 16
    consumers past the 2,048-character trust policy quota.) An ARN condition, not a role principal, so the
    trust survives the role's re-creation and needs no role to exist when this one is created."""
    condition: dict[str, Any] = {"aws:PrincipalAccount": sorted(accounts)}
    if organization_id:
        condition["aws:PrincipalOrgID"] = organization_id
    return iam.AnyPrincipal().with_conditions(
        {
            "StringEquals": condition,
            "ArnLike": {"aws:PrincipalArn": f"arn:{Aws.PARTITION}:iam::*:role/{role_name}"},
        }
    )


class ServiceNetworkShare(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        service_network_arn: str,
        hosted_zone_id: str,
        consumer_accounts: list[str],
        organization_arn: str | None,
        reader_role_name: str,
        reader_trusts: str,
        authorizer_role_name: str,
        authorizer_trusts: str,
        authorizable_vpcs: list[str],
        log_retention: logs.RetentionDays,
    ) -> None:
        """`*_trusts`: the name (pattern) of the one role in each consumer account that may assume the role;
        `authorizable_vpcs`: `route53:VPCs` values (patterns allowed) of the VPCs the authorizer may authorize."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        org = ORG_ARN_PATTERN.fullmatch(organization_arn or "")
        organization_id = org.group(1) if org else None
        # To each consumer account, never to a whole organization: an organization-wide share would let any
        # of its accounts associate VPCs. With an organization, RAM refuses accounts outside it and accepts
        # the share for those inside without an invitation.
        self.permission = ram.CfnPermission(
            self,
            "VpcAssociationOnly",
            name=permission_name(name),
            resource_type=SHARED_NETWORK_RESOURCE_TYPE,
            policy_template=vpc_association_template(),
        )
        self.share = ram.CfnResourceShare(
            self,
            "Share",
            name=name,
            resource_arns=[service_network_arn],
            principals=sorted(consumer_accounts),
            allow_external_principals=organization_arn is None,
            permission_arns=[self.permission.attr_arn],
        )
        # RAM may refuse the network for this permission, asynchronously: the stack waits and says so.
        self.associated = RamShareWaiter(
            self, "Associated", share=self.share, resource_arns=[service_network_arn], log_retention=log_retention
        )

        self.reader_role = iam.Role(
            self,
            "ReaderRole",
            role_name=reader_role_name,
            assumed_by=_trust(consumer_accounts, reader_trusts, organization_id),
            description="Consumer stacks' CloudFormation reads the Platform stack's outputs (Fn::GetStackOutput)",
        )
        stack_arn = f"arn:{Aws.PARTITION}:cloudformation:{Aws.REGION}:{Aws.ACCOUNT_ID}:stack/{stack.stack_name}/*"
        self.reader_role.add_to_policy(
            iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=[stack_arn])
        )
        acknowledge(
            self.reader_role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/{stack.stack_name}/*]",
            f"The stack id suffix of {stack.stack_name} changes when the stack is replaced; the name is fixed.",
        )

        self.authorizer_role = iam.Role(
            self,
            "ZoneAuthorizerRole",
            role_name=authorizer_role_name,
            assumed_by=_trust(consumer_accounts, authorizer_trusts, organization_id),
            description="Consumer DNS handlers authorize their VPCs on the private zone (and remove that again)",
        )
        # Only the zone owner's half: associating stays with the VPC owner, so this role alone changes nothing.
        # Narrowed by Route 53's route53:VPCs key to the consumers' VPCs (or their region, for VPCs not created
        # yet); the Null test keeps ForAllValues from passing a request without the key.
        self.authorizer_role.add_to_policy(
            iam.PolicyStatement(
                actions=["route53:CreateVPCAssociationAuthorization", "route53:DeleteVPCAssociationAuthorization"],
                resources=[f"arn:{Aws.PARTITION}:route53:::hostedzone/{hosted_zone_id}"],
                conditions={
                    "ForAllValues:StringLike": {"route53:VPCs": authorizable_vpcs},
                    "Null": {"route53:VPCs": "false"},
                },
            )
        )
        CfnOutput(stack, "ServiceNetworkShareArn", value=self.share.attr_arn)
