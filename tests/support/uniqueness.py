"""What must be unique per account (and region) across everything one configuration deploys (issue 21, REVIEW
fault class 11): each stack's env is where its names live, so two stages, or two `make deploy`s of one account
in two regions, must never claim the same one.

Keys, each (account, region or "global", kind, value):
- IAM names (`RoleName`, `ManagedPolicyName`, `InstanceProfileName`, user and group names): account-wide.
- VPC -> service network: a VPC joins one service network (SPEC §9 limits); per VPC.
- VPC -> private zone name: Route 53 refuses a second zone of one name on a VPC (ConflictingDomainExists).
A VPC this template creates is named by its stack and logical id (unique by construction); an existing one
(a literal `vpc-...`) by its id.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Key = tuple[str, str, str, str]
IAM_NAMES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
}


def stacks(outdir: Path) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(stack name, account, region, template) of every stack of a cloud assembly, nested ones included."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact in manifest.get("artifacts", {}).values():
        props = artifact.get("properties", {})
        if artifact.get("type") == "cdk:cloud-assembly":
            yield from stacks(outdir / props["directoryName"])
        elif artifact.get("type") == "aws:cloudformation:stack":
            account, region = str(artifact["environment"]).removeprefix("aws://").split("/")
            template = json.loads((outdir / props["templateFile"]).read_text())
            yield props.get("stackName", ""), account, region, template


def _text(value: Any, *, stack: str, account: str, region: str) -> str | None:
    """A literal, or a Fn::Join/Ref of pseudo parameters rendered for the stack's env; None: unknown."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((name, arg),) = value.items()
        pseudo = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws"}
        if name == "Ref" and arg in pseudo:
            return pseudo[arg]
        if name == "Ref":
            return f"{stack}/{arg}"  # a resource of this stack: unique by construction
        if name == "Fn::Join":
            parts = [_text(p, stack=stack, account=account, region=region) for p in arg[1]]
            return None if None in parts else str(arg[0]).join(p for p in parts if p is not None)
    return None


def keys(outdir: Path) -> Iterator[tuple[Key, str]]:
    """Every uniqueness key of an assembly, with the stack/logical id that claims it."""
    for stack, account, region, template in stacks(outdir):
        for lid, resource in template.get("Resources", {}).items():
            kind, props = resource.get("Type"), resource.get("Properties", {})
            where = f"{stack}/{lid}"

            def text(value: Any, _s: str = stack, _a: str = account, _r: str = region) -> str | None:
                return _text(value, stack=_s, account=_a, region=_r)

            if kind in IAM_NAMES and IAM_NAMES[kind] in props:
                name = text(props[IAM_NAMES[kind]])
                assert name is not None, f"{where}: {IAM_NAMES[kind]} is not a literal: {props[IAM_NAMES[kind]]}"
                yield (account, "global", kind, name), where
            elif kind == "AWS::VpcLattice::ServiceNetworkVpcAssociation":
                vpc = text(props["VpcIdentifier"])
                assert vpc is not None, f"{where}: VpcIdentifier {props['VpcIdentifier']}"
                yield (account, region, "vpc->service network", vpc), where
            elif kind == "Custom::CrossAccountZoneAssociation":
                vpc = text(props["VpcId"])
                assert vpc is not None, f"{where}: VpcId {props['VpcId']}"
                yield (account, region, "vpc->zone name", f"{vpc} {props['ZoneName']}"), where
            elif kind == "AWS::Route53::HostedZone" and "VPCs" in props:
                for vpc_entry in props["VPCs"]:
                    vpc = text(vpc_entry["VPCId"])
                    assert vpc is not None, f"{where}: VPCId {vpc_entry['VPCId']}"
                    yield (account, region, "vpc->zone name", f"{vpc} {props['Name']}"), where


def duplicates(*outdirs: Path) -> dict[Key, list[str]]:
    """Keys claimed more than once across the given assemblies (one per deployment of the configuration)."""
    claims: dict[Key, list[str]] = {}
    for outdir in outdirs:
        for key, where in keys(outdir):
            claims.setdefault(key, []).append(where)
    counts = Counter({k: len(v) for k, v in claims.items()})
    return {k: claims[k] for k, n in counts.items() if n > 1}
