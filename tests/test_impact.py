"""tools/impact.py: what a change replaces, from the registry schemas, references, handlers' declarations and
Kubernetes manifests; its CLI (`make impact`, `--baseline`, `--deployed`, `--fail-on-stateful`) and `make deploy`'s
guard. The README's impact table is tests/test_impact_table.py."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from config.lattice_names import route_digest
from config.model import ROUTE_KINDS
from tests.conftest import ROOT, TODAY, Synthesized
from tests.support.fake_cloudformation import FakeCloudFormation
from tests.support.local_aws import use_local_aws
from tools import impact

PLATFORM, GATEWAY = "EksLatticeGateway-Platform", "EksLatticeGateway-Gateway"


def res(rtype: str, **props: Any) -> dict[str, Any]:
    return {"Type": rtype, "Properties": props}


def run(old: dict[str, Any], new: dict[str, Any]) -> impact.Impact:
    return impact.compare(old, new)


def actions(result: impact.Impact) -> dict[str, str]:
    return {c.logical_id: c.action for c in result.changes}


def reasons(result: impact.Impact, logical_id: str) -> str:
    (change,) = [c for c in result.changes if c.logical_id == logical_id]
    return "; ".join(change.reasons)


# ------------------------------------------------------------------------------------------ the analysis


def test_create_only_properties_come_from_the_registry_schemas() -> None:
    """cfn-lint's copy of the CloudFormation registry, read directly here, is what the tool uses."""
    schemas = impact._schemas_dir()
    digest = json.loads((schemas / "providers" / "us-east-1.json").read_text())["AWS::EC2::VPC"]
    raw = json.loads((schemas / "resources" / f"{digest}.json").read_text())["createOnlyProperties"]
    assert ("CidrBlock",) in impact.type_schema("AWS::EC2::VPC").create_only
    assert impact.type_schema("AWS::EC2::VPC").create_only == tuple(tuple(p.split("/")[2:]) for p in raw)
    assert not impact.type_schema("AWS::Nope::Nothing").known


def test_every_aws_type_this_app_deploys_has_a_schema(synth: Synthesized) -> None:
    """A type without a schema would pass as always updatable: none may be missing."""
    types = {r["Type"] for t in synth.templates.values() for r in t["Resources"].values()}
    missing = sorted(t for t in types if t.startswith("AWS::") and not impact.type_schema(t).known)
    assert missing == []


def test_create_only_change_replaces_and_other_changes_update() -> None:
    old = {"S": {"Resources": {"V": res("AWS::EC2::VPC", CidrBlock="10.1.0.0/16", EnableDnsSupport=True)}}}
    new = copy.deepcopy(old)
    new["S"]["Resources"]["V"]["Properties"]["EnableDnsSupport"] = False
    assert actions(run(old, new)) == {"V": "update"}
    new["S"]["Resources"]["V"]["Properties"]["CidrBlock"] = "10.9.0.0/16"
    result = run(old, new)
    assert actions(result) == {"V": "replace"}
    assert reasons(result, "V") == 'CidrBlock: "10.1.0.0/16" -> "10.9.0.0/16"'
    assert result.summary() == "impact: 1 replaced, 0 added, 0 removed, 0 updated in place"
    assert [c.logical_id for c in result.stateful] == ["V"]


def test_replacement_propagates_through_references_within_and_across_stacks() -> None:
    """A Ref to a replaced resource is a new value: create-only -> replaced too, else updated; and through
    Fn::GetStackOutput (the weak cross-stack references) into the consuming stack."""
    vpc = res("AWS::EC2::VPC", CidrBlock="10.1.0.0/16")
    old = {
        "P": {
            "Resources": {
                "Vpc": vpc,
                "Subnet": res("AWS::EC2::Subnet", VpcId={"Ref": "Vpc"}, CidrBlock="10.1.0.0/24"),
                "Zone": res("AWS::Route53::HostedZone", Name="example.com.", VPCs=[{"VPCId": {"Ref": "Vpc"}}]),
            },
            "Outputs": {"SubnetOut": {"Value": {"Ref": "Subnet"}}},
        },
        "G": {
            "Resources": {
                "Sg": res(
                    "AWS::EC2::SecurityGroup",
                    GroupDescription="x",
                    VpcId={"Fn::GetStackOutput": {"StackName": "P", "OutputName": "SubnetOut"}},
                )
            }
        },
    }
    new = copy.deepcopy(old)
    new["P"]["Resources"]["Vpc"]["Properties"]["CidrBlock"] = "10.9.0.0/16"
    result = run(old, new)
    assert actions(result) == {"Vpc": "replace", "Subnet": "replace", "Zone": "update", "Sg": "replace"}
    assert reasons(result, "Subnet") == "VpcId (Vpc replaced)"
    assert reasons(result, "Zone") == "VPCs (Vpc replaced)"
    assert reasons(result, "Sg") == "VpcId (Subnet replaced)"


def test_a_changed_token_is_compared_and_said_to_be_one() -> None:
    old = {
        "S": {"Resources": {"A": res("AWS::Logs::LogGroup", LogGroupName={"Ref": "X"}), "X": res("AWS::SNS::Topic")}}
    }
    new = copy.deepcopy(old)
    new["S"]["Resources"]["A"]["Properties"]["LogGroupName"] = {"Fn::GetAtt": ["X", "TopicName"]}
    assert reasons(run(old, new), "A") == ("LogGroupName: Ref X -> GetAtt X.TopicName (token: resolved at deploy time)")


def test_only_the_differing_part_of_a_document_is_named() -> None:
    doc = {"Statement": [{"Action": "s3:GetObject", "Resource": {"Fn::GetAtt": ["B", "Arn"]}}]}
    old = {"S": {"Resources": {"P": res("AWS::IAM::Policy", PolicyName="p", PolicyDocument=doc)}}}
    new = copy.deepcopy(old)
    new["S"]["Resources"]["P"]["Properties"]["PolicyDocument"]["Statement"][0]["Action"] = "s3:PutObject"
    assert reasons(run(old, new), "P") == 'PolicyDocument.Statement.0.Action: "s3:GetObject" -> "s3:PutObject"'


def test_launch_template_version_changes_reach_the_node_group() -> None:
    """A launch template updated in place gets a new LatestVersionNumber: the node group rolls its nodes."""
    old = {
        "S": {
            "Resources": {
                "Lt": res("AWS::EC2::LaunchTemplate", LaunchTemplateData={"InstanceType": "t3.medium"}),
                "Ng": res(
                    "AWS::EKS::Nodegroup",
                    ClusterName="c",
                    NodeRole="r",
                    Subnets=["s"],
                    LaunchTemplate={"Id": {"Ref": "Lt"}, "Version": {"Fn::GetAtt": ["Lt", "LatestVersionNumber"]}},
                ),
            }
        }
    }
    new = copy.deepcopy(old)
    new["S"]["Resources"]["Lt"]["Properties"]["LaunchTemplateData"]["InstanceType"] = "t3.large"
    result = run(old, new)
    assert actions(result) == {"Lt": "update", "Ng": "update"}
    assert reasons(result, "Ng") == "LaunchTemplate (Lt.LatestVersionNumber changes)"


def test_replacing_a_custom_named_resource_is_called_out_unless_its_cluster_is_replaced_too() -> None:
    old = {
        "S": {
            "Resources": {
                "C": res("AWS::EKS::Cluster", Name="eks-demo", RoleArn="r1", ResourcesVpcConfig={"SubnetIds": []}),
                "Ng": res("AWS::EKS::Nodegroup", ClusterName={"Ref": "C"}, NodegroupName="ng-1", NodeRole="n"),
            }
        }
    }
    new = copy.deepcopy(old)
    new["S"]["Resources"]["C"]["Properties"]["RoleArn"] = "r2"
    result = run(old, new)
    assert 'keeps its name "eks-demo": CloudFormation cannot replace a custom-named resource' in reasons(result, "C")
    assert reasons(result, "Ng") == "ClusterName (C replaced)"  # a new cluster is a new namespace for ng-1
    new = copy.deepcopy(old)
    new["S"]["Resources"]["Ng"]["Properties"]["NodeRole"] = "other"
    assert 'keeps its name "ng-1"' in reasons(run(old, new), "Ng")


