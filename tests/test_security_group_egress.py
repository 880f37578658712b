"""Every outbound rule of every security group in every synthesis the suite shares goes to a VPC Lattice managed
prefix list looked up in the same template, is aws-cdk-lib's match-nothing placeholder, or belongs to a group that
OPEN_EGRESS lists with its reason. A group created with no inline egress rule counts as EC2's allow-all default
(tests/support/egress.py), so a group that only has standalone egress rules is caught too.

The smoke test's handler opens connections only to Lattice services (lambda/smoke: socket connections to the resolved
service addresses; SigV4 from the credentials in its environment, no AWS API call) and resolves names through the
Amazon DNS server, which security groups don't filter (a VPC whose DHCP options name DNS servers of its own is the
exception: constructs/lattice/egress.py has the sources)."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from constructs.lattice import egress_ranges, port_ranges
from constructs.smoke.functions import smoke_ports

from config import limits
from tests.conftest import PipelineSynth, Synthesized
from tests.support.egress import NO_TRAFFIC, OUTPUT_PATH, egress_rules, lattice_lookup, templates_under

# Groups whose outbound rules stay open (a logical ID pattern: aws-cdk-lib appends an 8-character hash), each with
# why. Nothing else may have an egress rule that is not to a Lattice prefix list.
OPEN_EGRESS: dict[str, str] = {
    r"(ClientHost|TestHost)SecurityGroup[0-9A-F]{8}": (
        "the client test host (allow_all_outbound): Session Manager's agent reaches the SSM endpoints over HTTPS "
        "(the client VPC's interface endpoints; in a consumer's existing VPC, whatever its owner provides), dnf the "
        "AL2023 repositories in S3, and a user's curl the Lattice services; narrowing it is a follow-up"
    ),
    r"EksApiClientSecurityGroup[0-9A-F]{8}": (
        "the Lambda functions that call the Kubernetes API reach AWS APIs and public registries (the controller "
        "chart on public.ecr.aws, SPEC section 7) through the NAT gateway, whose addresses no list names; "
        "narrowing it to TCP 443 is a follow-up"
    ),
    r"EksClusterControlPlaneSecurityGroup[0-9A-F]{8}": (
        "aws-cdk-lib aws_eks_v2's own control-plane group: the control plane reaches kubelets and webhooks in the VPC"
    ),
}
SYNTHS = ["synth", "variant", "namespaced", "protocols", "protocols_consumers", "largest"]
PIPELINES = ["two_stages", "one_stage"]


def _open_reason(logical_id: str) -> str | None:
    return next((why for pattern, why in OPEN_EGRESS.items() if re.fullmatch(pattern, logical_id)), None)


def _findings(templates: dict[str, dict[str, Any]]) -> list[str]:
    found = []
    for name, template in templates.items():
        for group, rule in egress_rules(template):
            if lattice_lookup(template, rule.get("DestinationPrefixListId")) is not None:
                assert rule["IpProtocol"] == "tcp", f"{name}/{group}: {rule}"
                continue
            if {k: rule.get(k) for k in NO_TRAFFIC} == NO_TRAFFIC or _open_reason(group) is not None:
                continue
            found.append(f"{name}/{group}: {rule}")
    return found


def _outdir(request: pytest.FixtureRequest, which: str) -> Path:
    synthesized: Synthesized | PipelineSynth = request.getfixturevalue(which)
    return synthesized.outdir


@pytest.mark.parametrize("which", SYNTHS + PIPELINES)
def test_every_egress_goes_to_lattice_or_is_listed_with_its_reason(request: pytest.FixtureRequest, which: str) -> None:
    templates = templates_under(_outdir(request, which))
    assert templates
    assert _findings(templates) == []


def test_the_largest_pipeline_too(largest_pipeline: Path) -> None:
    assert _findings(templates_under(largest_pipeline)) == []


def test_the_scan_sees_an_open_rule_and_a_group_with_only_standalone_rules(synth: Synthesized) -> None:
    """Not vacuous: main's smoke rule (0.0.0.0/0 on 80) is found, and so is a group left with no inline egress (EC2
    then adds its allow-all default)."""
    template = synth.templates["EksLatticeGateway-Gateway"]
    resources = dict(template["Resources"])
    group = next(k for k, r in resources.items() if r["Type"] == "AWS::EC2::SecurityGroup" and "Smoke" in k)
    opened = {**resources[group], "Properties": {**resources[group]["Properties"]}}
    opened["Properties"]["SecurityGroupEgress"] = [{"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 80}]
    assert _findings({"t": {"Resources": {**resources, group: opened}}})
    bare = {**resources[group], "Properties": {**resources[group]["Properties"]}}
    del bare["Properties"]["SecurityGroupEgress"]
    assert any("::/0" in f for f in _findings({"t": {"Resources": {**resources, group: bare}}}))


def test_every_listed_group_exists(synth: Synthesized, variant: Synthesized) -> None:
    """No stale entry in OPEN_EGRESS."""
    groups = {
        group for s in (synth, variant) for template in s.templates.values() for group, _rule in egress_rules(template)
    }
    for pattern in OPEN_EGRESS:
        assert any(re.fullmatch(pattern, g) for g in groups), pattern


@pytest.mark.parametrize("which", ["synth", "variant", "protocols_consumers"])
def test_the_smoke_egress_is_tcp_to_lattice_on_its_listener_ports_only(
    request: pytest.FixtureRequest, which: str
) -> None:
    synth: Synthesized = request.getfixturevalue(which)
    ports = smoke_ports(synth.config)
    assert ports[0] == 80 and all(r.listener_port in ports for r in synth.config.routes)
    smokes = 0
    for template in synth.templates.values():
        for group in [k for k in template["Resources"] if k.startswith("SmokeTestSecurityGroup")]:
            smokes += 1
            rules = [r for g, r in egress_rules(template) if g == group and r.get("CidrIp") != NO_TRAFFIC["CidrIp"]]
            # IPv4 only: no function sets Ipv6AllowedForDualStack (test below), so none sends IPv6.
            assert {lattice_lookup(template, r["DestinationPrefixListId"]) for r in rules} == {".vpc-lattice"}
            assert sorted((r["FromPort"], r["ToPort"]) for r in rules) == egress_ranges(80, ports)
    assert smokes == 1 + len(synth.config.consumers)


@pytest.mark.parametrize("which", SYNTHS)
def test_each_stack_looks_each_list_up_once_and_never_calls_on_delete(
    request: pytest.FixtureRequest, which: str
) -> None:
    """Create: every rule reads its list's ID from the lookup (Fn::GetAtt), so CloudFormation creates the lookup
    first. Delete: a lookup with no Delete call makes none (it created nothing)."""
    synth: Synthesized = request.getfixturevalue(which)
    for stack, template in synth.templates.items():
        lookups = {
            k: lattice_lookup(template, {"Fn::GetAtt": [k, OUTPUT_PATH]})
            for k, r in template["Resources"].items()
            if r["Type"] == "Custom::AWS"
        }
        found = [suffix for suffix in lookups.values() if suffix is not None]
        assert len(found) == len(set(found)), f"{stack}: a list looked up twice: {found}"
        for logical_id, suffix in lookups.items():
            if suffix is not None:
                assert "Delete" not in template["Resources"][logical_id]["Properties"], logical_id


@pytest.mark.parametrize("which", SYNTHS)
def test_no_function_sends_ipv6(request: pytest.FixtureRequest, which: str) -> None:
    """Why an IPv4 list suffices for the Lambda functions' egress: Lambda sends IPv6 from a VPC function only with
    VpcConfig.Ipv6AllowedForDualStack ("Allows outbound IPv6 traffic on VPC functions that are connected to
    dual-stack subnets": botocore 1.44.8, the Lambda service model of API version 2015-03-31, read 2026-12-06)."""
    synth: Synthesized = request.getfixturevalue(which)
    for template in synth.templates.values():
        for logical_id, r in template["Resources"].items():
            if r["Type"] == "AWS::Lambda::Function":
                vpc = r["Properties"].get("VpcConfig", {})
                assert not vpc.get("Ipv6AllowedForDualStack"), logical_id


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ((80,), [(80, 80)]),
        ((80, 443, 8443), [(80, 80), (443, 443), (8443, 8443)]),
        ((80, 81, 82, 443), [(80, 80), (81, 82), (443, 443)]),
        ((80, 443, 8443, 9443, 10443), [(80, 80), (443, 443), (8443, 10443)]),
        (tuple(range(1000, 1070, 2)), None),  # 35 ports: merged into MAX_LATTICE_EGRESS_RULES ranges
    ],
)
def test_egress_ranges_cover_every_port_within_the_quota(ports: tuple[int, ...], expected: Any) -> None:
    ranges = egress_ranges(80, ports)
    assert len(ranges) <= limits.MAX_LATTICE_EGRESS_RULES
    assert (80, 80) in ranges
    assert all(any(low <= p <= high for low, high in ranges) for p in ports)
    assert all(low in (80, *ports) and high in (80, *ports) for low, high in ranges)  # no range ends off a port
    assert ranges == sorted(ranges) and all(a[1] < b[0] for a, b in itertools.pairwise(ranges))
    if expected is not None:
        assert ranges == expected
    else:
        assert len(ranges) == limits.MAX_LATTICE_EGRESS_RULES


