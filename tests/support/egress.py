"""A security group's outbound rules as CloudFormation will apply them, from a synthesized template: its inline
SecurityGroupEgress plus every AWS::EC2::SecurityGroupEgress naming it, and EC2's default allow-all rules where the
group is created with no inline rule ("When you create a security group, if you do not add egress rules, we add
egress rules that allow all outbound IPv4 and IPv6 traffic": CloudFormation template reference,
AWS::EC2::SecurityGroup, https://docs.amazonaws.cn/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroup.html,
read 2026-12-06)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

# aws-cdk-lib's placeholder in a group with allow_all_outbound=False and no rule: ICMP type 252 code 86 to
# 255.255.255.255/32, which no packet matches (aws-cdk-lib 2.273.0 aws-ec2/lib/security-group.js MATCH_NO_TRAFFIC,
# read 2026-12-06).
NO_TRAFFIC = {"CidrIp": "255.255.255.255/32", "IpProtocol": "icmp", "FromPort": 252, "ToPort": 86}
EC2_DEFAULT_EGRESS = (
    {"CidrIp": "0.0.0.0/0", "IpProtocol": "-1", "Description": "EC2 default (no inline egress at create)"},
    {"CidrIpv6": "::/0", "IpProtocol": "-1", "Description": "EC2 default (no inline egress at create)"},
)
# The lookup's output path (constructs/lattice/prefix_lists.OUTPUT_PATH) and the lists' names.
LATTICE_LIST_SUFFIXES = (".vpc-lattice", ".ipv6.vpc-lattice")
OUTPUT_PATH = "PrefixLists.0.PrefixListId"


def templates_under(outdir: Path) -> dict[str, dict[str, Any]]:
    """Every template of a cloud assembly, nested stage assemblies (pipelines) included, by its path."""
    return {
        str(path.relative_to(outdir)): json.loads(path.read_text()) for path in sorted(outdir.rglob("*.template.json"))
    }


def _group_of(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "GroupId":
        return str(value["Fn::GetAtt"][0])
    return None


def egress_rules(template: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(security group logical ID, rule) of every outbound rule of every group the template creates."""
    resources = template.get("Resources", {})
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            inline = resource.get("Properties", {}).get("SecurityGroupEgress")
            for rule in inline or EC2_DEFAULT_EGRESS:
                yield logical_id, dict(rule)
        elif resource["Type"] == "AWS::EC2::SecurityGroupEgress":
            props = resource["Properties"]
            group = _group_of(props["GroupId"])
            assert group is not None and group in resources, f"{logical_id}: a rule on a group not in the template"
            yield group, dict(props)


def lattice_lookup(template: Mapping[str, Any], value: Any) -> str | None:
    """The Lattice list name suffix (".vpc-lattice", ".ipv6.vpc-lattice") when `value` is the ID output of a
    DescribeManagedPrefixLists lookup of that list in this template, else None."""
    if not (isinstance(value, dict) and "Fn::GetAtt" in value):
        return None
    name, attribute = value["Fn::GetAtt"]
    lookup = template["Resources"].get(name, {})
    if lookup.get("Type") != "Custom::AWS" or attribute != OUTPUT_PATH:
        return None
    create = lookup["Properties"]["Create"]
    text = (
        "".join(p if isinstance(p, str) else "{region}" for p in create["Fn::Join"][1])
        if isinstance(create, dict)
        else create
    )
    call = json.loads(text.replace("{region}", "REGION"))
    if call["action"] != "describeManagedPrefixLists" or call.get("outputPaths") != [OUTPUT_PATH]:
        return None
    (name_filter,) = call["parameters"]["Filters"]
    (list_name,) = name_filter["Values"]
    if name_filter["Name"] != "prefix-list-name" or not list_name.startswith("com.amazonaws.REGION."):
        return None
    suffix = list_name.removeprefix("com.amazonaws.REGION")
    return suffix if suffix in LATTICE_LIST_SUFFIXES else None
