"""The CloudFormation execution role's policies: each resource type's registry handler permissions, split to
fit managed policies, and its IAM actions scoped to this app's names (IAM_SCOPE)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from config.limits import MANAGED_POLICY, size
from tools.impact import (
    _provider_index,
    _schemas_dir,
)

# The registry handlers a deploy and a destroy run (list serves `cloudformation list-resources` only).
HANDLERS = ("create", "update", "delete", "read")
# CloudFormation invokes a custom resource's ServiceToken (a Lambda function here); see the module's docstring.
CUSTOM_RESOURCE_ACTIONS = ("lambda:InvokeFunction",)
# Types with no registry handlers: CloudFormation's own bookkeeping, no API call.
NO_PERMISSIONS = {"AWS::CDK::Metadata", "AWS::CloudFormation::WaitConditionHandle"}
# IAM: at most 10 managed policies attached to one role by default (IAM and AWS STS quotas, "Managed policies
# attached to an IAM role: 10", adjustable to 20; https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
# and https://repost.aws/knowledge-center/iam-increase-policy-size, read 2026-12-05).
MAX_ROLE_MANAGED_POLICIES = 10

# IAM_SCOPE: the execution role's IAM actions, narrowed to what this app's stacks create (review of issue 27, item 2).
# - User and group actions are dropped: the AWS::IAM::Policy schema lists them (a policy may name Users and Groups),
#   but this app attaches policies to roles only; a template with an IAM user, group, or a policy naming either, is
#   refused (`check_no_users_or_groups`), so the drop cannot hide a need.
# - Writes on roles, policies and instance profiles are allowed on names that start with the stack prefix: every
#   stack is named <prefix>-... (stackPrefix, default EksLatticeGateway: app.py, stacks/system.py; a pipeline's
#   stacks EksLatticeGateway-Pipeline and EksLatticeGateway-<stage>-...: stacks/pipeline_stack.py), explicit role and
#   managed policy names start with it (the class test checks every synthesized one), and a name CloudFormation
#   generates begins with the stack name
#   ("stack123123123123-s3bucket-abcdefghijk1": CloudFormation User Guide, Name type,
#   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html, read 2026-12-05). The
#   pattern ends at the prefix without its hyphen, for a generated name whose stack part CloudFormation shortens.
# - Attaching a managed policy to a role is allowed only for the AWS managed policies the templates attach and this
#   app's own policies (condition key iam:PolicyARN), so AdministratorAccess cannot be attached.
# - Service-linked role actions name the service-linked role path only (role/aws-service-role/...).
# - Get and List stay on "*": reads.


def iam_name_pattern(prefix: str) -> str:
    return f"{prefix}*"


def iam_app_resources(prefix: str) -> tuple[str, ...]:
    """Role, policy and instance-profile ARN patterns of this app's names (role first)."""
    return tuple(f"arn:*:iam::*:{kind}/{iam_name_pattern(prefix)}" for kind in ("role", "policy", "instance-profile"))


def stack_prefix_of(stacks: Iterable[str]) -> str:
    """The stack prefix of a synthesis, from its stacks' names: their longest common prefix, up to its last hyphen
    (`<prefix>-Platform` and `<prefix>-Gateway` are always there; a pipeline adds EksLatticeGateway-Pipeline to its
    stages' EksLatticeGateway-<stage>-...). Taken from the names, so an assembly synthesized elsewhere (--assembly)
    gets its own configuration's prefix, not this checkout's."""
    names = sorted(stacks)
    if not names:
        raise PolicyError("the synthesis holds no stacks")
    first, last = names[0], names[-1]
    common = first[: next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first))]
    prefix = common.rpartition("-")[0] or common
    if not prefix:
        raise PolicyError(f"the stacks {', '.join(names)} share no name prefix to scope the policies to")
    return prefix


SERVICE_LINKED_ROLES = "arn:*:iam::*:role/aws-service-role/*"
_USER_OR_GROUP = re.compile(r"^iam:\w*(User|Group)")
_AWS_MANAGED_POLICY = re.compile(r":iam::aws:policy/[\w+=,.@/-]+")


class PolicyError(Exception):
    """Reported in one line, exit status 2."""


def handler_permissions(resource_type: str, region: str = "us-east-1") -> frozenset[str]:
    """The permissions the type's registry schema lists for HANDLERS."""
    if resource_type in NO_PERMISSIONS:
        return frozenset()
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return frozenset(CUSTOM_RESOURCE_ACTIONS)
    digest = _provider_index(region).get(resource_type)
    if digest is None:
        raise PolicyError(f"{resource_type}: no CloudFormation registry schema in cfn-lint's data for {region}")
    schema = json.loads((_schemas_dir() / "resources" / f"{digest}.json").read_text())
    handlers = schema.get("handlers", {})
    tagging = schema.get("tagging", {}).get("permissions", [])
    return frozenset([*(p for h in HANDLERS for p in handlers.get(h, {}).get("permissions", [])), *tagging])


