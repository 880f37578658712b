"""`make cost`'s command line and its printed report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from config import ConfigError, parse_context
from tools.cost.counting import CERTIFICATE_OPTIONS, DEFAULT_CERTIFICATE
from tools.cost.estimating import estimate
from tools.cost.model import DEFAULT_GB, DEFAULT_LOG_GB, DEFAULT_REGION, DEFAULT_REQUESTS, CostError, Estimate
from tools.cost.prices import load_prices, region_prices

ROOT = Path(__file__).resolve().parents[2]


def render(est: Estimate) -> list[str]:
    out = [
        f"Monthly cost, {est.region}, {est.hours_per_month} h/month; "
        f"Lattice traffic {est.gb:g} GB, {est.requests:,} requests"
    ]
    width = max(len(line.item) for line in est.lines) if est.lines else 10
    for line in est.lines:
        flag = " *" if line.assumption else ""
        qty = f"{line.quantity:,.4g}" if line.quantity < 1 else f"{line.quantity:,.0f}"
        note = f"  ({line.note})" if line.note else ""
        out.append(
            f"  {line.item:<{width}} {qty:>7} {line.unit:<25} x ${line.unit_usd:<6g} "
            f"= ${line.monthly_usd:>7.2f}{flag}{note}"
        )
    out.append(
        f"  {'TOTAL':<{width}} {'':>7} {'':<25}   {'':<7}   ${est.total_usd:>7.2f}  (* = depends on usage flags)"
    )
    out.append(
        f"  of which standing ${est.standing_usd:.2f} (whatever the traffic) and usage ${est.usage_usd:.2f} "
        "(the * lines, at the assumed usage)"
    )
    ft = est.free_tier
    out.append(
        f"Lattice request allowance: AWS's {ft.free_per_hour:,} free per HOUR -> ${ft.usd_per_hour_reading:.2f}; "
        f"the tutorial's {ft.free_per_hour:,} free per MONTH -> ${ft.usd_per_month_reading:.2f} "
        f"(difference ${ft.difference_usd:.2f})"
    )
    nlb = est.nlb
    out.append(
        f"Comparison: one NLB per cluster ({nlb.clusters}) instead of Lattice: ${nlb.monthly_usd:.2f}/month "
        f"vs Lattice ${nlb.lattice_monthly_usd:.2f}/month ({nlb.lcu_per_hour:g} LCU/h; {nlb.lcu_assumption})"
    )
    for name, usd in est.consumers.items():
        out.append(f"Consumer {name}: ${usd:.2f}/month standing cost, billed to its own account (lines [{name}])")
    out += [f"warning: {w}" for w in est.warnings]
    return out


def default_region(regions: Mapping[str, str]) -> str:
    return next(iter(regions.values()), DEFAULT_REGION)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cost.py", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--region", help=f"price region (default: the stacks' region, else {DEFAULT_REGION})")
    parser.add_argument("--gb", type=float, default=DEFAULT_GB, help="GB a month through Lattice (default 100)")
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="requests a month (default 3,000,000)")
    parser.add_argument("--nat-gb", type=float, default=None, help="GB a month through the NAT (default: --gb)")
    parser.add_argument("--log-gb", type=float, default=DEFAULT_LOG_GB, help="GB of logs ingested a month (default 1)")
    parser.add_argument("--date", type=dt.date.fromisoformat, default=None, help="today, for the EKS support calendar")
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out", help="cloud assembly to read if fresh")
    parser.add_argument(
        "--certificate",
        choices=sorted(CERTIFICATE_OPTIONS),
        default=DEFAULT_CERTIFICATE,
        help=f"certificate option of HTTPS and gRPC routes (default {DEFAULT_CERTIFICATE}; "
        "docs/protocols.md: Certificates)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    try:
        prices = load_prices()
        if args.region:  # fail fast, before any synthesis
            region_prices(prices, args.region)
        from tools import synth  # noqa: PLC0415

        assembly = synth.load(outdir=args.cdk_out, emit=lambda m: print(m, file=sys.stderr))

        today = args.date or dt.date.today()
        config = parse_context(synth.cdk_json_context(), today=today)
        est = estimate(
            assembly.templates,
            region=args.region or default_region(assembly.regions),
            gb=args.gb,
            requests=args.requests,
            nat_gb=args.nat_gb,
            log_gb=args.log_gb,
            today=today,
            prices=prices,
            config=config,
            certificate=args.certificate,
        )
    except (CostError, ConfigError) as err:
        print(f"cost: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(est.to_json(), indent=2))
    else:
        print("\n".join(render(est)))
    return 0
