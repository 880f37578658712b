#!/usr/bin/env python3
"""`make audit`: everything of this deployment still in the account (and its consumers' accounts); exit 1 if any.

What belongs to a deployment is read from its configuration, never guessed: its stack names start with
`stackPrefix-`, and CloudFormation names what it creates without an explicit name after the stack (roles,
policies, functions and their log groups, flow-log groups); the app names the cluster (`clusterName`), the service
network (`serviceNetworkName`, also its access-log group /aws/vendedlogs/vpclattice/<name>), the private zone
(`privateZoneName`) and the RAM share (after the stack). The AWS Gateway API Controller tags each Lattice service
and target group it creates `application-networking.k8s.aws/ManagedBy` = `<account>/<cluster>/<vpc>` (v2.1.3
pkg/aws/cloud.go getManagedByTag, as lambda/lattice_drain/handler.py reads it). CloudFormation tags what it creates
with aws:cloudformation:stack-name where the type takes tags ("The propagation of stack-level tags to resources
... varies by resource type",
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-resource-tags.html, read
2026-12-05): the KMS keys are found by it. `make e2e` audits its own run's prefix, which every one of these
names carries (tools/e2e/naming.py).

Listed, in every account and region the configuration uses (consumer accounts through their CDK bootstrap lookup
role, as tools/stranded.py reads them; `goneConsumerAccounts` are skipped and named):
CloudFormation stacks (any status but DELETE_COMPLETE); Lattice service networks, their VPC and service
associations, services and target groups; Route 53 hosted zones and their records (but the zone's own SOA and NS);
ENIs (EKS's and Lambda's, by their descriptions); log groups; IAM roles and customer-managed policies; RAM shares
(not DELETED); EKS clusters; KMS keys not pending deletion. Every list call follows its pages, through botocore's
paginator for the operation (tests/test_audit.py checks each has one in botocore's paginators-1 models).

Usage: python tools/audit.py [-c key=value ...] [--region R] [--profile P]
Exit 0 nothing left, 1 something left (listed), 2 no credentials or an account that cannot be read (one line).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the app's packages live in the repo root
    sys.path.insert(0, str(ROOT))

from tools.impact import (  # noqa: E402
    ImpactError,
    Session,
    _describe,
    aws_session,
    bootstrap_qualifier,
    caller_account,
    failure_line,
    lookup_session,
    parse_context,
)
from tools.stranded import LIVE_STATUSES  # noqa: E402
from tools.synth import cdk_json_context  # noqa: E402
from tools.tool_args import findings, parse_known, tool_parser  # noqa: E402

MANAGED_BY_TAG = "application-networking.k8s.aws/ManagedBy"  # lambda/lattice_drain/handler.py MANAGED_BY_TAG
STACK_NAME_TAG = "aws:cloudformation:stack-name"
# Each (service, operation) this lists with; botocore has a paginator for every one (tests/test_audit.py).
PAGINATED = (
    ("cloudformation", "list_stacks"),
    ("vpc-lattice", "list_service_networks"),
    ("vpc-lattice", "list_service_network_vpc_associations"),
    ("vpc-lattice", "list_service_network_service_associations"),
    ("vpc-lattice", "list_services"),
    ("vpc-lattice", "list_target_groups"),
    ("route53", "list_hosted_zones"),
    ("route53", "list_resource_record_sets"),
    ("ec2", "describe_network_interfaces"),
    ("logs", "describe_log_groups"),
    ("iam", "list_roles"),
    ("iam", "list_policies"),
    ("ram", "get_resource_shares"),
    ("eks", "list_clusters"),
    ("kms", "list_keys"),
    ("kms", "list_resource_tags"),
)
GONE_KEY_STATES = frozenset({"PendingDeletion", "PendingReplicaDeletion"})  # botocore kms KeyState enum


@dataclass(frozen=True)
class Identity:
    """The names a deployment's resources carry (from its configuration, or a run's: tools/e2e/naming.py)."""

    stack_prefix: str
    cluster_name: str
    service_network_name: str
    zone_name: str

    def stack(self, name: str) -> bool:
        return name.startswith(f"{self.stack_prefix}-")

    def managed(self, value: str) -> bool:
        """A controller ManagedBy value `<account>/<cluster>/<vpc>` of this deployment's cluster."""
        parts = value.split("/")
        return len(parts) == 3 and parts[1] == self.cluster_name

    def log_group(self, name: str) -> bool:
        return (
            self.stack_prefix in name
            or name.startswith(f"/aws/eks/{self.cluster_name}/")
            or name == f"/aws/vendedlogs/vpclattice/{self.service_network_name}"
        )

    def zone(self, name: str) -> bool:
        return name.rstrip(".") == self.zone_name.rstrip(".")


