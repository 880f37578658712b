"""A small IAM policy evaluator: replays a Lambda's AWS calls against the identity policy that a synthesized
template attaches to its role. moto runs the calls but evaluates no IAM at all, so this is the offline stand-in.

It implements exactly what this app's statements use, the way the IAM User Guide defines it ("Policy
evaluation logic", "IAM JSON policy elements: Condition operators", "Multivalued context keys"):
- Effect Allow/Deny: an explicit Deny wins, then any Allow, else the implicit deny.
- Action and Resource as a string or a list, with `*` and `?` wildcards; actions match case-insensitively,
  resources case-sensitively.
- Condition operators StringEquals and StringLike, each optionally with the set qualifiers `ForAllValues:` /
  `ForAnyValue:` and the `IfExists` suffix. Operators are ANDed, keys within one operator are ANDed, the
  values of one key are ORed. ForAllValues is true when every request value matches some policy value, and
  also when the key is missing or empty; ForAnyValue needs at least one match; plain operators are false
  for a missing key unless ...IfExists.
- Resource-based policies (`evaluate_resource_policy`, for VPC Lattice auth policies): `Principal` is `"*"`
  (everyone, anonymous callers too) or `{"AWS": ARN or [ARNs]}`, where a role ARN matches that role's sessions
  and `arn:<partition>:iam::<account>:root` any principal of the account ("AWS JSON policy elements:
  Principal"); an anonymous request (no principal) matches only `"*"`.
Anything else (NotAction, NotResource, NotPrincipal, other operators, policy variables) raises
NotSupportedError, so a new kind of statement can never be approved by accident.

Template values are resolved with `resolve`: pseudo parameters and Fn::Join are computed; every other
intrinsic (a cross-stack output, a GetAtt) is looked up in the caller's table and otherwise becomes an
opaque placeholder that only a literal `*` can match.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ContextValue = str | Sequence[str]


class NotSupportedError(Exception):
    """The policy uses IAM syntax this evaluator does not implement."""


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Request:
    action: str  # service:Operation
    resource: str  # ARN
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    # The signing role's ARN (its sessions), for resource-based policies; None: an anonymous (unsigned) request.
    principal: str | None = None


_OPERATORS = frozenset({"StringEquals", "StringLike"})
_STATEMENT_KEYS = frozenset({"Sid", "Effect", "Action", "Resource", "Condition"})


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


@functools.lru_cache(maxsize=65536)
def _glob_regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """The regex of an IAM pattern, built once per pattern: the class tests evaluate the same few hundred policy
    patterns millions of times."""
    # IAM wildcards: `*` any run of characters (dots and slashes included), `?` one character; nothing else.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.compile(regex, flags | re.DOTALL)


def _glob(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    if "${" in pattern:
        raise NotSupportedError(f"policy variables are not implemented: {pattern!r}")
    return _glob_regex(pattern, case_sensitive).fullmatch(value) is not None


def _value_matches(operator: str, policy_value: str, request_value: str) -> bool:
    if operator == "StringEquals":
        return policy_value == request_value
    return _glob(policy_value, request_value, case_sensitive=True)


def _condition_holds(qualified: str, key: str, policy_values: list[str], request: Request) -> bool:
    qualifier, _, operator = qualified.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    if operator not in _OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise NotSupportedError(f"condition operator {qualified!r} is not implemented")
    # Condition keys are case-insensitive (IAM User Guide, "Condition element").
    present = {k.lower(): v for k, v in request.context.items()}
    raw = present.get(key.lower())
    values = [] if raw is None else [raw] if isinstance(raw, str) else list(raw)

    def any_match(value: str) -> bool:
        return any(_value_matches(operator, p, value) for p in policy_values)

    if qualifier == "ForAllValues":
        return all(any_match(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(any_match(v) for v in values)
    if raw is None:
        return if_exists
    if not isinstance(raw, str):
        raise NotSupportedError(f"single-valued operator {qualified!r} used on multivalued key {key!r}")
    return any_match(raw)


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        raise NotSupportedError(f"Principal {principal!r} is not implemented")
    for value in _as_list(principal["AWS"]):
        if value == "*":
            return True
        if not isinstance(value, str) or not value.startswith("arn:"):
            raise NotSupportedError(f"Principal AWS value {value!r} is not implemented")
        if request.principal is None:
            continue
        if value.endswith(":root"):
            if value.split(":")[4] == request.principal.split(":")[4]:
                return True
        elif value == request.principal:
            return True
    return False


def _applies(statement: Mapping[str, Any], request: Request, *, resource_policy: bool = False) -> bool:
    allowed = _STATEMENT_KEYS | {"Principal"} if resource_policy else _STATEMENT_KEYS
    unknown = set(statement) - allowed
    if resource_policy and "Principal" not in statement:
        raise NotSupportedError("a resource-based policy statement needs a Principal")
    if resource_policy and not _principal_matches(statement["Principal"], request):
        return False
    if unknown:
        raise NotSupportedError(f"statement elements {sorted(unknown)} are not implemented")
    actions = _as_list(statement["Action"])
    if not any(_glob(a, request.action, case_sensitive=False) for a in actions):
        return False
    resources = _as_list(statement["Resource"])
    if not any(_glob(r, request.resource, case_sensitive=True) for r in resources):
        return False
    for qualified, keys in (statement.get("Condition") or {}).items():
        for key, values in keys.items():
            if not _condition_holds(qualified, key, [str(v) for v in _as_list(values)], request):
                return False
    return True


def evaluate(statements: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    """An identity-based policy's decision (no Principal element)."""
    return _evaluate(statements, request, resource_policy=False)


