"""Fine-grained assertions on the platform stack: network, Lattice, DNS, client host, cluster."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions

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


def test_service_network_with_iam_auth_admitting_both_vpcs(synth: Synthesized, template: assertions.Template) -> None:
    template.has_resource_properties("AWS::VpcLattice::ServiceNetwork", {"Name": "demo-sn", "AuthType": "AWS_IAM"})
    (policy,) = resources(synth, "AWS::VpcLattice::AuthPolicy").values()
    (statement,) = policy["Properties"]["Policy"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Allow",
        "*",
        "vpc-lattice-svcs:Invoke",
    )
    vpcs = statement["Condition"]["StringEquals"]["vpc-lattice-svcs:SourceVpc"]
    assert sorted(v["Ref"] for v in vpcs) == sorted(resources(synth, "AWS::EC2::VPC"))


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
    assert group["LogGroupName"] == "/aws/vpclattice/demo-sn"
    assert group["RetentionInDays"] == 30


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


def test_client_host_is_locked_down(synth: Synthesized) -> None:
    (instance,) = resources(synth, "AWS::EC2::Instance").values()
    props = instance["Properties"]
    assert "KeyName" not in props
    (device,) = props["BlockDeviceMappings"]
    assert device["Ebs"]["Encrypted"] is True
    template_id = props["LaunchTemplate"]["Version"]["Fn::GetAtt"][0]
    launch = resources(synth, "AWS::EC2::LaunchTemplate")[template_id]["Properties"]["LaunchTemplateData"]
    assert launch["MetadataOptions"]["HttpTokens"] == "required"
    (sg,) = props["SecurityGroupIds"]
    group = resources(synth, "AWS::EC2::SecurityGroup")[sg["Fn::GetAtt"][0]]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert "bind-utils" in str(props["UserData"])


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


def test_az_ids_place_every_subnet_by_id_and_the_host_reads_its_zone_back(variant: Synthesized) -> None:
    """availabilityZones as AZ IDs: CloudFormation places each subnet (AvailabilityZoneId), with no lookup at
    synth; whatever needs the zone's name takes it from a subnet in that zone, never from Fn::GetAZs."""
    template = variant.templates[STACK]
    subnets = _subnets(template)
    assert len(subnets) == 3 * 2 + 3  # cluster VPC: private + public per zone; client VPC: isolated per zone
    by_vpc: dict[str, list[str]] = {}
    for subnet in subnets.values():
        props = subnet["Properties"]
        assert "AvailabilityZone" not in props
        by_vpc.setdefault(props["VpcId"]["Ref"], []).append(props["AvailabilityZoneId"])
    for zones in by_vpc.values():
        assert sorted(set(zones)) == ["use1-az1", "use1-az2", "use1-az4"]
        assert len(zones) in (3, 6) and all(zones.count(z) == len(zones) // 3 for z in zones)
    assert "Fn::GetAZs" not in json.dumps(template)
    (host,) = (r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::EC2::Instance")
    host_subnet = host["SubnetId"]["Ref"]
    zone_source = host["AvailabilityZone"]["Fn::GetAtt"]
    assert zone_source[1] == "AvailabilityZone"
    # the zone's name comes from a subnet in the host's own zone (same VPC, same AZ ID)
    assert (
        subnets[zone_source[0]]["Properties"]["AvailabilityZoneId"]
        == (subnets[host_subnet]["Properties"]["AvailabilityZoneId"])
    )


def test_az_id_template_passes_cfn_lint_and_cdk_nag(variant: Synthesized) -> None:
    from cfnlint.api import ManualArgs, lint_file

    from tests.test_compliance import CFN_LINT_IGNORES

    path = Path(variant.stacks[STACK].template_full_path)
    matches = lint_file(path, config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.id not in CFN_LINT_IGNORES] == []
    report = variant.validation_report
    assert report is not None
    rules = [v["ruleName"] for p in report["pluginReports"] for v in p["violations"]]
    assert rules == ["Annotation::eks-lattice-gateway:config-0"]  # only the variant's extended-support warning


def test_az_names_go_to_both_vpcs_as_given() -> None:
    """Names are what ec2.Vpc takes; built without the rest of the app (a bare stack is enough)."""
    import aws_cdk as cdk
    from aws_cdk import aws_logs as logs
    from constructs.network import ClientVpc, ClusterVpc

    stack = cdk.Stack(cdk.App())
    zones = ["ap-northeast-2a", "ap-northeast-2c", "ap-northeast-2d"]
    kwargs: dict[str, Any] = {"availability_zones": zones, "log_retention": logs.RetentionDays.ONE_WEEK}
    ClusterVpc(stack, "Cluster", cidr="10.1.0.0/16", cluster_name="c", **kwargs)
    ClientVpc(stack, "Client", cidr="10.2.0.0/16", **kwargs)
    subnets = _subnets(assertions.Template.from_stack(stack).to_json()).values()
    placed = sorted(s["Properties"]["AvailabilityZone"] for s in subnets)
    assert placed == sorted(zones * 3)  # cluster: private + public in each; client: isolated in each


def test_az_names_outside_the_stacks_region_are_refused_at_synth() -> None:
    import aws_cdk as cdk

    from config import ConfigError, parse_context
    from stacks.platform_stack import PlatformStack
    from tests.conftest import TODAY

    config = parse_context({"availabilityZones": ["us-east-1a", "us-east-1b"]}, today=TODAY)
    with pytest.raises(ConfigError, match=r"^availabilityZones: us-east-1a, us-east-1b not in .* region eu-west-1$"):
        PlatformStack(cdk.App(), "P", config=config, env=cdk.Environment(account="111111111111", region="eu-west-1"))
