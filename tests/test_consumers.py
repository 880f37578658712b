"""Sharing the service network with consumer accounts (issue 13): configuration, the provider's share and
roles, the consumer stacks (read from the variant synthesis, which has two consumers), cfn-lint and cdk-nag."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_logs as logs
from constructs.sharing.network_share import consumer_auth_statement

from config import ConfigError, parse_context
from config.consumers import Consumer, Sharing, check_provider
from stacks.sharing import SharingContract, role_name
from stacks.system import add_consumer_stages
from tests.conftest import (
    CONSUMERS,
    ORGANIZATION_ARN,
    PROVIDER_ACCOUNT,
    PROVIDER_REGION,
    TODAY,
    VARIANT,
    Synthesized,
)
from tests.support import scans
from tests.support.smoke_assets import smoke_functions
from tests.test_compliance import CFN_LINT_IGNORES

PLATFORM = "EksLatticeGateway-Platform"
TEAM_B, TEAM_C = "EksLatticeGateway-Consumer-team-b", "EksLatticeGateway-Consumer-team-c"
B, C = "222222222222", "333333333333"


def parse(**overrides: Any) -> Any:
    return parse_context(overrides, today=TODAY)


def entry(**fields: Any) -> dict[str, Any]:
    return {"name": "team-b", "account": B, "vpcCidr": "10.3.0.0/16", **fields}


# ---------------------------------------------------------------------------------------------- config


def test_consumers_parse_from_json_text_as_c_delivers_them() -> None:
    cfg = parse(consumers=json.dumps(CONSUMERS), shareWithOrganization=ORGANIZATION_ARN)
    assert [(c.name, c.account, c.vpc_cidr, c.vpc_id, c.test_host) for c in cfg.consumers] == [
        ("team-b", B, "10.3.0.0/16", None, True),
        ("team-c", C, None, "vpc-0123456789abcdef0", False),
    ]
    assert cfg.share_with_organization == ORGANIZATION_ARN
    assert parse().consumers == () and parse().share_with_organization is None


def test_consumer_model_is_frozen_and_documented() -> None:
    consumer = Consumer.model_validate(entry())
    with pytest.raises(Exception, match="frozen"):
        consumer.name = "other"
    assert all(f.description for f in Consumer.model_fields.values())
    assert all(f.description for f in Sharing.model_fields.values())


@pytest.mark.parametrize(
    ("consumers", "key", "reason"),
    [
        ("[{", "consumers", "expected JSON (list)"),
        ({"name": "x"}, "consumers", "expected list"),
        ([entry(name="Team_B")], "consumers[0].name", "lowercase letters"),
        ([entry(name="a" * 21)], "consumers[0].name", "1-20"),
        ([entry(account="22222222222")], "consumers[0].account", "12 digits"),
        ([entry(account=222222222222)], "consumers[0].account", "expected str"),
        ([entry(region="Seoul")], "consumers[0].region", "not an AWS region"),
        ([entry(vpcCidr="10.0.0.0/8")], "consumers[0].vpcCidr", "/16 to /26"),
        ([entry(vpcCidr="10.3.0.1/16")], "consumers[0].vpcCidr", "not an IPv4 CIDR"),
        ([entry(vpcCidr="8.8.0.0/16")], "consumers[0].vpcCidr", "not a private"),
        ([entry(vpcCidr=None, vpcId="vpc-123")], "consumers[0].vpcId", "not a VPC id"),
        ([{"name": "b", "account": B}], "consumers[0]", "exactly one of vpcCidr"),
        ([entry(vpcId="vpc-0123456789abcdef0")], "consumers[0]", "exactly one of vpcCidr"),
        ([entry(testHost="yes")], "consumers[0].testHost", "expected bool"),
        ([entry(vpcCider="10.3.0.0/16")], "consumers[0].vpcCider", "did you mean 'vpcCidr'"),
        ([{"account": B, "vpcCidr": "10.3.0.0/16"}], "consumers[0].name", "is required"),
        ([entry(), entry(account=C, vpcCidr="10.4.0.0/16")], "consumers[1].name", "duplicate name 'team-b'"),
        ([entry(), entry(name="c", vpcCidr="10.4.0.0/16")], "consumers[1].account", "already consumers[0]"),
        (
            [entry(), entry(name="c", account=C, vpcCidr="10.3.128.0/17")],
            "consumers[1].vpcCidr",
            "overlaps consumers[0]",
        ),
        ([entry(vpcCidr="10.1.0.0/20")], "consumers[0].vpcCidr", "overlaps clusterVpcCidr"),
        ([entry(vpcCidr="10.2.0.0/16")], "consumers[0].vpcCidr", "overlaps clientVpcCidr"),
    ],
)
def test_bad_consumers_are_refused_naming_the_key(consumers: Any, key: str, reason: str) -> None:
    raw = consumers if isinstance(consumers, str) else json.dumps(consumers)
    with pytest.raises(ConfigError) as err:
        parse(consumers=raw)
    assert err.value.key == key
    assert reason in err.value.reason
    assert "\n" not in str(err.value)


def test_bad_organization_arn_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        parse(shareWithOrganization="o-abcde12345")
    assert err.value.key == "shareWithOrganization" and "organization ARN" in err.value.reason


@pytest.mark.parametrize(
    ("consumer", "account", "region", "key", "reason"),
    [
        (entry(region="us-east-1"), "111111111111", "ap-northeast-2", "consumers[0].region", "sharing is regional"),
        (entry(account="111111111111"), "111111111111", "ap-northeast-2", "consumers[0].account", "own account"),
        (entry(), None, None, "consumers", "provider's account and region"),
        (entry(), "111111111111", None, "consumers", "provider's account and region"),
    ],
)
def test_consumers_are_checked_against_the_providers_environment(
    consumer: dict[str, Any], account: str | None, region: str | None, key: str, reason: str
) -> None:
    sharing = Sharing.model_validate({"consumers": [consumer]})
    with pytest.raises(ConfigError) as err:
        check_provider(sharing, account=account, region=region)
    assert (err.value.key, reason in err.value.reason) == (key, True)
    check_provider(Sharing(), account=None, region=None)  # no consumers: nothing to check


def test_cli_refuses_a_consumer_in_another_region_and_writes_nothing(tmp_path: Path) -> None:
    """The acceptance check end to end through app.main: one line naming the key, no templates."""
    import contextlib
    import io

    import app as app_module
    from tools.synth import cdk_json_context

    consumers = json.dumps([entry(region="us-east-1")])
    app = cdk.App(context={**cdk_json_context(), "consumers": consumers}, outdir=str(tmp_path))
    stderr = io.StringIO()
    env = {"CDK_DEFAULT_ACCOUNT": PROVIDER_ACCOUNT, "CDK_DEFAULT_REGION": PROVIDER_REGION}
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(stderr):
        for k, v in env.items():
            mp.setenv(k, v)
        assert app_module.main(app) == 2
    (line,) = stderr.getvalue().splitlines()
    assert line.startswith("eks-lattice-gateway: invalid configuration: consumers[0].region: us-east-1 differs")
    assert not list(tmp_path.glob("*.template.json"))


def test_role_names_fit_iam_and_stay_stable() -> None:
    long = "EksLatticeGateway-" + "s" * 32 + "-Consumer-" + "c" * 20 + "-Dns"
    assert (
        len(role_name(long)) == 64 and role_name(long) == role_name(long) and role_name(long) != role_name(long + "x")
    )
    assert role_name("short") == "short"
    contract = SharingContract(
        stack_prefix="EksLatticeGateway-" + "p" * 32, account="1" * 12, region="us-east-1", consumers=()
    )
    assert len(contract.reader_role) <= 64 and len(contract.authorizer_role) <= 64
    assert len(contract.consumer_dns_role_name) <= 64 and contract.consumer_dns_role_name.startswith(
        "EksLatticeGateway-ppp"
    )


def test_consumer_auth_statement_admits_only_the_consumer_accounts() -> None:
    assert consumer_auth_statement([]) is None
    statement = consumer_auth_statement([C, B], "o-abcde12345")
    assert statement is not None
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalAccount": [B, C], "aws:PrincipalOrgID": "o-abcde12345"}
    }
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Allow",
        "*",
        "vpc-lattice-svcs:Invoke",
    )


# -------------------------------------------------------------------------------------- synthesis: provider


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_consumer_stacks_have_the_consumers_accounts_and_the_providers_region(variant: Synthesized) -> None:
    envs = {name: (s.environment.account, s.environment.region) for name, s in variant.stacks.items()}
    assert envs[TEAM_B] == (B, PROVIDER_REGION)
    assert envs[TEAM_C] == (C, PROVIDER_REGION)
    assert envs[PLATFORM] == (PROVIDER_ACCOUNT, PROVIDER_REGION)


def test_consumers_deploy_after_and_destroy_before_the_provider(variant: Synthesized) -> None:
    manifest = json.loads((variant.outdir / "manifest.json").read_text())["artifacts"]
    for name in (TEAM_B, TEAM_C):
        assert PLATFORM in manifest[name]["dependencies"]
        # Each consumer stack is deployed with its own account's bootstrap roles.
        assert f"::{variant.stacks[name].environment.account}:role/cdk-hnb659fds-deploy-role" in json.dumps(
            manifest[name]["properties"]["assumeRoleArn"]
        )


def test_ram_share_names_each_consumer_account_inside_the_organization(variant: Synthesized) -> None:
    (share,) = resources(variant.templates[PLATFORM], "AWS::RAM::ResourceShare").values()
    props = share["Properties"]
    assert props["Principals"] == [B, C]
    assert props["AllowExternalPrincipals"] is False  # shareWithOrganization is set in the variant
    (arn,) = props["ResourceArns"]
    assert arn["Fn::GetAtt"][1] == "Arn"
    assert variant.templates[PLATFORM]["Resources"][arn["Fn::GetAtt"][0]]["Type"] == "AWS::VpcLattice::ServiceNetwork"
    assert "ServiceNetworkShareArn" in variant.templates[PLATFORM]["Outputs"]


def test_acceptance_example_shares_with_external_accounts_when_no_organization(tmp_path: Path) -> None:
    """Only the provider stack's share is needed here, so only that construct is synthesized."""
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=cdk.Environment(account=PROVIDER_ACCOUNT, region=PROVIDER_REGION))
    from constructs.sharing.network_share import ServiceNetworkShare

    ServiceNetworkShare(
        stack,
        "Share",
        name="n",
        service_network_arn="arn:aws:vpc-lattice:ap-northeast-2:111111111111:servicenetwork/sn-0",
        hosted_zone_id="Z1",
        consumer_accounts=[B],
        organization_arn=None,
        reader_role_name="r",
        reader_trusts="x",
        authorizer_role_name="a",
        authorizer_trusts="y",
        authorizable_vpcs=["VPCId=vpc-*,VPCRegion=ap-northeast-2"],
        log_retention=logs.RetentionDays.ONE_WEEK,
    )
    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::RAM::ResourceShare", {"Principals": [B], "AllowExternalPrincipals": True}
    )