def evaluate_resource_policy(statements: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    """A resource-based policy's decision for `request.principal` (None: anonymous)."""
    return _evaluate(statements, request, resource_policy=True)


def _evaluate(statements: Sequence[Mapping[str, Any]], request: Request, *, resource_policy: bool) -> Decision:
    allowed = False
    for statement in statements:
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise NotSupportedError(f"Effect {effect!r}")
        if _applies(statement, request, resource_policy=resource_policy):
            if effect == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


# -- template values -------------------------------------------------------------------------------------------------

PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "ap-northeast-2", "AWS::AccountId": "123456789012"}


def token_key(value: Any) -> str:
    """Stable key of an intrinsic, for the caller's table of resolved values."""
    return json.dumps(value, sort_keys=True)


def resolve(value: Any, table: Mapping[str, str]) -> Any:
    """Template value with intrinsics replaced by strings (see the module docstring)."""
    if isinstance(value, list):
        return [resolve(v, table) for v in value]
    if not isinstance(value, dict):
        return value
    if token_key(value) in table:
        return table[token_key(value)]
    if len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref" and arg in PSEUDO:
            return PSEUDO[arg]
        if fn == "Fn::Join":
            sep, parts = arg
            return sep.join(str(resolve(p, table)) for p in parts)
        if fn.startswith("Fn::") or fn == "Ref":
            # Quote-free, so it stays valid inside JSON text that embeds it (a manifest's IAMAuthPolicy).
            return f"<unresolved {fn} {hashlib.sha256(token_key(value).encode()).hexdigest()[:12]}>"
    return {k: resolve(v, table) for k, v in value.items()}


def role_statements(template: Mapping[str, Any], role_id: str, table: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every statement of the AWS::IAM::Policy and ::ManagedPolicy resources attached to the role `role_id` (by
    their Roles), resolved.

    Refuses roles with inline or managed policies of their own: reading only the attached ones would
    under-approximate what the role may do.
    """
    role = template["Resources"][role_id]
    own = {k for k in ("Policies", "ManagedPolicyArns") if (role.get("Properties") or {}).get(k)}
    if own:
        raise NotSupportedError(f"role {role_id} has {sorted(own)}, which this evaluator does not read")
    statements: list[dict[str, Any]] = []
    for resource in template["Resources"].values():
        props = resource.get("Properties") or {}
        attached = resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        if attached and {"Ref": role_id} in props.get("Roles", []):
            statements += resolve(props["PolicyDocument"]["Statement"], table)
    return statements


# -- Route 53 calls as IAM requests ----------------------------------------------------------------------------------


def normalized_record_name(name: str) -> str:
    """route53:ChangeResourceRecordSetsNormalizedRecordNames form (Route 53 Developer Guide, "Using IAM policy
    conditions for fine-grained access control"): lower case, no trailing dot, other characters as \\ooo."""
    lowered = name.lower().rstrip(".")
    return "".join(c if re.fullmatch(r"[a-z0-9._-]", c) else f"\\{ord(c):03o}" for c in lowered)


def route53_request(operation: str, params: Mapping[str, Any], *, partition: str = "aws") -> Request:
    """The IAM request a Route 53 API call makes (Service Authorization Reference, Amazon Route 53)."""
    zone = str(params.get("HostedZoneId") or params.get("Id") or "").rsplit("/", 1)[-1]
    if not zone:
        raise NotSupportedError(f"route53:{operation} without a hosted zone is not mapped")
    context: dict[str, ContextValue] = {}
    if operation == "ChangeResourceRecordSets":
        changes = params["ChangeBatch"]["Changes"]
        context = {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                normalized_record_name(c["ResourceRecordSet"]["Name"]) for c in changes
            ],
            "route53:ChangeResourceRecordSetsRecordTypes": [c["ResourceRecordSet"]["Type"] for c in changes],
            "route53:ChangeResourceRecordSetsActions": [c["Action"] for c in changes],
        }
    elif operation not in ("GetHostedZone", "ListResourceRecordSets"):
        raise NotSupportedError(f"route53:{operation} is not mapped")
    return Request(
        action=f"route53:{operation}", resource=f"arn:{partition}:route53:::hostedzone/{zone}", context=context
    )