def test_a_kept_name_is_answered_with_the_setting_that_renames_it_or_none() -> None:
    old = {
        "S": {
            "Resources": {
                "Ng": res("AWS::EKS::Nodegroup", ClusterName="c", NodegroupName="ng-1", NodeRole="n"),
                "Role": res("AWS::IAM::Role", RoleName="fixed", Path="/a/", AssumeRolePolicyDocument={}),
            }
        }
    }
    new = copy.deepcopy(old)
    new["S"]["Resources"]["Ng"]["Properties"]["NodeRole"] = "other"
    assert "set a new `nodeGroupName` in the same change, or delete the stack first" in reasons(run(old, new), "Ng")
    new["S"]["Resources"]["Ng"]["Properties"]["NodegroupName"] = "ng-2"
    assert "keeps its name" not in reasons(run(old, new), "Ng")
    # RoleName is create-only and no key sets it: no advice to "change the name".
    assert ("AWS::IAM::Role", "RoleName") not in impact.NAME_SETTINGS
    moved = copy.deepcopy(old)
    moved["S"]["Resources"]["Role"]["Properties"]["Path"] = "/b/"
    result = run(old, moved)
    assert actions(result)["Role"] == "replace"
    assert "no setting renames it: delete the stack first" in reasons(result, "Role")


def test_every_setting_named_as_a_kept_names_remedy_names_that_resource(
    synth: Synthesized, variant: Synthesized, namespaced: Synthesized
) -> None:
    """Class test (issue 27 item 6): make impact's "set a new `<key>`" is true for every custom-named resource with a
    create-only name in every shared synthesis: the key's value is in the name. A custom name no key sets is
    answered with "no setting renames it" (name_kept), never with advice to change it."""
    fields = {f.alias: n for n, f in type(synth.config).model_fields.items() if f.alias}
    seen = set()
    for s in (synth, variant, namespaced):
        for template in s.templates.values():
            for resource in template.get("Resources", {}).values():
                rtype, props = resource["Type"], resource.get("Properties", {})
                short_type = rtype.rsplit("::", 1)[-1]
                for (prop,) in (p for p in impact.type_schema(rtype).create_only if len(p) == 1):
                    if prop not in {"Name", f"{short_type}Name"} or not isinstance(props.get(prop), str):
                        continue
                    key = impact.NAME_SETTINGS.get((rtype, prop))
                    if key:
                        seen.add((rtype, prop))
                        assert str(getattr(s.config, fields[key])) in props[prop], (rtype, key, props[prop])
    assert seen == set(impact.NAME_SETTINGS)


def test_a_cluster_whose_subnets_move_to_another_vpc_is_replaced() -> None:
    """EKS updates a cluster's subnets in place, but only within its VPC: no schema says so."""
    old = {
        "S": {
            "Resources": {
                "Vpc": res("AWS::EC2::VPC", CidrBlock="10.1.0.0/16"),
                "Sub": res("AWS::EC2::Subnet", VpcId={"Ref": "Vpc"}, CidrBlock="10.1.0.0/24"),
                "C": res("AWS::EKS::Cluster", RoleArn="r", ResourcesVpcConfig={"SubnetIds": [{"Ref": "Sub"}]}),
            }
        }
    }
    same_vpc = copy.deepcopy(old)
    same_vpc["S"]["Resources"]["Sub"]["Properties"]["CidrBlock"] = "10.1.1.0/24"
    assert actions(run(old, same_vpc))["C"] == "update"
    other_vpc = copy.deepcopy(old)
    other_vpc["S"]["Resources"]["Vpc"]["Properties"]["CidrBlock"] = "10.9.0.0/16"
    result = run(old, other_vpc)
    assert actions(result)["C"] == "replace"
    assert "Sub moves to another VPC: EKS cannot move a cluster to another VPC" in reasons(result, "C")


def test_added_and_removed_resources_and_a_removed_stateful_one() -> None:
    old = {"S": {"Resources": {"K": res("AWS::KMS::Key"), "T": res("AWS::SNS::Topic")}}}
    new = {"S": {"Resources": {"T": res("AWS::SNS::Topic"), "Q": res("AWS::SQS::Queue")}}}
    result = run(old, new)
    assert actions(result) == {"Q": "add", "K": "remove"}
    assert [c.logical_id for c in result.stateful] == ["K"]
    assert result.summary() == "impact: 0 replaced, 1 added, 1 removed, 0 updated in place"


def test_conditionally_create_only_properties_are_said_to_maybe_interrupt() -> None:
    old = {"S": {"Resources": {"I": res("AWS::EC2::Instance", ImageId="ami-1", InstanceType="t3.micro")}}}
    new = copy.deepcopy(old)
    new["S"]["Resources"]["I"]["Properties"]["InstanceType"] = "t3.small"
    assert "InstanceType: may interrupt or replace it (conditionally create-only" in reasons(run(old, new), "I")


# ------------------------------------------------------------------------------------------ custom resources


def provider_stack(handler: str, **props: Any) -> dict[str, Any]:
    """A custom resource behind the CDK provider framework, as aws-cdk-lib wires it."""
    return {
        "Resources": {
            "UserFn": res("AWS::Lambda::Function", Handler=handler, Role="r"),
            "Framework": res(
                "AWS::Lambda::Function",
                Handler="framework.onEvent",
                Role="r",
                Environment={"Variables": {"USER_ON_EVENT_FUNCTION_ARN": {"Fn::GetAtt": ["UserFn", "Arn"]}}},
            ),
            "Record": {
                "Type": "Custom::LatticeDnsRecord",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["Framework", "Arn"]}, **props},
            },
        }
    }


def test_custom_resource_replaced_only_on_the_properties_its_handler_declares() -> None:
    old = {"S": provider_stack("lattice_dns.handler.on_event", Hostname="a.example.com", Ttl="60")}
    ttl = copy.deepcopy(old)
    ttl["S"]["Resources"]["Record"]["Properties"]["Ttl"] = "30"
    assert actions(run(old, ttl)) == {"Record": "update"}
    host = copy.deepcopy(old)
    host["S"]["Resources"]["Record"]["Properties"]["Hostname"] = "b.example.com"
    result = run(old, host)
    assert actions(result) == {"Record": "replace"}
    assert reasons(result, "Record") == (
        'Hostname: "a.example.com" -> "b.example.com" [its handler issues a new physical id]'
    )


def test_custom_resource_without_a_declaration_is_updated_on_any_change() -> None:
    old = {"S": provider_stack("somewhere_else.handler.on_event", Hostname="a.example.com")}
    new = copy.deepcopy(old)
    new["S"]["Resources"]["Record"]["Properties"]["Hostname"] = "b.example.com"
    assert actions(run(old, new)) == {"Record": "update"}


def test_declarations_are_read_from_the_handler_source(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "handler.py").write_text('X = 1\nPHYSICAL_ID_PROPERTIES: tuple[str, ...] = ("A", "B")\n')
    (tmp_path / "pkg" / "other.py").write_text("PHYSICAL_ID = 1\n")
    (tmp_path / "pkg" / "multi.py").write_text('PHYSICAL_ID_PROPERTIES = {"Custom::A": ("X",), "Custom::B": ()}\n')
    assert impact.declared_physical_id_properties("pkg.handler", tmp_path) == {"A", "B"}
    assert impact.declared_physical_id_properties("pkg.handler", tmp_path, "Custom::Any") == {"A", "B"}
    assert impact.declared_physical_id_properties("pkg.other", tmp_path) is None
    assert impact.declared_physical_id_properties("pkg.missing", tmp_path) is None
    assert impact.declared_physical_id_properties("pkg.multi", tmp_path, "Custom::A") == {"X"}
    assert impact.declared_physical_id_properties("pkg.multi", tmp_path, "Custom::B") == frozenset()
    assert impact.declared_physical_id_properties("pkg.multi", tmp_path, "Custom::C") is None


