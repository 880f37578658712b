"""Fine-grained assertions on the platform stack: network, Lattice, DNS, client host, cluster."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions
from constructs.smoke.client_host import image_parameter

from tests.conftest import Synthesized

STACK = "EksLatticeGateway-Platform"


@pytest.fixture(scope="module")
def template(synth: Synthesized) -> assertions.Template:
    return assertions.Template.from_json(synth.templates[STACK])


def resources(synth: Synthesized, kind: str) -> dict[str, Any]:
    return {k: v for k, v in synth.templates[STACK]["Resources"].items() if v["Type"] == kind}


def test_two_vpcs_one_nat_gateway_and_flow_logs_on_both(template: assertions.Template) -> None:
    template.resource_count_is("AWS::EC2::VPC", 2)
    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.1.0.0/16"})
    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.2.0.0/16"})
    template.resource_count_is("AWS::EC2::NatGateway", 1)
    template.resource_count_is("AWS::EC2::InternetGateway", 1)  # the client VPC has none
    template.resource_count_is("AWS::EC2::FlowLog", 2)


def test_cluster_subnets_are_tagged_for_eks(template: assertions.Template) -> None:
    template.has_resource_properties(
        "AWS::EC2::Subnet",
        {"Tags": assertions.Match.array_with([{"Key": "kubernetes.io/role/internal-elb", "Value": "1"}])},
    )
    template.has_resource_properties(
        "AWS::EC2::Subnet", {"Tags": assertions.Match.array_with([{"Key": "kubernetes.io/role/elb", "Value": "1"}])}
    )


def test_client_vpc_reaches_ssm_through_endpoints_in_one_az(synth: Synthesized) -> None:
    endpoints = resources(synth, "AWS::EC2::VPCEndpoint").values()
    interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
    # "com.amazonaws.<region>.<service>": the service is the last part of the joined name.
    services = sorted(e["Properties"]["ServiceName"]["Fn::Join"][1][-1] for e in interface)
    assert services == [".ssm", ".ssmmessages"]  # ec2messages is only older agents' fallback
    assert all(len(e["Properties"]["SubnetIds"]) == 1 for e in interface)


def test_service_network_with_iam_auth_admits_only_this_accounts_signed_callers(
    synth: Synthesized, template: assertions.Template
) -> None:
    """Issue 12: by default no statement admits anonymous (unsigned) callers; each needs a principal account,
    which unsigned requests do not have. The per-route policies (IAMAuthPolicy) decide who of them gets in."""
    template.has_resource_properties("AWS::VpcLattice::ServiceNetwork", {"Name": "demo-sn", "AuthType": "AWS_IAM"})
    (policy,) = resources(synth, "AWS::VpcLattice::AuthPolicy").values()
    assert policy["Properties"]["Policy"]["Statement"] == [
        {
            "Sid": "ThisAccount",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "vpc-lattice-svcs:Invoke",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}},
        }
    ]
    assert "SourceVpc" not in json.dumps(policy)


def test_both_vpcs_are_associated_with_http_only_security_groups(synth: Synthesized) -> None:
    associations = resources(synth, "AWS::VpcLattice::ServiceNetworkVpcAssociation").values()
    assert sorted(a["Properties"]["VpcIdentifier"]["Ref"] for a in associations) == sorted(
        resources(synth, "AWS::EC2::VPC")
    )
    groups = resources(synth, "AWS::EC2::SecurityGroup")
    for association in associations:
        (sg_ref,) = association["Properties"]["SecurityGroupIds"]
        rules = groups[sg_ref["Fn::GetAtt"][0]]["Properties"]["SecurityGroupIngress"]
        assert sorted((r["FromPort"], r["CidrIp"]) for r in rules) in (
            [(80, "10.1.0.0/16"), (443, "10.1.0.0/16")],
            [(80, "10.2.0.0/16"), (443, "10.2.0.0/16")],
        )


def test_access_logs_go_to_a_log_group_with_retention(synth: Synthesized, template: assertions.Template) -> None:
    (subscription,) = resources(synth, "AWS::VpcLattice::AccessLogSubscription").values()
    group_id = subscription["Properties"]["DestinationArn"]["Fn::GetAtt"][0]
    group = resources(synth, "AWS::Logs::LogGroup")[group_id]["Properties"]
    assert group["LogGroupName"] == "/aws/vendedlogs/vpclattice/demo-sn"
    assert group["RetentionInDays"] == 30


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_vended_log_destinations_are_under_aws_vendedlogs(request: pytest.FixtureRequest, which: str) -> None:
    """Log delivery appends every other destination group's ARN to the account's one CloudWatch Logs resource
    policy (5,120 characters at most); /aws/vendedlogs/ is covered by one wildcard statement."""
    app: Synthesized = request.getfixturevalue(which)
    seen = 0
    for template in app.templates.values():
        groups = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Logs::LogGroup"}
        for resource in template["Resources"].values():
            if resource["Type"] in ("AWS::VpcLattice::AccessLogSubscription", "AWS::Logs::DeliveryDestination"):
                props = resource["Properties"]
                target = props.get("DestinationArn") or props.get("DestinationResourceArn")
                group_id = target["Fn::GetAtt"][0]
                assert groups[group_id]["Properties"]["LogGroupName"].startswith("/aws/vendedlogs/"), group_id
                seen += 1
    assert seen >= 1


def test_network_deletion_waits_for_lattice_to_release_associations(synth: Synthesized) -> None:
    (waiter_id,) = [
        k for k, v in synth.templates[STACK]["Resources"].items() if v["Type"] == "Custom::LatticeServiceNetworkDrain"
    ]
    for association in resources(synth, "AWS::VpcLattice::ServiceNetworkVpcAssociation").values():
        assert waiter_id in association["DependsOn"]


def test_iam_auth_none_has_no_auth_policy(variant: Synthesized) -> None:
    template = assertions.Template.from_json(variant.templates[STACK])
    template.resource_count_is("AWS::VpcLattice::AuthPolicy", 0)
    template.has_resource_properties("AWS::VpcLattice::ServiceNetwork", {"AuthType": "NONE"})


def test_private_zone_is_associated_with_both_vpcs(synth: Synthesized) -> None:
    (zone,) = resources(synth, "AWS::Route53::HostedZone").values()
    assert zone["Properties"]["Name"] == "example.com."
    assert sorted(v["VPCId"]["Ref"] for v in zone["Properties"]["VPCs"]) == sorted(resources(synth, "AWS::EC2::VPC"))


def _client_host(synth: Synthesized) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(instance logical id, instance properties, its launch template's LaunchTemplateData)."""
    ((instance_id, instance),) = resources(synth, "AWS::EC2::Instance").items()
    template_id = instance["Properties"]["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
    launch = resources(synth, "AWS::EC2::LaunchTemplate")[template_id]["Properties"]["LaunchTemplateData"]
    return instance_id, instance["Properties"], launch


def test_client_host_is_locked_down(synth: Synthesized) -> None:
    _, props, launch = _client_host(synth)
    assert "KeyName" not in props and "KeyName" not in launch
    (device,) = launch["BlockDeviceMappings"]
    assert device["Ebs"]["Encrypted"] is True
    assert launch["MetadataOptions"]["HttpTokens"] == "required"
    assert props["Monitoring"] is True
    (sg,) = launch["SecurityGroupIds"]
    group = resources(synth, "AWS::EC2::SecurityGroup")[sg["Fn::GetAtt"][0]]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert "bind-utils" in str(launch["UserData"])


def test_client_host_boots_after_every_client_vpc_endpoint(synth: Synthesized) -> None:
    """dnf needs the S3 gateway endpoint's route and the SSM agent its endpoints before the one-shot user data."""
    instance_id, _, _ = _client_host(synth)
    (client_vpc,) = [
        k for k, v in resources(synth, "AWS::EC2::VPC").items() if v["Properties"]["CidrBlock"] == "10.2.0.0/16"
    ]
    endpoints = {
        k
        for k, v in resources(synth, "AWS::EC2::VPCEndpoint").items()
        if v["Properties"]["VpcId"] == {"Ref": client_vpc}
    }
    kinds = {
        resources(synth, "AWS::EC2::VPCEndpoint")[k]["Properties"].get("VpcEndpointType", "Gateway") for k in endpoints
    }
    assert kinds == {"Gateway", "Interface"}
    depends_on = synth.templates[STACK]["Resources"][instance_id].get("DependsOn", [])
    assert set(endpoints) <= set(depends_on)


def _run_user_data(script: str, tmp_path: Path, failures: int) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the host's user data with `dnf` failing `failures` times, then succeeding; `sleep` only recorded."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    (bin_dir / "dnf").write_text(
        f'#!/bin/bash\necho "dnf $*" >> {log}\nn=$(grep -c ^dnf {log})\n[ "$n" -gt {failures} ]\n'
    )
    (bin_dir / "sleep").write_text(f'#!/bin/bash\necho "sleep $*" >> {log}\n')
    for tool in ("dnf", "sleep"):
        (bin_dir / tool).chmod(0o755)
    result = subprocess.run(
        ["/bin/bash", "-c", script],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result, log.read_text().splitlines()


@pytest.mark.parametrize(("failures", "ok"), [(0, True), (2, True), (5, True), (6, False)])
def test_client_host_install_is_retried(synth: Synthesized, tmp_path: Path, failures: int, ok: bool) -> None:
    _, _, launch = _client_host(synth)
    script = launch["UserData"]["Fn::Base64"]
    result, calls = _run_user_data(script, tmp_path, failures)
    installs = [c for c in calls if c.startswith("dnf ")]
    assert installs == ["dnf install -y bind-utils"] * min(failures + 1, 6)
    assert [c for c in calls if c.startswith("sleep ")] == [f"sleep {5 * i}" for i in range(1, min(failures, 5) + 1)]
    assert (result.returncode == 0) is ok
    if not ok:
        assert "bind-utils: install failed 6 times" in result.stderr


def _deployed(template: dict[str, Any], ssm: dict[str, str]) -> Any:
    """The template's resources as CloudFormation deploys them, with SSM values `ssm` (parameter -> value):
    SSM-typed template parameters and `{{resolve:ssm:...}}` dynamic references are resolved at each deploy."""
    params = {
        name: ssm[p["Default"]]
        for name, p in template.get("Parameters", {}).items()
        if p["Type"].startswith("AWS::SSM::Parameter::Value<") and p["Default"] in ssm
    }

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in params:
                return params[value["Ref"]]
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str):
            return re.sub(r"\{\{resolve:ssm:([^}:]+)(?::\d+)?\}\}", lambda m: ssm.get(m[1], m[0]), value)
        return value

    return resolve(template["Resources"])


