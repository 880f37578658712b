"""availabilityZones given as AZ IDs lie in one region, and in the stack's when it is known (issue 24 item 8)."""

from __future__ import annotations

import datetime as dt

import pytest
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

from config import ConfigError, parse_context
from config.model import az_id_prefix, zones_outside

TODAY = dt.date(2026, 11, 28)
# moto 5.2.5's recording of EC2 DescribeAvailabilityZones: region -> its zones' names and IDs.
RECORDED = {region: [(z.name, z.zone_id) for z in zones] for region, zones in RegionsAndZonesBackend.zones.items()}


def test_the_prefix_rule_matches_every_recorded_region() -> None:
    assert len(RECORDED) > 30
    for region, zones in RECORDED.items():
        assert {zone_id.split("-az")[0] for _, zone_id in zones} == {az_id_prefix(region)}, region


@pytest.mark.parametrize("region", sorted(RECORDED))
def test_a_regions_own_zones_lie_in_it_and_no_other_regions_do(region: str) -> None:
    names, ids = zip(*RECORDED[region], strict=True)
    assert zones_outside(names, region) == [] and zones_outside(ids, region) == []
    others = [z for r, zones in RECORDED.items() if r != region for pair in zones for z in pair]
    assert zones_outside(others, region) == others


def test_ids_of_two_regions_are_refused_by_the_model() -> None:
    with pytest.raises(ConfigError) as err:
        parse_context({"availabilityZones": ["use1-az1", "usw2-az2"]}, today=TODAY)
    assert err.value.lines == (
        "availabilityZones: use1-az1, usw2-az2 are not in one region (an AZ ID starts with its region's code)",
    )