def test_a_handler_serving_several_types_replaces_on_each_types_own_properties() -> None:
    """consumer_link serves three types (issue 23.6): a zone association's new VPC is a replacement, an existing
    VPC lookup's new VpcId too, and a share acceptance's ServiceNetworkArn only an update."""
    old = {"S": provider_stack("consumer_link.handler.on_event", HostedZoneId="Z1", VpcId="vpc-1", ZoneName="x")}
    old["S"]["Resources"]["Record"]["Type"] = "Custom::CrossAccountZoneAssociation"
    new = copy.deepcopy(old)
    new["S"]["Resources"]["Record"]["Properties"]["VpcId"] = "vpc-2"
    assert actions(run(old, new)) == {"Record": "replace"}
    named = copy.deepcopy(old)
    named["S"]["Resources"]["Record"]["Properties"]["ZoneName"] = "y"
    assert actions(run(old, named)) == {"Record": "update"}
    share = copy.deepcopy(old)
    share["S"]["Resources"]["Record"]["Type"] = "Custom::LatticeShareAcceptance"
    moved = copy.deepcopy(share)
    moved["S"]["Resources"]["Record"]["Properties"]["VpcId"] = "vpc-2"  # not one of the share's
    assert actions(run(share, moved)) == {"Record": "update"}


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_every_custom_resource_of_this_app_declares_its_physical_id_properties(
    request: pytest.FixtureRequest, which: str
) -> None:
    """Each handler of ours behind a custom resource says, for that resource's type, which properties give a new
    physical id, and each of those is a property the construct really sends (a rename on either side fails here).
    The variant synthesizes consumers' stacks too (consumer_link serves three types)."""
    synthesized: Synthesized = request.getfixturevalue(which)
    found = {}
    for stack, template in synthesized.templates.items():
        for logical_id, resource in template["Resources"].items():
            if not resource["Type"].startswith("Custom::"):
                continue
            module = impact.handler_module(synthesized.templates, stack, resource)
            if module and (ROOT / "lambda" / module.split(".")[0]).is_dir():
                declared = impact.declared_physical_id_properties(module, resource_type=resource["Type"])
                assert declared is not None, f"{module} has no PHYSICAL_ID_PROPERTIES for {resource['Type']}"
                assert declared <= set(resource["Properties"]), (logical_id, declared)
                found[resource["Type"]] = module
    if which == "variant":
        assert {t: m for t, m in found.items() if m.startswith("consumer_link")} == {
            "Custom::CrossAccountZoneAssociation": "consumer_link.handler",
            "Custom::ExistingVpc": "consumer_link.handler",
            "Custom::LatticeShareAcceptance": "consumer_link.handler",
        }
        return
    assert found == {
        "Custom::ControllerCredentials": "controller_credentials.handler",
        "Custom::FinalizerGuard": "finalizer_guard.handler",
        "Custom::GatewayApiCrds": "crd_installer.handler",
        "Custom::LatticeDnsRecord": "lattice_dns.handler",
        "Custom::LatticeMetricIds": "lattice_metrics.handler",
        "Custom::LatticeServiceNetworkDrain": "lattice_drain.handler",
        "Custom::LatticeServiceSweep": "lattice_drain.handler",
        "Custom::PrivateZoneSweep": "zone_sweep.handler",
    }


# ------------------------------------------------------------------------------------------------ kubernetes


def manifest(*objects: dict[str, Any], token: bool = False) -> dict[str, Any]:
    text = json.dumps(list(objects))
    if token:  # as aws-cdk-lib writes a manifest that holds a token: Fn::Join around the JSON text
        head, tail = text.split("REGION")
        return res(impact.KUBERNETES_MANIFEST, Manifest={"Fn::Join": ["", [head, {"Ref": "AWS::Region"}, tail]]})
    return res(impact.KUBERNETES_MANIFEST, Manifest=text)


def obj(kind: str, name: str, namespace: str | None = "default", **spec: Any) -> dict[str, Any]:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": spec}


def test_renamed_kubernetes_object_is_a_delete_and_a_create_or_an_orphan() -> None:
    """In another manifest resource, the old one's Delete deletes the old object; in the same one, kubectl's prune
    leaves it (custom kinds are not on its allowlist; tests/test_impact_kubectl.py has the rules)."""
    old = {"G": {"Resources": {"R": manifest(obj("HTTPRoute", "a", hostnames=["REGION.example.com"]), token=True)}}}
    for changed in (obj("HTTPRoute", "b"), obj("HTTPRoute", "a", namespace="apps"), obj("Service", "a")):
        new = {"G": {"Resources": {"R": manifest(changed)}}}
        orphan, create = run(old, new).kubernetes
        assert (orphan.action, str(orphan.old), orphan.blocking) == ("orphan", "HTTPRoute default/a", True)
        assert (create.action, create.new) == ("create", impact.K8sObject(changed["kind"], *_where(changed)))
    (route,) = run(old, {"G": {"Resources": {"R2": manifest(obj("HTTPRoute", "b"))}}}).kubernetes
    assert (route.action, str(route.new)) == ("replace", "HTTPRoute default/b")
    assert route.note == "a new Lattice service and a new Lattice DNS name (the CNAME follows)"


KIND_PAIRS = [(a, b) for a in sorted(set(ROUTE_KINDS.values())) for b in sorted(set(ROUTE_KINDS.values())) if a != b]


@pytest.mark.parametrize(("before", "after"), KIND_PAIRS)
@pytest.mark.parametrize("holder", ["R", "R2"])
def test_a_route_that_changes_kind_is_refused_with_a_remedy_that_works(before: str, after: str, holder: str) -> None:
    """Every pair of route kinds (from ROUTE_KINDS: a protocol change across kinds keeps the object's and the
    Lattice service's name, both of <cluster>/<hostname>): one blocking change that says why, whether the new
    object sits in the same manifest resource (prune would orphan the old one) or another (cleanup deletes the
    old one after); the refusal's remedy is two deploys, a new hostname or a recreated stack, never a kubectl
    delete after ALLOW_REPLACEMENT."""
    old = {"G": {"Resources": {"R": manifest(obj(before, "r-abc123", hostnames=["a.example.com"]))}}}
    new = {"G": {"Resources": {holder: manifest(obj(after, "r-abc123", hostnames=["a.example.com"]))}}}
    result = run(old, new)
    (change,) = result.kubernetes
    assert (change.action, change.blocking, change.cause) == ("replace", True, "kind changed")
    assert (str(change.old), str(change.new)) == (f"{before} default/r-abc123", f"{after} default/r-abc123")
    assert f"changes kind from {before}" in change.note and "ConflictError" in change.note
    text = impact.refusal(result, "ALLOW_REPLACEMENT=1")
    assert "would change kind" in text and "remove the route, deploy, then add it" in text
    assert "kubectl delete" not in text and "takes over the hostname" not in text


@pytest.mark.parametrize(("before", "after"), KIND_PAIRS)
def test_the_two_deploys_the_kind_change_refusal_recommends_are_each_clean(before: str, after: str) -> None:
    """Remove the route, deploy; add it with its new kind, deploy: neither step blocks."""
    old = {"G": {"Resources": {"R": manifest(obj(before, "r-abc123", hostnames=["a.example.com"]))}}}
    gone: dict[str, Any] = {"G": {"Resources": {"Other": manifest(obj("Service", "s"))}}}
    new = {"G": {"Resources": {"R": manifest(obj(after, "r-abc123", hostnames=["a.example.com"]))}}}
    assert not run(old, gone).blocking
    assert not run(gone, new).blocking


def _gateway(*listeners: str) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "net", "namespace": "default"},
        "spec": {"listeners": [{"name": n} for n in listeners]},
    }


def _attached(kind: str, section: str) -> dict[str, Any]:
    return obj(kind, "r", hostnames=["a.x"], parentRefs=[{"name": "net", "sectionName": section}])


# Every way a route's listener moves (README: Protocols): certificateArn dropped, HTTP to HTTPS on the last HTTP
# route, a TLS port change; and a move whose old listener stays (no disruption).
MOVES = [
    ("HTTPRoute", ("http", "https-abc123"), ("http", "https"), "https-abc123", "https", True),
    ("GRPCRoute", ("https-abc123",), ("https",), "https-abc123", "https", True),
    ("HTTPRoute", ("http",), ("https",), "http", "https", True),
    ("TLSRoute", ("tls-443",), ("tls-8443",), "tls-443", "tls-8443", True),
    ("HTTPRoute", ("http", "https"), ("http", "https"), "http", "https", False),
]


