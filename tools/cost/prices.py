"""Prices from tools/prices.json, per region."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.cost.model import CostError

PRICES_FILE = Path(__file__).resolve().parents[1] / "prices.json"


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def region_prices(prices: Mapping[str, Any], region: str) -> dict[str, Any]:
    regions: dict[str, Any] = prices["regions"]
    if region not in regions:
        raise CostError(f"no prices for region {region!r}; known regions: {', '.join(sorted(regions))}")
    table: dict[str, Any] = regions[region]
    return table


def usd(table: Mapping[str, Any], key: str) -> float:
    return float(table[key]["usd"])


def instance_usd(table: Mapping[str, Any], instance_type: str, region: str) -> float:
    known: dict[str, Any] = table["ec2_hour"]
    if instance_type not in known:
        raise CostError(
            f"no price for instance type {instance_type!r} in {region} (tools/prices.json knows: "
            f"{', '.join(sorted(known))})"
        )
    return float(known[instance_type]["usd"])