@dataclass(frozen=True)
class Leftover:
    account: str
    region: str
    kind: str
    name: str

    def line(self) -> str:
        return f"  {self.account} {self.region}  {self.kind:<28} {self.name}"


@dataclass(frozen=True)
class Where:
    account: str
    region: str
    clients: Callable[[str], Any]  # service name -> boto3 client in that account and region


def pages(client: Any, operation: str, key: str, page_size: int | None = None, **params: Any) -> Iterator[Any]:
    """Every item under `key` of every page of `operation` (botocore's paginator; `page_size` for tests)."""
    paginator = client.get_paginator(operation)
    # Only paginators with a limit key take a page size (list_stacks has none: CloudFormation sets its own).
    limit_key = getattr(paginator, "_pagination_cfg", {}).get("limit_key")
    config: dict[str, int] = {}
    if page_size and limit_key:
        shape = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation]).input_shape
        least = shape.members[limit_key].metadata.get("min", 1)  # e.g. EC2's MaxResults: at least 5
        config = {"PageSize": max(page_size, int(least))}
    for page in paginator.paginate(**params, PaginationConfig=config):
        yield from page.get(key, [])


# ------------------------------------------------------------------------------------------- per type


def stacks(c: Callable[[str], Any], me: Identity, size: int | None) -> Iterator[tuple[str, str]]:
    for s in pages(c("cloudformation"), "list_stacks", "StackSummaries", size, StackStatusFilter=list(LIVE_STATUSES)):
        if me.stack(s["StackName"]):
            yield "cloudformation stack", f"{s['StackName']} ({s['StackStatus']})"


def _tags(client: Any, arn: str) -> dict[str, str]:
    try:
        return dict(client.list_tags_for_resource(resourceArn=arn).get("tags", {}))
    except Exception as err:  # another account's resource (shared): not ours to list
        if "AccessDenied" in type(err).__name__ or "AccessDenied" in str(err):
            return {}
        raise


def lattice(c: Callable[[str], Any], me: Identity, size: int | None) -> Iterator[tuple[str, str]]:
    client = c("vpc-lattice")
    for network in pages(client, "list_service_networks", "items", size):
        if network["name"] != me.service_network_name:
            continue
        yield "lattice service network", f"{network['name']} ({network['id']})"
        for a in pages(
            client, "list_service_network_vpc_associations", "items", size, serviceNetworkIdentifier=network["id"]
        ):
            yield "lattice vpc association", f"{a['id']} ({a.get('vpcId', '?')}, {a.get('status', '?')})"
        for a in pages(
            client, "list_service_network_service_associations", "items", size, serviceNetworkIdentifier=network["id"]
        ):
            yield "lattice service association", f"{a['id']} ({a.get('serviceName', '?')}, {a.get('status', '?')})"
    for service in pages(client, "list_services", "items", size):
        if me.managed(_tags(client, service["arn"]).get(MANAGED_BY_TAG, "")):
            yield "lattice service", f"{service['name']} ({service['id']})"
    for group in pages(client, "list_target_groups", "items", size):
        if me.managed(_tags(client, group["arn"]).get(MANAGED_BY_TAG, "")):
            yield "lattice target group", f"{group['name']} ({group['id']})"


def route53(c: Callable[[str], Any], me: Identity, size: int | None) -> Iterator[tuple[str, str]]:
    client = c("route53")
    for zone in pages(client, "list_hosted_zones", "HostedZones", size):
        if not me.zone(zone["Name"]):
            continue
        zone_id = zone["Id"].rsplit("/", 1)[-1]
        yield "route53 hosted zone", f"{zone['Name']} ({zone_id})"
        for record in pages(client, "list_resource_record_sets", "ResourceRecordSets", size, HostedZoneId=zone_id):
            if record["Type"] in {"SOA", "NS"} and me.zone(record["Name"]):
                continue  # the zone's own: deleted with it
            yield "route53 record", f"{record['Name']} {record['Type']} in {zone_id}"


def enis(c: Callable[[str], Any], me: Identity, size: int | None) -> Iterator[tuple[str, str]]:
    for eni in pages(c("ec2"), "describe_network_interfaces", "NetworkInterfaces", size):
        description = str(eni.get("Description", ""))
        tags = {t["Key"]: t["Value"] for t in eni.get("TagSet", [])}
        # EKS: "Amazon EKS <cluster>"; Lambda: "AWS Lambda VPC ENI-<function name>-..." (the name starts with
        # its stack's name); or the stack's tag.
        if (
            description == f"Amazon EKS {me.cluster_name}"
            or me.stack_prefix in description
            or me.stack(tags.get(STACK_NAME_TAG, ""))
        ):
            yield "network interface", f"{eni['NetworkInterfaceId']} ({description})"


