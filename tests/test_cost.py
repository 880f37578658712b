"""tools/cost.py (`make cost`): every line counted from the synthesized templates, priced from prices.json."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TODAY, Synthesized
from tools import cost

SEOUL = "ap-northeast-2"


def resources_of(synth: Synthesized, resource_type: str) -> list[dict[str, Any]]:
    return [
        r.get("Properties", {})
        for t in synth.templates.values()
        for r in t["Resources"].values()
        if r["Type"] == resource_type
    ]


def lines(est: cost.Estimate) -> dict[str, cost.Line]:
    return {line.key: line for line in est.lines if line.key != "nodes"} | {
        f"nodes:{i}": line for i, line in enumerate(line for line in est.lines if line.key == "nodes")
    }


@pytest.fixture(scope="module")
def seoul(synth: Synthesized) -> cost.Estimate:
    return cost.estimate(synth.templates, region=SEOUL, today=TODAY, config=synth.config)


def test_every_line_is_counted_from_the_template(synth: Synthesized, seoul: cost.Estimate) -> None:
    prices = cost.load_prices()["regions"][SEOUL]
    by_key = lines(seoul)
    (nodegroup,) = resources_of(synth, "AWS::EKS::Nodegroup")
    # The node group's launch template names the instance type (see constructs/cluster/eks.py).
    launch_template = synth.templates["EksLatticeGateway-Platform"]["Resources"][
        nodegroup["LaunchTemplate"]["Id"]["Ref"]
    ]
    instance = launch_template["Properties"]["LaunchTemplateData"]["InstanceType"]
    desired = nodegroup["ScalingConfig"]["DesiredSize"]
    assert by_key["nodes:0"].quantity == desired * 730
    assert by_key["nodes:0"].monthly_usd == round(desired * 730 * prices["ec2_hour"][instance]["usd"], 2)

    assert by_key["eks_control_plane"].monthly_usd == 73.00  # 1.35 is in standard support on 2026-11-28
    nats = len(resources_of(synth, "AWS::EC2::NatGateway"))
    assert by_key["nat_hours"].quantity == nats * 730
    assert by_key["nat_gb"].monthly_usd == round(100 * prices["nat_gateway_gb"]["usd"], 2)
    zones = len(resources_of(synth, "AWS::Route53::HostedZone"))
    assert by_key["route53_zones"].monthly_usd == zones * 0.50
    (host,) = resources_of(synth, "AWS::EC2::Instance")
    launch_id = host["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
    (launch,) = [
        t["Resources"][launch_id]["Properties"] for t in synth.templates.values() if launch_id in t["Resources"]
    ]
    host_type = launch["LaunchTemplateData"]["InstanceType"]  # the host's type lives in its launch template
    assert host_type == synth.config.client_instance_type
    assert by_key["client_host"].monthly_usd == round(730 * prices["ec2_hour"][host_type]["usd"], 2)
    interface = [e for e in resources_of(synth, "AWS::EC2::VPCEndpoint") if e["VpcEndpointType"] == "Interface"]
    endpoint_azs = sum(len(e["SubnetIds"]) for e in interface)
    assert by_key["vpc_endpoints"].quantity == endpoint_azs * 730
    assert by_key["logs_ingest"].assumption
    assert seoul.total_usd == round(sum(line.monthly_usd for line in seoul.lines), 2)
    assert not seoul.warnings, seoul.warnings  # templates and configuration agree


def test_http_routes_are_read_from_the_emitted_manifests(synth: Synthesized) -> None:
    assert cost.count_http_routes(synth.templates) == len(synth.config.routes) == 1


def test_manifest_with_tokens_is_parsed() -> None:
    manifest = {
        "Fn::Join": ["", ['[{"kind":"HTTPRoute","metadata":{"name":"', {"Ref": "X"}, '"},"n":', {"Ref": "Y"}, "}]"]]
    }
    template = {"Resources": {"R": {"Type": cost.K8S_RESOURCE, "Properties": {"Manifest": manifest}}}}
    assert cost.count_http_routes({"s": template}) == 1


def test_seoul_defaults_reproduce_the_tutorial(seoul: cost.Estimate) -> None:
    by_key = lines(seoul)
    assert by_key["lattice_services"].quantity == 730
    assert by_key["lattice_services"].monthly_usd == 23.73  # 1 x 730 h x $0.0325
    assert by_key["lattice_gb"].monthly_usd == 3.25  # 100 GB x $0.0325
    assert round(730 * 0.0225, 2) == 16.43  # the tutorial's "NLB alone ~$16.42"
    assert seoul.nlb.monthly_usd > 16.42
    assert seoul.nlb.lattice_monthly_usd == 26.98


def test_free_allowance_is_per_hour_not_per_month(seoul: cost.Estimate) -> None:
    ft = seoul.free_tier
    assert ft.usd_per_hour_reading == 0.0  # 3M a month is ~4,110 an hour: all free
    assert ft.usd_per_month_reading == 0.35  # the tutorial: (3M - 300k) x $0.13 / M
    assert ft.difference_usd == 0.35
    heavy = cost.lattice_free_tier(730 * 400_000, hours=730, free_per_hour=300_000, usd_per_million=0.13)
    assert heavy.usd_per_hour_reading == round(730 * 100_000 / 1e6 * 0.13, 2)
    assert heavy.usd_per_month_reading == round((730 * 400_000 - 300_000) / 1e6 * 0.13, 2)
    assert heavy.difference_usd == round(heavy.usd_per_month_reading - heavy.usd_per_hour_reading, 2)


def test_us_east_1_prices_and_extended_support(synth: Synthesized) -> None:
    est = cost.estimate(synth.templates, region="us-east-1", today=dt.date(2027, 4, 1), config=synth.config)
    by_key = lines(est)
    assert by_key["lattice_services"].monthly_usd == round(730 * 0.025, 2)
    assert by_key["lattice_gb"].monthly_usd == 2.50
    assert by_key["eks_control_plane"].unit_usd == 0.60  # 1.35 leaves standard support on 2027-03-27
    assert "EXTENDED" in by_key["eks_control_plane"].note


def test_prices_name_their_source_and_date() -> None:
    prices = cost.load_prices()
    assert {"ap-northeast-2", "us-east-1"} <= set(prices["regions"])
    for table in prices["regions"].values():
        entries = [v for k, v in table.items() if k != "ec2_hour"] + list(table["ec2_hour"].values())
        for entry in entries:
            # The month each price was read (prices added later carry their own month).
            assert entry["source"] and entry["date"] in {"2026-11", "2026-12"}


def test_unknown_region_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cost.main(["--region", "mars-north-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "ap-northeast-2" in err and "us-east-1" in err


@pytest.fixture
def from_session_synth(synth: Synthesized, monkeypatch: pytest.MonkeyPatch) -> None:
    from tools import synth as synth_tool

    monkeypatch.setattr(synth_tool, "load", lambda **_: synth_tool.read_assembly(Path(synth.outdir)))


@pytest.mark.usefixtures("from_session_synth")
def test_json_output_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert cost.main(["--json", "--date", TODAY.isoformat()]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["region"] == SEOUL and data["hours_per_month"] == 730
    assert data["traffic"] == {"gb": 100.0, "requests": 3_000_000}
    assert {"key", "item", "quantity", "unit", "unit_usd", "monthly_usd", "note", "assumption"} == set(data["lines"][0])
    assert data["total_monthly_usd"] == round(sum(line["monthly_usd"] for line in data["lines"]), 2)
    assert set(data["lattice_free_tier"]) >= {"usd_per_hour_reading", "usd_per_month_reading", "difference_usd"}
    assert set(data["nlb_comparison"]) >= {"monthly_usd", "lcu_assumption"}


@pytest.mark.usefixtures("from_session_synth")
def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert cost.main(["--date", TODAY.isoformat(), "--region", "ap-northeast-2"]) == 0
    out = capsys.readouterr().out
    assert "$  23.73" in out and "$   3.25" in out
    assert "per HOUR" in out and "per MONTH" in out and "NLB" in out and "TOTAL" in out


def test_more_nodes_and_routes_cost_more(variant: Synthesized, seoul: cost.Estimate) -> None:
    bigger = variant  # nodeDesiredSize 3 and a second route (tests/conftest.py VARIANT)
    assert cost.count_http_routes(bigger.templates) == 2
    est = cost.estimate(bigger.templates, region=SEOUL, today=TODAY, config=bigger.config)
    after, before = lines(est), lines(seoul)
    assert after["nodes:0"].quantity == 3 * 730
    assert round(after["nodes:0"].monthly_usd - before["nodes:0"].monthly_usd, 2) == round(730 * 0.052, 2)
    assert after["lattice_services"].monthly_usd == 47.45  # 2 x 730 h x $0.0325
    assert est.total_usd > seoul.total_usd


def test_each_consumer_gets_its_own_standing_cost(variant: Synthesized) -> None:
    """Issue 13: association, endpoints, test host and DNS sharing per consumer, apart from the provider's."""
    prices = cost.load_prices()["regions"][SEOUL]
    est = cost.estimate(variant.templates, region=SEOUL, today=TODAY, config=variant.config)
    by_key = {line.key: line for line in est.lines}
    endpoint = prices["vpc_endpoint_az_hour"]["usd"]
    host = prices["ec2_hour"]["t3.micro"]["usd"]
    assert by_key["consumer:team-b:endpoints"].quantity == 2 * 730  # ssm + ssmmessages in one AZ
    assert by_key["consumer:team-b:test_host"].monthly_usd == round(730 * host, 2)
    assert by_key["consumer:team-b:association"].monthly_usd == 0.0
    assert by_key["consumer:team-b:dns"].monthly_usd == 0.0
    assert "$547.50/month" in by_key["consumer:team-b:dns"].note  # the Route 53 Profile it avoids
    assert est.consumers == {
        "team-b": round(2 * 730 * endpoint, 2) + round(730 * host, 2),
        "team-c": 0.0,  # an existing VPC, no test host: nothing standing
    }
    assert "consumer:team-c:test_host" not in by_key and "consumer:team-c:endpoints" not in by_key
    # The provider's own lines count only the provider's stacks (one client host, two endpoints).
    assert by_key["client_host"].quantity == 730
    assert by_key["vpc_endpoints"].quantity == 2 * 730
    rendered = "\n".join(cost.render(est))
    assert "Consumer team-b: $" in rendered and "[team-c] DNS" in rendered


