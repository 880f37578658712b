"""zone_sweep.handler pinned rule by rule: its properties and physical ids, the messages CloudFormation shows,
ownership only by the gateway stack's marker (a prefix match on `<stack>/`), a changed record keeps its CNAME,
the paging of the zone's record sets (truncated pages, set identifiers) and the invocation's time budget.
An in-memory Route 53 zone, no moto: each test runs in milliseconds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lattice_dns.records import Marker, Zone, marker_name
from zone_sweep import handler as sweep_handler
from zone_sweep.handler import SweepError, on_event, sweep

ZONE_ID = "Z0123456789ABCDEFGHIJ"
STACK = "EksLatticeGateway-Gateway"
DOMAIN = "svc-0a1b2c3d4e5f6a7b8.7d67968.vpc-lattice-svcs.us-east-1.on.aws"


class FakeZone:
    """One hosted zone's record sets, listed in name order `page_size` at a time like Route 53 (truncated pages
    name the next record, with its SetIdentifier when it has one); records every call."""

    def __init__(self, rrsets: list[dict[str, Any]], *, page_size: int = 100) -> None:
        self.rrsets = rrsets
        self.page_size = page_size
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.after_listing: Callable[[], None] | None = None  # runs once the zone-wide listing ends
        self.error: Exception | None = None

    def _key(self, rrset: dict[str, Any]) -> tuple[str, str, str]:
        return (rrset["Name"], rrset["Type"], rrset.get("SetIdentifier", ""))

    def list_resource_record_sets(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("list", kwargs))
        assert len(self.calls) < 100, "runaway loop"
        if self.error is not None:
            raise self.error
        assert kwargs["HostedZoneId"] == ZONE_ID
        ordered = sorted(self.rrsets, key=self._key)
        start = kwargs.get("StartRecordName")
        if start is not None:
            first = (
                start.rstrip(".") + ".",
                kwargs.get("StartRecordType", ""),
                kwargs.get("StartRecordIdentifier", ""),
            )
            ordered = [r for r in ordered if self._key(r) >= first]
        size = int(kwargs.get("MaxItems", self.page_size))
        page: dict[str, Any] = {"ResourceRecordSets": ordered[:size], "IsTruncated": len(ordered) > size}
        if len(ordered) > size:
            following = ordered[size]
            page |= {"NextRecordName": following["Name"], "NextRecordType": following["Type"]}
            if "SetIdentifier" in following:
                page["NextRecordIdentifier"] = following["SetIdentifier"]
        elif start is None and self.after_listing is not None:
            self.after_listing()
        return page

    def change_resource_record_sets(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("change", kwargs))
        for change in kwargs["ChangeBatch"]["Changes"]:
            assert change["Action"] == "DELETE"
            gone = change["ResourceRecordSet"]
            matching = [r for r in self.rrsets if r["Name"] == gone["Name"] + "." and r["Type"] == gone["Type"]]
            assert matching, f"no such record set: {gone}"
            self.rrsets.remove(matching[0])
        return {"ChangeInfo": {"Id": f"/change/C{len(self.calls)}"}}

    def changes(self) -> list[tuple[str, list[str]]]:
        """(comment, [name type, ...]) of each change batch."""
        return [
            (
                kw["ChangeBatch"]["Comment"],
                [
                    f"{c['ResourceRecordSet']['Name']} {c['ResourceRecordSet']['Type']}"
                    for c in kw["ChangeBatch"]["Changes"]
                ],
            )
            for op, kw in self.calls
            if op == "change"
        ]


def cname(host: str, target: str = DOMAIN, **extra: Any) -> dict[str, Any]:
    return {"Name": host + ".", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": target}], **extra}


def marker(host: str, owner: str, target: str = DOMAIN) -> dict[str, Any]:
    value = Marker(owner=owner, route="ns/route", target=target).txt_value()
    return {"Name": marker_name(host) + ".", "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": value}]}


def ours(host: str, owner: str = f"{STACK}/ApiDns") -> list[dict[str, Any]]:
    return [cname(host), marker(host, owner)]


def names(zone: FakeZone) -> set[str]:
    return {f"{r['Name']} {r['Type']}" for r in zone.rrsets}


def delete_event(physical_id: Any = f"zone-sweep:{ZONE_ID}", **props: Any) -> dict[str, Any]:
    return {
        "RequestType": "Delete",
        "PhysicalResourceId": physical_id,
        "ResourceProperties": {"HostedZoneId": ZONE_ID, "OwnerStack": STACK, **props},
    }


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeZone], FakeZone]:
    def install(zone: FakeZone) -> FakeZone:
        monkeypatch.setattr(sweep_handler, "_route53", lambda: zone)
        return zone

    return install


def no_route53() -> Any:
    raise AssertionError("no Route 53 client expected")


# -- Create / Update: validation and the physical id --------------------------------------------------------


@pytest.mark.parametrize("request_type", ["Create", "Update"])
@pytest.mark.parametrize("zone_id", [ZONE_ID, f"/hostedzone/{ZONE_ID}"])
def test_create_and_update_name_the_zone_in_the_physical_id(
    request_type: str, zone_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep_handler, "_route53", no_route53)
    event = {"RequestType": request_type, "ResourceProperties": {"HostedZoneId": zone_id, "OwnerStack": STACK}}
    assert on_event(event, None) == {"PhysicalResourceId": f"zone-sweep:{ZONE_ID}"}


@pytest.mark.parametrize(
    "props",
    [
        {"OwnerStack": STACK},
        {"HostedZoneId": "", "OwnerStack": STACK},
        {"HostedZoneId": "/hostedzone/", "OwnerStack": STACK},
        {"HostedZoneId": ZONE_ID},
        {"HostedZoneId": ZONE_ID, "OwnerStack": ""},
        {"HostedZoneId": ZONE_ID, "OwnerStack": None},
    ],
)
@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_refuse_missing_properties(request_type: str, props: dict[str, Any]) -> None:
    with pytest.raises(SweepError) as caught:
        on_event({"RequestType": request_type, "ResourceProperties": props}, None)
    assert str(caught.value) == "HostedZoneId and OwnerStack are required"
    with pytest.raises(SweepError, match=r"^HostedZoneId and OwnerStack are required$"):
        on_event({"RequestType": request_type}, None)


@pytest.mark.parametrize("request_type", ["Bogus", None, "delete"])
def test_an_unknown_request_type_is_refused_by_name(request_type: Any) -> None:
    event = {"RequestType": request_type, "ResourceProperties": {"HostedZoneId": ZONE_ID, "OwnerStack": STACK}}
    with pytest.raises(SweepError) as caught:
        on_event(event, None)
    assert str(caught.value) == f"unknown RequestType {request_type!r}"


def test_the_event_is_logged_without_its_properties(caplog: pytest.LogCaptureFixture) -> None:
    event = {"RequestType": "Create", "ResourceProperties": {"HostedZoneId": ZONE_ID, "OwnerStack": STACK}}
    with caplog.at_level(logging.INFO, logger="zone_sweep"):
        on_event(event, None)
    assert caplog.messages[0] == 'event {"RequestType": "Create", "PhysicalResourceId": null}'


# -- Delete ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("physical_id", ["other:Z1", "zone-sweep:", "zone-sweep", "", None, f"zone-sweepx:{ZONE_ID}"])
def test_a_delete_of_an_id_not_ours_touches_nothing(
    physical_id: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sweep_handler, "_route53", no_route53)
    with caplog.at_level(logging.INFO, logger="zone_sweep"):
        assert on_event(delete_event(physical_id), None) == {"PhysicalResourceId": physical_id}
    assert f"nothing to sweep: {physical_id!r} is not one of this handler's ids (failed create?)" in caplog.messages


def test_a_delete_removes_the_gateway_stacks_records_and_nothing_else(
    use: Callable[[FakeZone], FakeZone], caplog: pytest.LogCaptureFixture
) -> None:
    other_stack = [cname("b.example.com"), marker("b.example.com", f"{STACK}x/ApiDns")]
    no_slash = [cname("c.example.com"), marker("c.example.com", STACK)]
    plain_txt = {"Name": "_eks-lattice-gateway.d.example.com.", "Type": "TXT", "TTL": 60, "ResourceRecords": []}
    not_txt = cname("_eks-lattice-gateway.e.example.com", f"{STACK}/x")
    txt_elsewhere = {**marker("f.example.com", f"{STACK}/Dns"), "Name": "f.example.com."}
    unrelated_txt = {"Name": "_eks-lattice-gateway.g.example.com.", "Type": "TXT", "TTL": 60,
                     "ResourceRecords": [{"Value": f'"owner={STACK}/Dns"'}]}  # fmt: skip
    zone = use(FakeZone([*ours("a.example.com"), *ours("z.example.com", f"{STACK}/Other"), *other_stack, *no_slash,
                         plain_txt, not_txt, txt_elsewhere, unrelated_txt]))  # fmt: skip
    kept = names(zone) - {
        "a.example.com. CNAME",
        "_eks-lattice-gateway.a.example.com. TXT",
        "z.example.com. CNAME",
        "_eks-lattice-gateway.z.example.com. TXT",
    }
    with caplog.at_level(logging.INFO, logger="zone_sweep"):
        assert on_event(delete_event(), None) == {"PhysicalResourceId": f"zone-sweep:{ZONE_ID}"}
    assert names(zone) == kept
    assert zone.changes() == [
        (
            f"eks-lattice-gateway: the zone is being deleted; remove a.example.com ({STACK}/ApiDns)",
            ["a.example.com CNAME", "_eks-lattice-gateway.a.example.com TXT"],
        ),
        (
            f"eks-lattice-gateway: the zone is being deleted; remove z.example.com ({STACK}/Other)",
            ["z.example.com CNAME", "_eks-lattice-gateway.z.example.com TXT"],
        ),
    ]
    assert caplog.messages[-1] == f"removed 2 record(s) from {ZONE_ID}: a.example.com, z.example.com"


def test_a_delete_with_nothing_of_ours_says_none(
    use: Callable[[FakeZone], FakeZone], caplog: pytest.LogCaptureFixture
) -> None:
    zone = use(FakeZone([cname("a.example.com")]))
    with caplog.at_level(logging.INFO, logger="zone_sweep"):
        on_event(delete_event(), None)
    assert caplog.messages[-1] == f"removed 0 record(s) from {ZONE_ID}: none"
    assert zone.changes() == []


def test_a_changed_cname_stays_and_only_our_marker_goes(
    use: Callable[[FakeZone], FakeZone], caplog: pytest.LogCaptureFixture
) -> None:
    zone = use(FakeZone([cname("a.example.com", "elsewhere.example.net"), marker("a.example.com", f"{STACK}/Dns")]))
    with caplog.at_level(logging.INFO, logger="zone_sweep"):
        on_event(delete_event(), None)
    assert names(zone) == {"a.example.com. CNAME"}
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage() == (
        "leaving a.example.com alone (a.example.com was changed outside this stack: it points to "
        f"elsewhere.example.net, but this stack set {DOMAIN}; restore it or delete it by hand if this stack should "
        "manage it again); removing only our marker"
    )


def test_a_marker_without_its_cname_is_removed(use: Callable[[FakeZone], FakeZone]) -> None:
    zone = use(FakeZone([marker("a.example.com", f"{STACK}/Dns"), cname("b.example.com")]))
    assert sweep(Zone(zone, ZONE_ID), owner_stack=STACK) == ["a.example.com"]
    assert names(zone) == {"b.example.com. CNAME"}


@pytest.mark.parametrize("change", ["gone", "another stack's"])
def test_a_marker_changed_since_the_listing_is_left_alone(change: str) -> None:
    zone = FakeZone([*ours("a.example.com"), *ours("b.example.com")])

    def changed() -> None:
        zone.rrsets.remove(zone.rrsets[1])
        if change != "gone":
            zone.rrsets.append(marker("a.example.com", "OtherStack/Dns"))

    zone.after_listing = changed
    assert sweep(Zone(zone, ZONE_ID), owner_stack=STACK) == ["b.example.com"]  # the next one is still swept
    assert [names for _, names in zone.changes()] == [["b.example.com CNAME", "_eks-lattice-gateway.b.example.com TXT"]]


def test_an_empty_owner_stack_is_refused_before_any_call() -> None:
    zone = FakeZone(ours("a.example.com", "/Dns"))
    with pytest.raises(SweepError) as caught:
        sweep(Zone(zone, ZONE_ID), owner_stack="")
    assert str(caught.value) == "OwnerStack is required: without it every eks-lattice-gateway record would match"
    assert zone.calls == []


def test_the_listing_follows_truncated_pages_with_set_identifiers() -> None:
    weighted = [cname("m.example.com", SetIdentifier=f"w{i}", Weight=1) for i in range(3)]
    records = [*ours("a.example.com"), *weighted, *ours("x.example.com"), *ours("y.example.com")]
    zone = FakeZone(records, page_size=2)
    assert sweep(Zone(zone, ZONE_ID), owner_stack=STACK) == ["a.example.com", "x.example.com", "y.example.com"]
    listing = [kw for op, kw in zone.calls if op == "list" and "MaxItems" not in kw]
    assert len(listing) == 5
    assert listing[0] == {"HostedZoneId": ZONE_ID}
    # Record sets sort as _eks..a, _eks..x, _eks..y, a, m w0, m w1, m w2, x, y.
    assert listing[1] == {
        "HostedZoneId": ZONE_ID,
        "StartRecordName": "_eks-lattice-gateway.y.example.com.",
        "StartRecordType": "TXT",
    }
    assert listing[2]["StartRecordIdentifier"] == "w0"
    assert listing[3] == {
        "HostedZoneId": ZONE_ID,
        "StartRecordName": "m.example.com.",
        "StartRecordType": "CNAME",
        "StartRecordIdentifier": "w2",
    }
    # A page whose next record has no identifier carries none forward.
    assert "StartRecordIdentifier" not in listing[4]


def test_a_zone_gone_already_is_done(use: Callable[[FakeZone], FakeZone], caplog: pytest.LogCaptureFixture) -> None:
    zone = use(FakeZone([]))
    zone.error = ClientError({"Error": {"Code": "NoSuchHostedZone", "Message": "gone"}}, "ListResourceRecordSets")
    with caplog.at_level(logging.INFO, logger="zone_sweep"):
        assert on_event(delete_event(), None) == {"PhysicalResourceId": f"zone-sweep:{ZONE_ID}"}
    assert f"hosted zone {ZONE_ID} is gone already" in caplog.messages


def test_a_route53_failure_fails_the_delete_with_its_reason(use: Callable[[FakeZone], FakeZone]) -> None:
    zone = use(FakeZone([]))
    zone.error = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListResourceRecordSets")
    with pytest.raises(SweepError) as caught:
        on_event(delete_event(), None)
    assert str(caught.value) == (
        f"could not remove the Lattice DNS records from hosted zone {ZONE_ID}: route53:ListResourceRecordSets on "
        f"hosted zone {ZONE_ID} failed: AccessDenied: no; the Lambda's role needs route53:ListResourceRecordSets on "
        f"arn:aws:route53:::hostedzone/{ZONE_ID}"
    )
    assert len(zone.calls) == 1  # not retried


def test_the_owner_stack_of_the_delete_event_selects_the_records(use: Callable[[FakeZone], FakeZone]) -> None:
    zone = use(FakeZone([*ours("a.example.com"), *ours("b.example.com", "Other/Dns")]))
    on_event(delete_event(OwnerStack="Other"), None)
    assert names(zone) == {"a.example.com. CNAME", "_eks-lattice-gateway.a.example.com. TXT"}
    with pytest.raises(SweepError, match=r"^OwnerStack is required"):
        on_event({**delete_event(), "ResourceProperties": {"HostedZoneId": ZONE_ID}}, None)


# -- the invocation's time: a call starts only while 13 s (its timeouts) fit before the 5 s reserve ---------------


@pytest.mark.parametrize(("millis", "enough"), [(18_000, True), (17_999, False)])
def test_a_call_starts_only_with_its_time_left(millis: int, enough: bool, use: Callable[[FakeZone], FakeZone]) -> None:
    zone = use(FakeZone(ours("a.example.com")))
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: millis)
    if enough:
        assert on_event(delete_event(), context)["PhysicalResourceId"] == f"zone-sweep:{ZONE_ID}"
        assert zone.rrsets == []
        return
    with pytest.raises(SweepError) as caught:
        on_event(delete_event(), context)
    assert str(caught.value) == (
        f"could not remove the Lattice DNS records from hosted zone {ZONE_ID}: route53 list_resource_record_sets on "
        f"zone {ZONE_ID}: 13.0 s left of this invocation, too little for another call (up to 13 s)"
    )
    assert zone.calls == []


def test_without_a_lambda_context_time_is_unbounded() -> None:
    assert sweep_handler._time_left(None)() == float("inf")
    assert sweep_handler._time_left(SimpleNamespace(get_remaining_time_in_millis=lambda: 20_500))() == 15.5


# -- the client ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "region"),
    [
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "ap-south-1"}, "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"),
        ({}, "us-east-1"),
    ],
)
def test_the_client_makes_one_attempt_per_call_in_the_lambdas_region(
    env: dict[str, str], region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    regions: list[str | None] = []
    real = sweep_handler.boto3.session.Session

    def session(*, region_name: str | None = None) -> Any:  # the real session; its region recorded
        regions.append(region_name)
        return real(region_name=region_name)

    monkeypatch.setattr(sweep_handler.boto3.session, "Session", session)
    client = sweep_handler._route53()
    assert client.meta.service_model.service_name == "route53"
    assert regions == [region]  # Route 53 itself is global: the client's own region says aws-global
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (3, 10)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
