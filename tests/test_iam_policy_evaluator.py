"""tests/support/iam_policy.py, the evaluator the DNS update replays trust: it must allow what IAM allows and
refuse what IAM refuses, for each element and operator it implements, and refuse to judge anything else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.iam_policy import (
    Decision,
    NotSupportedError,
    Request,
    evaluate,
    evaluate_resource_policy,
    normalized_record_name,
    resolve,
    role_statements,
    route53_request,
    token_key,
)

ZONE = "arn:aws:route53:::hostedzone/Z0123456789ABC"
NAMES = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
TYPES = "route53:ChangeResourceRecordSetsRecordTypes"


def allow(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "route53:ChangeResourceRecordSets", "Resource": ZONE, **fields}


def change(names: list[str], types: list[str] | None = None) -> Request:
    context: dict[str, Any] = {NAMES: names, TYPES: types or ["CNAME"] * len(names)}
    return Request("route53:ChangeResourceRecordSets", ZONE, context)


def decide(statements: list[dict[str, Any]], request: Request) -> Decision:
    return evaluate(statements, request)


# -- actions, resources, effects --------------------------------------------------------------------------------------


def test_action_and_resource_must_both_match() -> None:
    ok = Request("route53:ChangeResourceRecordSets", ZONE)
    assert decide([allow()], ok) is Decision.ALLOW
    assert decide([allow()], Request("route53:DeleteHostedZone", ZONE)) is Decision.IMPLICIT_DENY
    assert decide([allow()], Request(ok.action, ZONE + "X")) is Decision.IMPLICIT_DENY
    assert decide([], ok) is Decision.IMPLICIT_DENY


def test_actions_ignore_case_resources_do_not() -> None:
    assert decide([allow()], Request("Route53:changeResourceRecordSets", ZONE)) is Decision.ALLOW
    assert decide([allow()], Request("route53:ChangeResourceRecordSets", ZONE.lower())) is Decision.IMPLICIT_DENY


def test_wildcards_in_actions_and_resources() -> None:
    statement = allow(Action=["route53:List*", "route53:Get?ostedZone"], Resource="arn:aws:route53:::hostedzone/*")
    assert decide([statement], Request("route53:ListResourceRecordSets", ZONE)) is Decision.ALLOW
    assert decide([statement], Request("route53:GetHostedZone", ZONE)) is Decision.ALLOW
    assert decide([statement], Request("route53:GetHealthCheck", ZONE)) is Decision.IMPLICIT_DENY
    assert decide([statement], Request("route53:ListResourceRecordSets", "arn:aws:route53:::change/C1")) is (
        Decision.IMPLICIT_DENY
    )


def test_explicit_deny_wins() -> None:
    deny = {**allow(), "Effect": "Deny"}
    assert decide([allow(), deny], Request("route53:ChangeResourceRecordSets", ZONE)) is Decision.EXPLICIT_DENY
    assert decide([deny], Request("route53:GetHostedZone", ZONE)) is Decision.IMPLICIT_DENY


# -- conditions -------------------------------------------------------------------------------------------------------


def test_for_all_values_string_equals() -> None:
    statement = allow(Condition={"ForAllValues:StringEquals": {NAMES: ["a.example.com", "b.example.com"]}})
    assert decide([statement], change(["a.example.com"])) is Decision.ALLOW
    assert decide([statement], change(["a.example.com", "b.example.com"])) is Decision.ALLOW
    assert decide([statement], change(["a.example.com", "c.example.com"])) is Decision.IMPLICIT_DENY
    assert decide([statement], change(["A.example.com"])) is Decision.IMPLICIT_DENY  # values are case-sensitive
    # IAM: ForAllValues is also true when the key is missing or empty (why it pairs with an Allow, not a Deny).
    assert decide([statement], Request("route53:ChangeResourceRecordSets", ZONE)) is Decision.ALLOW
    assert decide([statement], change([])) is Decision.ALLOW


def test_for_all_values_string_like_scopes_to_inside_the_zone() -> None:
    statement = allow(Condition={"ForAllValues:StringLike": {NAMES: ["*.example.com"]}})
    for inside in (["api.example.com"], ["_eks-lattice-gateway.api.example.com", "a.b.example.com"]):
        assert decide([statement], change(inside)) is Decision.ALLOW, inside
    for outside in (["example.com"], ["evil-example.com"], ["api.example.com.evil.org"], ["api.example.com", "x.org"]):
        assert decide([statement], change(outside)) is Decision.IMPLICIT_DENY, outside


def test_for_any_value_needs_one_match() -> None:
    statement = allow(Condition={"ForAnyValue:StringEquals": {TYPES: ["TXT"]}})
    assert decide([statement], change(["a.example.com", "b.example.com"], ["CNAME", "TXT"])) is Decision.ALLOW
    assert decide([statement], change(["a.example.com"], ["CNAME"])) is Decision.IMPLICIT_DENY
    assert decide([statement], Request("route53:ChangeResourceRecordSets", ZONE)) is Decision.IMPLICIT_DENY


def test_single_valued_operators_and_if_exists() -> None:
    key = "aws:RequestedRegion"
    plain = allow(Condition={"StringEquals": {key: ["ap-northeast-2", "us-east-1"]}})
    if_exists = allow(Condition={"StringLikeIfExists": {key: "ap-*"}})
    assert decide([plain], Request(plain["Action"], ZONE, {key: "us-east-1"})) is Decision.ALLOW  # values are ORed
    assert decide([plain], Request(plain["Action"], ZONE, {key: "eu-west-1"})) is Decision.IMPLICIT_DENY
    assert decide([plain], Request(plain["Action"], ZONE)) is Decision.IMPLICIT_DENY  # missing key: false
    assert decide([if_exists], Request(plain["Action"], ZONE)) is Decision.ALLOW
    assert decide([if_exists], Request(plain["Action"], ZONE, {key: "us-east-1"})) is Decision.IMPLICIT_DENY
    assert decide([plain], Request(plain["Action"], ZONE, {"AWS:requestedregion": "us-east-1"})) is Decision.ALLOW


def test_keys_and_operators_are_anded() -> None:
    statement = allow(
        Condition={
            "ForAllValues:StringLike": {NAMES: ["*.example.com"]},
            "ForAllValues:StringEquals": {TYPES: ["CNAME", "TXT"]},
        }
    )
    assert decide([statement], change(["a.example.com"], ["TXT"])) is Decision.ALLOW
    assert decide([statement], change(["a.example.com"], ["A"])) is Decision.IMPLICIT_DENY
    assert decide([statement], change(["a.example.org"], ["CNAME"])) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        allow(Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}),
        allow(Condition={"StringNotEquals": {TYPES: "A"}}),
        allow(Resource="arn:aws:route53:::hostedzone/${aws:PrincipalTag/zone}"),
        {**allow(), "Effect": "Maybe"},
    ],
)
def test_unimplemented_syntax_is_refused_not_guessed(statement: dict[str, Any]) -> None:
    with pytest.raises(NotSupportedError):
        decide([statement], change(["a.example.com"]))


def test_single_valued_operator_on_a_list_is_refused() -> None:
    with pytest.raises(NotSupportedError, match="multivalued"):
        decide([allow(Condition={"StringEquals": {NAMES: "a.example.com"}})], change(["a.example.com"]))


# -- template values and Route 53 requests -----------------------------------------------------------------------------


def test_resolve_computes_joins_and_leaves_unknown_tokens_opaque() -> None:
    zone_token = {"Fn::GetStackOutput": {"OutputName": "Zone", "StackName": "Platform"}}
    arn = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":route53:::hostedzone/", zone_token]]}
    assert resolve(arn, {token_key(zone_token): "Z0123456789ABC"}) == ZONE
    opaque = resolve(arn, {})
    assert opaque != ZONE
    assert decide([allow(Resource=opaque)], Request("route53:ChangeResourceRecordSets", ZONE)) is (
        Decision.IMPLICIT_DENY
    )
    assert decide([allow(Resource="*")], Request("route53:ChangeResourceRecordSets", ZONE)) is Decision.ALLOW


def test_role_statements_reads_attached_policies_and_refuses_own_ones() -> None:
    policy: dict[str, Any] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {"Roles": [{"Ref": "R"}], "PolicyDocument": {"Statement": [allow()]}},
    }
    template: dict[str, Any] = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {}}, "P": policy}}
    assert role_statements(template, "R", {}) == [allow()]
    template["Resources"]["M"] = {**policy, "Type": "AWS::IAM::ManagedPolicy"}
    assert role_statements(template, "R", {}) == [allow(), allow()]
    template["Resources"]["R"]["Properties"]["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AdministratorAccess"]
    with pytest.raises(NotSupportedError):
        role_statements(template, "R", {})


def test_route53_requests_carry_the_normalized_change() -> None:
    request = route53_request(
        "ChangeResourceRecordSets",
        {
            "HostedZoneId": "/hostedzone/Z0123456789ABC",
            "ChangeBatch": {
                "Changes": [
                    {"Action": "DELETE", "ResourceRecordSet": {"Name": "API.Example.com.", "Type": "CNAME"}},
                    {"Action": "UPSERT", "ResourceRecordSet": {"Name": "*.example.com", "Type": "TXT"}},
                ]
            },
        },
    )
    assert request.resource == ZONE
    assert request.context == {
        NAMES: ["api.example.com", "\\052.example.com"],
        TYPES: ["CNAME", "TXT"],
        "route53:ChangeResourceRecordSetsActions": ["DELETE", "UPSERT"],
    }
    assert route53_request("GetHostedZone", {"Id": "Z0123456789ABC"}).resource == ZONE
    assert normalized_record_name("_Eks-Lattice-Gateway.API.example.com") == "_eks-lattice-gateway.api.example.com"
    with pytest.raises(NotSupportedError):
        route53_request("DeleteHostedZone", {"Id": "Z0123456789ABC"})


# -- resource-based policies: Principal (VPC Lattice auth policies) ----------------------------------------------------

SERVICE = "arn:aws:vpc-lattice:ap-northeast-2:111111111111:service/svc-0123456789abcdef0/v1"
ROLE = "arn:aws:iam::111111111111:role/caller"


def invoke(principal: str | None, **context: Any) -> Request:
    return Request("vpc-lattice-svcs:Invoke", SERVICE, context, principal=principal)


def grant(principal: Any, **fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "vpc-lattice-svcs:Invoke", "Resource": "*", **fields}


def test_a_role_principal_admits_that_roles_sessions_only_never_anonymous_callers() -> None:
    policy = [grant({"AWS": [ROLE]})]
    assert evaluate_resource_policy(policy, invoke(ROLE)) is Decision.ALLOW
    assert evaluate_resource_policy(policy, invoke(ROLE + "2")) is Decision.IMPLICIT_DENY
    assert evaluate_resource_policy(policy, invoke(None)) is Decision.IMPLICIT_DENY
    assert evaluate_resource_policy([grant({"AWS": ROLE})], invoke(ROLE)) is Decision.ALLOW  # a string, too


def test_a_star_principal_admits_anonymous_callers_unless_a_condition_needs_a_key_they_lack() -> None:
    assert evaluate_resource_policy([grant("*")], invoke(None)) is Decision.ALLOW
    assert evaluate_resource_policy([grant({"AWS": "*"})], invoke(None)) is Decision.ALLOW
    by_account = grant("*", Condition={"StringEquals": {"aws:PrincipalAccount": "111111111111"}})
    assert evaluate_resource_policy([by_account], invoke(None)) is Decision.IMPLICIT_DENY
    assert (
        evaluate_resource_policy([by_account], invoke(ROLE, **{"aws:PrincipalAccount": "111111111111"}))
        is Decision.ALLOW
    )


def test_an_account_root_principal_admits_the_accounts_principals() -> None:
    policy = [grant({"AWS": "arn:aws:iam::111111111111:root"})]
    assert evaluate_resource_policy(policy, invoke(ROLE)) is Decision.ALLOW
    assert evaluate_resource_policy(policy, invoke("arn:aws:iam::222222222222:role/caller")) is Decision.IMPLICIT_DENY
    assert evaluate_resource_policy(policy, invoke(None)) is Decision.IMPLICIT_DENY


def test_principals_it_does_not_implement_are_refused_not_guessed() -> None:
    for principal in ({"Service": "pods.eks.amazonaws.com"}, {"AWS": "111111111111"}, ["*"]):
        with pytest.raises(NotSupportedError):
            evaluate_resource_policy([grant(principal)], invoke(ROLE))
    with pytest.raises(NotSupportedError, match="needs a Principal"):
        evaluate_resource_policy([{"Effect": "Allow", "Action": "*", "Resource": "*"}], invoke(ROLE))
    with pytest.raises(NotSupportedError, match="Principal"):
        evaluate([grant("*")], invoke(ROLE))  # identity-based policies have none