def test_node_instance_type_is_read_from_the_launch_template(synth: Synthesized) -> None:
    """The node group names no InstanceTypes (create-only): its launch template does, and that is what's priced."""
    templates = json.loads(json.dumps(synth.templates))
    platform = templates["EksLatticeGateway-Platform"]["Resources"]
    (nodegroup,) = [r for r in platform.values() if r["Type"] == "AWS::EKS::Nodegroup"]
    launch_template = platform[nodegroup["Properties"]["LaunchTemplate"]["Id"]["Ref"]]
    launch_template["Properties"]["LaunchTemplateData"]["InstanceType"] = "m5.large"
    estimate = cost.estimate(templates, region=SEOUL, today=TODAY, config=synth.config)
    prices = cost.load_prices()["regions"][SEOUL]
    desired = nodegroup["Properties"]["ScalingConfig"]["DesiredSize"]
    assert "m5.large" in lines(estimate)["nodes:0"].item
    assert lines(estimate)["nodes:0"].monthly_usd == round(desired * 730 * prices["ec2_hour"]["m5.large"]["usd"], 2)


def test_the_publishers_runs_are_priced_over_the_whole_range_of_its_interval() -> None:
    """The class (issue 22 review: rate(1 hour) was priced at $0): for every targetHealthMinutes the model takes,
    the schedule CDK renders for it parses back to that interval, so runs = hours x 60 / minutes."""
    from aws_cdk import Duration
    from aws_cdk import aws_events as events

    from config.model import MAX_TARGET_HEALTH_MINUTES
    from tools.cost import rate_minutes

    rendered = set()
    for minutes in range(1, MAX_TARGET_HEALTH_MINUTES + 1):
        expression = events.Schedule.rate(Duration.minutes(minutes)).expression_string
        rendered.add(expression.split()[-1])
        assert rate_minutes(expression) == minutes, expression
    assert {"minute)", "minutes)", "hour)"} <= rendered  # every unit CDK uses in the range was exercised
    assert (rate_minutes("rate(2 hours)"), rate_minutes("rate(1 day)"), rate_minutes("rate(3 days)")) == (
        120,
        1440,
        4320,
    )
    with pytest.raises(ValueError, match="cannot price the schedule 'cron"):
        rate_minutes("cron(0 12 * * ? *)")


