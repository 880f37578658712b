"""README's first screen (issue 27 item 2): each fact it states is checked against the code that makes it true, so
the table cannot drift: the Kubernetes versions (config/versions.py), the regions make cost prices
(tools/prices.json), the cost figures (make cost's estimate of the default synthesis), and that destroy deletes
every log group and KMS key the stacks create."""

from __future__ import annotations

import re

from config.versions import EKS_VERSIONS
from tests.conftest import ROOT, TODAY, Synthesized
from tools import cost

README = ROOT / "README.md"


def _row(name: str) -> str:
    text = README.read_text()
    front = text[text.index("<!-- front-page") : text.index("<!-- /front-page -->")]
    m = re.search(rf"^\| \*\*{name}\*\* \| (.*) \|$", front, flags=re.M)
    assert m, f"no {name} row on the front page"
    return m.group(1)


def test_the_kubernetes_versions_are_the_supported_ones(synth: Synthesized) -> None:
    row = _row("Kubernetes")
    assert row.startswith(", ".join(EKS_VERSIONS) + " ")
    assert f"default {synth.config.kubernetes_version}" in row


def test_the_regions_are_the_ones_make_cost_prices() -> None:
    assert f"prices only for {', '.join(sorted(cost.load_prices()['regions']))} and refuses" in _row("Regions")


def test_the_cost_figures_are_make_costs(synth: Synthesized) -> None:
    est = cost.estimate(synth.templates, region="ap-northeast-2", today=TODAY, config=synth.config)
    row = _row("Costs")
    assert f"About **${est.total_usd:.0f} a month** in Seoul" in row
    assert f"**${est.standing_usd:.0f} standing**" in row and f"**${est.usage_usd:.0f} of assumed usage**" in row
    assert f"100 GB through Lattice and through the NAT gateway, {cost.DEFAULT_REQUESTS // 1_000_000} million" in row
    assert est.gb == 100


def test_the_cost_section_repeats_make_costs_total(synth: Synthesized) -> None:
    """The README's one-line Cost section quotes the same monthly total as the front table."""
    est = cost.estimate(synth.templates, region="ap-northeast-2", today=TODAY, config=synth.config)
    text = README.read_text()
    section = text[text.index("\n## Cost\n") :]
    section = section[: section.index("\n## ", 1)]
    assert f"About ${est.total_usd:.0f} a month in Seoul" in " ".join(section.split())


# aws-cdk-lib's own functions whose log groups it creates with DeletionPolicy Retain (the README names them).
CDK_RETAINED = (
    "EksClusterKubectlProviderHandler",
    "EksClusterKubectlProviderframeworkonEvent",
    "AWS679f53fac002430cb0",
)


def test_destroy_deletes_every_log_group_and_key_the_stacks_create(synth: Synthesized, variant: Synthesized) -> None:
    """The Destroy row's claim, for every log group and KMS key of both syntheses: DeletionPolicy Delete (the
    CloudFormation default when the attribute is absent), except the log groups of aws-cdk-lib's own functions
    that the row names as staying."""
    row = _row("Destroy")
    assert "including the log groups" in row and "the KMS keys" in row and "Three log groups stay" in row
    seen, retained = 0, set()
    for s in (synth, variant):
        for template in s.templates.values():
            for lid, resource in template.get("Resources", {}).items():
                if resource["Type"] in {"AWS::Logs::LogGroup", "AWS::KMS::Key"}:
                    seen += 1
                    if resource.get("DeletionPolicy", "Delete") != "Delete":
                        retained.add(lid)
                        assert resource["Type"] == "AWS::Logs::LogGroup" and lid.startswith(CDK_RETAINED), lid
    assert seen > 10
    assert {lid[: len(p)] for lid in retained for p in CDK_RETAINED if lid.startswith(p)} == set(CDK_RETAINED)
