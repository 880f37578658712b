"""The `consumers` and `shareWithOrganization` keys: which other accounts get the service network (issue 13).

pydantic v2 models, validated once at the edge as part of the configuration (config.loader turns their errors
into the one-line `ConfigError` naming the key path, `consumers[0].region: ...`). What needs the provider's own
account and region (not known until the app's environment is: credentials, or a pipeline stage) is checked by
`check_provider` when the stacks are built.

Example (cdk.json context, or `-c 'consumers=[...]'`, where the value arrives as a JSON string):

    "consumers": [{"name": "team-b", "account": "222222222222", "vpcCidr": "10.3.0.0/16"},
                  {"name": "team-c", "account": "333333333333", "vpcId": "vpc-0123456789abcdef0",
                   "testHost": false}],
    "shareWithOrganization": "arn:aws:organizations::111111111111:organization/o-abcde12345"
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from config.errors import ConfigError
from config.limits import MAX_CIDR, MAX_CONSUMERS, MAX_PIPELINE_UNITS, MAX_REGION, MAX_VPC_ID

# Lowercase letters, digits and single hyphens, starting with a letter: it becomes part of stack names
# (EksLatticeGateway-Consumer-<name>), IAM role names and a RAM share's principal list. 20 keeps the longest
# derived name (a pipeline stage's consumer role) readable before the hashed shortening kicks in.
NAME_PATTERN = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,19}$")
ACCOUNT_PATTERN = re.compile(r"^\d{12}$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
VPC_ID_PATTERN = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
ORG_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:organizations::\d{12}:organization/(o-[a-z0-9]{10,32})$")
# Like clientVpcCidr: two isolated subnets of a quarter each need at least a /26.
MIN_PREFIX, MAX_PREFIX = 16, 26


def _custom(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


class Consumer(BaseModel):
    """One consumer account: it gets the service network through RAM, and a stack of its own."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, alias_generator=to_camel)

    name: str = Field(
        json_schema_extra={"maxLength": 20},
        description="Consumer name; part of its stack name EksLatticeGateway-Consumer-<name>",
    )
    account: str = Field(
        json_schema_extra={"maxLength": 12}, description="The consumer's AWS account id (12 digits, as a string)"
    )
    region: str | None = Field(
        default=None,
        json_schema_extra={"maxLength": MAX_REGION},
        description="Must equal the app's region (service network sharing is regional)",
    )
    vpc_cidr: str | None = Field(
        default=None,
        json_schema_extra={"maxLength": MAX_CIDR},
        description="Create an isolated consumer VPC with this CIDR",
    )
    vpc_id: str | None = Field(
        default=None,
        json_schema_extra={"maxLength": MAX_VPC_ID},
        description="Use this existing VPC (looked up at deploy time only; synth stays hermetic)",
    )
    test_host: bool = Field(default=True, description="An SSM-managed test host in the consumer VPC")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise _custom(
                "name", f"{value!r} must be 1-20 lowercase letters, digits and single hyphens, starting with a letter"
            )
        return value

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        if not ACCOUNT_PATTERN.fullmatch(value):
            raise _custom("account", f"{value!r} is not an AWS account id (12 digits, as a string)")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not (REGION_PATTERN.fullmatch(value) and len(value) <= MAX_REGION):
            raise _custom("region", f"{value!r} is not an AWS region (like ap-northeast-2)")
        return value

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as err:
            raise _custom("cidr", f"{value!r} is not an IPv4 CIDR block ({err})") from None
        if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
            raise _custom("cidr", f"{value} is a /{net.prefixlen}; a consumer VPC needs /{MIN_PREFIX} to /{MAX_PREFIX}")
        if not net.is_private:
            raise _custom("cidr", f"{value} is not a private address range (RFC 1918)")
        return value

    @field_validator("vpc_id")
    @classmethod
    def _vpc_id(cls, value: str | None) -> str | None:
        if value is not None and not VPC_ID_PATTERN.fullmatch(value):
            raise _custom("vpc_id", f"{value!r} is not a VPC id (vpc- and 8 or 17 hex digits)")
        return value

    @model_validator(mode="after")
    def _one_vpc(self) -> Consumer:
        if (self.vpc_cidr is None) == (self.vpc_id is None):
            raise _custom("vpc", "give exactly one of vpcCidr (create a VPC) or vpcId (use an existing one)")
        return self

    @property
    def network(self) -> ipaddress.IPv4Network | None:
        return ipaddress.IPv4Network(self.vpc_cidr) if self.vpc_cidr else None