def test_provider_roles_trust_exactly_one_role_in_each_consumer_account(variant: Synthesized) -> None:
    roles = {
        v["Properties"]["RoleName"]: v["Properties"]
        for v in resources(variant.templates[PLATFORM], "AWS::IAM::Role").values()
        if "RoleName" in v["Properties"]
    }

    def trust(name: str) -> dict[str, Any]:
        (statement,) = roles[f"EksLatticeGateway-Platform-{name}-{PROVIDER_REGION}"]["AssumeRolePolicyDocument"][
            "Statement"
        ]
        assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
            "Allow",
            {"AWS": "*"},
            "sts:AssumeRole",
        )
        # The accounts, in the organization, as a list: one account id per consumer (issue 21 item 7).
        assert statement["Condition"]["StringEquals"] == {
            "aws:PrincipalAccount": [B, C],
            "aws:PrincipalOrgID": "o-abcde12345",
        }
        (pattern,) = statement["Condition"]["ArnLike"].values()
        assert list(statement["Condition"]) == ["StringEquals", "ArnLike"]
        return {"pattern": pattern["Fn::Join"][1], "key": next(iter(statement["Condition"]["ArnLike"]))}

    reader, authorizer = trust("ConsumerRead"), trust("ZoneAuthorizer")
    assert reader == {
        "key": "aws:PrincipalArn",
        "pattern": [
            "arn:",
            {"Ref": "AWS::Partition"},
            f":iam::*:role/cdk-hnb659fds-cfn-exec-role-{'?' * 12}-{PROVIDER_REGION}",
        ],
    }
    assert authorizer == {
        "key": "aws:PrincipalArn",
        "pattern": [
            "arn:",
            {"Ref": "AWS::Partition"},
            f":iam::*:role/EksLatticeGateway-ConsumerDns-{PROVIDER_ACCOUNT}-{PROVIDER_REGION}",
        ],
    }
    policies = {
        json.dumps(p["Properties"]["Roles"]): p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(variant.templates[PLATFORM], "AWS::IAM::Policy").values()
    }
    zone_statements = [s for stmts in policies.values() for s in stmts if "route53" in json.dumps(s["Action"])]
    (statement,) = zone_statements
    assert sorted(statement["Action"]) == [
        "route53:CreateVPCAssociationAuthorization",
        "route53:DeleteVPCAssociationAuthorization",
    ]
    assert "hostedzone/" in json.dumps(statement["Resource"]) and "*" not in json.dumps(statement["Resource"])
    # team-b's VPC is created by its stack (no id yet): any VPC of the region, never another region's.
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"route53:VPCs": [f"VPCId=vpc-*,VPCRegion={PROVIDER_REGION}"]},
        "Null": {"route53:VPCs": "false"},
    }