def _alive(old: tuple[int, ...], new: tuple[int, ...]) -> int:
    """The smoke group's outbound IPv4 weight while CloudFormation moves it from `old`'s rules to `new`'s: the
    placeholder and every rule of either (a rule's logical ID is its range: LatticePrefixListEgress)."""
    rules = set(egress_ranges(80, old)) | set(egress_ranges(80, new))
    return limits.SMOKE_SG_OTHER_OUTBOUND + len(rules) * limits.LATTICE_PREFIX_LIST_WEIGHT


def test_any_edit_of_the_listener_ports_fits_the_quota_while_it_deploys() -> None:
    """Every pair of port sets from a universe around the real listener ports (443, TLS ports near and far from each
    other, ports below 80): the old and the new rules together stay within the quota, whatever the edit."""
    universe = (22, 79, 81, 443, 444, 1000, 8443, 8444, 9443, 20000)
    sets = [c for n in range(0, 6) for c in itertools.combinations(universe, n)]
    worst = max(_alive((80, *a), (80, *b)) for a in sets for b in sets[::7])
    assert worst <= limits.SECURITY_GROUP_RULES


def test_the_update_check_sees_a_merge_that_moves_every_range() -> None:
    """Not vacuous: merging all the ports by smallest gaps, within six ranges (the branch's first version) or four
    (one rule's headroom), puts old and new rules past the quota on a one-port edit: 3100 moved to 500."""
    old, new = (80, 443, 1000, 2000, 3100), (80, 443, 500, 1000, 2000)
    for budget in (6, 4):
        rules = set(port_ranges(old, budget)) | set(port_ranges(new, budget))
        assert limits.SMOKE_SG_OTHER_OUTBOUND + len(rules) * limits.LATTICE_PREFIX_LIST_WEIGHT > 60, budget
    assert _alive(old, new) <= limits.SECURITY_GROUP_RULES