def template_types(templates: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    """Resource type -> the stacks that hold it."""
    found: dict[str, set[str]] = {}
    for stack, template in templates.items():
        for resource in template.get("Resources", {}).values():
            found.setdefault(str(resource["Type"]), set()).add(stack)
    return found


# An IAM action is `<service prefix>:<name>`, the name letters and digits (IAM User Guide, "IAM JSON policy elements:
# Action", and every action of the Service Authorization Reference). Some schemas list other strings: the
# AWS::Logs::LogGroup schema's `s3:REST.PUT.OBJECT` (cfn-lint's copy, read 2026-12-05) is an S3 log operation name,
# not an action, and IAM would refuse the policy. botocore's models are no action list to check against instead: they
# name API operations, and IAM actions differ from them (iam:PassRole has no operation, lambda:InvokeFunction is
# Invoke), so the check is this grammar.
IAM_ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+\*?")


def execution_actions(types: Iterable[str], regions: Iterable[str] = ("us-east-1",)) -> list[str]:
    found = {a for t in types for r in regions for a in handler_permissions(t, r)}
    return sorted(a for a in found if IAM_ACTION.fullmatch(a))


def policy_document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def _size(document: Mapping[str, Any]) -> int:
    return size(json.dumps(document, separators=(",", ":")), MANAGED_POLICY)


def split_policies(actions: Sequence[str], *, sid: str, limit: int = MANAGED_POLICY.limit) -> list[dict[str, Any]]:
    """Managed policy documents of one Allow statement each on Resource "*", filled in order up to `limit`."""
    groups: list[list[str]] = [[]]
    for action in actions:
        if groups[-1] and _size(_statement_document([*groups[-1], action], sid, len(groups))) > limit:
            groups.append([])
        groups[-1].append(action)
    return [_statement_document(group, sid, n) for n, group in enumerate(groups, 1) if group]


def _statement_document(actions: list[str], sid: str, n: int) -> dict[str, Any]:
    return policy_document([{"Sid": f"{sid}{n}", "Effect": "Allow", "Action": actions, "Resource": "*"}])


def check_no_users_or_groups(templates: Mapping[str, Mapping[str, Any]]) -> None:
    for stack, template in templates.items():
        for lid, resource in template.get("Resources", {}).items():
            props = resource.get("Properties", {})
            if resource["Type"] in ("AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::UserToGroupAddition") or (
                resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
                and (props.get("Users") or props.get("Groups"))
            ):
                raise PolicyError(f"{stack}/{lid}: IAM users or groups; the execution policy allows roles only")


def attached_aws_managed_policies(templates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """ARN patterns (any partition) of the AWS managed policies the templates' roles attach."""
    found: set[str] = set()
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] == "AWS::IAM::Role":
                text = json.dumps(resource.get("Properties", {}).get("ManagedPolicyArns", []))
                found.update("arn:*" + m for m in _AWS_MANAGED_POLICY.findall(text))
    return sorted(found)


def iam_statements(
    actions: Iterable[str], templates: Mapping[str, Mapping[str, Any]], *, stack_prefix: str
) -> list[dict[str, Any]]:
    """The IAM actions among `actions`, scoped as IAM_SCOPE says to names starting with `stack_prefix`."""
    iam = sorted({a for a in actions if a.startswith("iam:") and not _USER_OR_GROUP.match(a)})
    reads = [a for a in iam if a.startswith(("iam:Get", "iam:List"))]
    linked = [a for a in iam if "ServiceLinkedRole" in a and a not in reads]
    attach = [a for a in iam if a == "iam:AttachRolePolicy"]
    writes = [a for a in iam if a not in {*reads, *linked, *attach}]
    own = iam_app_resources(stack_prefix)
    policies = [*attached_aws_managed_policies(templates), own[1]]
    statements: list[dict[str, Any]] = [
        {"Sid": "IamReads", "Effect": "Allow", "Action": reads, "Resource": "*"},
        {"Sid": "IamServiceLinkedRoles", "Effect": "Allow", "Action": linked, "Resource": SERVICE_LINKED_ROLES},
        {"Sid": "IamThisAppsRoles", "Effect": "Allow", "Action": writes, "Resource": list(own)},
        {
            "Sid": "IamAttachThisAppsPolicies",
            "Effect": "Allow",
            "Action": attach,
            "Resource": own[0],
            "Condition": {"StringLike": {"iam:PolicyARN": policies}},
        },
    ]
    return [s for s in statements if s["Action"]]