def test_every_resource_type_is_priced_or_listed_free(
    synth: Synthesized, variant: Synthesized, protocols: Synthesized
) -> None:
    """Every type in the default, the variant (consumers, alarms by email, AZ IDs) and the protocols example synth;
    make fuzz checks the generated ones. A free type names the pricing page that says so."""
    for templates in (synth.templates, variant.templates, protocols.templates):
        assert cost.unpriced_types(templates) == []
    assert not cost.PRICED_TYPES & set(cost.FREE_TYPES)
    assert all(source.startswith("https://aws.amazon.com/") for source in cost.FREE_TYPES.values())
    rds = "AWS::RDS::DBInstance"
    assert cost.unpriced_types({"S": {"Resources": {"X": {"Type": rds}}}}) == [rds]


def test_both_customer_managed_keys_are_priced(synth: Synthesized) -> None:
    keys = resources_of(synth, "AWS::KMS::Key")
    assert len(keys) == 2
    est = {line.key: line for line in cost.estimate(synth.templates, region=SEOUL, config=synth.config).lines}
    assert (est["kms_keys"].quantity, est["kms_keys"].monthly_usd) == (2, 2.00)


def test_the_total_splits_into_standing_and_usage(seoul: cost.Estimate, variant: Synthesized) -> None:
    """Issue 27 item 5: the front page's one total, split. Usage is exactly the * lines (those with an assumption)."""
    usage = round(sum(line.monthly_usd for line in seoul.lines if line.assumption), 2)
    assert seoul.usage_usd == usage > 0
    assert seoul.standing_usd == round(seoul.total_usd - usage, 2)
    text = "\n".join(cost.render(seoul))
    assert f"of which standing ${seoul.standing_usd:.2f}" in text and f"usage ${usage:.2f}" in text
    assert seoul.to_json()["standing_monthly_usd"] == seoul.standing_usd


