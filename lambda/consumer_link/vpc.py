"""Custom::ExistingVpc: the deploy-time lookup of a `vpcId` consumer's VPC (handler.py's docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .calls import Clients, LinkError, _call, _code, _required


def _existing_vpc(
    request: str, props: Mapping[str, Any], event: Mapping[str, Any], c: Clients, *, sleep: Any, context: Any
) -> dict[str, Any]:
    if request == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    vpc_id = _required(props, "VpcId")
    try:
        described = _call(c.ec2.describe_vpcs, sleep, VpcIds=[vpc_id])
        # Any falsy default for a missing list is refused below the same way as an empty one.
        vpcs = described.get("Vpcs", [])  # pragma: no mutate -- equivalent: see above
    except Exception as err:
        if _code(err) in {"InvalidVpcID.NotFound", "InvalidVpcID.Malformed"}:
            raise LinkError(f"VPC {vpc_id} does not exist in this account and region (consumers[].vpcId)") from None
        raise
    if not vpcs:
        raise LinkError(f"VPC {vpc_id} does not exist in this account and region (consumers[].vpcId)")
    # Private hosted zones resolve in a VPC only with both on (Route 53 private zone requirements).
    off = [
        attribute
        for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames"))
        if not _call(c.ec2.describe_vpc_attribute, sleep, VpcId=vpc_id, Attribute=attribute)[key]["Value"]
    ]
    if off:
        raise LinkError(
            f"VPC {vpc_id} (consumers[].vpcId) has {' and '.join(off)} off; the provider's private zone resolves "
            f"only with both on: aws ec2 modify-vpc-attribute --vpc-id {vpc_id} --enable-dns-support / "
            "--enable-dns-hostnames (one attribute per call)"
        )
    described = _call(c.ec2.describe_subnets, sleep, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    # Any falsy default for a missing list is refused below the same way as an empty one.
    subnets = described.get("Subnets", [])  # pragma: no mutate -- equivalent: see above
    if not subnets:
        raise LinkError(f"VPC {vpc_id} has no subnets; the smoke test and test host need one")
    # EC2 always returns a subnet's (lower-case) AvailabilityZone: the default is never compared.
    first = min(
        subnets,
        key=lambda s: (s.get("AvailabilityZone", ""), s["SubnetId"]),  # pragma: no mutate -- equivalent: see above
    )
    return {
        "PhysicalResourceId": vpc_id,
        "Data": {"CidrBlock": vpcs[0]["CidrBlock"], "SubnetId": first["SubnetId"]},
    }
