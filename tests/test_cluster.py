"""The EKS cluster: version, logging, encryption, endpoint, node group, add-ons, kubectl provider."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import assertions, cx_api

from tests.conftest import Synthesized

STACK = "EksLatticeGateway-Platform"


def of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="module")
def platform(synth: Synthesized) -> dict[str, Any]:
    return synth.templates[STACK]


def test_cluster_version_logging_and_secrets_encryption(platform: dict[str, Any]) -> None:
    (cluster,) = of_type(platform, "AWS::EKS::Cluster").values()
    props = cluster["Properties"]
    assert props["Name"] == "eks-demo"
    assert props["Version"] == "1.35"
    enabled = props["Logging"]["ClusterLogging"]["EnabledTypes"]
    assert sorted(t["Type"] for t in enabled) == ["api", "audit", "authenticator"]
    (encryption,) = props["EncryptionConfig"]
    assert encryption["Resources"] == ["secrets"]
    key_id = encryption["Provider"]["KeyArn"]["Fn::GetAtt"][0]
    assert of_type(platform, "AWS::KMS::Key")[key_id]["Properties"]["EnableKeyRotation"] is True
    access = props["ResourcesVpcConfig"]
    assert (access["EndpointPublicAccess"], access["EndpointPrivateAccess"]) == (True, True)
    assert access["PublicAccessCidrs"] == ["0.0.0.0/0"]


def test_private_only_endpoint(variant: Synthesized) -> None:
    (cluster,) = of_type(variant.templates[STACK], "AWS::EKS::Cluster").values()
    access = cluster["Properties"]["ResourcesVpcConfig"]
    assert (access["EndpointPublicAccess"], access["EndpointPrivateAccess"]) == (False, True)


def test_managed_node_group_from_config_with_imdsv2(platform: dict[str, Any]) -> None:
    (group,) = of_type(platform, "AWS::EKS::Nodegroup").values()
    props = group["Properties"]
    assert props["NodegroupName"] == "ng-1"
    assert props["ScalingConfig"] == {"DesiredSize": 2, "MinSize": 1, "MaxSize": 3}
    assert props["AmiType"] == "AL2023_x86_64_STANDARD"
    lt_id = props["LaunchTemplate"]["Id"]["Ref"]
    data = of_type(platform, "AWS::EC2::LaunchTemplate")[lt_id]["Properties"]["LaunchTemplateData"]
    # In the launch template, not the node group's create-only InstanceTypes: a new type is a rolling update.
    assert "InstanceTypes" not in props
    assert data["InstanceType"] == "t3.medium"
    assert props["LaunchTemplate"]["Version"] == {"Fn::GetAtt": [lt_id, "LatestVersionNumber"]}
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    private = {k for k, v in of_type(platform, "AWS::EC2::Subnet").items() if "Private" in k}
    assert {s["Ref"] for s in props["Subnets"]} == private


def test_managed_addons_and_exactly_one_pod_identity_agent(platform: dict[str, Any]) -> None:
    names = sorted(a["Properties"]["AddonName"] for a in of_type(platform, "AWS::EKS::Addon").values())
    assert names == ["coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"]


def test_kubectl_provider_runs_in_the_private_subnets(platform: dict[str, Any]) -> None:
    functions = of_type(platform, "AWS::Lambda::Function")
    (handler,) = [f for k, f in functions.items() if "KubectlProviderHandler" in k]
    private = {k for k in of_type(platform, "AWS::EC2::Subnet") if "Private" in k}
    assert {s["Ref"] for s in handler["Properties"]["VpcConfig"]["SubnetIds"]} == private
    layers = of_type(platform, "AWS::Lambda::LayerVersion")
    assert any("kubectl" in str(layer["Properties"].get("Description", "")).lower() for layer in layers.values())


def test_lattice_prefix_lists_admitted_on_container_ports_only(platform: dict[str, Any]) -> None:
    lookups = [
        r
        for r in platform["Resources"].values()
        if r["Type"] == "Custom::AWS" and "describeManagedPrefixLists" in str(r)
    ]
    assert len(lookups) == 1  # IPv4 only by default
    assert "vpc-lattice" in str(lookups[0]["Properties"]["Create"])
    ingress = [
        r["Properties"]
        for r in of_type(platform, "AWS::EC2::SecurityGroupIngress").values()
        if "SourcePrefixListId" in r["Properties"]
    ]
    assert [(i["IpProtocol"], i["FromPort"], i["ToPort"]) for i in ingress] == [("tcp", 3000, 3000)]


def test_ipv6_prefix_list_when_enabled(variant: Synthesized) -> None:
    template = assertions.Template.from_json(variant.templates[STACK])
    lookups = template.find_resources("Custom::AWS")
    assert sum("ipv6.vpc-lattice" in str(r) for r in lookups.values()) == 1


def test_extended_support_version_warns_once_and_uses_its_kubectl_layer(variant: Synthesized) -> None:
    other = variant
    # The stack artifact's messages in the session's assembly: what assertions.Annotations.from_stack reads, which
    # would synthesize the whole app again to get them.
    warnings = [
        message
        for message in other.stacks[STACK].messages
        if message.level == cx_api.SynthesisMessageLevel.WARNING
        and re.search("extended support", str(message.entry.data))
    ]
    assert len(warnings) == 1
    assert "$0.60/h" in str(warnings[0].entry.data)
    (cluster,) = of_type(other.templates[STACK], "AWS::EKS::Cluster").values()
    assert cluster["Properties"]["Version"] == "1.33"
    layers = of_type(other.templates[STACK], "AWS::Lambda::LayerVersion").values()
    assert any("1.33" in str(layer["Properties"].get("Description", "")) for layer in layers)