def _ami_parameters(template: dict[str, Any]) -> set[str]:
    """Every public AMI parameter the template names (as a parameter default or in any string)."""
    return set(re.findall(r"/aws/service/[a-z0-9/._-]*ami[a-z0-9/._-]*", json.dumps(template)))


def test_a_new_ami_changes_nothing_in_the_deployed_template(synth: Synthesized) -> None:
    """A newly published AMI must not change what CloudFormation deploys (else the host is replaced by an
    unrelated deploy): the AMI is resolved by EC2 at launch, from the launch template's `resolve:ssm:`."""
    template = synth.templates[STACK]
    names = _ami_parameters(template)
    assert names  # the AL2023 parameter is still named, only resolved later
    before = _deployed(template, dict.fromkeys(names, "ami-0123456789abcdef0"))
    after = _deployed(template, dict.fromkeys(names, "ami-0fedcba9876543210"))
    assert before == after
    _, _, launch = _client_host(synth)
    assert launch["ImageId"] == f"resolve:ssm:{image_parameter('t3.micro')}"


@pytest.mark.parametrize(("instance_type", "arch"), [("t3.micro", "x86_64"), ("t4g.micro", "arm64")])
def test_client_host_image_matches_the_architecture(instance_type: str, arch: str) -> None:
    assert image_parameter(instance_type) == f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"


