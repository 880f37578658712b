"""config/consumers.py through the configuration: each field's limits from both sides with the line shown, the
cross-consumer checks (names, accounts, overlapping ranges) and check_provider's three refusals. And
config/versions.py's pinned download URL."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from config import ConfigError, parse_context
from config.consumers import Consumer, Sharing, check_provider, consumer_problems
from config.versions import GATEWAY_API_RELEASES
from tests.conftest import TODAY

B, C = "222222222222", "333333333333"


def entry(**fields: Any) -> dict[str, Any]:
    return {"name": "team-b", "account": B, "vpcCidr": "10.3.0.0/16", **fields}


def lines(*consumers: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_context({"consumers": list(consumers)}, today=TODAY)
    return caught.value.lines


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "t"},
        {"name": "t" * 20},
        {"name": "a-b-c1"},
        {"region": "ap-northeast-2"},
        {"vpcCidr": "10.3.0.0/26"},
        {"vpcCidr": "172.16.0.0/16"},
        {"vpcCidr": None, "vpcId": "vpc-0123abcd"},
        {"vpcCidr": None, "vpcId": "vpc-0123456789abcdef0"},
        {"testHost": False},
    ],
)
def test_consumer_fields_at_their_limits_are_accepted(fields: dict[str, Any]) -> None:
    (consumer,) = parse_context({"consumers": [entry(**fields)]}, today=TODAY).consumers
    assert (
        consumer.model_dump(by_alias=True, include=set(Consumer.model_fields)) | {}
        == {
            "name": "team-b",
            "account": B,
            "region": None,
            "vpcCidr": "10.3.0.0/16",
            "vpcId": None,
            "testHost": True,
        }
        | fields
    )


_NAME = "must be 1-20 lowercase letters, digits and single hyphens, starting with a letter"


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({"name": "t" * 21}, f"consumers[0].name: '{'t' * 21}' {_NAME}"),
        ({"name": ""}, f"consumers[0].name: '' {_NAME}"),
        ({"name": "1t"}, f"consumers[0].name: '1t' {_NAME}"),
        ({"name": "a--b"}, f"consumers[0].name: 'a--b' {_NAME}"),
        ({"name": "ab-"}, f"consumers[0].name: 'ab-' {_NAME}"),
        (
            {"account": "1" * 11},
            "consumers[0].account: '11111111111' is not an AWS account id (12 digits, as a string)",
        ),
        (
            {"account": "1" * 13},
            "consumers[0].account: '1111111111111' is not an AWS account id (12 digits, as a string)",
        ),
        ({"region": "Seoul"}, "consumers[0].region: 'Seoul' is not an AWS region (like ap-northeast-2)"),
        (
            {"vpcCidr": "10.3.0.1/16"},
            "consumers[0].vpcCidr: '10.3.0.1/16' is not an IPv4 CIDR block (10.3.0.1/16 has host bits set)",
        ),
        ({"vpcCidr": "10.2.0.0/15"}, "consumers[0].vpcCidr: 10.2.0.0/15 is a /15; a consumer VPC needs /16 to /26"),
        ({"vpcCidr": "10.3.0.0/27"}, "consumers[0].vpcCidr: 10.3.0.0/27 is a /27; a consumer VPC needs /16 to /26"),
        ({"vpcCidr": "8.8.0.0/16"}, "consumers[0].vpcCidr: 8.8.0.0/16 is not a private address range (RFC 1918)"),
        (
            {"vpcCidr": None, "vpcId": "vpc-0123abc"},
            "consumers[0].vpcId: 'vpc-0123abc' is not a VPC id (vpc- and 8 or 17 hex digits)",
        ),
        (
            {"vpcCidr": None, "vpcId": "vpc-0123456789abcdef01"},
            "consumers[0].vpcId: 'vpc-0123456789abcdef01' is not a VPC id (vpc- and 8 or 17 hex digits)",
        ),
        (
            {"vpcId": "vpc-0123abcd"},
            "consumers[0]: give exactly one of vpcCidr (create a VPC) or vpcId (use an existing one)",
        ),
        ({"vpcCidr": None}, "consumers[0]: give exactly one of vpcCidr (create a VPC) or vpcId (use an existing one)"),
    ],
)
def test_consumer_fields_beyond_their_limits_are_refused(fields: dict[str, Any], line: str) -> None:
    assert lines(entry(**fields)) == (line,)


def test_consumers_repeat_no_name_no_account_and_no_range() -> None:
    assert lines(
        entry(),
        entry(account=C, vpcCidr="10.4.0.0/16"),
        entry(name="team-c", vpcCidr="10.3.128.0/17"),
        entry(name="team-d", account="444444444444", vpcCidr="10.1.0.0/20"),
        entry(name="team-e", account="555555555555", vpcCidr="10.2.0.0/26"),
        entry(name="team-b", account=B, vpcId="vpc-0123abcd", vpcCidr=None),
    ) == (
        "consumers[1].name: duplicate name 'team-b' (consumers[0])",
        "consumers[2].account: account 222222222222 is already consumers[0]",
        "consumers[2].vpcCidr: 10.3.128.0/17 overlaps consumers[0].vpcCidr (10.3.0.0/16)",
        "consumers[3].vpcCidr: 10.1.0.0/20 overlaps clusterVpcCidr (10.1.0.0/16)",
        "consumers[4].vpcCidr: 10.2.0.0/26 overlaps clientVpcCidr (10.2.0.0/16)",
        "consumers[5].name: duplicate name 'team-b' (consumers[0])",
        "consumers[5].account: account 222222222222 is already consumers[0]",
    )


def test_consumer_problems_compare_each_range_with_every_earlier_one() -> None:
    consumers = [
        Consumer.model_validate(entry(name=f"c{i}", account=str(i) * 12, vpcCidr=f"10.{i}.0.0/16")) for i in (3, 4)
    ]
    assert consumer_problems(consumers, {}) == []
    late = Consumer.model_validate(entry(name="c5", account="5" * 12, vpcCidr="10.4.0.0/24"))
    existing = Consumer.model_validate(entry(name="c6", account="6" * 12, vpcCidr=None, vpcId="vpc-0123abcd"))
    # a consumer with an existing VPC has no range to compare, and the ones after it are still compared
    assert consumer_problems([*consumers, existing, late], {}) == [
        (3, "vpcCidr", "10.4.0.0/24 overlaps consumers[1].vpcCidr (10.4.0.0/16)")
    ]
    assert consumer_problems([*consumers, late], {}) == [
        (2, "vpcCidr", "10.4.0.0/24 overlaps consumers[1].vpcCidr (10.4.0.0/16)")
    ]


def sharing(**fields: Any) -> Sharing:
    return Sharing.model_validate({"consumers": [entry(**fields)]})


def test_check_provider_needs_the_account_and_region_only_with_consumers() -> None:
    check_provider(Sharing(), account=None, region=None)
    why = (
        "consumers: sharing with consumer accounts needs the provider's account and region at synth time: "
        "synthesize with credentials (CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION) or through a pipeline stage with both"
    )
    for account, region in ((None, "us-east-1"), ("111111111111", None), ("", "us-east-1"), ("111111111111", "")):
        with pytest.raises(ConfigError) as caught:
            check_provider(sharing(), account=account, region=region)
        assert str(caught.value) == why


def test_check_provider_refuses_its_own_account_and_another_region() -> None:
    check_provider(sharing(region="us-east-1"), account="111111111111", region="us-east-1")
    check_provider(sharing(), account="111111111111", region="eu-west-1")  # no region: the app's
    with pytest.raises(ConfigError) as caught:
        check_provider(sharing(), account=B, region="us-east-1")
    assert str(caught.value) == (
        "consumers[0].account: 222222222222 is the app's own account; its VPCs are associated directly "
        "(clientVpcCidr), not shared"
    )
    two = Sharing.model_validate(
        {"consumers": [entry(), entry(name="c", account=C, vpcCidr="10.4.0.0/16", region="eu-west-1")]}
    )
    with pytest.raises(ConfigError) as caught:
        check_provider(two, account="111111111111", region="us-east-1")
    assert str(caught.value) == (
        "consumers[1].region: eu-west-1 differs from the app's region us-east-1: service network sharing is "
        "regional (RAM shares a service network within its own region only)"
    )


def test_gateway_api_files_download_from_the_pinned_tag() -> None:
    release = GATEWAY_API_RELEASES["v1.5.1"]
    assert release.url(release.files[0]) == (
        "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.5.1/config/crd/standard/"
        "gateway.networking.k8s.io_backendtlspolicies.yaml"
    )


def test_sharing_on_its_own_names_the_consumer_in_its_message() -> None:
    with pytest.raises(ValidationError) as caught:
        Sharing.model_validate({"consumers": [entry(), entry(account=C, vpcCidr="10.4.0.0/16")]})
    (error,) = caught.value.errors()
    assert (error["type"], error["loc"], error["msg"]) == (
        "consumers",
        ("consumers",),
        "consumers[1].name: duplicate name 'team-b' (consumers[0])",
    )