def test_zone_authorizer_may_authorize_only_the_consumers_vpcs() -> None:
    """Route 53's route53:VPCs key (issue 21 item 10): existing VPCs by id; new ones only by region."""
    existing = Consumer.model_validate(entry(vpcCidr=None, vpcId="vpc-0123456789abcdef0"))
    other = Consumer.model_validate(entry(name="c", account=C, vpcCidr=None, vpcId="vpc-0fedcba9"))
    new = Consumer.model_validate(entry(name="d", account="444444444444"))

    def vpcs(*consumers: Consumer) -> list[str]:
        return SharingContract(
            stack_prefix="P", account=PROVIDER_ACCOUNT, region=PROVIDER_REGION, consumers=consumers
        ).authorizable_vpcs

    assert vpcs(existing, other) == [
        f"VPCId=vpc-0123456789abcdef0,VPCRegion={PROVIDER_REGION}",
        f"VPCId=vpc-0fedcba9,VPCRegion={PROVIDER_REGION}",
    ]
    assert vpcs(existing, new) == vpcs(new) == [f"VPCId=vpc-*,VPCRegion={PROVIDER_REGION}"]


# -------------------------------------------------------------------------------------- synthesis: consumer


def stack_output_read(value: Any, output: str) -> None:
    ref = value["Fn::GetStackOutput"]
    assert (ref["StackName"], ref["OutputName"], ref["Region"]) == (PLATFORM, output, PROVIDER_REGION)
    assert f":iam::{PROVIDER_ACCOUNT}:role/EksLatticeGateway-Platform-ConsumerRead-{PROVIDER_REGION}" in json.dumps(
        ref["RoleArn"]
    )