# The logical IDs the platform's Lattice lookups and ingress rules had before the lookup moved into
# LatticePrefixLists (main at 7568d66, synthesized 2026-12-06 with the default and VARIANT configurations): a new
# logical ID would make CloudFormation create a second resource and delete the deployed one (a replaced lookup, an
# ingress rule briefly doubled then removed).
DEPLOYED_INGRESS_IDS = {
    "synth": {
        "LatticeIngressIpv4Port3000ABCBD897",
        "LatticeIngressIpv4PrefixListCustomResourcePolicyD8FB947A",
        "LatticeIngressIpv4PrefixListEB03FBDA",
    },
    "variant": {
        "LatticeIngressIpv4Port3000ABCBD897",
        "LatticeIngressIpv4PrefixListCustomResourcePolicyD8FB947A",
        "LatticeIngressIpv4PrefixListEB03FBDA",
        "LatticeIngressIpv6Port3000087C5C5F",
        "LatticeIngressIpv6PrefixList0D75FB6D",
        "LatticeIngressIpv6PrefixListCustomResourcePolicy7CBB4EB7",
    },
}


@pytest.mark.parametrize("which", sorted(DEPLOYED_INGRESS_IDS))
def test_the_platforms_lookups_and_ingress_rules_keep_their_logical_ids(
    request: pytest.FixtureRequest, which: str
) -> None:
    synth: Synthesized = request.getfixturevalue(which)
    platform = synth.templates["EksLatticeGateway-Platform"]["Resources"]
    kinds = ("Custom::AWS", "AWS::IAM::Policy", "AWS::EC2::SecurityGroupIngress")
    lattice = {
        k
        for k, r in platform.items()
        if r["Type"] in kinds
        and ("describemanagedprefixlists" in json.dumps(r).lower() or "SourcePrefixListId" in r.get("Properties", {}))
    }
    assert lattice == DEPLOYED_INGRESS_IDS[which]


