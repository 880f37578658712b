"""Network and cluster values: availability zones (names or IDs, one region), EKS public endpoint ranges, EC2
instance types."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator

from config.errors import config_error
from config.fields import Matches
from config.limits import MAX_INSTANCE_TYPE, MAX_ZONE, NON_GLOBAL_IPV4

EndpointAccess = Literal["PUBLIC_AND_PRIVATE", "PRIVATE"]

AZ_NAME = r"[a-z]{2}(-[a-z]+)+-[0-9][a-z]"  # us-east-1a (not Local Zones: EKS needs regular AZs)
AZ_ID = r"[a-z]+[0-9]+-az[0-9]+"  # use1-az1, apne2-az3


def public_cidr(text: str) -> str:
    """A range EKS takes for its public endpoint: none of the reserved blocks (config/limits.py), or 0.0.0.0/0."""
    net = ipaddress.IPv4Network(text)
    if net.prefixlen == 0:
        return text
    reserved = next((r for r in map(ipaddress.IPv4Network, NON_GLOBAL_IPV4) if net.overlaps(r)), None)
    if reserved is not None:
        raise config_error(f"{text} includes reserved addresses ({reserved}); EKS takes only public ranges here")
    return text


def zone_list(zones: tuple[str, ...]) -> tuple[str, ...]:
    ids = {bool(re.fullmatch(AZ_ID, z)) for z in zones}
    if len(zones) == 1:
        raise config_error("needs 2 or 3 zones (EKS needs subnets in two), or [] for the region's first two")
    if len(ids) > 1:
        raise config_error("mixes AZ names and AZ IDs; give only names or only IDs")
    if len(set(zones)) < len(zones):
        raise config_error("names a zone twice")
    if ids == {False} and len({z[:-1] for z in zones}) > 1:
        raise config_error(f"{', '.join(zones)} are not in one region")
    if ids == {True} and len({_zone_region(z) for z in zones}) > 1:
        raise config_error(f"{', '.join(zones)} are not in one region (an AZ ID starts with its region's code)")
    return zones


# A region's AZ IDs start with its code shortened: the area, the initials of its direction (two for northeast and
# the like) and its number: us-east-1 use1, us-west-2 usw2 (https://docs.aws.amazon.com/efs/latest/ug/OneZoneAZs.html,
# read 2026-12-05). tests/test_config_zones.py checks the rule on every region of moto 5.2.5's recorded
# DescribeAvailabilityZones table (moto/ec2/models/availability_zones_and_regions.py).
_COMPASS = {"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}


def az_id_prefix(region: str) -> str:
    """The prefix of `region`'s AZ IDs (us-east-1 -> use1, ap-northeast-2 -> apne2, us-gov-west-1 -> usgw1)."""
    area, *words, number = region.split("-")
    return area + "".join(_COMPASS.get(w, w[:1]) for w in words) + number


def zones_outside(zones: Iterable[str], region: str) -> list[str]:
    """The availabilityZones (names or IDs) that do not lie in `region`."""
    return [z for z in zones if _zone_region(z) != (az_id_prefix(region) if re.fullmatch(AZ_ID, z) else region)]


def _zone_region(zone: str) -> str:
    """us-east-1a -> us-east-1; use1-az1 -> use1."""
    return zone.split("-az", maxsplit=1)[0] if re.fullmatch(AZ_ID, zone) else zone[:-1]


_ZONE = "{input!r} is neither an AZ name (like us-east-1a) nor an AZ ID (like use1-az1)"

INSTANCE_TYPES_FILE = Path(__file__).with_name("ec2_instance_types.txt")


@functools.cache
def ec2_instance_types() -> frozenset[str]:
    """EC2's instance types (config/ec2_instance_types.txt, botocore's InstanceType enum)."""
    lines = INSTANCE_TYPES_FILE.read_text().splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _instance_type(name: str) -> str:
    # A name of the right shape that EC2 does not have passes CloudFormation's schema and fails at deploy.
    if name not in ec2_instance_types():
        raise config_error(f"{name!r} is not an EC2 instance type (EC2's API lists no such type)")
    return name


InstanceType = Annotated[
    str,
    Matches(
        r"[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[a-z0-9]+",
        "{input!r} is not an EC2 instance type (like t3.medium)",
        max_length=MAX_INSTANCE_TYPE,
    ),
    AfterValidator(_instance_type),
]
Zone = Annotated[str, Matches(f"{AZ_NAME}|{AZ_ID}", _ZONE, max_length=MAX_ZONE)]


def is_graviton(instance_type: str) -> bool:
    """t4g.micro, m7g.large, c7gn.xlarge: a 'g' in the family after the generation digit means ARM64."""
    family = instance_type.split(".", maxsplit=1)[0]
    digits = [i for i, c in enumerate(family) if c.isdigit()]
    return bool(digits) and "g" in family[digits[0] + 1 :]