@pytest.mark.parametrize("stack_name", [TEAM_B, TEAM_C])
def test_consumer_associates_its_vpc_with_the_shared_network_after_accepting(
    variant: Synthesized, stack_name: str
) -> None:
    template = variant.templates[stack_name]
    (assoc,) = resources(template, "AWS::VpcLattice::ServiceNetworkVpcAssociation").values()
    stack_output_read(assoc["Properties"]["ServiceNetworkIdentifier"], "ServiceNetworkArn")
    (acceptance_id,) = resources(template, "Custom::LatticeShareAcceptance")
    assert acceptance_id in assoc["DependsOn"]
    stack_output_read(template["Resources"][acceptance_id]["Properties"]["ResourceShareArn"], "ServiceNetworkShareArn")
    # The acceptance completes only once the share holds the network here (RAM associates asynchronously).
    stack_output_read(template["Resources"][acceptance_id]["Properties"]["ServiceNetworkArn"], "ServiceNetworkArn")
    (zone,) = resources(template, "Custom::CrossAccountZoneAssociation").values()
    props = zone["Properties"]
    stack_output_read(props["HostedZoneId"], "PrivateZoneId")
    assert props["ZoneName"] == "example.com"  # the handler refuses a same-name zone before authorizing
    assert props["VpcRegion"] == PROVIDER_REGION
    assert f":iam::{PROVIDER_ACCOUNT}:role/EksLatticeGateway-Platform-ZoneAuthorizer-{PROVIDER_REGION}" in json.dumps(
        props["AuthorizerRoleArn"]
    )
    assert "Export" not in json.dumps(template.get("Outputs", {})) and "Fn::ImportValue" not in json.dumps(template)