def log_groups(c: Callable[[str], Any], me: Identity, size: int | None) -> Iterator[tuple[str, str]]:
    for group in pages(c("logs"), "describe_log_groups", "logGroups", size):
        if me.log_group(group["logGroupName"]):
            yield "log group", group["logGroupName"]


def iam(c: Callable[[str], Any], me: Identity, size: int | None) -> Iterator[tuple[str, str]]:
    client = c("iam")
    for role in pages(client, "list_roles", "Roles", size):
        if me.stack(role["RoleName"]):
            yield "iam role", role["RoleName"]
    for policy in pages(client, "list_policies", "Policies", size, Scope="Local"):
        if me.stack(policy["PolicyName"]):
            yield "iam policy", policy["PolicyName"]


def ram(c: Callable[[str], Any], me: Identity, size: int | None) -> Iterator[tuple[str, str]]:
    for share in pages(c("ram"), "get_resource_shares", "resourceShares", size, resourceOwner="SELF"):
        if share.get("status") != "DELETED" and me.stack(str(share.get("name", ""))):
            yield "ram resource share", f"{share['name']} ({share.get('status')})"


def ram_permissions(c: Callable[[str], Any], me: Identity, size: int | None) -> Iterator[tuple[str, str]]:
    """Customer-managed RAM permissions (ListPermissions permissionType CUSTOMER_MANAGED, botocore 1.44.8 ram
    model PermissionTypeFilter; read 2026-12-05). botocore has no paginator for it: nextToken by hand."""
    client, token = c("ram"), None
    while True:
        page = client.list_permissions(permissionType="CUSTOMER_MANAGED", **({"nextToken": token} if token else {}),
                                       **({"maxResults": size} if size else {}))  # fmt: skip
        for permission in page.get("permissions", []):
            if me.stack(str(permission.get("name", ""))) and permission.get("status") != "DELETED":
                yield "ram permission", f"{permission['name']} ({permission.get('status')})"
        token = page.get("nextToken")
        if not token:
            return


def eks(c: Callable[[str], Any], me: Identity, size: int | None) -> Iterator[tuple[str, str]]:
    for name in pages(c("eks"), "list_clusters", "clusters", size):
        if name == me.cluster_name:
            yield "eks cluster", name


SKIPPED = "skipped"  # a collector's kind for what it could not read: named in the output, not a leftover


def kms(c: Callable[[str], Any], me: Identity, size: int | None) -> Iterator[tuple[str, str]]:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    client = c("kms")
    for key in pages(client, "list_keys", "Keys", size):
        try:  # another team's key whose policy denies this caller: named and skipped, the audit goes on
            meta = client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if meta.get("KeyManager") != "CUSTOMER" or meta.get("KeyState") in GONE_KEY_STATES:
                continue
            listed = pages(client, "list_resource_tags", "Tags", size, KeyId=key["KeyId"])
            tags = {t["TagKey"]: t["TagValue"] for t in listed}
        except ClientError as err:
            yield SKIPPED, f"kms key {key['KeyId']}: {err.response.get('Error', {}).get('Code')}"
            continue
        if me.stack(tags.get(STACK_NAME_TAG, "")):
            yield "kms key", f"{key['KeyId']} ({meta.get('KeyState')}, {tags[STACK_NAME_TAG]})"


COLLECTORS = (stacks, lattice, route53, enis, log_groups, iam, ram, ram_permissions, eks, kms)

# By physical id (recorded from ListStackResources before the destroy): the read that says whether it still exists,
# and the error codes that say it does not. A generated name CloudFormation shortened (roles and functions: 64
# characters) may have lost the prefix the name-based collectors above look for.
NOT_FOUND = frozenset({"NoSuchEntity", "ResourceNotFoundException", "NotFoundException", "InvalidVpcID.NotFound",
                       "NoSuchHostedZone", "InvalidGroup.NotFound"})  # fmt: skip
BY_ID: dict[str, tuple[str, str, Callable[[str], dict[str, Any]]]] = {
    "AWS::IAM::Role": ("iam", "get_role", lambda i: {"RoleName": i}),
    "AWS::IAM::ManagedPolicy": ("iam", "get_policy", lambda i: {"PolicyArn": i}),
    "AWS::Lambda::Function": ("lambda", "get_function", lambda i: {"FunctionName": i}),
    "AWS::EKS::Cluster": ("eks", "describe_cluster", lambda i: {"name": i}),
    "AWS::KMS::Key": ("kms", "describe_key", lambda i: {"KeyId": i}),
    "AWS::EC2::VPC": ("ec2", "describe_vpcs", lambda i: {"VpcIds": [i]}),
    "AWS::EC2::SecurityGroup": ("ec2", "describe_security_groups", lambda i: {"GroupIds": [i]}),
    "AWS::Route53::HostedZone": ("route53", "get_hosted_zone", lambda i: {"Id": i}),
    "AWS::Logs::LogGroup": ("logs", "describe_log_groups", lambda i: {"logGroupNamePrefix": i}),
}


