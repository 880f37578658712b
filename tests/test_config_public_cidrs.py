"""clusterEndpointPublicCidrs takes public ranges only: "The block cannot include reserved addresses" (EKS User Guide,
config-cluster-endpoint, read 2026-12-05). Class test: every reserved block (config.limits.NON_GLOBAL_IPV4), an
address inside it and a wider range around it, is refused naming the key; ranges between them are accepted; and the
list agrees with Python's ipaddress, which follows the IANA special-purpose registry."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from config import ConfigError, limits, parse_context
from tests.conftest import TODAY

RESERVED = [ipaddress.IPv4Network(block) for block in limits.NON_GLOBAL_IPV4]


def _parse(cidr: str) -> None:
    parse_context({"clusterEndpointPublicCidrs": ["8.8.4.0/24", cidr]}, today=TODAY)


@pytest.mark.parametrize("block", RESERVED, ids=str)
def test_every_reserved_block_is_refused_inside_and_around(block: ipaddress.IPv4Network) -> None:
    assert not block.network_address.is_global or block.network_address.is_multicast
    inside = f"{block.network_address}/32"
    around = str(block.supernet(new_prefix=max(block.prefixlen - 2, 1)))
    for cidr in (str(block), inside, around):
        with pytest.raises(ConfigError, match=rf"^clusterEndpointPublicCidrs\[1\]: {cidr} includes reserved"):
            _parse(cidr)


def test_the_list_covers_every_non_global_first_octet_block() -> None:
    """Each /8 whose first address ipaddress calls non-global overlaps a listed block (none left out)."""
    for octet in range(256):
        net = ipaddress.IPv4Network(f"{octet}.0.0.0/8")
        if not net.network_address.is_global or net.network_address.is_multicast:
            assert any(net.overlaps(r) for r in RESERVED), net


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "8.0.0.0/7", "8.8.8.8/32", "52.95.0.0/16", "223.255.100.255/32"])
def test_public_ranges_and_everything_are_accepted(cidr: str) -> None:
    _parse(cidr)


def test_the_real_quota_is_cited_and_kept() -> None:
    text = Path(limits.__file__).read_text()
    assert "Public endpoint\n# access CIDR ranges per cluster: 40" in text
    assert limits.MAX_PUBLIC_CIDRS <= 40