def test_new_consumer_vpc_is_isolated_with_a_test_host(variant: Synthesized) -> None:
    template = variant.templates[TEAM_B]
    for kind in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP"):
        assert resources(template, kind) == {}, kind
    (vpc,) = resources(template, "AWS::EC2::VPC").values()
    assert vpc["Properties"]["CidrBlock"] == "10.3.0.0/16"
    (zone,) = resources(template, "Custom::CrossAccountZoneAssociation").values()
    assert zone["Properties"]["VpcId"] == {"Ref": next(iter(resources(template, "AWS::EC2::VPC")))}
    assert len(resources(template, "AWS::EC2::Instance")) == 1
    assert (
        len(
            [
                e
                for e in resources(template, "AWS::EC2::VPCEndpoint").values()
                if e["Properties"]["VpcEndpointType"] == "Interface"
            ]
        )
        == 2
    )


def test_existing_consumer_vpc_is_used_by_id_and_looked_up_at_deploy_time(variant: Synthesized) -> None:
    template = variant.templates[TEAM_C]
    assert resources(template, "AWS::EC2::VPC") == {}
    assert resources(template, "AWS::EC2::Instance") == {}  # testHost: false
    assert resources(template, "AWS::EC2::VPCEndpoint") == {}  # and so no SSM endpoints
    ((lookup_id, lookup),) = resources(template, "Custom::ExistingVpc").items()
    assert lookup["Properties"]["VpcId"] == "vpc-0123456789abcdef0"
    (assoc,) = resources(template, "AWS::VpcLattice::ServiceNetworkVpcAssociation").values()
    assert assoc["Properties"]["VpcIdentifier"] == "vpc-0123456789abcdef0"
    (function,) = [f for f in resources(template, "AWS::Lambda::Function").values() if "SIGV4_REGION" in json.dumps(f)]
    assert function["Properties"]["VpcConfig"]["SubnetIds"] == [{"Fn::GetAtt": [lookup_id, "SubnetId"]}]
    manifest = json.loads((variant.outdir / "manifest.json").read_text())
    assert manifest.get("missing", []) == []  # no context lookup: synth stays hermetic


