"""`make cost`: the monthly cost of the deployment as synthesized, line by line, for one region.

Everything is counted from the synthesized templates (node groups, NAT gateways, endpoints, zones, the
client host) and from the Kubernetes objects the app emits (one Lattice service per HTTPRoute). Prices come
from tools/prices.json; the EKS control-plane price and support calendar from config/versions.py.

    python tools/cost.py [--region R] [--gb 100] [--requests 3000000] [--log-gb 1] [--json]

Exit status 2, with one line on stderr, for an unknown region or an instance type without a price.
"""

from __future__ import annotations

from tools.cost.catalog import FREE_TYPES, PRICED_TYPES, unpriced_types
from tools.cost.cli import main, render
from tools.cost.counting import (
    CERTIFICATE_OPTIONS,
    count_http_routes,
    count_tls_terminating_routes,
    rate_minutes,
    resources,
)
from tools.cost.estimating import estimate, lattice_free_tier
from tools.cost.model import (
    DEFAULT_GB,
    DEFAULT_LOG_GB,
    DEFAULT_REGION,
    DEFAULT_REQUESTS,
    K8S_RESOURCE,
    Comparison,
    CostError,
    Estimate,
    FreeTier,
    Line,
)
from tools.cost.prices import load_prices, region_prices

__all__ = [
    "CERTIFICATE_OPTIONS",
    "DEFAULT_GB",
    "DEFAULT_LOG_GB",
    "DEFAULT_REGION",
    "DEFAULT_REQUESTS",
    "FREE_TYPES",
    "K8S_RESOURCE",
    "PRICED_TYPES",
    "Comparison",
    "CostError",
    "Estimate",
    "FreeTier",
    "Line",
    "count_http_routes",
    "count_tls_terminating_routes",
    "estimate",
    "lattice_free_tier",
    "load_prices",
    "main",
    "rate_minutes",
    "region_prices",
    "render",
    "resources",
    "unpriced_types",
]