def test_no_cross_stack_exports(synth: Synthesized) -> None:
    """Weak references (Fn::GetStackOutput): no export can block a later change of the producing stack."""
    for name, template in synth.templates.items():
        assert "Export" not in str(template.get("Outputs", {})), name
        assert "Fn::ImportValue" not in str(template), name


def test_synth_needs_no_context_lookups(synth: Synthesized) -> None:
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    assert manifest.get("missing", []) == []


# --------------------------------------------------------------------------------- availability zones


def _subnets(template: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::EC2::Subnet"}


def test_default_zones_are_the_regions_first_two_resolved_by_cloudformation(synth: Synthesized) -> None:
    subnets = _subnets(synth.templates[STACK])
    zones = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert zones == {json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}) for i in range(2)}
    assert not any("AvailabilityZoneId" in s["Properties"] for s in subnets.values())


def test_az_ids_place_every_subnet_by_id_and_the_host_by_its_subnet(variant: Synthesized) -> None:
    """availabilityZones as AZ IDs: CloudFormation places each subnet (AvailabilityZoneId), with no lookup at
    synth, and nothing names a zone any other way (no Fn::GetAZs)."""
    template = variant.templates[STACK]
    subnets = _subnets(template)
    assert len(subnets) == 3 * 2 + 3  # cluster VPC: private + public per zone; client VPC: isolated per zone
    by_vpc: dict[str, list[str]] = {}
    for subnet in subnets.values():
        props = subnet["Properties"]
        assert "AvailabilityZone" not in props
        by_vpc.setdefault(props["VpcId"]["Ref"], []).append(props["AvailabilityZoneId"])
    for zones in by_vpc.values():
        assert sorted(set(zones)) == ["apne2-az1", "apne2-az2", "apne2-az3"]
        assert len(zones) in (3, 6) and all(zones.count(z) == len(zones) // 3 for z in zones)
    assert "Fn::GetAZs" not in json.dumps(template)
    (host,) = (r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::EC2::Instance")
    # The host names no zone at all: EC2 takes it from its subnet, which CloudFormation placed by AZ ID.
    assert "AvailabilityZone" not in host
    assert "AvailabilityZoneId" in subnets[host["SubnetId"]["Ref"]]["Properties"]


def test_az_id_template_passes_cfn_lint_and_cdk_nag(variant: Synthesized) -> None:
    from tests.support import scans
    from tests.test_compliance import CFN_LINT_IGNORES

    path = Path(variant.stacks[STACK].template_full_path)
    findings = scans.cfn_lint(path, regions=["us-east-1"])
    assert [str(f) for f in findings if f.rule not in CFN_LINT_IGNORES] == []
    report = variant.validation_report
    assert report is not None
    rules = [v["ruleName"] for p in report["pluginReports"] for v in p["violations"]]
    assert rules == ["Annotation::eks-lattice-gateway:config-0"]  # only the variant's extended-support warning


def test_az_names_go_to_both_vpcs_as_given() -> None:
    """Names are what ec2.Vpc takes; built without the rest of the app (a bare stack is enough)."""
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_logs as logs
    from constructs.network.vpcs import ClientVpc, ClusterVpc

    stack = cdk.Stack(cdk.App())
    zones = ["ap-northeast-2a", "ap-northeast-2c", "ap-northeast-2d"]
    kwargs: dict[str, Any] = {
        "availability_zones": zones,
        "log_retention": logs.RetentionDays.ONE_WEEK,
        "log_key": kms.Key(stack, "LogKey"),
    }
    ClusterVpc(stack, "Cluster", cidr="10.1.0.0/16", cluster_name="c", **kwargs)
    ClientVpc(stack, "Client", cidr="10.2.0.0/16", **kwargs)
    subnets = _subnets(assertions.Template.from_stack(stack).to_json()).values()
    placed = sorted(s["Properties"]["AvailabilityZone"] for s in subnets)
    assert placed == sorted(zones * 3)  # cluster: private + public in each; client: isolated in each


@pytest.mark.parametrize("zones", [["us-east-1a", "us-east-1b"], ["use1-az1", "use1-az2"]], ids=["names", "ids"])
def test_azs_outside_the_stacks_region_are_refused_at_synth(zones: list[str]) -> None:
    import aws_cdk as cdk

    from config import ConfigError, parse_context
    from stacks.platform_stack import PlatformStack
    from tests.conftest import TODAY

    config = parse_context({"availabilityZones": zones}, today=TODAY)
    with pytest.raises(ConfigError, match=rf"^availabilityZones: {', '.join(zones)} not in .* region eu-west-1$"):
        PlatformStack(
            cdk.App(),
            "P",
            config=config,
            gateway_stack_name="G",
            env=cdk.Environment(account="111111111111", region="eu-west-1"),
        )
