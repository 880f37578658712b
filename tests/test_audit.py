"""`make audit` (tools/audit.py): every leftover of a deployment, in its account and its consumers', and nothing of
another deployment.

moto holds the types it serves (CloudFormation, Route 53, EC2 ENIs, CloudWatch Logs, IAM, RAM, EKS, KMS); moto
5.2.5's vpc-lattice has no ListTargetGroups, ListServiceNetworkVpcAssociations or
ListServiceNetworkServiceAssociations, so Lattice is tests/support/fake_lattice.py (the real boto3 client over
HTTP, pages of two). Each type gets a leftover of this run and a decoy of another deployment (`e2e-other1`); every
list is read one item per page, so a collector that ignores the next token misses leftovers here.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from tests.conftest import clear_credential_sources, moto_in
from tests.support.fake_lattice import FakeLattice
from tests.support.local_aws import local_client
from tools import audit
from tools.audit import Identity, Where

REGION = "us-east-1"
PROVIDER, CONSUMER = "111111111111", "222222222222"
RUN, OTHER = "e2e-abc123", "e2e-other1"
ME = Identity(RUN, RUN, RUN, f"{RUN}.example.com")


@pytest.fixture
def accounts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with moto_in(monkeypatch, REGION):
        yield


@pytest.fixture
def lattice() -> Iterator[FakeLattice]:
    with FakeLattice(page_size=1) as fake:
        yield fake


def in_account(account: str) -> boto3.session.Session:
    creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/admin", RoleSessionName="setup")
    c = creds["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
        region_name=REGION,
    )


def seed(session: boto3.session.Session, prefix: str) -> None:
    """One of each moto-served type, named as a deployment with `prefix` names it."""
    cfn = session.client("cloudformation")
    marker = {"Resources": {"M": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    cfn.create_stack(StackName=f"{prefix}-Platform", TemplateBody=json.dumps(marker))
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.0.0/24")["Subnet"]["SubnetId"]
    ec2.create_network_interface(SubnetId=subnet, Description=f"Amazon EKS {prefix}")
    ec2.create_network_interface(SubnetId=subnet, Description=f"AWS Lambda VPC ENI-{prefix}-Gateway-Dns-1a2b3c")
    route53 = session.client("route53")
    zone = route53.create_hosted_zone(
        Name=f"{prefix}.example.com",
        CallerReference=prefix,
        HostedZoneConfig={"Comment": "x", "PrivateZone": True},
        VPC={"VPCRegion": REGION, "VPCId": vpc},
    )["HostedZone"]["Id"]
    record = {"Name": f"api.{prefix}.example.com", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x.y"}]}
    route53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]}
    )
    logs = session.client("logs")
    for name in (
        f"/aws/lambda/{prefix}-Gateway-Dns-1a2b",
        f"/aws/eks/{prefix}/cluster",
        f"/aws/vendedlogs/vpclattice/{prefix}",
    ):
        logs.create_log_group(logGroupName=name)
    iam = session.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for i in range(3):  # several, so one-per-page paging is exercised
        iam.create_role(RoleName=f"{prefix}-Platform-Role{i}", AssumeRolePolicyDocument=trust)
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
    )
    iam.create_policy(PolicyName=f"{prefix}-Gateway-Managed", PolicyDocument=document)
    session.client("ram").create_resource_share(name=f"{prefix}-Platform-share")
    session.client("eks").create_cluster(
        name=prefix, roleArn=f"arn:aws:iam::{PROVIDER}:role/x", resourcesVpcConfig={"subnetIds": [subnet]}
    )
    kms = session.client("kms")
    kms.create_key(Description="k", Tags=[{"TagKey": audit.STACK_NAME_TAG, "TagValue": f"{prefix}-Platform"}])
    pending = kms.create_key(Description="k", Tags=[{"TagKey": audit.STACK_NAME_TAG, "TagValue": f"{prefix}-Gateway"}])
    kms.schedule_key_deletion(KeyId=pending["KeyMetadata"]["KeyId"], PendingWindowInDays=7)


def seed_lattice(fake: FakeLattice, prefix: str, account: str) -> None:
    network = fake.add_network(prefix)
    managed = {audit.MANAGED_BY_TAG: f"{account}/{prefix}/vpc-0123"}
    service, _ = fake.add_associated_service(f"{prefix}-demo-http-route-default", tags=managed, network=network)
    fake.add_target_group(f"k8s-{prefix}-demo-app-a", vpc="vpc-0123", tags=managed, services=(service,))
    fake.vpc_associations[f"snva-{prefix}"] = {
        "id": f"snva-{prefix}",
        "serviceNetworkId": network,
        "vpcId": "vpc-0123",
        "status": "ACTIVE",
    }


@pytest.fixture(autouse=True)
def _moto_takes_the_models_permission_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """ListPermissions permissionType: botocore's model (PermissionTypeFilter) has ALL, AWS_MANAGED and
    CUSTOMER_MANAGED, while its prose and moto say AWS/LOCAL. The audit sends the model's value; moto, told it
    is valid, filters it to no customer-managed permission (it has none: no CreatePermission)."""
    from moto.ram.models import ResourceAccessManagerBackend

    monkeypatch.setattr(ResourceAccessManagerBackend, "PERMISSION_TYPES",
                        [*ResourceAccessManagerBackend.PERMISSION_TYPES, "CUSTOMER_MANAGED"])  # fmt: skip


def clients(session: boto3.session.Session, fake: FakeLattice) -> Callable[[str], Any]:
    return lambda service: (
        local_client("vpc-lattice", f"http://127.0.0.1:{fake.port}")
        if service == "vpc-lattice"
        else session.client(service)
    )


EXPECTED_KINDS = {
    "cloudformation stack": 1,
    "network interface": 2,
    "route53 hosted zone": 1,
    "route53 record": 1,
    "log group": 3,
    "iam role": 3,
    "iam policy": 1,
    "ram resource share": 1,
    "eks cluster": 1,
    "kms key": 1,  # the other is pending deletion
    "lattice service network": 1,
    "lattice vpc association": 1,
    "lattice service association": 1,
    "lattice service": 1,
    "lattice target group": 1,
}


def kinds(found: list[audit.Leftover]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for leftover in found:
        counts[leftover.kind] = counts.get(leftover.kind, 0) + 1
    return counts


def test_every_type_left_by_the_run_is_found_and_nothing_of_another(accounts: None, lattice: FakeLattice) -> None:
    session = in_account(PROVIDER)
    seed(session, RUN)
    seed(session, OTHER)
    seed_lattice(lattice, RUN, PROVIDER)
    seed_lattice(lattice, OTHER, PROVIDER)
    found = audit.audit([Where(PROVIDER, REGION, clients(session, lattice))], ME, page_size=1)
    assert kinds(found) == EXPECTED_KINDS
    assert not [f for f in found if OTHER in f.name]
    assert ("ListServiceNetworks", "") in lattice.calls


def test_a_clean_account_has_nothing_left(accounts: None, lattice: FakeLattice) -> None:
    session = in_account(PROVIDER)
    seed(session, OTHER)
    seed_lattice(lattice, OTHER, PROVIDER)
    assert audit.audit([Where(PROVIDER, REGION, clients(session, lattice))], ME, page_size=1) == []


def test_every_list_call_has_a_botocore_paginator() -> None:
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    for service, operation in audit.PAGINATED:
        assert session.client(service).can_paginate(operation), (service, operation)


def test_without_credentials_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    clear_credential_sources(monkeypatch, tmp_path)  # the premise, stated here (the autouse fixture does it too)
    out, err = io.StringIO(), io.StringIO()
    assert audit.main(["--region", REGION], out=out, err=err) == 2
    assert err.getvalue() == "audit: no AWS credentials (set AWS_PROFILE or log in); nothing was listed\n"


def test_main_reads_the_consumer_accounts_through_their_lookup_role(
    accounts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider_lattice, consumer_lattice = FakeLattice(page_size=1), FakeLattice(page_size=1)
    with provider_lattice, consumer_lattice:
        seed(in_account(PROVIDER), RUN)
        consumer = in_account(CONSUMER)
        consumer.client("cloudformation").create_stack(
            StackName=f"{RUN}-Consumer-team-b",
            TemplateBody=json.dumps({"Resources": {"M": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}),
        )
        seed_lattice(consumer_lattice, RUN, PROVIDER)  # the shared network, seen from the consumer
        by_account = {PROVIDER: provider_lattice, CONSUMER: consumer_lattice}

        def lattice_of(c: Callable[[str], Any], me: Identity, size: int | None) -> Iterator[tuple[str, str]]:
            account = c("sts").get_caller_identity()["Account"]
            return audit.lattice(
                lambda _: local_client("vpc-lattice", f"http://127.0.0.1:{by_account[account].port}"), me, size
            )

        collectors = tuple(lattice_of if c is audit.lattice else c for c in audit.COLLECTORS)
        monkeypatch.setattr(audit, "COLLECTORS", collectors)
        consumers = json.dumps([{"name": "team-b", "account": CONSUMER, "vpcCidr": "10.3.0.0/16"}])
        argv = ["--region", REGION, "-c", f"stackPrefix={RUN}", "-c", f"clusterName={RUN}"]
        argv += ["-c", f"serviceNetworkName={RUN}", "-c", f"privateZoneName={RUN}.example.com"]
        argv += ["-c", f"consumers={consumers}", "-c", 'routes=[{"name":"r","hostname":"a.' + RUN + '.example.com",'
                 '"rules":[{"pathPrefix":"/","backends":[{"app":"demo-app-a"}]}]}]']  # fmt: skip
        out, err = io.StringIO(), io.StringIO()
        status = audit.main(argv, out=out, err=err, session_factory=lambda profile, region: in_account(PROVIDER))
    assert status == 1, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("audit: ") and f"{PROVIDER} ({REGION}), {CONSUMER} ({REGION})" in lines[0]
    assert any(
        line.startswith(f"  {CONSUMER} {REGION}  cloudformation stack") and "Consumer-team-b" in line for line in lines
    )
    assert any(line.startswith(f"  {CONSUMER} {REGION}  lattice vpc association") for line in lines)
    assert any(line.startswith(f"  {PROVIDER} {REGION}  eks cluster") for line in lines)


class DenyingKms:
    """The moto KMS client, but DescribeKey of one key is denied (a key whose policy does not name the caller)."""

    def __init__(self, client: Any, denied: str) -> None:
        self.client, self.denied = client, denied

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def describe_key(self, *, KeyId: str) -> Any:  # noqa: N803 - the API's parameter name
        from botocore.exceptions import ClientError

        if KeyId == self.denied:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "DescribeKey")
        return self.client.describe_key(KeyId=KeyId)


def test_an_unreadable_kms_key_is_skipped_and_named_not_an_abort(accounts: None, lattice: FakeLattice) -> None:
    session = in_account(PROVIDER)
    seed(session, RUN)
    seed_lattice(lattice, RUN, PROVIDER)
    denied = session.client("kms").create_key(Description="another team's")["KeyMetadata"]["KeyId"]
    plain = clients(session, lattice)
    kms = DenyingKms(plain("kms"), denied)

    def c(service: str) -> Any:
        return kms if service == "kms" else plain(service)

    skipped: list[audit.Leftover] = []
    found = audit.audit([Where(PROVIDER, REGION, c)], ME, page_size=1, skipped=skipped)
    assert kinds(found) == EXPECTED_KINDS  # every other key and resource still found
    assert [s.name for s in skipped] == [f"kms key {denied}: AccessDeniedException"]


LONG_PREFIX = "e2e-" + "a" * 36  # 40 characters: CloudFormation's generated names cut the stack name


def test_recorded_physical_ids_find_what_a_shortened_name_hides(mocked_aws: str) -> None:
    """Class of fault: a generated name CloudFormation cut to 64 characters no longer carries the whole stack
    prefix, so the name-based collectors miss it. The ids recorded before the destroy find every such resource
    while it exists, and nothing once it is gone."""
    session = boto3.session.Session(region_name=mocked_aws)
    me = audit.Identity(LONG_PREFIX, LONG_PREFIX, LONG_PREFIX, f"{LONG_PREFIX}.example.com")
    stack = f"{LONG_PREFIX}-Platform"
    trust = '{"Version":"2012-10-17","Statement":[]}'
    role = f"{stack[:30]}-EksClusterRole-ABCDEFGHIJKL"[:64]  # as CloudFormation shortens it
    assert not me.stack(role)
    session.client("iam").create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    group = f"/aws/lambda/{stack[:30]}-Handler-ABCDEFGHIJKL"
    session.client("logs").create_log_group(logGroupName=group)
    vpc = session.client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    recorded = [
        {"logical": "Role", "type": "AWS::IAM::Role", "physical": role},
        {"logical": "Logs", "type": "AWS::Logs::LogGroup", "physical": group},
        {"logical": "Vpc", "type": "AWS::EC2::VPC", "physical": vpc},
        {"logical": "Gone", "type": "AWS::Lambda::Function", "physical": f"{stack[:30]}-Gone-ABCDEFGHIJKL"},
        {"logical": "Topic", "type": "AWS::SNS::Topic", "physical": "arn:aws:sns:us-east-1:123456789012:t"},
    ]
    c = session.client
    names = audit.audit([Where("123456789012", mocked_aws, c)], me)
    assert role not in {x.name for x in names}  # what the names alone miss
    found = list(audit.by_ids(c, recorded))
    assert found == [("AWS::IAM::Role", role), ("AWS::Logs::LogGroup", group), ("AWS::EC2::VPC", vpc)]
    session.client("iam").delete_role(RoleName=role)
    session.client("logs").delete_log_group(logGroupName=group)
    session.client("ec2").delete_vpc(VpcId=vpc)
    assert list(audit.by_ids(c, recorded)) == []


def test_customer_managed_ram_permissions_are_listed_page_by_page() -> None:
    from botocore.stub import Stubber

    client = boto3.client("ram", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    me = audit.Identity("e2e-abc123", "e2e-abc123", "e2e-abc123", "e2e-abc123.example.com")
    arn = "arn:aws:ram:us-east-1:123456789012:permission/"
    with Stubber(client) as stub:
        stub.add_response("list_permissions", {"permissions": [
            {"arn": arn + "a", "name": "e2e-abc123-Platform-Zone", "status": "ATTACHABLE"},
            {"arn": arn + "b", "name": "e2e-zzz999-Platform-Zone", "status": "ATTACHABLE"}], "nextToken": "2"},
            {"permissionType": "CUSTOMER_MANAGED", "maxResults": 2})  # fmt: skip
        stub.add_response("list_permissions", {"permissions": [
            {"arn": arn + "c", "name": "e2e-abc123-Gateway-Share", "status": "UNATTACHABLE"}]},
            {"permissionType": "CUSTOMER_MANAGED", "maxResults": 2, "nextToken": "2"})  # fmt: skip
        found = list(audit.ram_permissions(lambda _s: client, me, 2))
        stub.assert_no_pending_responses()
    assert found == [("ram permission", "e2e-abc123-Platform-Zone (ATTACHABLE)"),
                     ("ram permission", "e2e-abc123-Gateway-Share (UNATTACHABLE)")]  # fmt: skip