@pytest.mark.parametrize(("kind", "old_listeners", "new_listeners", "old", "new", "disrupted"), MOVES)
def test_a_route_whose_listener_leaves_the_gateway_is_said_to_be_briefly_detached(
    kind: str, old_listeners: tuple[str, ...], new_listeners: tuple[str, ...], old: str, new: str, disrupted: bool
) -> None:
    before = {"G": {"Resources": {"Gw": manifest(_gateway(*old_listeners)), "R": manifest(_attached(kind, old))}}}
    after = {"G": {"Resources": {"Gw": manifest(_gateway(*new_listeners)), "R": manifest(_attached(kind, new))}}}
    changes = run(before, after).kubernetes
    (route,) = [c for c in changes if c.kind == kind]
    assert route.action == "update" and not route.blocking
    assert ("briefly detached" in route.note) is disrupted, route.note
    if disrupted:
        assert f"its listener {old} leaves the Gateway" in route.note and f"attaches it to {new}" in route.note


@pytest.mark.parametrize("protocols", [("HTTP", "HTTPS"), ("HTTPS", "HTTP")])
def test_a_protocol_change_within_a_kind_is_an_update(protocols: tuple[str, str]) -> None:
    """HTTP <-> HTTPS keeps the HTTPRoute (only its listener moves): no kind change."""
    kinds = [ROUTE_KINDS[p] for p in protocols]
    old = {"G": {"Resources": {"R": manifest(obj(kinds[0], "r", hostnames=["a.x"], rules=[protocols[0]]))}}}
    new = {"G": {"Resources": {"R": manifest(obj(kinds[1], "r", hostnames=["a.x"], rules=[protocols[1]]))}}}
    (change,) = run(old, new).kubernetes
    assert (change.action, change.cause) == ("update", "")


def _where(doc: dict[str, Any]) -> tuple[str, str]:
    return doc["metadata"].get("namespace", ""), doc["metadata"]["name"]


def test_kubernetes_object_updates_and_what_they_ignore() -> None:
    labelled = obj("Deployment", "app", replicas=2)
    labelled["metadata"]["labels"] = {"aws.cdk.eks/prune-c8aaa": ""}
    old = {"G": {"Resources": {"A": manifest(labelled)}}}
    moved = copy.deepcopy(labelled)
    moved["metadata"]["labels"] = {"aws.cdk.eks/prune-c8bbb": ""}  # the construct moved: same object
    assert run(old, {"G": {"Resources": {"A": manifest(moved)}}}).kubernetes == []
    scaled = copy.deepcopy(labelled)
    scaled["spec"]["replicas"] = 3
    (change,) = run(old, {"G": {"Resources": {"A": manifest(scaled)}}}).kubernetes
    assert (change.action, str(change.new)) == ("update", "Deployment default/app")


@pytest.mark.parametrize("kind", sorted(set(ROUTE_KINDS.values())))
def test_route_hostname_change_keeps_the_lattice_custom_domain(kind: str) -> None:
    old = {"G": {"Resources": {"R": manifest(obj(kind, "r", hostnames=["a.example.com"]))}}}
    new = {"G": {"Resources": {"R": manifest(obj(kind, "r", hostnames=["b.example.com"]))}}}
    (change,) = run(old, new).kubernetes
    assert change.action == "update"
    assert "keeps the custom domain name it was created with" in change.note


@pytest.mark.parametrize("kind", sorted(set(ROUTE_KINDS.values())))
def test_a_new_route_object_that_keeps_a_deleted_ones_hostname_is_said_to_need_two_deploys(kind: str) -> None:
    """Renamed with its hostname kept, alone (a delete + create pair) or among several (separate deletes and
    creates): each new route names the old one whose hostname it takes; a new hostname is no such case. For every
    kind a route is emitted as (each is a Lattice service with a custom domain)."""
    a, b = obj(kind, "a-111111", hostnames=["a.example.com"]), obj(kind, "b-111111", hostnames=["b.x"])
    renamed = [copy.deepcopy(a), copy.deepcopy(b)]
    renamed[0]["metadata"]["name"], renamed[1]["metadata"]["name"] = "a-222222", "b-222222"
    (alone,) = run(
        {"G": {"Resources": {"R": manifest(a)}}}, {"G": {"Resources": {"R2": manifest(renamed[0])}}}
    ).kubernetes
    assert (alone.action, alone.blocking) == ("replace", True)
    assert f"takes over the hostname a.example.com of {kind} default/a-111111" in alone.note
    assert "not in one deploy" in alone.note
    old = {"G": {"Resources": {"A": manifest(a), "B": manifest(b)}}}
    changes = run(old, {"G": {"Resources": {"A2": manifest(renamed[0]), "B2": manifest(renamed[1])}}}).kubernetes
    created = {str(c.new): c.note for c in changes if c.action == "create"}
    assert created.keys() == {f"{kind} default/a-222222", f"{kind} default/b-222222"}
    assert [c.action for c in changes if c.blocking] == ["create", "create"]
    assert f"of {kind} default/a-111111" in created[f"{kind} default/a-222222"]
    assert f"the hostname b.x of {kind} default/b-111111" in created[f"{kind} default/b-222222"]
    moved = obj(kind, "a-333333", hostnames=["new.example.com"])
    (fine,) = run({"G": {"Resources": {"R": manifest(a)}}}, {"G": {"Resources": {"R2": manifest(moved)}}}).kubernetes
    assert "takes over" not in fine.note and not fine.blocking


def with_hostname_only_digests(synth: Synthesized, template: dict[str, Any]) -> dict[str, Any]:
    """The gateway template as deployed before clusters were told apart: each route's digest of its hostname
    alone, in its object's name, its service-name override and wherever else it appears."""
    text = json.dumps(template)
    for route in synth.config.routes:
        old_digest = hashlib.sha256(route.hostname.encode()).hexdigest()[:6]
        text = text.replace(route_digest(synth.config.cluster_name, route.hostname), old_digest)
    edited: dict[str, Any] = json.loads(text)
    return edited


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_upgrading_routes_named_before_the_cluster_was_in_their_digest_is_reported(
    request: pytest.FixtureRequest, which: str
) -> None:
    """A deployment whose routes carry the hostname-only digest (before clusters were told apart): each route's
    new object keeps its hostname, which the report must say cannot be done in one deploy. As the README says:
    one route is one `k8s delete+create` line; several are a `k8s create` per new object and a `k8s delete` per
    old one (which old object became which new one is not known)."""
    synth: Synthesized = request.getfixturevalue(which)
    routes = len(synth.config.routes)
    deployed = {**synth.templates, GATEWAY: with_hostname_only_digests(synth, synth.templates[GATEWAY])}
    result = impact.compare(deployed, synth.templates, stacks=[GATEWAY])
    notes = [k.note for k in result.kubernetes if k.kind == "HTTPRoute" and k.action in {"replace", "create"}]
    assert len(notes) == routes
    assert all("takes over the hostname" in n for n in notes), notes
    assert len(result.blocking) == routes
    out = io.StringIO()
    impact.report(result, out)
    assert "not in one deploy" in out.getvalue()
    assert out.getvalue().count("[BLOCKING]") == routes
    lines = [line.split()[0:2] for line in out.getvalue().splitlines() if "HTTPRoute" in line]
    expected = (
        [["k8s", "delete+create"]] if routes == 1 else [["k8s", "delete"]] * routes + [["k8s", "create"]] * routes
    )
    assert sorted(lines) == sorted(expected), out.getvalue()


# ------------------------------------------------------------------------------------------------------ CLI


def edited_copy(synth: Synthesized, tmp_path: Path, edit: Any, stack: str = PLATFORM) -> Path:
    """A copy of the default cloud assembly with one template edited: a baseline that differs as a user's would.
    `edit` changes the template in place or returns the new one."""
    out = tmp_path / "baseline"
    shutil.copytree(synth.outdir, out, ignore=shutil.ignore_patterns("asset.*"))
    path = out / f"{stack}.template.json"
    template = json.loads(path.read_text())
    template = edit(template) or template
    path.write_text(json.dumps(template))
    return out