def by_ids(c: Callable[[str], Any], resources: Iterable[Mapping[str, str]]) -> Iterator[tuple[str, str]]:
    """Each recorded resource of a type in BY_ID that still exists; what cannot be read, as SKIPPED."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    for resource in resources:
        kind, physical = str(resource.get("type", "")), str(resource.get("physical", ""))
        if kind not in BY_ID or not physical:
            continue
        service, operation, params = BY_ID[kind]
        try:
            answer = getattr(c(service), operation)(**params(physical))
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code"))
            if code not in NOT_FOUND:
                yield SKIPPED, f"{kind} {physical}: {code}"
            continue
        if kind == "AWS::Logs::LogGroup" and physical not in {g["logGroupName"] for g in answer.get("logGroups", [])}:
            continue
        if kind == "AWS::KMS::Key" and answer["KeyMetadata"].get("KeyState") in GONE_KEY_STATES:
            continue
        yield kind, physical


def audit(
    where: Sequence[Where], me: Identity, *, page_size: int | None = None, skipped: list[Leftover] | None = None
) -> list[Leftover]:
    """What is left; what could not be read goes to `skipped` (when given), never into the result."""
    found: list[Leftover] = []
    for place in where:
        for collect in COLLECTORS:
            for kind, name in collect(place.clients, me, page_size):
                item = Leftover(place.account, place.region, kind, name)
                if kind != SKIPPED:
                    found.append(item)
                elif skipped is not None:
                    skipped.append(item)
    return found


# ------------------------------------------------------------------------------------------------ CLI


def identity(context: Mapping[str, Any]) -> tuple[Identity, Any]:
    from config import parse_context as parse_app_context  # noqa: PLC0415

    config = parse_app_context(context, today=dt.date.today())
    me = Identity(config.stack_prefix, config.cluster_name, config.service_network_name, config.private_zone_name)
    return me, config


def places(session: Session, config: Any, *, region: str, qualifier: str) -> tuple[list[Where], list[str]]:
    """The provider's account and region, and each consumer's through its lookup role; the gone accounts."""
    mine = caller_account(session)
    where = [Where(mine, region, lambda service: session.client(service, region_name=region))]
    gone = list(config.gone_consumer_accounts)
    for consumer in config.consumers:
        if consumer.account in gone or consumer.account == mine:
            continue
        their_region = consumer.region or region
        try:
            theirs = lookup_session(session, account=consumer.account, region=their_region, qualifier=qualifier)
        except Exception as err:
            raise ImpactError(f"cannot read account {consumer.account} ({their_region}): {_describe(err)}") from None
        where.append(Where(consumer.account, their_region, _bind(theirs, their_region)))
    return where, gone


def _bind(session: Session, region: str) -> Callable[[str], Any]:
    return lambda service: session.client(service, region_name=region)


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    session_factory: Callable[[str | None, str | None], Session] = aws_session,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = tool_parser("audit", __doc__)
    parser.add_argument("--region", help="the provider's region (default: the profile's)")
    parser.add_argument("--profile", help="AWS profile")
    args = parse_known(parser, argv, err=err)
    try:
        context = {**cdk_json_context(), **parse_context(args.context)}
        me, config = identity(context)
        session = session_factory(args.profile, args.region)
        if session.get_credentials() is None:
            print("audit: no AWS credentials (set AWS_PROFILE or log in); nothing was listed", file=err)
            return 2
        region = args.region or session.region_name
        if not region:
            raise ImpactError(
                'no AWS region configured (pass --region: make audit ARGS="--region ..."; or set AWS_REGION)'
            )
        qualifier = bootstrap_qualifier(context)
        where, gone = places(session, config, region=region, qualifier=qualifier)
        skipped: list[Leftover] = []
        left = audit(where, me, skipped=skipped)
    except Exception as error:  # a configuration error, an ImpactError or an AWS error, in one line
        print(failure_line("audit", error), file=err)
        return 2
    accounts = ", ".join(f"{w.account} ({w.region})" for w in where)
    if gone:
        print(f"audit: not read (goneConsumerAccounts): {', '.join(gone)}", file=out)
    for item in skipped:
        print(f"audit: not readable, skipped: {item.account} {item.region} {item.name}", file=out)
    heading = f"audit: {len(left)} resource(s) of {me.stack_prefix} left in {accounts}:"
    return findings(left, heading=heading, clean=f"audit: nothing of {me.stack_prefix} is left in {accounts}", out=out)


if __name__ == "__main__":
    sys.exit(main())
