"""Fine-grained assertions on the platform stack: network, Lattice, DNS, client host, cluster."""

from __future__ import annotations

import json
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
