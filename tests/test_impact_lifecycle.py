"""tools/impact.py findings of the issue 23 review: no false "updated in place" for

- a stack the proposal drops or moves to another account or region (the CDK CLI keys a stack by account, region and
  name: it creates the moved one anew and never deletes the old): an orphaned stack, [BLOCKING];
- an EKS cluster's Version that does not go up by exactly one minor (EKS never downgrades, upgrades one minor at a
  time): [BLOCKING], and the node group step named for a one-minor upgrade;
- a new instance taking a key the service keeps unique that is not the primary identifier (SERVICE_UNIQUE_KEYS);
- a create-only property that reads an attribute of an updated custom resource (what its handler returns may
  change): a replacement.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from config.versions import EKS_VERSIONS
from tests.conftest import Synthesized
from tools import impact
from tools.synth import read_assembly

PLATFORM = "EksLatticeGateway-Platform"


def environments_of(synthesized: Synthesized) -> dict[str, impact.Environment]:
    return impact.environments(read_assembly(synthesized.outdir))


# ------------------------------------------------------------------------------------------ orphaned stacks


def test_every_stack_dropped_or_moved_is_an_orphaned_stack_blocker(variant: Synthesized) -> None:
    """Class test: for every stack of a baseline synthesis (consumer stacks in their own accounts included),
    removing it, or changing its account or its region, yields an orphaned-stack blocker naming the command that
    destroys the old stack, and no resource of it is called updated in place."""
    templates, envs = variant.templates, environments_of(variant)
    assert any(envs[n][0] not in ("", envs[PLATFORM][0]) for n in templates), "the variant has consumer stacks"
    for name in templates:
        dropped = {n: t for n, t in templates.items() if n != name}
        result = impact.compare(templates, dropped, old_environments=envs, new_environments=envs)
        (blocker,) = [b for b in result.blockers if b.kind == "orphaned stack"]
        account, region = envs[name]
        assert blocker.stack == name and "no longer synthesizes it" in blocker.note
        assert f"--region {region} --stack-name {name}" in blocker.note and f"account {account}" in blocker.note
        assert not [c for c in result.changes if c.stack == name], "a dropped stack is left as it is"
        for moved_env in ((("999999999999", envs[name][1])), (envs[name][0], "eu-west-1")):
            moved = {**envs, name: moved_env}
            result = impact.compare(templates, templates, old_environments=envs, new_environments=moved)
            (blocker,) = [b for b in result.blockers if b.kind == "orphaned stack"]
            assert blocker.stack == name and "creates the stack anew" in blocker.note, blocker
            mine = [c for c in result.changes if c.stack == name]
            assert mine and {c.action for c in mine} == {"add"}, "a moved stack is all new, not updated in place"
    # Nothing moved, nothing dropped: no orphan.
    same = impact.compare(templates, templates, old_environments=envs, new_environments=envs)
    assert not same.blockers and not same.changes


def test_a_stack_whose_environment_is_left_open_is_not_moved() -> None:
    """An environment-agnostic side ("" = the credentials') cannot be told apart: only named values are compared."""
    template = {"Resources": {"H": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    result = impact.compare(
        {"S": template}, {"S": template}, old_environments={"S": ("", "")}, new_environments={"S": ("1" * 12, "x")}
    )
    assert result.blockers == []


def test_cli_reports_a_dropped_stack_of_the_baseline(synth: Synthesized) -> None:
    """`make impact` with a baseline holding a stack the proposal no longer has: an orphaned-stack line, refused."""
    import io

    baseline = {**synth.templates, "EksLatticeGateway-Consumer-gone": {"Resources": {}}}

    def synthesizer(overrides: Any) -> Any:
        from tools.synth import Assembly

        templates = synth.templates if overrides else baseline
        return Assembly(outdir=synth.outdir, templates=dict(templates))

    out, err = io.StringIO(), io.StringIO()
    status = impact.main(["-c", "nodeDesiredSize=2", "--fail-on-stateful"], out=out, err=err, synthesizer=synthesizer)
    assert status == 1, (out.getvalue(), err.getvalue())
    assert any(
        line.startswith("blocked  EksLatticeGateway-Consumer-gone  orphaned stack") and line.endswith("[BLOCKING]")
        for line in out.getvalue().splitlines()
    ), out.getvalue()
    assert "aws cloudformation delete-stack" in err.getvalue()


# ------------------------------------------------------------------------------------ EKS version steps


def _cluster(templates: dict[str, Any]) -> tuple[str, str]:
    (found,) = [
        (stack, lid)
        for stack, template in templates.items()
        for lid, r in template.get("Resources", {}).items()
        if r.get("Type") == "AWS::EKS::Cluster"
    ]
    return found


@pytest.mark.parametrize(("current", "target"), list(itertools.permutations(sorted(EKS_VERSIONS), 2)))
def test_every_offered_kubernetes_version_pair_blocks_unless_one_minor_up(
    synth: Synthesized, current: str, target: str
) -> None:
    """Class test: for every pair of offered kubernetesVersion values (config/versions.py), the cluster's Version
    going from one to the other is a blocker unless target = current + 1 minor; a one-minor upgrade instead names
    the node group step (its template names no Version)."""
    stack, lid = _cluster(synth.templates)
    old, new = copy.deepcopy(synth.templates), copy.deepcopy(synth.templates)
    old[stack]["Resources"][lid]["Properties"]["Version"] = current
    new[stack]["Resources"][lid]["Properties"]["Version"] = target
    result = impact.compare(old, new)
    steps = [b for b in result.blockers if b.kind == "EKS version step"]
    one_up = int(target.split(".")[1]) == int(current.split(".")[1]) + 1
    if one_up:
        assert steps == []
        (note,) = result.notes
        assert "update-nodegroup-version" in note.note and f"must run {current}" in note.note
    else:
        (blocker,) = steps
        assert blocker.subject == lid and f"{current} -> {target}" in blocker.note
        assert ("a downgrade" in blocker.note) == (target < current)
        (cluster,) = [c for c in result.changes if c.logical_id == lid]
        assert "[BLOCKING]" in cluster.reasons[-1] and result.summary().endswith("the deploy does not go as listed")
        assert "update-cluster.html" in blocker.note


def test_the_app_names_no_node_group_version(synth: Synthesized) -> None:
    """Why the note above applies to this app: its node group leaves Version out (nodes keep theirs)."""
    groups = [
        r
        for t in synth.templates.values()
        for r in t.get("Resources", {}).values()
        if r.get("Type") == "AWS::EKS::Nodegroup"
    ]
    assert groups and all("Version" not in g.get("Properties", {}) for g in groups)


def test_minor_step() -> None:
    assert impact.minor_step("1.35", "1.36") == 1
    assert impact.minor_step("1.35", "1.34") == -1
    assert impact.minor_step("1.35", "2.0") is None
    assert impact.minor_step("1.35", "latest") is None


# ------------------------------------------------------------------------------- service-unique keys

# One instance of each type of the table, its key values written out (VPCs: a list, each VPC its own key).
SAMPLES: dict[str, Any] = {
    "AWS::VpcLattice::ServiceNetworkVpcAssociation": {
        "ServiceNetworkIdentifier": "sn-0123456789abcdef0",
        "VpcIdentifier": "vpc-0123456789abcdef0",
    },
    "AWS::EKS::PodIdentityAssociation": {
        "ClusterName": "demo",
        "Namespace": "apps",
        "ServiceAccount": "caller",
        "RoleArn": "arn:aws:iam::111111111111:role/r",
    },
    "AWS::Route53::HostedZone": {
        "Name": "internal.example.",
        "VPCs": [{"VPCId": "vpc-0123456789abcdef0", "VPCRegion": "us-east-1"}],
    },
}


def _set(props: Any, path: tuple[str, ...], value: Any) -> None:
    head, *rest = path
    if head == "*":
        for item in props:
            _set(item, tuple(rest), value)
    elif not rest:
        props[head] = value
    else:
        _set(props[head], tuple(rest), value)


def test_samples_cover_the_table() -> None:
    assert set(SAMPLES) == set(impact.SERVICE_UNIQUE_KEYS)


@pytest.mark.parametrize("rtype", sorted(impact.SERVICE_UNIQUE_KEYS))
def test_every_unique_key_taken_by_a_new_instance_blocks(rtype: str) -> None:
    """Class test over SERVICE_UNIQUE_KEYS: a new instance (another logical id; the old one deleted only at cleanup)
    with every key part equal to an old instance's is refused; changing any one part of the key is not."""
    old = {"S": {"Resources": {"Old": {"Type": rtype, "Properties": SAMPLES[rtype]}}}}
    new = {"S": {"Resources": {"New": {"Type": rtype, "Properties": copy.deepcopy(SAMPLES[rtype])}}}}
    (blocker,) = [b for b in impact.compare(old, new).blockers if b.kind.endswith("key taken")]
    assert blocker.subject == "New" and "Old" in blocker.note
    for path in impact.SERVICE_UNIQUE_KEYS[rtype][0]:
        other = copy.deepcopy(new)
        _set(other["S"]["Resources"]["New"]["Properties"], path, "another-value")
        assert not [b for b in impact.compare(old, other).blockers if b.kind.endswith("key taken")], path


def test_a_replaced_association_keeping_its_vpc_blocks() -> None:
    """The serviceNetworkName case: the association is replaced for a new network while its VPC stays."""
    rtype = "AWS::VpcLattice::ServiceNetworkVpcAssociation"
    old = {"S": {"Resources": {"A": {"Type": rtype, "Properties": SAMPLES[rtype]}}}}
    new = copy.deepcopy(old)
    new["S"]["Resources"]["A"]["Properties"]["ServiceNetworkIdentifier"] = "sn-0fedcba9876543210"
    result = impact.compare(old, new)
    assert [c.action for c in result.changes] == ["replace"]
    (blocker,) = result.blockers
    assert "its own old instance" in blocker.note and "only one service network" in blocker.note


def test_a_key_that_refers_to_a_replaced_resource_is_not_taken() -> None:
    """Written alike, resolved differently: the association's VPC is replaced, so the new one names a new VPC."""
    assoc = "AWS::VpcLattice::ServiceNetworkVpcAssociation"
    old: dict[str, Any] = {
        "S": {
            "Resources": {
                "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.1.0.0/16"}},
                "A": {
                    "Type": assoc,
                    "Properties": {"ServiceNetworkIdentifier": "sn-1", "VpcIdentifier": {"Ref": "Vpc"}},
                },
            }
        }
    }
    new = copy.deepcopy(old)
    new["S"]["Resources"]["Vpc"]["Properties"]["CidrBlock"] = "10.9.0.0/16"
    assert not impact.compare(old, new).blockers


# ------------------------------------------------------------------- attributes of updated custom resources


@pytest.mark.parametrize(
    ("rtype", "prop"),
    [
        ("AWS::EC2::Subnet", "VpcId"),
        ("AWS::VpcLattice::ServiceNetworkVpcAssociation", "VpcIdentifier"),
        ("AWS::Route53::RecordSet", "HostedZoneId"),
    ],
)
def test_a_create_only_property_reading_an_updated_custom_resource_is_replaced(rtype: str, prop: str) -> None:
    """Any attribute of a custom resource is what its handler returns from the Update: a create-only property that
    reads one may change, so its resource is replaced; unchanged custom resource, unchanged reader."""
    assert (prop,) in impact.type_schema(rtype).create_only
    old: dict[str, Any] = {
        "S": {
            "Resources": {
                "Custom": {"Type": "Custom::Lookup", "Properties": {"ServiceToken": "arn:fn", "Input": "a"}},
                "Reader": {"Type": rtype, "Properties": {prop: {"Fn::GetAtt": ["Custom", "Value"]}}},
            }
        }
    }
    same = impact.compare(old, copy.deepcopy(old))
    assert same.changes == []
    new = copy.deepcopy(old)
    new["S"]["Resources"]["Custom"]["Properties"]["Input"] = "b"
    result = {c.logical_id: c for c in impact.compare(old, new).changes}
    assert result["Custom"].action == "update"
    assert result["Reader"].action == "replace" and "Custom.Value may change" in result["Reader"].reasons[0]


# ------------------------------------------------------------------------------------------------ refusal


def test_the_override_hint_follows_stateful_replacements_only_when_nothing_is_blocked() -> None:
    """ALLOW_REPLACEMENT=1 (the hint) deploys a stateful replacement; a change CloudFormation refuses would only fail
    later, so the refusal offers no override once any [BLOCKING] line is there."""
    rtype = "AWS::VpcLattice::ServiceNetworkVpcAssociation"
    old = {"S": {"Resources": {"A": {"Type": rtype, "Properties": SAMPLES[rtype]}}}}
    moved = copy.deepcopy(old)
    moved["S"]["Resources"]["A"]["Properties"]["VpcIdentifier"] = "vpc-0fedcba9876543210"
    stateful_only = impact.compare(old, moved)
    assert stateful_only.stateful and not stateful_only.blockers
    assert impact.refusal(stateful_only, "HINT").endswith("HINT")
    taken = copy.deepcopy(old)
    taken["S"]["Resources"]["A"]["Properties"]["ServiceNetworkIdentifier"] = "sn-0fedcba9876543210"
    blocked = impact.compare(old, taken)
    assert blocked.stateful and blocked.blockers
    assert "HINT" not in impact.refusal(blocked, "HINT")
