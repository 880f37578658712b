"""lattice_dns.records pinned rule by rule: hostname limits on both sides, the ownership marker (ours and only
ours), every ownership verdict and its message, Route 53 retries (counts, backoff, the no-retry answers, the time
budget) and the paging of one name's record sets. Plain fakes, no moto: each test runs in milliseconds."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from lattice_dns import records
from lattice_dns.records import (
    OUT_OF_TIME,
    Claim,
    DnsError,
    Marker,
    RecordState,
    Zone,
    assess,
    marker_name,
    normalize_name,
    validate_hostname,
)

from tests.support.clock import FakeClock as Clock
from tests.support.scripted_aws import ScriptedClient

ZONE = "Z0123456789ABCDEFGHIJ"
HOST = "api.example.com"
MARKER = f"_eks-lattice-gateway.{HOST}"
DOMAIN = "demo-default-0a1b2c3d4e5f6a7b8.7d67968.vpc-lattice-svcs.ap-northeast-2.on.aws"
OWNER = "LatticeStack/ApiDns"
ROUTE = "eks-demo/default/demo"
OURS = Marker(owner=OWNER, route=ROUTE, target=DOMAIN)


def client_error(code: str, message: str | None = "it failed", operation: str = "ListResourceRecordSets") -> Exception:
    error = {"Code": code} if message is None else {"Code": code, "Message": message}
    return ClientError({"Error": error}, operation)


class FakeRoute53(ScriptedClient):
    """Route 53 from scripts (tests/support/scripted_aws.py); more than 50 calls is a runaway loop."""

    def __init__(self, **scripts: Any) -> None:
        super().__init__(runaway=50, **scripts)


@pytest.fixture
def jitter(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """random.uniform(a, b) answers b (the longest wait), and its arguments are recorded."""
    seen: list[tuple[float, float]] = []

    def uniform(a: float, b: float) -> float:
        seen.append((a, b))
        return b

    monkeypatch.setattr(records.random, "uniform", uniform)
    return seen


def zone(client: FakeRoute53, clock: Clock | None = None, **kwargs: Any) -> Zone:
    clock = clock or Clock()
    return Zone(client, f"/hostedzone/{ZONE}", sleep=clock.sleep, time_left=clock.time_left, **kwargs)


def cname(value: str = DOMAIN, ttl: int | str = 60, name: str = HOST, **extra: Any) -> dict[str, Any]:
    return {"Name": f"{name}.", "Type": "CNAME", "TTL": ttl, "ResourceRecords": [{"Value": value}], **extra}


def txt(*values: str, name: str = MARKER, **extra: Any) -> dict[str, Any]:
    return {"Name": f"{name}.", "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": v} for v in values], **extra}


def state(at_name: list[dict[str, Any]] | None = None, at_marker: list[dict[str, Any]] | None = None) -> RecordState:
    return RecordState(hostname=HOST, at_name=at_name or [], at_marker=at_marker or [])


def name_of_length(length: int) -> str:
    """A valid DNS name of exactly `length` characters ending in example.com (labels of at most 63)."""
    tail = "example.com"
    labels: list[str] = []
    left = length - len(tail)
    while left > 0:
        size = min(63, left - 1)  # the label and its dot
        labels.append("a" * size)
        left -= size + 1
    name = ".".join([*labels, tail])
    assert len(name) == length
    return name


# -- names -------------------------------------------------------------------------------------------------------------


def test_normalize_name_strips_space_and_one_trailing_dot_and_lowers() -> None:
    assert normalize_name("  Api.Example.COM. \n") == "api.example.com"
    assert normalize_name(".api.example.com") == ".api.example.com"  # only trailing dots go
    assert normalize_name("box.X.") == "box.x"  # the dot, and only the dot, is stripped before lower-casing
    assert marker_name(" API.example.com. ") == "_eks-lattice-gateway.api.example.com"


def test_validate_hostname_returns_the_normal_form() -> None:
    assert validate_hostname(" API.Example.com. ") == "api.example.com"
    assert validate_hostname("_svc.my-app.example.com") == "_svc.my-app.example.com"  # underscores are valid


@pytest.mark.parametrize("raw", ["", "   ", "."])
def test_empty_hostname_is_refused_naming_the_key(raw: str) -> None:
    with pytest.raises(ValueError, match=r"^Hostname is empty$"):
        validate_hostname(raw)
    with pytest.raises(ValueError, match=r"^Domain is empty$"):
        validate_hostname(raw, what="Domain")


def test_wildcard_is_refused() -> None:
    with pytest.raises(ValueError, match="wildcard") as err:
        validate_hostname("*.Example.com")
    assert str(err.value) == "Hostname '*.Example.com': wildcard names cannot be a Lattice custom domain"


def test_longest_hostname_whose_marker_fits_is_accepted_and_one_more_is_refused() -> None:
    # The marker name _eks-lattice-gateway.<hostname> (21 more characters) must fit DNS's 253.
    longest = name_of_length(253 - 21)
    assert validate_hostname(longest) == longest
    assert len(marker_name(longest)) == 253
    too_long = name_of_length(253 - 21 + 1)
    with pytest.raises(ValueError, match="too long") as err:
        validate_hostname(too_long, what="Name")
    assert str(err.value) == (
        f"Name {too_long!r} is too long: its ownership marker _eks-lattice-gateway.{too_long} would exceed 253 "
        "characters"
    )


def test_labels_of_63_are_accepted_and_64_refused() -> None:
    assert validate_hostname("a" * 63 + ".example.com") == "a" * 63 + ".example.com"
    with pytest.raises(ValueError, match=r"bad label 'a{64}'"):
        validate_hostname("a" * 64 + ".example.com")


@pytest.mark.parametrize(
    ("hostname", "bad"),
    [
        ("-api.example.com", "-api"),
        ("api-.example.com", "api-"),
        ("api..example.com", ""),
        ("api.exa mple.com", "exa mple"),
        ("api.ex!ample.com", "ex!ample"),
    ],
)
def test_invalid_labels_are_named(hostname: str, bad: str) -> None:
    with pytest.raises(ValueError, match="not a valid DNS name") as err:
        validate_hostname(hostname)
    assert str(err.value) == f"Hostname {hostname!r} is not a valid DNS name (bad label {bad!r})"


def test_the_first_bad_label_is_the_one_named() -> None:
    with pytest.raises(ValueError, match=r"\(bad label 'x-'\)$"):
        validate_hostname("x-.-y.example.com")


# -- the marker --------------------------------------------------------------------------------------------------------


def test_marker_text_and_txt_value() -> None:
    marker = Marker(owner=OWNER, route=ROUTE, target="Demo.Lattice.AWS.")
    text = f"heritage=eks-lattice-gateway,owner={OWNER},route={ROUTE},target=demo.lattice.aws"
    assert marker.text() == text
    assert marker.txt_value() == f'"{text}"'


def test_txt_value_splits_into_strings_of_at_most_255() -> None:
    prefix = f"heritage=eks-lattice-gateway,owner={OWNER},route={ROUTE},target="
    exact = Marker(owner=OWNER, route=ROUTE, target="a" * (255 - len(prefix)))
    assert len(exact.text()) == 255
    assert exact.txt_value() == f'"{exact.text()}"'

    longer = Marker(owner=OWNER, route=ROUTE, target="b" * (255 - len(prefix)) + ".cc")
    text = longer.text()
    assert len(text) == 258
    assert longer.txt_value() == f'"{text[:255]}" "{text[255:]}"'
    assert Marker.parse([longer.txt_value()]) == Marker(owner=OWNER, route=ROUTE, target=longer.target)


def test_marker_round_trips() -> None:
    assert Marker.parse([OURS.txt_value()]) == OURS


def test_marker_parse_accepts_unquoted_text_spaces_and_escapes() -> None:
    unquoted = f"heritage=eks-lattice-gateway,owner={OWNER},route={ROUTE},target={DOMAIN}"
    assert Marker.parse([unquoted]) == OURS
    spaced = f'"heritage = eks-lattice-gateway , owner = {OWNER} , route = {ROUTE} , target = {DOMAIN}"'
    assert Marker.parse([spaced]) == OURS
    escaped = r'"heritage=eks-lattice-gateway,owner=Stack/\"Id\",route=a/b/c,target=t.example"'
    assert Marker.parse([escaped]) == Marker(owner='Stack/"Id"', route="a/b/c", target="t.example")


def test_marker_parse_splits_each_field_at_its_first_equals_sign() -> None:
    text = '"heritage=eks-lattice-gateway,note,owner=a=b,route=r,target=t"'
    assert Marker.parse([text]) == Marker(owner="a=b", route="r", target="t")


def test_marker_parse_finds_ours_among_other_values() -> None:
    assert Marker.parse(['"v=spf1 -all"', OURS.txt_value()]) == OURS


@pytest.mark.parametrize(
    "value",
    [
        # another tool's ownership TXT (external-dns): the same idea, not our marker
        '"heritage=external-dns,external-dns/owner=default,external-dns/resource=service/default/api"',
        f'"heritage=eks-lattice-gateway-fork,owner={OWNER},route={ROUTE},target={DOMAIN}"',
        f'"heritage=EKS-LATTICE-GATEWAY,owner={OWNER},route={ROUTE},target={DOMAIN}"',
        f'"owner={OWNER},route={ROUTE},target={DOMAIN}"',
        f'"heritage=eks-lattice-gateway,route={ROUTE},target={DOMAIN}"',
        f'"heritage=eks-lattice-gateway,owner={OWNER},target={DOMAIN}"',
        f'"heritage=eks-lattice-gateway,owner={OWNER},route={ROUTE}"',
        '"v=spf1 -all"',
        "",
    ],
)
def test_only_our_complete_marker_is_accepted(value: str) -> None:
    assert Marker.parse([value]) is None
    verdict, reason = assess(state([cname()], [txt(value)]), owner=OWNER)
    assert verdict is Claim.FOREIGN
    assert reason.startswith(f"{MARKER} (the ownership-marker name for {HOST}) already holds records not written by ")


# -- record state ------------------------------------------------------------------------------------------------------


def test_cname_is_the_plain_cname_only() -> None:
    weighted = cname("w.example", SetIdentifier="blue")
    alias = {"Name": f"{HOST}.", "Type": "CNAME", "AliasTarget": {"DNSName": "x.example."}}
    a_record = {"Name": f"{HOST}.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.1"}]}
    plain = cname("Target.Example.", ttl="300")
    seen = state([weighted, alias, a_record, plain])
    assert seen.cname is plain
    assert seen.cname_value == "target.example"
    assert seen.cname_ttl == 300
    assert seen.others == [weighted, alias, a_record]
    only_odd = state([weighted, alias])
    assert only_odd.cname is None
    assert only_odd.cname_value is None
    assert only_odd.cname_ttl is None


def test_cname_without_value_or_ttl() -> None:
    bare = {"Name": f"{HOST}.", "Type": "CNAME"}
    seen = state([bare])
    assert seen.cname is bare
    assert seen.cname_value is None
    assert seen.cname_ttl is None
    assert state([{"Name": HOST, "Type": "CNAME", "ResourceRecords": None}]).cname_value is None
    assert state([{"Name": HOST, "Type": "CNAME", "ResourceRecords": [{}]}]).cname_value == ""


def test_marker_rrset_is_our_plain_txt_only() -> None:
    ours = txt(OURS.txt_value())
    weighted = txt(OURS.txt_value(), SetIdentifier="blue")
    spf = {**txt(OURS.txt_value()), "Type": "SPF"}
    other = txt('"v=spf1 -all"')
    seen = state(at_marker=[weighted, spf, other, ours])
    assert seen.marker_rrset is ours
    assert seen.marker == OURS
    assert seen.foreign_at_marker == [weighted, spf, other]
    none = state(at_marker=[weighted, other])
    assert none.marker_rrset is None
    assert none.marker is None
    assert none.foreign_at_marker == [weighted, other]


def test_describe_names_type_value_alias_and_set() -> None:
    rrsets: list[dict[str, Any]] = [
        {"Type": "A", "ResourceRecords": [{"Value": "10.0.0.1"}, {"Value": "10.0.0.2"}]},
        {"Type": "A", "AliasTarget": {"DNSName": "lb.example."}, "SetIdentifier": "eu"},
        {"Type": "CNAME", "SetIdentifier": "blue", "ResourceRecords": [{"Value": "b.example"}]},
        {"Type": "TXT"},
        {"Type": "MX", "AliasTarget": None, "ResourceRecords": []},
    ]
    assert state().describe(rrsets) == (
        "A 10.0.0.1, 10.0.0.2; A alias lb.example. (set eu); CNAME b.example (set blue); TXT no value; MX no value"
    )
    assert state().describe([]) == ""


# -- ownership verdicts ------------------------------------------------------------------------------------------------


def test_nothing_there_is_absent() -> None:
    assert assess(state(), owner=OWNER) == (Claim.ABSENT, f"no record at {HOST}")


def test_our_marker_without_a_cname_is_absent() -> None:
    assert assess(state(at_marker=[txt(OURS.txt_value())]), owner=OWNER) == (Claim.ABSENT, f"no record at {HOST}")


def test_our_cname_is_ours() -> None:
    seen = state([cname("Demo-Default-0a1b2c3d4e5f6a7b8.7d67968.vpc-lattice-svcs.ap-northeast-2.on.aws.")])
    seen.at_marker = [txt(OURS.txt_value())]
    expected = (Claim.OURS, f"{HOST} CNAME {DOMAIN} (owner {OWNER})")
    assert assess(seen, owner=OWNER) == expected
    assert assess(seen, route=ROUTE) == expected
    assert assess(seen, owner=OWNER, route=ROUTE) == expected
    assert assess(seen) == expected


def test_marker_target_is_compared_in_normal_form() -> None:
    written_by_hand = Marker(owner=OWNER, route=ROUTE, target=DOMAIN.upper() + ".")
    raw = f'"heritage=eks-lattice-gateway,owner={OWNER},route={ROUTE},target={written_by_hand.target}"'
    assert assess(state([cname()], [txt(raw)]), owner=OWNER)[0] is Claim.OURS


@pytest.mark.parametrize(
    ("owner", "route"),
    [
        ("OtherStack/ApiDns", None),
        (None, "eks-demo/default/other"),
        (OWNER, "eks-demo/default/other"),
        ("OtherStack/ApiDns", ROUTE),
    ],
)
def test_a_marker_of_another_owner_or_route_is_foreign(owner: str | None, route: str | None) -> None:
    verdict, reason = assess(state([cname()], [txt(OURS.txt_value())]), owner=owner, route=route)
    assert verdict is Claim.FOREIGN
    assert reason == (
        f"{HOST} is claimed by another eks-lattice-gateway resource (owner {OWNER}, route {ROUTE}, marker TXT at "
        f"{MARKER}); two resources cannot manage one name: remove that resource or choose another hostname"
    )


def test_foreign_records_at_the_marker_name_come_first() -> None:
    other_tool = txt('"heritage=external-dns,external-dns/owner=default"')
    seen = state([{"Type": "A", "ResourceRecords": [{"Value": "10.0.0.1"}]}], [other_tool, txt(OURS.txt_value())])
    assert assess(seen, owner=OWNER) == (
        Claim.FOREIGN,
        f"{MARKER} (the ownership-marker name for {HOST}) already holds records not written by eks-lattice-gateway: "
        'TXT "heritage=external-dns,external-dns/owner=default"; remove them or choose another hostname',
    )


def test_other_records_at_the_name_are_foreign_even_with_our_marker() -> None:
    a_record = {"Name": f"{HOST}.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.1"}]}
    weighted = cname(DOMAIN, SetIdentifier="blue")
    seen = state([a_record, weighted], [txt(OURS.txt_value())])
    assert assess(seen, owner=OWNER) == (
        Claim.FOREIGN,
        f"{HOST} already has records that this stack did not create (A 10.0.0.1; CNAME {DOMAIN} (set blue)); "
        "a CNAME cannot coexist with them: remove them or choose another hostname",
    )


def test_a_cname_without_our_marker_is_foreign() -> None:
    assert assess(state([cname("Elsewhere.Example.")]), owner=OWNER) == (
        Claim.FOREIGN,
        f"{HOST} already exists (CNAME elsewhere.example) and was not created by this stack (no ownership marker TXT "
        f"at {MARKER}); delete it by hand if this stack should manage it, or choose another hostname",
    )


def test_a_cname_repointed_by_hand_is_foreign() -> None:
    assert assess(state([cname("elsewhere.example")], [txt(OURS.txt_value())]), owner=OWNER) == (
        Claim.FOREIGN,
        f"{HOST} was changed outside this stack: it points to elsewhere.example, but this stack set {DOMAIN}; "
        "restore it or delete it by hand if this stack should manage it again",
    )


# -- calls: retries, the no-retry answers, the time budget -------------------------------------------------------------


def test_zone_id_accepts_the_path_form() -> None:
    assert Zone(FakeRoute53(), f"/hostedzone/{ZONE}").zone_id == ZONE
    assert Zone(FakeRoute53(), ZONE).zone_id == ZONE


@pytest.mark.parametrize("code", sorted(records.RETRYABLE_CODES))
def test_each_busy_answer_is_retried(code: str, jitter: list[tuple[float, float]]) -> None:
    client = FakeRoute53(get_hosted_zone=[client_error(code), {"HostedZone": {"Name": "Example.COM."}}])
    clock = Clock()
    assert zone(client, clock).name() == "example.com"
    assert len(client.calls) == 2
    assert clock.slept == [1.0]


def test_the_retryable_codes_are_exactly_route53s_busy_answers() -> None:
    busy = {
        "Throttling",
        "ThrottlingException",
        "PriorRequestNotComplete",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
    }
    assert set(records.RETRYABLE_CODES) == busy


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException"])
def test_access_denied_is_not_retried_and_names_the_permission(code: str) -> None:
    client = FakeRoute53(change_resource_record_sets=[client_error(code, "not allowed"), {"ChangeInfo": {"Id": "C1"}}])
    clock = Clock()
    with pytest.raises(DnsError) as err:
        zone(client, clock).upsert(HOST, DOMAIN, 60, OURS)
    assert len(client.calls) == 1
    assert clock.slept == []
    assert err.value.code == code
    assert err.value.transient is False
    assert str(err.value) == (
        f"route53:ChangeResourceRecordSets on hosted zone {ZONE} failed: {code}: not allowed; the Lambda's role needs "
        f"route53:ChangeResourceRecordSets on arn:aws:route53:::hostedzone/{ZONE}"
    )


def test_missing_zone_is_not_retried_and_names_the_setting() -> None:
    client = FakeRoute53(get_hosted_zone=[client_error("NoSuchHostedZone", "No hosted zone found")])
    with pytest.raises(DnsError) as err:
        zone(client).name()
    assert len(client.calls) == 1
    assert (err.value.code, err.value.transient) == ("NoSuchHostedZone", False)
    assert str(err.value) == (
        f"route53:GetHostedZone on hosted zone {ZONE} failed: NoSuchHostedZone: No hosted zone found; check "
        "HostedZoneId (it must be the private zone's id, e.g. Z0123456789ABCDEFGHIJ)"
    )


def test_other_errors_are_not_retried_and_carry_routes53s_words() -> None:
    client = FakeRoute53(list_resource_record_sets=[client_error("InvalidInput", "bad name")])
    with pytest.raises(DnsError) as err:
        zone(client).read(HOST)
    assert len(client.calls) == 1
    assert (err.value.code, err.value.transient) == ("InvalidInput", False)
    assert str(err.value) == f"route53:ListResourceRecordSets on hosted zone {ZONE} failed: InvalidInput: bad name"


def test_an_error_without_message_or_code_is_still_readable() -> None:
    no_message = client_error("InvalidChangeBatch", None, "ChangeResourceRecordSets")
    client = FakeRoute53(change_resource_record_sets=[no_message])
    with pytest.raises(DnsError) as err:
        zone(client).delete([cname()], "delete")
    assert str(err.value) == (
        f"route53:ChangeResourceRecordSets on hosted zone {ZONE} failed: InvalidChangeBatch: {no_message}"
    )
    no_code = ClientError({"Error": {"Message": "odd"}}, "GetHostedZone")
    client = FakeRoute53(get_hosted_zone=[no_code, {"HostedZone": {"Name": "example.com."}}])
    with pytest.raises(DnsError) as err:
        zone(client).name()
    assert len(client.calls) == 1
    assert (err.value.code, err.value.transient) == ("", False)
    assert str(err.value) == f"route53:GetHostedZone on hosted zone {ZONE} failed: : odd"
    client = FakeRoute53(get_hosted_zone=[ClientError({}, "GetHostedZone")])
    with pytest.raises(DnsError) as err:
        zone(client).name()
    assert err.value.code == ""


def test_steady_throttling_ends_after_max_attempts_naming_the_code(
    jitter: list[tuple[float, float]], caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeRoute53(list_resource_record_sets=[client_error("Throttling", "Rate exceeded")])
    clock = Clock()
    caplog.set_level(logging.INFO, logger=records.LOG.name)
    with pytest.raises(DnsError) as err:
        zone(client, clock).read(HOST)
    assert len(client.calls) == 6  # the default max_attempts
    assert (err.value.code, err.value.transient) == ("Throttling", True)
    assert str(err.value) == (f"route53:ListResourceRecordSets on hosted zone {ZONE} failed: Throttling: Rate exceeded")
    # Exponential backoff from 1 s, capped at 10 s, each wait drawn from its upper half.
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert jitter == [(0, 0.5), (0, 1.0), (0, 2.0), (0, 4.0), (0, 5.0)]
    assert [r.getMessage() for r in caplog.records] == [
        f"route53 list_resource_record_sets: Throttling, retrying in {s:.1f} s" for s in (1, 2, 4, 8, 10)
    ]


def test_max_attempts_and_backoff_are_settings(jitter: list[tuple[float, float]]) -> None:
    client = FakeRoute53(get_hosted_zone=[client_error("PriorRequestNotComplete")])
    clock = Clock()
    with pytest.raises(DnsError):
        zone(client, clock, max_attempts=3, backoff=0.25).name()
    assert len(client.calls) == 3
    assert clock.slept == [0.25, 0.5]
    assert jitter == [(0, 0.125), (0, 0.25)]


def test_the_shortest_wait_is_half_the_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records.random, "uniform", lambda a, b: a)
    client = FakeRoute53(get_hosted_zone=[client_error("Throttling")])
    clock = Clock()
    with pytest.raises(DnsError):
        zone(client, clock, max_attempts=3).name()
    assert clock.slept == [0.5, 1.0]


@pytest.mark.parametrize(("max_attempts", "calls"), [(0, 1), (1, 1), (2, 2)])
def test_at_least_one_attempt(max_attempts: int, calls: int) -> None:
    client = FakeRoute53(get_hosted_zone=[client_error("Throttling")])
    with pytest.raises(DnsError) as err:
        zone(client, max_attempts=max_attempts).name()
    assert len(client.calls) == calls
    assert err.value.code == "Throttling"


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://route53.amazonaws.com/"),
        ConnectTimeoutError(endpoint_url="https://route53.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://route53.amazonaws.com/"),
    ],
)
def test_connection_failures_are_retried_then_reported_as_transient(
    error: Exception, jitter: list[tuple[float, float]], caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeRoute53(list_resource_record_sets=[error])
    clock = Clock()
    caplog.set_level(logging.INFO, logger=records.LOG.name)
    with pytest.raises(DnsError) as err:
        zone(client, clock, max_attempts=3).read(HOST)
    assert len(client.calls) == 3
    assert (err.value.code, err.value.transient) == (None, True)
    assert str(err.value) == f"route53 list_resource_record_sets on zone {ZONE} failed: {error}"
    assert clock.slept == [1.0, 2.0]
    assert caplog.records[0].getMessage() == (
        f"route53 list_resource_record_sets: {type(error).__name__}: {error}, retrying in 1.0 s"
    )


def test_a_connection_failure_then_success() -> None:
    client = FakeRoute53(
        get_hosted_zone=[EndpointConnectionError(endpoint_url="https://x/"), {"HostedZone": {"Name": "example.com."}}]
    )
    assert zone(client).name() == "example.com"
    assert len(client.calls) == 2


def test_other_botocore_errors_are_not_retried() -> None:
    error = ParamValidationError(report="Invalid type for parameter Id")
    client = FakeRoute53(get_hosted_zone=[error])
    with pytest.raises(DnsError) as err:
        zone(client).name()
    assert len(client.calls) == 1
    assert (err.value.code, err.value.transient) == (None, False)
    assert str(err.value) == f"route53 get_hosted_zone on zone {ZONE} failed: {error}"


def test_a_call_starts_only_when_it_fits_in_the_time_left() -> None:
    answer = {"HostedZone": {"Name": "example.com."}}
    fits = FakeRoute53(get_hosted_zone=[answer])
    assert zone(fits, Clock(deadline=13.0), call_seconds=13).name() == "example.com"
    assert len(fits.calls) == 1

    short = FakeRoute53(get_hosted_zone=[answer])
    with pytest.raises(DnsError) as err:
        zone(short, Clock(deadline=12.96), call_seconds=13).name()
    assert short.calls == []
    assert (err.value.code, err.value.transient) == (OUT_OF_TIME, True)
    assert str(err.value) == (
        f"route53 get_hosted_zone on zone {ZONE}: 13.0 s left of this invocation, too little for another call "
        "(up to 13 s)"
    )


def test_no_time_limit_by_default() -> None:
    client = FakeRoute53(get_hosted_zone=[{"HostedZone": {"Name": "example.com."}}])
    assert Zone(client, ZONE, call_seconds=1e9).name() == "example.com"


def test_by_default_a_call_needs_only_some_time_left() -> None:
    answer = {"HostedZone": {"Name": "example.com."}}
    client = FakeRoute53(get_hosted_zone=[answer])
    assert Zone(client, ZONE, time_left=lambda: 0.01).name() == "example.com"
    with pytest.raises(DnsError) as err:
        Zone(client, ZONE, time_left=lambda: -0.01).name()
    assert err.value.code == OUT_OF_TIME
    assert len(client.calls) == 1


def test_a_retry_waits_only_when_the_wait_and_the_next_call_fit(jitter: list[tuple[float, float]]) -> None:
    # After a first throttled call the wait is 8 s (backoff 8): 8 + 13 = 21 s must be left.
    answers = [client_error("Throttling", "Rate exceeded"), {"HostedZone": {"Name": "example.com."}}]
    fits = FakeRoute53(get_hosted_zone=list(answers))
    clock = Clock(deadline=21.0)
    assert zone(fits, clock, backoff=8.0, call_seconds=13).name() == "example.com"
    assert clock.slept == [8.0]
    assert len(fits.calls) == 2

    short = FakeRoute53(get_hosted_zone=list(answers))
    clock = Clock(deadline=20.9)
    with pytest.raises(DnsError) as err:
        zone(short, clock, backoff=8.0, call_seconds=13).name()
    assert clock.slept == []
    assert len(short.calls) == 1
    assert (err.value.code, err.value.transient) == (OUT_OF_TIME, True)
    assert str(err.value) == (
        f"route53 get_hosted_zone on zone {ZONE}: 20.9 s left of this invocation, too little for another call "
        "(up to 13 s); last error: Throttling"
    )


def test_time_lost_beyond_the_wait_is_checked_before_the_next_call(jitter: list[tuple[float, float]]) -> None:
    class SlowSleep(Clock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds + 5)  # the sandbox was frozen a while longer

    client = FakeRoute53(get_hosted_zone=[client_error("Throttling")])
    with pytest.raises(DnsError) as err:
        zone(client, SlowSleep(deadline=15.0), call_seconds=13).name()
    assert len(client.calls) == 1
    assert err.value.code == OUT_OF_TIME
    assert str(err.value) == (
        f"route53 get_hosted_zone on zone {ZONE}: 9.0 s left of this invocation, too little for another call "
        "(up to 13 s); last error: Throttling"
    )


def test_out_of_time_after_a_connection_failure_names_it(jitter: list[tuple[float, float]]) -> None:
    error = EndpointConnectionError(endpoint_url="https://route53.amazonaws.com/")
    client = FakeRoute53(get_hosted_zone=[error])
    with pytest.raises(DnsError) as err:
        zone(client, Clock(deadline=3.5), call_seconds=2.5).name()
    assert err.value.code == OUT_OF_TIME
    assert str(err.value).endswith(f"(up to 2.5 s); last error: EndpointConnectionError: {error}")


# -- reading -----------------------------------------------------------------------------------------------------------


def test_zone_name_is_read_once() -> None:
    client = FakeRoute53(get_hosted_zone=[{"HostedZone": {"Name": "Example.COM."}}])
    z = zone(client)
    assert z.name() == "example.com"
    assert z.name() == "example.com"
    assert client.calls == [("get_hosted_zone", {"Id": ZONE})]


def test_check_hostname() -> None:
    z = zone(FakeRoute53(get_hosted_zone=[{"HostedZone": {"Name": "example.com."}}]))
    z.check_hostname(HOST)
    z.check_hostname("a.b.example.com")
    with pytest.raises(DnsError) as err:
        z.check_hostname("example.com")
    assert str(err.value) == (
        "Hostname example.com is the apex of zone example.com; a CNAME is not allowed at a zone apex"
    )
    for outside in ("api.notexample.com", "api.example.org", "example.com.au"):
        with pytest.raises(DnsError) as err:
            z.check_hostname(outside)
        assert str(err.value) == f"Hostname {outside} is not inside hosted zone example.com ({ZONE})"


def page(*rrsets: dict[str, Any], next_at: tuple[str, ...] | None = None) -> dict[str, Any]:
    """One ListResourceRecordSets answer; next_at = (NextRecordName, NextRecordType[, NextRecordIdentifier])."""
    answer: dict[str, Any] = {"ResourceRecordSets": list(rrsets), "IsTruncated": next_at is not None, "MaxItems": "20"}
    if next_at:
        answer["NextRecordName"] = next_at[0]
        answer["NextRecordType"] = next_at[1]
        if len(next_at) > 2:
            answer["NextRecordIdentifier"] = next_at[2]
    return answer


def weighted(rtype: str, set_id: str, name: str = HOST) -> dict[str, Any]:
    return {
        "Name": f"{name}.",
        "Type": rtype,
        "SetIdentifier": set_id,
        "Weight": 1,
        "TTL": 60,
        "ResourceRecords": [{"Value": f"{set_id}.example"}],
    }


def test_read_lists_the_name_and_its_marker_name() -> None:
    at_name = [cname()]
    at_marker = [txt(OURS.txt_value())]
    client = FakeRoute53(
        list_resource_record_sets=[page(*at_name, txt("x", name="b.example.com")), page(*at_marker, cname(name="z"))]
    )
    seen = zone(client).read(" API.example.com. ")
    assert seen == RecordState(hostname=HOST, at_name=at_name, at_marker=at_marker)
    assert client.calls == [
        ("list_resource_record_sets", {"HostedZoneId": ZONE, "StartRecordName": HOST, "MaxItems": "20"}),
        ("list_resource_record_sets", {"HostedZoneId": ZONE, "StartRecordName": MARKER, "MaxItems": "20"}),
    ]


def test_paging_through_one_names_record_sets_with_set_identifiers() -> None:
    # Route 53 pages by (name, type, set identifier); the name's records continue across pages until the next
    # page starts at another name. Names compare in normal form (case, trailing dot).
    first = [weighted("A", "a1"), weighted("A", "a2")]
    second = [weighted("A", "a3"), weighted("CNAME", "c1")]
    third = [weighted("CNAME", "c2"), txt("t", name=HOST)]
    client = FakeRoute53(
        list_resource_record_sets=[
            page(*first, next_at=("API.Example.com.", "A", "a3")),
            page(*second, next_at=(f"{HOST}.", "CNAME", "c2")),
            page(*third, weighted("A", "x", name="apj.example.com"), next_at=("apk.example.com.", "A", "y")),
        ]
    )
    found = zone(client).read(HOST).at_name
    assert found == [*first, *second, *third]
    start = {"HostedZoneId": ZONE, "StartRecordName": HOST, "MaxItems": "20"}
    assert [kwargs for _, kwargs in client.calls[:3]] == [
        start,
        {**start, "StartRecordType": "A", "StartRecordIdentifier": "a3"},
        {**start, "StartRecordType": "CNAME", "StartRecordIdentifier": "c2"},
    ]


def test_paging_without_set_identifiers() -> None:
    client = FakeRoute53(
        list_resource_record_sets=[
            page(cname(), next_at=(f"{HOST}.", "TXT")),
            page(txt("t", name=HOST)),
        ]
    )
    assert zone(client).read(HOST).at_name == [cname(), txt("t", name=HOST)]
    assert client.calls[1][1] == {
        "HostedZoneId": ZONE,
        "StartRecordName": HOST,
        "MaxItems": "20",
        "StartRecordType": "TXT",
    }


def test_paging_stops_at_the_last_page_even_when_it_names_our_name() -> None:
    last = page(cname())
    last["NextRecordName"] = f"{HOST}."  # not truncated: nothing follows, whatever else the answer says
    client = FakeRoute53(list_resource_record_sets=[last, page()])
    assert zone(client).read(HOST).at_name == [cname()]
    assert len(client.calls) == 2  # one for the name, one for the marker name


def test_paging_stops_when_the_next_page_starts_at_another_name() -> None:
    client = FakeRoute53(list_resource_record_sets=[page(cname(), next_at=("b.example.com.", "A")), page()])
    zone(client).read(HOST)
    assert len(client.calls) == 2


def test_a_truncated_page_without_next_name_ends_the_listing() -> None:
    truncated = {"ResourceRecordSets": [cname()], "IsTruncated": True}
    client = FakeRoute53(list_resource_record_sets=[truncated, page()])
    assert zone(client).read(HOST).at_name == [cname()]
    assert len(client.calls) == 2


def test_an_empty_listing_is_nothing() -> None:
    client = FakeRoute53(list_resource_record_sets=[{"IsTruncated": False}])
    assert zone(client).read(HOST) == RecordState(hostname=HOST)


# -- writing -----------------------------------------------------------------------------------------------------------


def test_upsert_writes_cname_and_marker_in_one_batch(caplog: pytest.LogCaptureFixture) -> None:
    client = FakeRoute53(change_resource_record_sets=[{"ChangeInfo": {"Id": "/change/C1"}}])
    caplog.set_level(logging.INFO, logger=records.LOG.name)
    assert zone(client).upsert("API.example.com.", DOMAIN.upper() + ".", 300, OURS) == "/change/C1"
    comment = f"eks-lattice-gateway: {HOST} CNAME {DOMAIN.upper()}. ({OWNER})"
    assert client.calls == [
        (
            "change_resource_record_sets",
            {
                "HostedZoneId": ZONE,
                "ChangeBatch": {
                    "Comment": comment,
                    "Changes": [
                        {
                            "Action": "UPSERT",
                            "ResourceRecordSet": {
                                "Name": HOST,
                                "Type": "CNAME",
                                "TTL": 300,
                                "ResourceRecords": [{"Value": DOMAIN}],
                            },
                        },
                        {
                            "Action": "UPSERT",
                            "ResourceRecordSet": {
                                "Name": MARKER,
                                "Type": "TXT",
                                "TTL": 300,
                                "ResourceRecords": [{"Value": OURS.txt_value()}],
                            },
                        },
                    ],
                },
            },
        )
    ]
    assert [r.getMessage() for r in caplog.records] == [f"route53 change /change/C1 submitted: {comment}"]


def test_change_comment_is_cut_to_route53s_256() -> None:
    client = FakeRoute53(change_resource_record_sets=[{"ChangeInfo": {"Id": 7}}])
    assert zone(client).delete([cname()], "c" * 300) == "7"
    assert client.calls[0][1]["ChangeBatch"]["Comment"] == "c" * 256


def test_delete_sends_the_record_sets_as_read() -> None:
    client = FakeRoute53(change_resource_record_sets=[{"ChangeInfo": {"Id": "C2"}}])
    listed = [
        {**cname(name="API.example.com"), "HealthCheckId": "ignored"},
        {**txt(OURS.txt_value()), "SetIdentifier": "s", "AliasTarget": {"DNSName": "a."}},
    ]
    assert zone(client).delete(listed, "delete api") == "C2"
    assert client.calls[0][1] == {
        "HostedZoneId": ZONE,
        "ChangeBatch": {
            "Comment": "delete api",
            "Changes": [
                {
                    "Action": "DELETE",
                    "ResourceRecordSet": {
                        "Name": HOST,
                        "Type": "CNAME",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": DOMAIN}],
                    },
                },
                {
                    "Action": "DELETE",
                    "ResourceRecordSet": {
                        "Name": MARKER,
                        "Type": "TXT",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": OURS.txt_value()}],
                        "SetIdentifier": "s",
                        "AliasTarget": {"DNSName": "a."},
                    },
                },
            ],
        },
    }


def test_deleting_nothing_makes_no_call() -> None:
    client = FakeRoute53()
    assert zone(client).delete([], "nothing") is None
    assert client.calls == []


def test_a_page_without_next_identifier_does_not_reuse_the_previous_one() -> None:
    # Page 2 ends before a simple record (no set identifier): page 3 must start at (name, type) alone, as
    # botocore's own paginator does, not at the identifier page 1 named for another type.
    client = FakeRoute53(
        list_resource_record_sets=[
            page(weighted("A", "a1"), next_at=(f"{HOST}.", "A", "a2")),
            page(weighted("A", "a2"), next_at=(f"{HOST}.", "TXT")),
            page(txt("t", name=HOST)),
        ]
    )
    assert zone(client).read(HOST).at_name == [weighted("A", "a1"), weighted("A", "a2"), txt("t", name=HOST)]
    assert client.calls[2][1] == {
        "HostedZoneId": ZONE,
        "StartRecordName": HOST,
        "MaxItems": "20",
        "StartRecordType": "TXT",
    }
