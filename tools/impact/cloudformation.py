"""The CloudFormation model: which types are stateful, which properties are create-only (the registry schemas
that ship with cfn-lint), the service rules no schema states, template values and references, and the
properties a custom resource's handler derives its physical id from."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tools.impact.errors import ImpactError

ROOT = Path(__file__).resolve().parents[2]
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


def _is_custom(resource: Mapping[str, Any]) -> bool:
    rtype = str(resource.get("Type"))
    return rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource"


def minor_step(before: str, after: str) -> int | None:
    """How many minor versions `after` is above `before` ("1.35" -> "1.36": 1), or None across majors or when
    either is not MAJOR.MINOR."""
    found = [re.fullmatch(r"(\d+)\.(\d+)", v) for v in (before, after)]
    if found[0] is None or found[1] is None or found[0][1] != found[1][1]:
        return None
    return int(found[1][2]) - int(found[0][2])