def vpc_of(template: dict[str, Any]) -> str:
    (vpc,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::EC2::VPC" and "Cluster" in k]
    return vpc


def narrow_cluster_vpc(template: dict[str, Any]) -> None:
    template["Resources"][vpc_of(template)]["Properties"]["CidrBlock"] = "10.7.0.0/16"


def in_process(overrides: Any) -> Any:
    """The CLI's own synthesizer, on the suite's fixed date (support-calendar checks must not drift)."""
    return impact.synthesize_in_tmp(overrides, today=TODAY)


def cli(argv: list[str], **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = impact.main(argv, out=out, err=err, **kwargs)
    return status, out.getvalue(), err.getvalue()


def test_cli_against_a_baseline_assembly_prints_and_refuses(synth: Synthesized, tmp_path: Path) -> None:
    baseline = edited_copy(synth, tmp_path, narrow_cluster_vpc)
    vpc = vpc_of(synth.templates[PLATFORM])
    argv = ["--baseline", str(baseline), "--assembly", str(synth.outdir)]
    status, out, _ = cli(argv)
    assert status == 0
    lines = out.splitlines()
    assert f'replace  {PLATFORM}  {vpc}  AWS::EC2::VPC  CidrBlock: "10.7.0.0/16" -> "10.1.0.0/16"  [STATEFUL]' in lines
    assert any(line.startswith("replace ") and "AWS::EKS::Cluster" in line for line in lines)
    assert lines[-1].startswith("impact: ") and lines[-1].endswith(" blocked: the deploy does not go as listed")

    status, _, err = cli([*argv, "--fail-on-stateful", "--allow-hint", "Set ALLOW_REPLACEMENT=1 to deploy anyway."])
    assert status == 1
    first, *named = err.strip().splitlines()
    assert first.startswith("impact: refusing: ") and "stateful resource(s) would be replaced or removed" in first
    assert f'  {PLATFORM} {vpc} (AWS::EC2::VPC): CidrBlock: "10.7.0.0/16" -> "10.1.0.0/16"' in named
    # The narrower VPC also deletes subnets the gateway still uses ([BLOCKING]): deploying anyway would only fail,
    # so the refusal offers no override (issue 23 review, item 3).
    assert any("deleted" in line or "DependencyViolation" in line for line in named)
    assert "ALLOW_REPLACEMENT" not in err


def test_fail_on_stateful_refuses_a_route_that_takes_over_a_kept_hostname(synth: Synthesized, tmp_path: Path) -> None:
    """Nothing stateful is replaced, yet the deploy cannot succeed (each DNS record would time out, then the update
    rolls back): make deploy's guard and the pipeline's impact step refuse it, naming each route, the stack to
    recreate and the README section. Deploying anyway (the allow hint) is not offered: it would only fail."""
    baseline = edited_copy(synth, tmp_path, lambda t: with_hostname_only_digests(synth, t), stack=GATEWAY)
    argv = ["--baseline", str(baseline), "--assembly", str(synth.outdir)]
    status, out, err = cli(argv)
    assert (status, err) == (0, "")  # a report only
    assert out.count("[BLOCKING]") == len(synth.config.routes) and "[STATEFUL]" not in out
    status, _, err = cli([*argv, "--fail-on-stateful", "--allow-hint", "Set ALLOW_REPLACEMENT=1 to deploy anyway."])
    assert status == 1
    first, *named, hint = err.strip().splitlines()
    assert first.startswith(f"impact: refusing: {len(synth.config.routes)} route(s) would take over a hostname")
    assert "dnsRecordTimeoutMinutes" in first
    assert len(named) == len(synth.config.routes)
    assert all(line.startswith(f"  {GATEWAY} HTTPRoute ") and "takes over the hostname" in line for line in named)
    assert f"destroy {GATEWAY}, then deploy again" in hint
    assert "docs/troubleshooting.md, 'Renaming a route but keeping its hostname'" in hint
    assert "ALLOW_REPLACEMENT" not in err
    # With a stateful replacement as well, both are named and the allow hint closes the refusal.
    both = edited_copy(synth, tmp_path / "both", narrow_cluster_vpc)
    shutil.copy(baseline / f"{GATEWAY}.template.json", both / f"{GATEWAY}.template.json")
    status, _, err = cli(
        [
            "--baseline",
            str(both),
            "--assembly",
            str(synth.outdir),
            "--fail-on-stateful",
            "--allow-hint",
            "Set ALLOW_REPLACEMENT=1 to deploy anyway.",
        ]
    )
    assert status == 1
    assert "stateful resource(s) would be replaced or removed" in err and "would take over a hostname" in err
    # The narrower VPC makes a new cluster under the same name as well ([BLOCKING]): no override is offered.
    assert "EKS::Cluster" in err and "ALLOW_REPLACEMENT" not in err


def test_cli_selects_stacks(synth: Synthesized, tmp_path: Path) -> None:
    baseline = edited_copy(synth, tmp_path, narrow_cluster_vpc)
    common = ["--baseline", str(baseline), "--assembly", str(synth.outdir), "--fail-on-stateful"]
    status, out, err = cli([*common, "--stacks", GATEWAY])
    assert not any(line.startswith(f"replace  {PLATFORM}") for line in out.splitlines())  # only the gateway's...
    replaced = [line for line in out.splitlines() if line.startswith("replace ")]
    assert replaced and all("Cluster" in line for line in replaced), out  # ...but the new cluster reaches it
    # Only the platform's template differs from the baseline here: the CDK CLI would skip the gateway stack, whose
    # weak references would keep the old cluster's values; and the platform's cleanup would delete the old subnets
    # the gateway's functions still use. Both are refused (issue 23.3).
    blocked = [line for line in out.splitlines() if line.startswith(f"blocked  {GATEWAY}  {PLATFORM}.")]
    assert status == 1 and any("the CDK CLI skips the stack" in line for line in blocked), out
    assert any("(AWS::EC2::Subnet) before" in line and "DependencyViolation" in line for line in blocked), out
    assert "CloudFormation or the CDK CLI would not carry out" in err
    status, out, _ = cli([*common, "--stack-prefix", "EksLatticeGateway-P"])
    assert status == 1 and GATEWAY not in out
    status, _, err = cli([*common, "--stacks", "Nope"])
    assert (status, err.strip()) == (2, f"impact: --stacks: no stack named Nope (have: {PLATFORM}, {GATEWAY})")


def test_cli_reads_nested_assemblies_of_a_pipeline(synth: Synthesized, tmp_path: Path) -> None:
    outer = tmp_path / "pipeline.out"
    shutil.copytree(synth.outdir, outer / "assembly-Stage", ignore=shutil.ignore_patterns("asset.*"))
    artifact = {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Stage"}}
    (outer / "manifest.json").write_text(json.dumps({"version": "1", "artifacts": {"Stage": artifact}}))
    assert sorted(impact.read_assemblies(outer).templates) == sorted(synth.templates)


def test_cli_bad_input_is_one_line_exit_2(synth: Synthesized, tmp_path: Path) -> None:
    status, out, err = cli(["--baseline", str(tmp_path), "--assembly", str(synth.outdir)])
    assert (status, out, err.strip()) == (2, "", f"impact: {tmp_path} is not a cloud assembly (no manifest.json)")
    status, _, err = cli(["-c", "nodeDesiredSize"], synthesizer=lambda overrides: pytest.fail("no synth"))
    assert (status, err.strip()) == (2, "impact: -c 'nodeDesiredSize': expected KEY=VALUE")


def test_cli_bad_configuration_names_the_key(tmp_path: Path) -> None:
    """Through the real in-process synth: the app's own ConfigError, in one line, before anything is built."""
    status, out, err = cli(["-c", "clusterVpcCidr=10.9.0.0/99"], synthesizer=in_process)
    assert status == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("impact: invalid configuration: clusterVpcCidr: '10.9.0.0/99' is not an IPv4 CIDR block")


def test_cli_synthesizes_both_sides_in_process(synth: Synthesized, tmp_path: Path, monkeypatch: Any) -> None:
    """`make impact CDK_ARGS="-c nodeDesiredSize=3"` end to end (jsii already runs for `synth`): replaces nothing,
    and leaves no synthesis behind."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    status, out, err = cli(["-c", "nodeDesiredSize=3"], synthesizer=in_process)
    assert (status, err) == (0, "")
    # The node group, and the gateway stack's configuration marker (constructs/sharing/producer_inputs.py): one added,
    # one removed.
    assert out.splitlines()[-1] == "impact: 0 replaced, 1 added, 1 removed, 1 updated in place"
    assert list(tmp_path.iterdir()) == []


def test_cli_passes_context_as_the_cdk_cli_does(synth: Synthesized) -> None:
    seen: list[Any] = []

    def synthesizer(overrides: Any) -> Any:
        seen.append(overrides)
        return impact.read_assemblies(synth.outdir)

    status, out, err = cli(
        ["-c", "nodeDesiredSize=3", "--context", "a=b=c", "--profile", "p", "--quiet"], synthesizer=synthesizer
    )
    assert status == 0
    assert seen == [{"nodeDesiredSize": "3", "a": "b=c"}, None]  # the proposal, then the baseline
    assert err.strip() == "(impact: ignoring CDK arguments it does not use: --quiet)"
    assert out.strip() == "impact: 0 replaced, 0 added, 0 removed, 0 updated in place"


# ------------------------------------------------------------------------------------------------- --deployed


@pytest.fixture
def cloudformation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The real boto3 client against a local GetTemplate, with throwaway credentials and no other AWS access."""
    with FakeCloudFormation() as fake:
        use_local_aws(monkeypatch, tmp_path, {"CLOUDFORMATION": fake.endpoint})
        yield fake


def test_deployed_reads_getTemplate_with_the_callers_credentials(synth: Synthesized, cloudformation: Any) -> None:
    deployed = copy.deepcopy(synth.templates[PLATFORM])
    narrow_cluster_vpc(deployed)
    cloudformation.templates = {PLATFORM: deployed}  # the gateway stack is not deployed yet
    argv = ["--deployed", "--assembly", str(synth.outdir), "--region", "us-east-1", "--fail-on-stateful"]
    status, out, err = cli([*argv, "--allow-hint", "Set ALLOW_REPLACEMENT=1 to deploy anyway."])
    assert status == 1
    assert [(r["Action"], r["StackName"], r["TemplateStage"]) for r in cloudformation.requests] == [
        ("GetTemplate", PLATFORM, "Original"),
        ("GetTemplate", GATEWAY, "Original"),
    ]
    assert all("Credential=AKIDTESTING/" in r["Authorization"] for r in cloudformation.requests)
    assert f"(stack {GATEWAY} is not deployed: everything in it is new)" in out
    gateway_resources = len(synth.templates[GATEWAY]["Resources"])
    assert f" {gateway_resources} added, 0 removed," in out.splitlines()[-1]
    assert f"{vpc_of(deployed)} (AWS::EC2::VPC): CidrBlock" in err
    # ... a new cluster under the same name among them, which CloudFormation refuses: no override is offered.
    assert "identity" in err and "ALLOW_REPLACEMENT" not in err

    cloudformation.templates = copy.deepcopy(synth.templates)
    assert cli(argv)[0] == 0  # deployed == proposed: nothing to refuse


def test_deployed_reads_the_stacks_a_selected_one_depends_on(synth: Synthesized, cloudformation: Any) -> None:
    """`make deploy STACKS=EksLatticeGateway-Gateway`: the platform's deployed template is read too (not reported),
    since a cluster replaced there replaces access entries in the gateway stack."""
    deployed = copy.deepcopy(synth.templates)
    narrow_cluster_vpc(deployed[PLATFORM])
    cloudformation.templates = deployed
    status, out, _ = cli(["--deployed", "--assembly", str(synth.outdir), "--region", "us-east-1", "--stacks", GATEWAY])
    assert [r["StackName"] for r in cloudformation.requests] == [GATEWAY, PLATFORM]
    assert status == 0 and not any(line.startswith(f"replace  {PLATFORM}") for line in out.splitlines())
    assert any(
        line.startswith(f"replace  {GATEWAY}  ") and "AWS::EKS::AccessEntry" in line for line in out.splitlines()
    )
    # The deployed gateway template equals the proposal: the CLI would skip it (issue 23.3).
    assert any(line.startswith(f"blocked  {GATEWAY}  {PLATFORM}.") for line in out.splitlines()), out


def test_deployed_template_that_is_not_json_is_one_line(synth: Synthesized, cloudformation: Any) -> None:
    cloudformation.templates = {PLATFORM: "Resources:\n  A: {Type: AWS::SNS::Topic}\n"}
    status, _, err = cli(["--deployed", "--assembly", str(synth.outdir), "--region", "us-east-1"])
    assert (status, err.strip()) == (
        2,
        f"impact: GetTemplate {PLATFORM}: the deployed template is not JSON (not deployed by CDK?)",
    )


def test_deployed_without_credentials_is_one_line(
    synth: Synthesized, cloudformation: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    status, _, err = cli(["--deployed", "--assembly", str(synth.outdir), "--region", "us-east-1"])
    assert status == 2
    assert err.strip() == (
        f"impact: GetTemplate {PLATFORM}: no AWS credentials found (--deployed reads the deployed templates; "
        "set AWS_PROFILE or log in)"
    )
    assert cloudformation.requests == []


# -------------------------------------------------------------------------------------------------- make deploy


def make_dry_run(*args: str) -> list[str]:
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", "deploy", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [line for line in result.stdout.splitlines() if "impact.py" in line or " deploy " in line]


def test_make_deploy_checks_the_deployed_stacks_first_unless_allowed() -> None:
    guard, deploy = make_dry_run("CDK_ARGS=-c nodeDesiredSize=3", "STACKS=EksLatticeGateway-Gateway")
    assert "tools/impact.py --deployed --fail-on-stateful" in guard
    assert "-c nodeDesiredSize=3" in guard and "--stacks EksLatticeGateway-Gateway" in guard
    assert "ALLOW_REPLACEMENT=1" in guard  # the stop message says how to go ahead
    assert "cdk deploy" in deploy
    (only,) = make_dry_run("ALLOW_REPLACEMENT=1")
    assert "impact.py" not in only


def test_deploying_the_pipeline_stack_is_not_checked_against_app_stacks(cloudformation: Any) -> None:
    """`make deploy STACKS=EksLatticeGateway-Pipeline CDK_ARGS="-c pipeline=..."` must not stop on app stacks."""
    pipeline = '{"connectionArn":"arn:aws:codeconnections:us-east-1:111111111111:connection/x","repository":"o/r"}'
    status, out, _ = cli(
        ["--deployed", "--fail-on-stateful", "--stacks", "EksLatticeGateway-Pipeline", "-c", f"pipeline={pipeline}"],
        synthesizer=lambda overrides: pytest.fail("nothing to synthesize"),
    )
    assert status == 0 and out.startswith("impact: pipeline mode: ")
    assert cloudformation.requests == []


@pytest.mark.parametrize(
    ("rtype", "old_props", "new_props"),
    [
        ("AWS::VpcLattice::ServiceNetwork", {"Name": "demo-sn"}, {"Name": "other-sn"}),
        ("AWS::Route53::HostedZone", {"Name": "example.com"}, {"Name": "example.org"}),
    ],
    ids=["serviceNetworkName", "privateZoneName"],
)
def test_replacing_what_consumers_are_associated_with_names_the_consumer_stacks(
    rtype: str, old_props: dict[str, Any], new_props: dict[str, Any]
) -> None:
    """Consumer accounts' stacks hold associations to the provider's network and zone: replacing either
    strands them unless they are destroyed first (README: Share with another account)."""
    consumer = "EksLatticeGateway-Consumer-team-b"
    link = {"Resources": {"Z": res("Custom::CrossAccountZoneAssociation", HostedZoneId="Z1")}}
    old = {PLATFORM: {"Resources": {"N": res(rtype, **old_props)}}, consumer: link}
    new = {PLATFORM: {"Resources": {"N": res(rtype, **new_props)}}, consumer: link}
    result = run(old, new)
    assert actions(result) == {"N": "replace"} and [c.logical_id for c in result.stateful] == ["N"]
    assert f"strands consumer stack(s) {consumer}: destroy them first" in reasons(result, "N")
    removed = run(old, {PLATFORM: {"Resources": {}}, consumer: link})
    assert "strands consumer stack(s)" in reasons(removed, "N")
    alone = run({PLATFORM: old[PLATFORM]}, {PLATFORM: new[PLATFORM]})
    assert "consumer" not in reasons(alone, "N")


# ------------------------------------------------------------------------------- issue 23: what cannot deploy


def _app_types(synth: Synthesized) -> list[str]:
    return sorted(
        {r["Type"] for t in synth.templates.values() for r in t["Resources"].values() if r["Type"][:5] == "AWS::"}
    )


def test_every_create_only_path_that_reads_a_changing_version_attribute_is_a_replacement(synth: Synthesized) -> None:
    """Class test (issue 23.1): for every create-only path of every AWS type this app deploys, a value that reads
    a version attribute of a resource updated in place (a launch template's new LatestVersionNumber) changes at
    deploy time, so the resource is replaced: never 'updated in place'."""
    checked = 0
    for rtype in _app_types(synth):
        for path in impact.type_schema(rtype).create_only:
            for attribute in sorted(impact.VERSION_ATTRIBUTES):
                value: Any = {"Fn::GetAtt": ["Src", attribute]}
                for part in reversed(path):
                    value = [value] if part == "*" else {part: value}
                ((name, prop),) = value.items()
                old = {"S": {"Resources": {"Src": res("AWS::EC2::LaunchTemplate", LaunchTemplateData={"A": 1})}}}
                old["S"]["Resources"]["X"] = res(rtype, **{name: prop})
                new = copy.deepcopy(old)
                new["S"]["Resources"]["Src"]["Properties"]["LaunchTemplateData"]["A"] = 2
                result = run(old, new)
                assert actions(result) == {"Src": "update", "X": "replace"}, (rtype, path, attribute)
                assert f"(Src.{attribute} changes)" in reasons(result, "X")
                checked += 1
    assert checked > 100  # every type's create-only paths, not a handful


def test_an_instance_whose_launch_template_gets_a_new_version_is_replaced() -> None:
    """The issue's example: the client host reads its launch template's LatestVersionNumber in LaunchTemplate,
    which is create-only for AWS::EC2::Instance."""
    lt = {"LaunchTemplateId": {"Ref": "Lt"}, "Version": {"Fn::GetAtt": ["Lt", "LatestVersionNumber"]}}
    old = {
        "S": {
            "Resources": {
                "Lt": res("AWS::EC2::LaunchTemplate", LaunchTemplateData={"InstanceType": "t3.micro"}),
                "Host": res("AWS::EC2::Instance", LaunchTemplate=lt, SubnetId="s"),
            }
        }
    }
    new = copy.deepcopy(old)
    new["S"]["Resources"]["Lt"]["Properties"]["LaunchTemplateData"]["InstanceType"] = "t3.small"
    result = run(old, new)
    assert actions(result) == {"Lt": "update", "Host": "replace"}
    assert reasons(result, "Host") == "LaunchTemplate (Lt.LatestVersionNumber changes)"


def test_a_node_group_keeps_its_launch_template_id() -> None:
    """EKS rule no schema states (issue 23.5; botocore's LaunchTemplateSpecification): a new launch template id or
    name needs a new node group, which under its fixed name cannot be made in one deploy."""
    old = {
        "S": {
            "Resources": {
                "Lt": res("AWS::EC2::LaunchTemplate", LaunchTemplateName="a", LaunchTemplateData={}),
                "Ng": res(
                    "AWS::EKS::Nodegroup",
                    ClusterName="c",
                    NodegroupName="ng-1",
                    NodeRole="r",
                    Subnets=["s"],
                    LaunchTemplate={"Id": {"Ref": "Lt"}, "Version": {"Fn::GetAtt": ["Lt", "LatestVersionNumber"]}},
                ),
            }
        }
    }
    new = copy.deepcopy(old)
    new["S"]["Resources"]["Lt"]["Properties"]["LaunchTemplateName"] = "b"  # create-only: a new template, a new id
    result = run(old, new)
    assert actions(result) == {"Lt": "replace", "Ng": "replace"}
    assert reasons(result, "Ng").startswith("LaunchTemplate.Id (Lt replaced)")
    assert 'keeps its name "ng-1"' in reasons(result, "Ng")
    named = copy.deepcopy(old)
    named["S"]["Resources"]["Ng"]["Properties"]["LaunchTemplate"] = {"Name": "a", "Version": "1"}
    renamed = copy.deepcopy(named)
    renamed["S"]["Resources"]["Ng"]["Properties"]["LaunchTemplate"] = {"Name": "b", "Version": "1"}
    assert actions(run(named, renamed)) == {"Ng": "replace"}
    version = copy.deepcopy(named)
    version["S"]["Resources"]["Ng"]["Properties"]["LaunchTemplate"]["Version"] = "2"
    assert actions(run(named, version)) == {"Ng": "update"}


def test_a_cluster_whose_subnets_move_to_other_zones_is_replaced() -> None:
    """EKS rule no schema states (issue 23.5; EKS User Guide, network-reqs): a cluster's subnets stay in the AZs
    first given. New subnets in those zones are an update; a subnet in a zone not among them is not."""
    zone = {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    old = {
        "S": {
            "Resources": {
                "Vpc": res("AWS::EC2::VPC", CidrBlock="10.1.0.0/16"),
                "A": res("AWS::EC2::Subnet", VpcId={"Ref": "Vpc"}, CidrBlock="10.1.0.0/24", AvailabilityZone=zone),
                "B": res("AWS::EC2::Subnet", VpcId={"Ref": "Vpc"}, CidrBlock="10.1.1.0/24", AvailabilityZone="az-b"),
                "C": res(
                    "AWS::EKS::Cluster", RoleArn="r", ResourcesVpcConfig={"SubnetIds": [{"Ref": "A"}, {"Ref": "B"}]}
                ),
            }
        }
    }
    resized = copy.deepcopy(old)
    resized["S"]["Resources"]["A"]["Properties"]["CidrBlock"] = "10.1.2.0/24"  # a new subnet, the same zone
    assert actions(run(old, resized)) == {"A": "replace", "C": "update"}
    moved = copy.deepcopy(old)
    moved["S"]["Resources"]["A"]["Properties"]["AvailabilityZone"] = {"Fn::Select": [2, {"Fn::GetAZs": ""}]}
    result = run(old, moved)
    assert actions(result) == {"A": "replace", "C": "replace"}
    assert "EKS keeps a cluster's subnets in the AZs first given" in reasons(result, "C")
    by_id = copy.deepcopy(old)
    by_id["S"]["Resources"]["B"]["Properties"] = {
        "VpcId": {"Ref": "Vpc"},
        "CidrBlock": "x",
        "AvailabilityZoneId": "use1-az4",
    }
    assert actions(run(old, by_id))["C"] == "replace"


def test_a_changed_service_token_is_blocking() -> None:
    """Issue 23.7: CloudFormation refuses a custom resource whose ServiceToken changes; other changes are updates."""
    old = {"S": provider_stack("lattice_dns.handler.on_event", Hostname="a.example.com", Ttl="60")}
    old["S"]["Resources"]["Other"] = res("AWS::Lambda::Function", Handler="x.y", Role="r")
    ttl = copy.deepcopy(old)
    ttl["S"]["Resources"]["Record"]["Properties"]["Ttl"] = "30"
    assert run(old, ttl).blockers == []
    moved = copy.deepcopy(old)
    moved["S"]["Resources"]["Record"]["Properties"]["ServiceToken"] = {"Fn::GetAtt": ["Other", "Arn"]}
    (blocker,) = run(old, moved).blockers
    assert (blocker.stack, blocker.subject) == ("S", "Record")
    assert "Modifying service token is not allowed" in blocker.note
    replaced = copy.deepcopy(old)  # the same token, resolved anew: the provider function is replaced
    replaced["S"]["Resources"]["Framework"]["Properties"]["FunctionName"] = "renamed"
    assert [b.subject for b in run(old, replaced).blockers] == ["Record"]


def test_a_new_instance_with_the_identity_of_a_surviving_old_one_is_blocking(synth: Synthesized) -> None:
    """Class test (issue 23.4): for every AWS type this app deploys whose primaryIdentifier the template sets
    (every part create-only), a new instance equal in those parts to an old instance of the stack collides: the
    old one is deleted only in cleanup. A different value, or one that resolves anew, does not."""
    checked = []
    for rtype in _app_types(synth):
        identifier = impact.type_schema(rtype).identifier
        if not identifier:
            continue
        props: dict[str, Any] = {}
        for path in identifier:
            node = props
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = "same"
        old = {"S": {"Resources": {"Old": res(rtype, **props)}}}
        new = {"S": {"Resources": {"Old": res(rtype, **props), "New": res(rtype, **props)}}}
        (blocker,) = run(old, new).blockers
        assert (blocker.subject, "Old") == ("New", blocker.note.split("equals that of ")[1].split(",")[0]), rtype
        gone = {"S": {"Resources": {"New": res(rtype, **props)}}}  # the old one removed: still alive until cleanup
        assert [b.subject for b in run(old, gone).blockers] == ["New"], rtype
        other = copy.deepcopy(new)
        node = other["S"]["Resources"]["New"]["Properties"]
        for part in identifier[0][:-1]:
            node = node[part]
        node[identifier[0][-1]] = "other"
        assert run(old, other).blockers == [], rtype
        checked.append(rtype)
    assert "AWS::EKS::AccessEntry" in checked and "AWS::EKS::Addon" in checked


def test_access_entries_keyed_by_list_index_collide_when_an_arn_is_dropped() -> None:
    """The issue's example: clusterAdminRoleArns [A, B] -> [B] with entries keyed by index: entry 0 is replaced
    by one for B while entry 1 (B) still exists. Keyed by the ARN, B's entry stays and A's is removed."""

    def entries(arns: list[str], key: Any) -> dict[str, Any]:
        cluster = res("AWS::EKS::Cluster", RoleArn="r", ResourcesVpcConfig={"SubnetIds": []})
        made = {
            key(i, a): res("AWS::EKS::AccessEntry", ClusterName={"Ref": "C"}, PrincipalArn=a)
            for i, a in enumerate(arns)
        }
        return {"S": {"Resources": {"C": cluster, **made}}}

    a, b = "arn:aws:iam::111111111111:role/a", "arn:aws:iam::111111111111:role/b"
    by_index = run(entries([a, b], lambda i, _: f"Admin{i}"), entries([b], lambda i, _: f"Admin{i}"))
    assert actions(by_index) == {"Admin0": "replace", "Admin1": "remove"}
    (blocker,) = by_index.blockers
    assert blocker.subject == "Admin0" and "equals that of Admin1" in blocker.note
    by_arn = run(entries([a, b], lambda _, arn: arn[-1]), entries([b], lambda _, arn: arn[-1]))
    assert actions(by_arn) == {"a": "remove"} and by_arn.blockers == []
    # What README 'Update safety' says of a deployment made while entries were keyed by index: re-keying them
    # creates each role's entry again before the old one is gone (deploy once without the list, then with it).
    migrated = run(entries([a, b], lambda i, _: f"Admin{i}"), entries([a, b], lambda _, arn: arn[-1]))
    assert sorted((x.subject, x.kind) for x in migrated.blockers) == [
        ("a", "EKS::AccessEntry identity taken"),
        ("b", "EKS::AccessEntry identity taken"),
    ]
    self_collision = entries([a], lambda i, _: "E")
    retyped = copy.deepcopy(self_collision)
    retyped["S"]["Resources"]["E"]["Properties"]["Type"] = "EC2_LINUX"  # create-only, not part of the identity
    assert "its own old instance" in run(self_collision, retyped).blockers[0].note


def test_an_unchanged_stack_reading_a_changed_output_is_blocking() -> None:
    """Issue 23.3: the CDK CLI skips a stack whose template is unchanged, so a weak reference (Fn::GetStackOutput)
    to an output whose value changes is never resolved again. A consumer whose template changes too is fine."""
    producer = {
        "Resources": {"Vpc": res("AWS::EC2::VPC", CidrBlock="10.2.0.0/16")},
        "Outputs": {"VpcOut": {"Value": {"Ref": "Vpc"}}},
    }
    reader = {"Fn::GetStackOutput": {"StackName": "P", "OutputName": "VpcOut"}}
    consumer = {"Resources": {"Sg": res("AWS::EC2::SecurityGroup", GroupDescription="x", VpcId=reader)}}
    old = {"P": producer, "G": consumer}
    new = copy.deepcopy(old)
    new["P"]["Resources"]["Vpc"]["Properties"]["CidrBlock"] = "10.3.0.0/16"

    def stale(result: impact.Impact) -> list[impact.Blocker]:
        return [b for b in result.blockers if "the CDK CLI skips the stack" in b.note]

    (blocker,) = stale(run(old, new))
    assert (blocker.stack, blocker.subject) == ("G", "P.VpcOut")
    assert "Vpc replaced" in blocker.note
    assert impact.compare(old, new, stacks=["P"]).blockers == []  # reported with the stack that goes stale
    follows = copy.deepcopy(new)
    follows["G"]["Resources"]["Marker"] = res("AWS::SNS::Topic")
    assert stale(run(old, follows)) == []
    other_sg = copy.deepcopy(old)  # an output that keeps its value: nothing stale
    other_sg["P"]["Resources"]["T"] = res("AWS::SNS::Topic")
    assert run(old, other_sg).blockers == []
    out = io.StringIO()
    impact.report(run(old, new), out)
    assert "blocked  G  P.VpcOut  read by 1 resource(s) (Sg)" in out.getvalue() and "[BLOCKING]" in out.getvalue()


def test_a_producer_deleting_a_vpc_subnet_or_security_group_a_later_stack_still_uses_is_blocking() -> None:
    """The issue's other half of 23.3: even when the reader follows, it deploys after the producer, whose cleanup
    deletes the replaced VPC while the reader's resources still use it (EC2 refuses: DependencyViolation)."""
    producer = {
        "Resources": {"Vpc": res("AWS::EC2::VPC", CidrBlock="10.2.0.0/16"), "T": res("AWS::SNS::Topic")},
        "Outputs": {"VpcOut": {"Value": {"Ref": "Vpc"}}, "TopicOut": {"Value": {"Ref": "T"}}},
    }
    read = {"Fn::GetStackOutput": {"StackName": "P", "OutputName": "VpcOut"}}
    topic = {"Fn::GetStackOutput": {"StackName": "P", "OutputName": "TopicOut"}}
    consumer = {
        "Resources": {
            "Sg": res("AWS::EC2::SecurityGroup", GroupDescription="x", VpcId=read),
            "Sub": res("AWS::SNS::Subscription", TopicArn=topic, Protocol="sqs", Endpoint="q"),
        }
    }
    old = {"P": producer, "G": consumer}
    new = copy.deepcopy(old)
    new["P"]["Resources"]["Vpc"]["Properties"]["CidrBlock"] = "10.3.0.0/16"
    new["G"]["Resources"]["Marker"] = res("AWS::SNS::Topic")  # the reader follows: not stale
    (blocker,) = run(old, new).blockers
    assert (blocker.stack, blocker.subject) == ("G", "P.VpcOut")
    assert "P's cleanup deletes the old Vpc (AWS::EC2::VPC) before G is deployed" in blocker.note
    assert "(Sg)" in blocker.note and "DependencyViolation" in blocker.note
    topic_replaced = copy.deepcopy(old)  # a replaced topic is gone while read, but its delete does not fail
    topic_replaced["P"]["Resources"]["T"]["Properties"]["TopicName"] = "other"
    topic_replaced["G"]["Resources"]["Marker"] = res("AWS::SNS::Topic")
    assert run(old, topic_replaced).blockers == []
