"""The CHANGELOG's [Unreleased] entry tells the truth about what an update from the last release does to the
infrastructure, as tools/impact works it out: it claims no infrastructure change only while nothing is added,
removed or replaced, and otherwise names each resource type that is.

The last release's templates are tests/baselines/<version>/<stack>.template.json: the default synthesis as released,
taken from that release's recorded snapshots (tests/__snapshots__/test_snapshots/, normalized as tests/test_snapshots.py
does: asset hashes as `<asset-hash>`, no CDKMetadata), each Metadata block dropped (nag and checkov
acknowledgments; tools/impact reads none). 0.4.0's are those of commit 3b8fd8c (the 0.4.0 entry), which stayed
unchanged up to the commit that opened [Unreleased]. When a version is released, record its baseline the same way
and drop the older one (the test asks for the newest released version's). Consumer stacks are not in the default
synthesis, so their side of an update is not compared here: the entry's upgrade notes say it in words."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import ROOT, Synthesized
from tests.test_snapshots import normalize
from tools import impact

CHANGELOG = ROOT / "CHANGELOG.md"
BASELINES = ROOT / "tests" / "baselines"
# What an entry says when it claims an update changes no resource but code.
NOTHING_CLAIMS = re.compile(r"no infrastructure change|replaces, adds and removes nothing", re.I)


def released_version(text: str) -> str:
    found = re.search(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", text, flags=re.M)
    assert found, "CHANGELOG.md has no released version"
    return found.group(1)


def unreleased(text: str) -> str:
    found = re.search(r"^## \[Unreleased\]\n(.*?)(?=^## \[)", text, flags=re.M | re.S)
    assert found, "CHANGELOG.md has no [Unreleased] entry"
    return found.group(1)


def baseline(version: str) -> dict[str, dict[str, Any]]:
    folder = BASELINES / version
    found = {p.name.removesuffix(".template.json"): json.loads(p.read_text()) for p in folder.glob("*.template.json")}
    assert found, f"no baseline for {version} under {folder.relative_to(ROOT)}"
    return found


def structural(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[impact.Change]:
    """The adds, removes and replacements of deploying `new` over `old` (tools/impact.compare)."""
    result = impact.compare(old, new, stacks=sorted(old))
    return [c for c in result.changes if c.action in {"add", "remove", "replace"}]


def faults(entry: str, changes: list[impact.Change]) -> list[str]:
    """What the entry gets wrong about `changes`."""
    if not changes:
        return []
    found = []
    if claim := NOTHING_CLAIMS.search(entry):
        found.append(f"claims {claim.group(0)!r}, but the update {_summary(changes)}")
    flat = " ".join(entry.split())
    for kind in sorted({c.type.removeprefix("AWS::") for c in changes}):
        if kind not in flat:
            found.append(f"does not name {kind}")
    return found


def _summary(changes: list[impact.Change]) -> str:
    return "; ".join(f"{c.action}s {c.stack} {c.logical_id} ({c.type})" for c in changes)


def test_the_unreleased_entry_says_what_the_update_from_the_last_release_adds_removes_and_replaces(
    synth: Synthesized,
) -> None:
    text = CHANGELOG.read_text()
    old = baseline(released_version(text))
    assert set(old) <= set(synth.templates), sorted(set(old) - set(synth.templates))
    new = {name: normalize(synth.templates[name]) for name in old}
    assert faults(unreleased(text), structural(old, new)) == []


def test_the_check_sees_a_false_claim_and_an_unnamed_type(synth: Synthesized) -> None:
    """Not vacuous: a resource missing from the baseline is an add the entry must name, and 'no infrastructure
    change' next to it is refused (main's entry said so while this branch added the smoke group's egress rule)."""
    name = "EksLatticeGateway-Gateway"
    old = baseline(released_version(CHANGELOG.read_text()))
    new = {n: normalize(synth.templates[n]) for n in old}
    trimmed = {**old, name: {**old[name], "Resources": dict(old[name]["Resources"])}}
    logical, resource = next((k, r) for k, r in new[name]["Resources"].items() if r["Type"] == "AWS::IAM::Policy")
    trimmed[name]["Resources"].pop(logical, None)
    changes = [c for c in structural(trimmed, new) if c.logical_id == logical]
    assert [(c.action, c.type) for c in changes] == [("add", resource["Type"])]
    said = faults("No infrastructure change: the templates are the same.", changes)
    assert said[0].startswith("claims 'No infrastructure change', but the update adds ") and said[1:] == [
        "does not name IAM::Policy"
    ]
    assert faults("Adds an IAM::Policy.", changes) == []
    assert faults("No infrastructure change.", []) == []