class Sharing(BaseModel):
    """Every consumer, and whether RAM shares stay inside one organization."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, alias_generator=to_camel)

    consumers: tuple[Consumer, ...] = Field(
        default=(), max_length=MAX_CONSUMERS, description="Accounts the service network is shared with"
    )
    share_with_organization: str | None = Field(
        default=None,
        description="An organization ARN: RAM shares then stay inside it (allowExternalPrincipals: false)",
    )

    @field_validator("consumers", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        # Strict mode wants a tuple; JSON gives a list. Anything else is refused by the field's own check.
        return tuple(value) if isinstance(value, list) else value

    @field_validator("consumers")
    @classmethod
    def _distinct(cls, consumers: tuple[Consumer, ...], info: ValidationInfo) -> tuple[Consumer, ...]:
        taken: dict[str, ipaddress.IPv4Network] = dict((info.context or {}).get("app_cidrs", {}))
        for index, field, why in consumer_problems(consumers, taken):
            raise _custom("consumers", f"consumers[{index}].{field}: {why}")
        return consumers

    @field_validator("share_with_organization")
    @classmethod
    def _org(cls, value: str | None) -> str | None:
        if value is not None and not ORG_ARN_PATTERN.fullmatch(value):
            raise _custom(
                "organization",
                f"{value!r} is not an organization ARN (arn:aws:organizations::<account>:organization/o-...)",
            )
        return value

    @property
    def organization_id(self) -> str | None:
        match = ORG_ARN_PATTERN.fullmatch(self.share_with_organization or "")
        return match.group(1) if match else None


def consumer_problems(
    consumers: Sequence[Consumer], app_cidrs: Mapping[str, ipaddress.IPv4Network]
) -> list[tuple[int, str, str]]:
    """(index, field alias, reason) for each consumer that repeats a name or an account, or whose VPC range
    overlaps one of `app_cidrs` ({"clusterVpcCidr": network, ...}) or an earlier consumer's."""
    problems: list[tuple[int, str, str]] = []
    names: dict[str, int] = {}
    accounts: dict[str, int] = {}
    taken = dict(app_cidrs)
    for i, consumer in enumerate(consumers):
        if consumer.name in names:
            problems.append((i, "name", f"duplicate name {consumer.name!r} (consumers[{names[consumer.name]}])"))
        names.setdefault(consumer.name, i)
        if consumer.account in accounts:
            # One account, one consumer: the RAM share and the auth policy work per account.
            why = f"account {consumer.account} is already consumers[{accounts[consumer.account]}]"
            problems.append((i, "account", why))
        accounts.setdefault(consumer.account, i)
        net = consumer.network
        if net is None:
            continue
        clash = next((f"{net} overlaps {key} ({other})" for key, other in taken.items() if net.overlaps(other)), None)
        if clash:
            problems.append((i, "vpcCidr", clash))
        taken[f"consumers[{i}].vpcCidr"] = net
    return problems


def check_provider(sharing: Sharing, *, account: str | None, region: str | None) -> None:
    """What needs the provider's environment: its account and region must be known, the consumers' differ
    from the account and equal the region. Raises ConfigError naming the consumer's key."""
    if not sharing.consumers:
        return
    if not account or not region:
        raise ConfigError(
            "consumers",
            "sharing with consumer accounts needs the provider's account and region at synth time: synthesize "
            "with credentials (CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION) or through a pipeline stage with both",
        )
    for i, consumer in enumerate(sharing.consumers):
        if consumer.account == account:
            raise ConfigError(
                f"consumers[{i}].account",
                f"{account} is the app's own account; its VPCs are associated directly (clientVpcCidr), not shared",
            )
        if consumer.region is not None and consumer.region != region:
            raise ConfigError(
                f"consumers[{i}].region",
                f"{consumer.region} differs from the app's region {region}: service network sharing is regional "
                "(RAM shares a service network within its own region only)",
            )


def check_pipeline_stages(sharing: Sharing, *, stages: Sequence[str]) -> None:
    """Every pipeline stage deploys every consumer. An existing VPC (`vpcId`) lives in one region and joins one
    service network (SPEC §9 limits), so a second stage's copy always fails (the VPC is another stage's network's
    already, or not in that region): refused with more than one stage. Raises ConfigError naming the key."""
    units = len(stages) * (len(sharing.consumers) + 1)
    if units > MAX_PIPELINE_UNITS:
        # The pipeline's own stack grows with both (config/limits.py): name the key the user most likely grew.
        key = "consumers" if sharing.consumers else "pipeline.stages"
        raise ConfigError(
            key,
            f"{len(stages)} pipeline stages x ({len(sharing.consumers)} consumers + 1) = {units} exceeds "
            f"{MAX_PIPELINE_UNITS}: the pipeline's stack would pass CloudFormation's 1 MB template or 500 resources; "
            "use fewer stages or consumers, or a second pipeline",
        )
    if len(stages) < 2:
        return
    for i, consumer in enumerate(sharing.consumers):
        if consumer.vpc_id is not None:
            raise ConfigError(
                f"consumers[{i}].vpcId",
                f"{consumer.vpc_id} would join the service network of each of the pipeline's {len(stages)} stages "
                f"({', '.join(stages)}), but a VPC joins only one and lives in one region: use vpcCidr (each stage "
                "creates its own consumer VPC), or a pipeline with one stage",
            )
