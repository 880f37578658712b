"""Every policy document of a synthesized template measured against its limit (config/limits.py): role trust
policies, each role's inline policies together, managed policies, Lattice auth policies (AWS::VpcLattice::
AuthPolicy, and IAMAuthPolicy objects in Kubernetes manifests). Issue 21, REVIEW fault class 8.

Values CloudFormation resolves at deploy time are measured at their longest: pseudo parameters at the longest
value they take, anything else at TOKEN_LENGTH characters (an ARN's length; the longest this app's tokens
resolve to are role, function and service-network ARNs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from config.limits import (
    INLINE_ROLE_POLICIES,
    LATTICE_AUTH_POLICY,
    MANAGED_POLICY,
    TRUST_POLICY,
    DocumentLimit,
    size,
)

TOKEN_LENGTH = 128
PSEUDO = {
    "AWS::Partition": "aws-iso-b",
    "AWS::Region": "ap-southeast-3",
    "AWS::AccountId": "1" * 12,
    "AWS::URLSuffix": "amazonaws.com.cn",
    "AWS::StackName": "s" * 128,
    "AWS::StackId": "s" * 160,
    "AWS::NoValue": "",
}
KUBERNETES_MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"


def render(value: Any) -> Any:
    """The value with each intrinsic replaced by a string of its longest length."""
    if (
        isinstance(value, dict)
        and len(value) == 1
        and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::"))
    ):
        ((name, arg),) = value.items()
        if name == "Ref" and arg in PSEUDO:
            return PSEUDO[arg]
        if name == "Fn::Join" and isinstance(arg, list) and isinstance(arg[1], list):
            return str(arg[0]).join(str(render(p)) for p in arg[1])
        return "x" * TOKEN_LENGTH
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v) for v in value]
    return value


def _text(document: Any) -> str:
    rendered = render(document)
    return rendered if isinstance(rendered, str) else json.dumps(rendered, separators=(",", ":"))


def documents(template: dict[str, Any]) -> Iterator[tuple[str, DocumentLimit, int]]:
    """(what, its limit, its size) for every policy document of the template."""
    resources: dict[str, Any] = template.get("Resources", {})
    inline: dict[str, int] = {}
    for lid, resource in resources.items():
        kind, props = resource.get("Type"), resource.get("Properties", {})
        if kind == "AWS::IAM::Role":
            yield f"{lid} trust policy", TRUST_POLICY, size(_text(props["AssumeRolePolicyDocument"]), TRUST_POLICY)
            for policy in props.get("Policies", []):
                inline[lid] = inline.get(lid, 0) + size(_text(policy["PolicyDocument"]), INLINE_ROLE_POLICIES)
        elif kind == "AWS::IAM::Policy":
            for role in props.get("Roles", []):
                if isinstance(role, dict) and "Ref" in role:
                    text = _text(props["PolicyDocument"])
                    inline[role["Ref"]] = inline.get(role["Ref"], 0) + size(text, INLINE_ROLE_POLICIES)
        elif kind == "AWS::IAM::ManagedPolicy":
            yield f"{lid} managed policy", MANAGED_POLICY, size(_text(props["PolicyDocument"]), MANAGED_POLICY)
        elif kind == "AWS::VpcLattice::AuthPolicy":
            yield f"{lid} auth policy", LATTICE_AUTH_POLICY, size(_text(props["Policy"]), LATTICE_AUTH_POLICY)
        elif kind == KUBERNETES_MANIFEST:
            manifest = json.loads(_text(props["Manifest"]))
            for doc in manifest if isinstance(manifest, list) else [manifest]:
                if isinstance(doc, dict) and doc.get("kind") == "IAMAuthPolicy":
                    name = f"{lid} IAMAuthPolicy {doc['metadata']['name']}"
                    yield name, LATTICE_AUTH_POLICY, size(str(doc["spec"]["policy"]), LATTICE_AUTH_POLICY)
    for lid, total in inline.items():
        yield f"{lid} inline policies", INLINE_ROLE_POLICIES, total


def oversized(templates: dict[str, dict[str, Any]]) -> list[str]:
    """Each document over its limit, as 'stack: what: size > limit unit'."""
    return [
        f"{stack}: {what}: {n} > {limit.limit} {limit.unit}"
        for stack, template in templates.items()
        for what, limit, n in documents(template)
        if n > limit.limit
    ]


def largest(templates: dict[str, dict[str, Any]]) -> dict[str, int]:
    """The largest size seen per kind of limit (a test's evidence that the documents were measured)."""
    found: dict[str, int] = {}
    for template in templates.values():
        for _, limit, n in documents(template):
            key = f"{limit.limit} {limit.unit}"
            found[key] = max(found.get(key, 0), n)
    return found