# The README and docs/access-control.md describe the smoke egress: when egress_ranges joins ports, they must say so and
# from how many ports on (no "only on the listener ports" while merged ranges open the ports between them).
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def _first_merge() -> int:
    """The fewest listener ports (80 and far-apart others) for which egress_ranges joins some into a range."""
    for n in range(1, 20):
        ports = (80, *(1000 + 1000 * i for i in range(n - 1)))
        if len(egress_ranges(80, ports)) < n:
            return n
    raise AssertionError("egress_ranges never joins ports")


def _prose(path: str) -> str:
    from tests.conftest import ROOT

    return " ".join((ROOT / path).read_text().split())


def _smoke_docs_problems(text: str) -> list[str]:
    merged_from = _first_merge()
    problems = []
    if f"past {NUMBERS[merged_from - 1]}" not in text:
        problems.append(f"not said: from {merged_from} listener ports on, the smoke egress joins ports into ranges")
    if not re.search(r"ranges? (that|which) (also )?opens? the ports between them", text):
        problems.append("not said: a joined range opens the ports between its ends")
    stale = ("only on 80 and the other", "only to VPC Lattice, on the listener")
    problems += [f"says {s!r}" for s in stale if s in text]
    return problems


@pytest.mark.parametrize("path", ["README.md", "docs/access-control.md"])
def test_the_docs_say_when_the_smoke_egress_joins_ports_into_ranges(path: str) -> None:
    assert _first_merge() == limits.MAX_LATTICE_EGRESS_RULES + 1
    assert _smoke_docs_problems(_prose(path)) == []


def test_the_docs_check_sees_the_branchs_first_wording() -> None:
    """Not vacuous: the first README sentence, and the first Network paragraph's merge (past six ports), fail it."""
    readme = "The smoke functions may send only to VPC Lattice, on the listener ports; what each security group opens"
    network = "past six ports the smoke egress joins the closest ones into ranges (still only to Lattice's addresses)"
    assert len(_smoke_docs_problems(readme)) == 3
    assert len(_smoke_docs_problems(network)) == 2


@pytest.mark.parametrize("path", ["README.md", "docs/access-control.md", "constructs/lattice/egress.py"])
def test_every_claim_that_security_groups_pass_dns_names_its_condition(path: str) -> None:
    """Security groups don't filter traffic to the Amazon DNS server only: a VPC whose DHCP options name DNS servers of
    its own is filtered (constructs/lattice/egress.py). Each paragraph that says DNS passes names that condition."""
    from tests.conftest import ROOT

    paragraphs = re.split(r"\n\s*\n", (ROOT / path).read_text())
    for paragraph in paragraphs:
        prose = " ".join(paragraph.split())
        if re.search(r"(do not|don't) filter|needs no rule", prose) and re.search(r"DNS|resolve", prose):
            assert "AmazonProvidedDNS" in prose and "DHCP options" in prose, f"{path}: {prose[:200]}"
