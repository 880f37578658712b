"""The names both sides of a consumer share agree on, so neither needs the other's construct tree.

The provider (Platform stack) and each consumer stack are built from the same configuration, but in a
pipeline they live in different stages (separate cloud assemblies), where CDK's own cross-stack references
cannot reach. So every value that crosses the account boundary is either derived here from configuration
(stack names, role names) or read at deploy time with `Fn::GetStackOutput` through a role the provider
creates for exactly that (never through exports).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from config.consumers import Consumer

# CloudFormation output ids of the Platform stack that consumer stacks read (Fn::GetStackOutput).
SERVICE_NETWORK_ARN_OUTPUT = "ServiceNetworkArn"
PRIVATE_ZONE_ID_OUTPUT = "PrivateZoneId"
SHARE_ARN_OUTPUT = "ServiceNetworkShareArn"
# The CDK bootstrap's qualifier (cdk bootstrap --qualifier); its CloudFormation execution role reads outputs.
DEFAULT_QUALIFIER = "hnb659fds"
# IAM role names are account-wide (not regional): each name here carries the region, so one account can hold
# the app in two regions. RoleName: 1-64 of [\w+=,.@-] (botocore iam 2010-05-08 service-2.json, roleNameType,
# read 2026-12-05); stack names and regions hold only letters, digits and '-'.
MAX_ROLE_NAME = 64


# The stack a pipeline adds beside a stage's stack in another account, `<stack>-SmokeAccess` (stacks.pipeline_stack).
SMOKE_ACCESS = "SmokeAccess"


def consumer_description_suffix(*, platform_stack: str, account: str) -> str:
    """How the description of every stack made for a consumer ends (its stack; in a pipeline, its SmokeAccess
    stack): tools/stranded.py finds a removed consumer's stacks by it. The provider's account tells two providers
    of one stack prefix apart in one consumer account."""
    return f"of the service network of {platform_stack} in account {account}"


def role_name(text: str) -> str:
    """`text` if it fits IAM's 64 characters, else a readable prefix and a stable hash of the whole."""
    if len(text) <= MAX_ROLE_NAME:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[: MAX_ROLE_NAME - 9]}-{digest}"


@dataclass(frozen=True, kw_only=True)
class SharingContract:
    """One provider environment (a stack prefix in one account and region) and its consumers."""

    stack_prefix: str
    account: str
    region: str
    consumers: tuple[Consumer, ...]
    qualifier: str = DEFAULT_QUALIFIER

    @property
    def platform_stack(self) -> str:
        return f"{self.stack_prefix}-Platform"

    @property
    def reader_role(self) -> str:
        """Provider role that consumer stacks' CloudFormation assumes to read the Platform stack's outputs."""
        return role_name(f"{self.platform_stack}-ConsumerRead-{self.region}")

    @property
    def authorizer_role(self) -> str:
        """Provider role a consumer's DNS handler assumes to authorize its VPC on the private zone."""
        return role_name(f"{self.platform_stack}-ZoneAuthorizer-{self.region}")

    def consumer_stack(self, consumer: Consumer) -> str:
        return f"{self.stack_prefix}-Consumer-{consumer.name}"

    @property
    def consumer_dns_role_name(self) -> str:
        """The DNS handler role in each consumer account, by name: the authorizer role trusts exactly this name
        in exactly the consumer accounts. The same in every consumer account (one consumer per account), so the
        trust holds one name, not one per consumer. It carries the provider's account: two providers of one stack
        prefix (in two accounts) may share with one consumer account."""
        return role_name(f"{self.stack_prefix}-ConsumerDns-{self.account}-{self.region}")

    @property
    def consumer_description_suffix(self) -> str:
        return consumer_description_suffix(platform_stack=self.platform_stack, account=self.account)

    def consumer_dns_role(self, consumer: Consumer) -> str:
        return self.consumer_dns_role_name

    def consumer_region(self, consumer: Consumer) -> str:
        return consumer.region or self.region

    def cfn_exec_role(self, consumer: Consumer) -> str:
        """The bootstrap's CloudFormation execution role in the consumer's account (without partition)."""
        account, region = consumer.account, self.consumer_region(consumer)
        return f"cdk-{self.qualifier}-cfn-exec-role-{account}-{region}"

    @property
    def cfn_exec_role_pattern(self) -> str:
        """cfn_exec_role of any consumer, for IAM's ArnLike: `?` stands for one digit of the account id (the
        trust's aws:PrincipalAccount list names the accounts)."""
        return f"cdk-{self.qualifier}-cfn-exec-role-{'?' * 12}-{self.region}"

    @property
    def authorizable_vpcs(self) -> list[str]:
        """The consumer VPCs the zone authorizer may authorize, as Route 53's `route53:VPCs` condition values
        (`VPCId=<vpc-id>,VPCRegion=<region>`, lower case: Route 53 Developer Guide, "Using IAM policy conditions
        for fine-grained access control", https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-conditions-route53.html,
        read 2026-12-05). Existing VPCs (vpcId) by id; a VPC a consumer stack creates has no id before it
        deploys, so then any VPC of the app's region (the key names no account)."""
        if any(c.vpc_id is None for c in self.consumers):
            return [f"VPCId=vpc-*,VPCRegion={self.region}"]
        return sorted(f"VPCId={c.vpc_id},VPCRegion={self.consumer_region(c)}" for c in self.consumers)
