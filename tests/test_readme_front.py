"""README's first screen (issue 27 item 2): each fact it states is checked against the code that makes it true, so
the table cannot drift: the Kubernetes versions (config/versions.py), the regions make cost prices
(tools/prices.json), the cost figures (make cost's estimate of the default synthesis), and that destroy deletes
every log group and KMS key the stacks create."""

from __future__ import annotations

import re
from typing import Any

import pytest

from config.versions import EKS_VERSIONS
from tests.conftest import ROOT, TODAY, Synthesized
from tools import cost
from tools.e2e.aws_steps import left_by_design

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


# aws-cdk-lib's own functions whose log groups it creates with DeletionPolicy Retain (logical id prefix -> how the
# README names them; the kubectl provider's two share a name).
CDK_RETAINED = {
    "EksClusterKubectlProviderHandler": "the kubectl provider's",
    "EksClusterKubectlProviderframeworkonEvent": "the kubectl provider's",
    "AWS679f53fac002430cb0": "the AWS API custom resource's",
}
SHARED_SYNTHS = ["synth", "variant", "namespaced", "protocols", "protocols_consumers", "largest"]
ROLES = {"Platform": "the platform stack", "Gateway": "the gateway stack", "Consumer": "each consumer stack"}
WORDS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")


def _role(stack: str) -> str:
    """Platform, Gateway, Consumer, or the stack's name (which the README then has to name)."""
    return "Consumer" if "-Consumer-" in stack else stack.rsplit("-", 1)[-1]


def retained_log_groups(templates: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """What outlives `make destroy` by its Retain policy (tools/e2e/aws_steps.py left_by_design, which the e2e
    run deletes afterwards): logical id prefix (CDK_RETAINED, else the whole id) -> the roles of its stacks."""
    found: dict[str, set[str]] = {}
    for line in left_by_design(templates):
        stack, logical, why = line.split(" ", 2)
        if "DeletionPolicy" not in why:
            continue
        assert why.startswith("(AWS::Logs::LogGroup,"), line  # the row promises every other kind is deleted
        prefix = next((p for p in CDK_RETAINED if logical.startswith(p)), logical)
        found.setdefault(prefix, set()).add(_role(stack))
    return found


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def destroy_sentence(retained: dict[str, set[str]]) -> str:
    """The Destroy row's sentence for these retained groups: how many stay once, how many per consumer stack, and
    whose they are, in which stacks."""
    once = sum(len(roles - {"Consumer"}) for roles in retained.values())
    per_consumer = sum("Consumer" in roles for roles in retained.values())
    head = f"{WORDS[once]} log groups stay" + (
        f", and {WORDS[per_consumer].lower()} more per consumer stack" * bool(per_consumer)
    )
    whose: dict[tuple[str, tuple[str, ...]], int] = {}
    order = list(CDK_RETAINED)
    for prefix, roles in sorted(retained.items(), key=lambda i: order.index(i[0]) if i[0] in order else len(order)):
        ordered = tuple(sorted(roles, key=lambda r: list(ROLES).index(r) if r in ROLES else len(ROLES)))
        key = (CDK_RETAINED.get(prefix, prefix), ordered)
        whose[key] = whose.get(key, 0) + 1
    parts = [
        f"{name}{' ' + WORDS[n].lower() if n > 1 else ''} in {_join([ROLES.get(r, r) for r in roles])}"
        for (name, roles), n in whose.items()
    ]
    return (
        f"{head}: aws-cdk-lib creates them with a Retain policy for its own functions, under `/aws/lambda/` "
        f"({'; '.join(parts)})."
    )


def test_the_destroy_row_names_every_retained_log_group(request: pytest.FixtureRequest) -> None:
    """Class test over every shared synthesis (consumer stacks included): the log groups a Retain policy keeps are
    the ones the Destroy row counts and names, in the stacks it names; nothing else is retained."""
    retained: dict[str, set[str]] = {}
    for which in SHARED_SYNTHS:
        synthesized: Synthesized = request.getfixturevalue(which)
        for prefix, roles in retained_log_groups(synthesized.templates).items():
            retained.setdefault(prefix, set()).update(roles)
    assert set(retained) == set(CDK_RETAINED), retained  # a new retained resource needs its name above
    assert "Consumer" in retained["AWS679f53fac002430cb0"]  # the variant's consumer stacks were read
    assert destroy_sentence(retained) in " ".join(_row("Destroy").split())


def test_the_sentence_follows_what_is_retained() -> None:
    """Not vacuous: a group retained in another stack, or one more of them, changes the sentence."""
    now = {p: {"Platform"} for p in CDK_RETAINED} | {"AWS679f53fac002430cb0": {"Platform", "Gateway", "Consumer"}}
    said = destroy_sentence(now)
    assert said.startswith("Four log groups stay, and one more per consumer stack: ")
    assert "(the kubectl provider's two in the platform stack; the AWS API custom resource's in the platform " in said
    assert destroy_sentence({**now, "AWS679f53fac002430cb0": {"Platform"}}).startswith("Three log groups stay: ")
    assert "OtherLogGroup in the gateway stack" in destroy_sentence({**now, "OtherLogGroup": {"Gateway"}})


def test_destroy_deletes_every_log_group_and_key_the_stacks_create(synth: Synthesized, variant: Synthesized) -> None:
    """The Destroy row's claim, for every log group and KMS key of both syntheses: DeletionPolicy Delete (the
    CloudFormation default when the attribute is absent), except the log groups of aws-cdk-lib's own functions
    that the row names as staying."""
    row = _row("Destroy")
    assert "including the log groups" in row and "the KMS keys" in row
    seen, retained = 0, set()
    for s in (synth, variant):
        for template in s.templates.values():
            for lid, resource in template.get("Resources", {}).items():
                if resource["Type"] in {"AWS::Logs::LogGroup", "AWS::KMS::Key"}:
                    seen += 1
                    if resource.get("DeletionPolicy", "Delete") != "Delete":
                        retained.add(lid)
                        assert resource["Type"] == "AWS::Logs::LogGroup" and lid.startswith(tuple(CDK_RETAINED)), lid
    assert seen > 10
    assert {p for lid in retained for p in CDK_RETAINED if lid.startswith(p)} == set(CDK_RETAINED)
