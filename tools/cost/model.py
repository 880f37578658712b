"""What an estimate holds: its lines, the Lattice free tier, the NLB comparison, and the defaults it assumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_REGION = "ap-northeast-2"
DEFAULT_GB = 100.0
DEFAULT_REQUESTS = 3_000_000
DEFAULT_LOG_GB = 1.0
K8S_RESOURCE = "Custom::AWSCDK-EKS-KubernetesResource"
# Network Load Balancer capacity unit (TCP): 1 GB processed per hour, 800 new connections per second or
# 100,000 active connections, whichever is highest. Assumption: traffic is spread evenly over the month
# and every request opens a new connection (no keep-alive), so processed bytes set the LCU count.
NLB_LCU_GB_PER_HOUR = 1.0
NLB_LCU_NEW_CONNECTIONS_PER_SECOND = 800.0

Template = Mapping[str, Any]


class CostError(Exception):
    """A problem reported in one line (exit status 2)."""


@dataclass(frozen=True, kw_only=True)
class Line:
    key: str
    item: str
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    note: str = ""
    assumption: bool = False  # the figure depends on a usage guess, not only on what is deployed


@dataclass(frozen=True, kw_only=True)
class FreeTier:
    """Lattice requests under AWS's per-hour allowance and under the tutorial's per-month reading."""

    requests_per_month: int
    free_per_hour: int
    billable_per_hour_reading: float
    usd_per_hour_reading: float
    billable_per_month_reading: float
    usd_per_month_reading: float
    difference_usd: float


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """The same exposure with one Network Load Balancer per cluster instead of Lattice."""

    clusters: int
    lcu_per_hour: float
    monthly_usd: float
    lattice_monthly_usd: float
    lcu_assumption: str


@dataclass(frozen=True, kw_only=True)
class Estimate:
    region: str
    hours_per_month: int
    gb: float
    requests: int
    lines: list[Line]
    free_tier: FreeTier
    nlb: Comparison
    warnings: list[str] = field(default_factory=list)
    # consumer name -> its standing monthly cost (billed to the consumer's account), from its lines above
    consumers: dict[str, float] = field(default_factory=dict)

    @property
    def total_usd(self) -> float:
        return round(sum(line.monthly_usd for line in self.lines), 2)

    @property
    def usage_usd(self) -> float:
        """The lines that depend on the usage flags (--gb, --requests, --log-gb ...), marked *."""
        return round(sum(line.monthly_usd for line in self.lines if line.assumption), 2)

    @property
    def standing_usd(self) -> float:
        """What the deployed resources cost whatever the traffic: the total less the usage lines."""
        return round(self.total_usd - self.usage_usd, 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "hours_per_month": self.hours_per_month,
            "traffic": {"gb": self.gb, "requests": self.requests},
            "lines": [asdict(line) for line in self.lines],
            "total_monthly_usd": self.total_usd,
            "standing_monthly_usd": self.standing_usd,
            "usage_monthly_usd": self.usage_usd,
            "lattice_free_tier": asdict(self.free_tier),
            "nlb_comparison": asdict(self.nlb),
            "consumers_monthly_usd": self.consumers,
            "warnings": self.warnings,
        }