def test_each_host_line_names_its_stack_not_a_logical_id(variant: Synthesized) -> None:
    """A reader cannot place `ClientHostInstanceA3AFD8`: the provider's host line names its stack, and no line (a
    consumer's test host included) carries an instance's logical id."""
    est = cost.estimate(variant.templates, region=SEOUL, today=TODAY, config=variant.config)
    instances = list(cost.resources(variant.templates, "AWS::EC2::Instance"))
    assert len(instances) >= 2  # the provider's host and a consumer's
    (host,) = [line for line in est.lines if line.key == "client_host"]
    assert host.item == f"EC2 test host ({variant.config.client_instance_type}, EksLatticeGateway-Platform)"
    assert len([line for line in est.lines if "test host" in line.item]) == len(instances)
    for line in est.lines:
        assert not any(lid[:12] in line.item for _stack, lid, _props in instances), line.item


def test_the_certificate_option_is_priced_for_https_and_grpc_routes_only(
    synth: Synthesized, protocols: Synthesized
) -> None:
    """examples/all-protocols.json has one HTTPS and one gRPC route: one private CA by default, the other options
    on request; the default config (HTTP only) has no certificate line. Every route kind is a Lattice service."""
    assert "certificates" not in {line.key for line in cost.estimate(synth.templates, region="ap-northeast-2").lines}
    assert cost.count_tls_terminating_routes(protocols.templates) == 2
    assert cost.count_http_routes(protocols.templates) == len(protocols.config.routes) == 4
    prices = cost.region_prices(cost.load_prices(), "ap-northeast-2")
    for option, (key, _) in cost.CERTIFICATE_OPTIONS.items():
        est = cost.estimate(protocols.templates, region="ap-northeast-2", certificate=option)
        (line,) = [line for line in est.lines if line.key == "certificates"]
        assert line.monthly_usd == prices[key]["usd"]
    default = cost.estimate(protocols.templates, region="ap-northeast-2")
    assert [line.monthly_usd for line in default.lines if line.key == "certificates"] == [400.0]