@pytest.mark.parametrize("stack_name", [TEAM_B, TEAM_C])
def test_consumer_smoke_test_signs_its_requests_and_may_invoke_the_providers_services(
    variant: Synthesized, stack_name: str
) -> None:
    template = variant.templates[stack_name]
    ((_, props, checks),) = smoke_functions(variant.outdir, {stack_name: template})
    env = props["Environment"]["Variables"]
    assert env["SIGV4_REGION"] == {"Ref": "AWS::Region"}
    hostnames = {route["hostname"] for route in VARIANT["routes"]}  # type: ignore[attr-defined]
    assert hostnames and all(any(c["url"].startswith(f"http://{h}/") for c in checks) for h in hostnames)
    assert "SmokeTestFunctionName" in template["Outputs"]  # what tools/smoke.py reads
    invoke = [
        s
        for p in resources(template, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "vpc-lattice-svcs:Invoke"
    ]
    assert invoke and all(f":{PROVIDER_ACCOUNT}:service/*" in json.dumps(s["Resource"]) for s in invoke)


def test_consumer_dns_role_has_the_name_the_provider_trusts(variant: Synthesized) -> None:
    names = [r["Properties"].get("RoleName") for r in resources(variant.templates[TEAM_B], "AWS::IAM::Role").values()]
    assert f"EksLatticeGateway-ConsumerDns-{PROVIDER_ACCOUNT}-{PROVIDER_REGION}" in names


def test_variant_with_consumers_is_cdk_nag_clean(variant: Synthesized) -> None:
    report = variant.validation_report
    assert report is not None
    nag = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert nag, [p["pluginName"] for p in report["pluginReports"]]
    assert [v["ruleName"] for p in nag for v in p["violations"]] == []


@pytest.mark.parametrize("stack_name", [PLATFORM, TEAM_B, TEAM_C])
def test_cfn_lint_finds_nothing_in_sharing_stacks(variant: Synthesized, stack_name: str) -> None:
    path = Path(variant.stacks[stack_name].template_full_path)
    findings = scans.cfn_lint(path, regions=[PROVIDER_REGION])
    assert [str(f) for f in findings if f.rule not in CFN_LINT_IGNORES] == []


def test_consumer_stage_for_a_pipeline_needs_nothing_from_the_provider_stage(tmp_path: Path) -> None:
    """A pipeline deploys consumers in their own stages (separate assemblies): only names cross over."""

    app = cdk.App(outdir=str(tmp_path))
    cfg = parse(consumers=json.dumps(CONSUMERS[:1]))
    env = cdk.Environment(account=PROVIDER_ACCOUNT, region=PROVIDER_REGION)
    (stage,) = add_consumer_stages(
        app, config=cfg, env=env, stack_prefix="EksLatticeGateway-prod", stage_prefix="prod-Consumer"
    )
    assert stage.node.id == "prod-Consumer-team-b" and (stage.account, stage.region) == (B, PROVIDER_REGION)
    assembly = stage.synth()
    (artifact,) = assembly.stacks
    assert artifact.stack_name == "EksLatticeGateway-prod-Consumer-team-b"
    template = json.loads(Path(artifact.template_full_path).read_text())
    (assoc,) = resources(template, "AWS::VpcLattice::ServiceNetworkVpcAssociation").values()
    ref = assoc["Properties"]["ServiceNetworkIdentifier"]["Fn::GetStackOutput"]
    assert ref["StackName"] == "EksLatticeGateway-prod-Platform"
    assert f"EksLatticeGateway-prod-Platform-ConsumerRead-{PROVIDER_REGION}" in json.dumps(ref["RoleArn"])
    roles = [r["Properties"].get("RoleName") for r in resources(template, "AWS::IAM::Role").values()]
    assert f"EksLatticeGateway-prod-ConsumerDns-{PROVIDER_ACCOUNT}-{PROVIDER_REGION}" in roles


def test_the_share_lets_consumers_associate_vpcs_only(variant: Synthesized) -> None:
    """Issue 20: RAM's default permission for service networks also lets consumers associate their own services
    (which then reach the provider's VPCs and hold the network's delete); the share pins a customer managed
    permission instead, with no association action but the VPC one."""
    from constructs.sharing.network_share import MAX_PERMISSION_NAME, SHARED_NETWORK_ACTIONS, permission_name

    template = variant.templates[PLATFORM]
    (share,) = resources(template, "AWS::RAM::ResourceShare").values()
    (permission_id,) = [arn["Fn::GetAtt"][0] for arn in share["Properties"]["PermissionArns"]]
    permission = template["Resources"][permission_id]
    assert permission["Type"] == "AWS::RAM::Permission"
    props = permission["Properties"]
    assert props["ResourceType"] == "vpc-lattice:ServiceNetwork"
    assert props["PolicyTemplate"] == {"Effect": "Allow", "Action": list(SHARED_NETWORK_ACTIONS)}
    # The class: every action the consumers get that creates an association is the VPC association.
    creates = [a for a in SHARED_NETWORK_ACTIONS if "Association" in a or not a.split(":")[1].startswith("Get")]
    assert creates == ["vpc-lattice:CreateServiceNetworkVpcAssociation"]
    assert "Resource" not in props["PolicyTemplate"] and "Principal" not in props["PolicyTemplate"]
    # Unique per share (two stages in one account) and within RAM's 36 characters, even for a long share name.
    assert props["Name"] == permission_name(share["Properties"]["Name"])
    long = permission_name("Prod-EksLatticeGateway-Platform-service-network")
    assert len(long) <= MAX_PERMISSION_NAME and long != permission_name("EksLatticeGateway-Platform-service-network")


# ------------------------------------------------------------------- every documented consumer shape (issue 21)


def consumer_shapes() -> list[tuple[str, dict[str, Any], str | None]]:
    """{vpcCidr, vpcId} x every bool field of Consumer at both values x shareWithOrganization set or not: the
    shapes the README's field table documents, generated from the model so a new flag joins by itself."""
    flags = sorted(name for name, f in Consumer.model_fields.items() if f.annotation is bool)
    assert flags == ["test_host"]  # a new flag: extend the README's table, then this test covers it too
    vpcs = [{"vpcCidr": "10.3.0.0/16"}, {"vpcId": "vpc-0123456789abcdef0"}]
    shapes = []
    for vpc in vpcs:
        for test_host in (True, False):
            for org in (ORGANIZATION_ARN, None):
                label = f"{next(iter(vpc))}-testHost={test_host}-org={org is not None}"
                shapes.append((label, {"name": "team-b", "account": B, **vpc, "testHost": test_host}, org))
    return shapes


@pytest.mark.parametrize(("consumer", "org"), [s[1:] for s in consumer_shapes()], ids=[s[0] for s in consumer_shapes()])
def test_every_documented_consumer_shape_synthesizes_on_its_own_or_is_refused_naming_the_key(
    tmp_path: Path, consumer: dict[str, Any], org: str | None
) -> None:
    """A consumer stage synthesized alone (as a pipeline's consumer wave does), with cdk-nag: a clean assembly,
    or a ConfigError naming a consumers key; never another exception (issue 21: two shapes crashed)."""
    import cdk_nag

    context: dict[str, Any] = {"consumers": json.dumps([consumer])}
    if org:
        context["shareWithOrganization"] = org
    app = cdk.App(outdir=str(tmp_path))
    try:
        cfg = parse(**context)
        (stage,) = add_consumer_stages(
            app,
            config=cfg,
            env=cdk.Environment(account=PROVIDER_ACCOUNT, region=PROVIDER_REGION),
            stack_prefix="EksLatticeGateway-dev",
            stage_prefix="dev-Consumer",
        )
        cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
        assembly = app.synth()
    except ConfigError as err:
        refused: ConfigError | None = err
    else:
        refused = None
    if refused is not None:
        assert refused.key.startswith(("consumers", "shareWithOrganization")), str(refused)
        return
    (artifact,) = assembly.get_nested_assembly(stage.artifact_id).stacks
    template = json.loads(Path(artifact.template_full_path).read_text())
    assert len(resources(template, "AWS::EC2::Instance")) == int(consumer["testHost"])
    assert len(resources(template, "AWS::EC2::VPC")) == int("vpcCidr" in consumer)


# ----------------------------------------------------------- uniqueness across stages and regions (issue 21)


def test_no_two_stages_of_the_pipeline_claim_one_account_wide_name_or_vpc_link(two_stages: Any) -> None:
    """Every (account, region, key) of every stage's assembly, consumers' stages included, is claimed once."""
    from tests.support import uniqueness

    claimed = [key for key, _ in uniqueness.keys(two_stages.outdir)]
    kinds = Counter(kind for _, _, kind, _ in claimed)
    # Both stages' consumers link their VPCs: the check sees them (two stages x two consumers).
    assert kinds["vpc->service network"] >= 4 and kinds["vpc->zone name"] >= 4 and kinds["AWS::IAM::Role"] >= 8
    assert uniqueness.duplicates(two_stages.outdir) == {}


def test_one_account_in_two_regions_claims_no_iam_name_twice(
    variant: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`make deploy` of one configuration in two regions of one account (item 6): IAM names are account-wide."""
    from tests.conftest import cached_synthesis
    from tests.support import uniqueness

    # The variant's zone ids are its own region's (apne2-az*): us-east-1 takes the region's default zones.
    elsewhere = {k: v for k, v in VARIANT.items() if k != "availabilityZones"}
    # Synthesized (no cdk-nag) once, then read from the synthesis cache (its key holds these inputs).
    outdir = cached_synthesis(tmp_path_factory, "variant-us-east-1", elsewhere, (PROVIDER_ACCOUNT, "us-east-1")).outdir
    names = [k for k, _ in uniqueness.keys(outdir) if k[1] == "global"]
    assert any("ZoneAuthorizer" in k[3] for k in names) and any(
        k[3].endswith(f"ConsumerDns-{PROVIDER_ACCOUNT}-us-east-1") for k in names
    )
    assert uniqueness.duplicates(variant.outdir, outdir) == {}


def test_two_providers_sharing_with_one_consumer_account_claim_no_name_twice(tmp_path: Path) -> None:
    """Two providers of the default stack prefix, in two accounts, each with a consumer in account B (review of
    issue 21): the consumer side's account-wide names carry the provider's account."""
    from tests.support import uniqueness

    outdirs = []
    for provider, name, cidr in (
        (PROVIDER_ACCOUNT, "team-b", "10.3.0.0/16"),
        ("999999999999", "team-q", "10.5.0.0/16"),
    ):
        app = cdk.App(outdir=str(tmp_path / provider))
        cfg = parse(consumers=json.dumps([entry(name=name, vpcCidr=cidr)]))
        env = cdk.Environment(account=provider, region=PROVIDER_REGION)
        add_consumer_stages(app, config=cfg, env=env, stack_prefix="EksLatticeGateway", stage_prefix="Consumer")
        app.synth()
        outdirs.append(tmp_path / provider)
    claimed = [k for k, _ in uniqueness.keys(outdirs[0]) if k[0] == B and k[1] == "global"]
    assert any("ConsumerDns" in k[3] for k in claimed)
    assert uniqueness.duplicates(*outdirs) == {}


def test_one_pipeline_configuration_in_two_regions_of_one_account_claims_no_name_twice(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """pipeline.region us-east-1 and us-west-2, one account, stages following the pipeline's region (review of
    issue 21): every IAM name the pipelines and their stages claim carries a region. Each synthesized once, then read
    from the synthesis cache (tests/support/region_pipelines.py builds them)."""
    import functools

    from tests.conftest import cached_assembly
    from tests.support import region_pipelines, uniqueness

    consumers = [entry()]
    outdirs = [
        cached_assembly(
            tmp_path_factory,
            f"pipeline-region-{region}",
            functools.partial(region_pipelines.synthesize, region=region, consumers=consumers),
            [region, consumers],
        )
        for region in region_pipelines.REGIONS
    ]
    names = [k[3] for k, _ in uniqueness.keys(outdirs[0]) if k[1] == "global"]
    assert any("-Smoke-" in n for n in names) and any("SmokeAccess" in n for n in names)
    assert uniqueness.duplicates(*outdirs) == {}


def test_a_pipeline_of_several_stages_refuses_an_existing_consumer_vpc(tmp_path: Path) -> None:
    """vpcId names one VPC in one region, which joins one service network: a second stage could never link it."""
    from config.pipeline import parse_pipeline
    from stacks.pipeline_stack import add_pipeline
    from tests.conftest import TWO_STAGES

    app = cdk.App(outdir=str(tmp_path))
    cfg = parse(consumers=json.dumps(CONSUMERS))
    with pytest.raises(ConfigError) as caught:
        add_pipeline(
            app,
            config=cfg,
            pipeline=parse_pipeline(TWO_STAGES),
            env=cdk.Environment(account="111111111111", region="us-east-1"),
        )
    assert caught.value.key == "consumers[1].vpcId" and "joins only one" in caught.value.reason
    one = {**TWO_STAGES, "stages": TWO_STAGES["stages"][:1]}
    add_pipeline(
        cdk.App(outdir=str(tmp_path / "one")),
        config=cfg,
        pipeline=parse_pipeline(one),
        env=cdk.Environment(account="111111111111", region="us-east-1"),
    )


# ------------------------------------------------------------ policy sizes at the configured maxima (issue 21)


# The list-shaped keys of config/schema.json without a maximum, and why the documents they feed are safe.
def list_keys(schema: dict[str, Any]) -> dict[str, int | None]:
    """Every array-valued key of the configuration schema (paths like routes[].rules) -> its maxItems."""
    defs = schema.get("$defs", {})
    found: dict[str, int | None] = {}

    def walk(node: Any, path: str, seen: tuple[str, ...]) -> None:
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(defs[name], path, (*seen, name))
        if node.get("type") == "array":
            found[path] = node.get("maxItems")
            walk(node.get("items", {}), f"{path}[]", seen)
        for key in ("anyOf", "oneOf", "allOf"):
            for option in node.get(key, []):
                walk(option, path, seen)
        for key, child in node.get("properties", {}).items():
            walk(child, f"{path}.{key}".lstrip("."), seen)

    walk(schema["properties"]["context"], "", ())
    return found


def test_every_list_key_has_a_maximum_or_a_reason() -> None:
    from tools.config_docs import ROOT as DOCS_ROOT

    keys = list_keys(json.loads((DOCS_ROOT / "config" / "schema.json").read_text()))
    assert keys["consumers"] == 50 and keys["availabilityZones"] == 3
    # Every list has one since issue 24 (config/limits.py); tests/test_largest_config.py synthesizes them all.
    assert {k for k, v in keys.items() if v is None} == set()


def test_every_synthesized_policy_fits_its_limit(synth: Synthesized, variant: Synthesized, two_stages: Any) -> None:
    from tests.support import policy_sizes, uniqueness

    pipeline = {name: template for name, _, _, template in uniqueness.stacks(two_stages.outdir)}
    for templates in (synth.templates, variant.templates, pipeline):
        assert policy_sizes.oversized(templates) == []
