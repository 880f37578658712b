"""lattice_dns.routes pinned rule by rule: the annotation's value and its refusal, which Kubernetes and EKS errors
are fatal (both sides of each range), and the exact lines the timeout message is made of."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from botocore.exceptions import ClientError
from k8s_api import KubeApiError
from lattice_dns.routes import (
    ANNOTATION,
    controller_status,
    httproutes_served,
    is_fatal,
    lattice_domain,
    parent_status,
    route_path,
)

from tests.support.kube_gets import KubeGets

NS = "aws-application-networking-system"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
GATEWAY_API = "/apis/gateway.networking.k8s.io/v1"
LOGS = f" (logs: kubectl logs -n {NS} deploy/<name>)"


def kube(path: str, answer: Any) -> Any:
    return KubeGets({path: answer}, strict=True)


def test_route_path() -> None:
    assert route_path("team-a", "api") == "/apis/gateway.networking.k8s.io/v1/namespaces/team-a/httproutes/api"


# -- the annotation ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "route",
    [
        None,
        {},
        {"metadata": None},
        {"metadata": {"annotations": None}},
        {"metadata": {"annotations": {"other": "x.example"}}},
        {"metadata": {"annotations": {ANNOTATION: 123}}},
        {"metadata": {"annotations": {ANNOTATION: "   "}}},
    ],
)
def test_no_annotation_yet(route: Any) -> None:
    assert lattice_domain(route) is None


def test_annotation_value_in_normal_form() -> None:
    route = {"metadata": {"annotations": {ANNOTATION: " Demo-Default.7d67968.VPC-Lattice-Svcs.on.aws. "}}}
    assert lattice_domain(route) == "demo-default.7d67968.vpc-lattice-svcs.on.aws"
    # Only the trailing dot goes, before lower-casing: a last label "X" stays (as "x").
    assert lattice_domain({"metadata": {"annotations": {ANNOTATION: "svc.example.X."}}}) == "svc.example.x"


@pytest.mark.parametrize("value", ["not a name", "localhost", "-bad.example", "a..example", "x" * 64 + ".example"])
def test_an_annotation_that_is_not_a_dns_name_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="not a DNS name") as err:
        lattice_domain({"metadata": {"annotations": {ANNOTATION: value}}})
    assert str(err.value) == (
        f"annotation {ANNOTATION} holds {value!r}, which is not a DNS name; refusing to point DNS at it"
    )


def test_longest_annotation_accepted_and_one_more_refused() -> None:
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    assert len(longest) == 253
    assert lattice_domain({"metadata": {"annotations": {ANNOTATION: longest}}}) == longest
    with pytest.raises(ValueError, match="not a DNS name"):
        lattice_domain({"metadata": {"annotations": {ANNOTATION: longest + "d"}}})


# -- fatal errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fatal"),
    [
        (399, False),
        (400, True),
        (401, True),
        (403, True),
        (404, False),
        (408, False),
        (409, True),
        (429, False),
        (499, True),
        (500, False),
    ],
)
def test_client_errors_are_fatal_except_not_found_timeout_and_throttle(status: int, fatal: bool) -> None:
    assert is_fatal(KubeApiError("x", status=status)) is fatal


def caused_by(cause: BaseException | None) -> KubeApiError:
    err = KubeApiError("x")
    err.__cause__ = cause
    return err


@pytest.mark.parametrize(
    ("code", "fatal"),
    [
        ("AccessDeniedException", True),
        ("ResourceNotFoundException", True),
        ("UnrecognizedClientException", True),
        ("ThrottlingException", False),
        ("ServerException", False),
    ],
)
def test_describe_cluster_errors(code: str, fatal: bool) -> None:
    assert is_fatal(caused_by(ClientError({"Error": {"Code": code}}, "DescribeCluster"))) is fatal


def test_other_causes() -> None:
    assert is_fatal(caused_by(ssl.SSLCertVerificationError("certificate verify failed"))) is True
    assert is_fatal(caused_by(ssl.SSLError("handshake"))) is False
    assert is_fatal(caused_by(ConnectionRefusedError())) is False
    assert is_fatal(caused_by(None)) is False
    assert is_fatal(caused_by(ClientError({}, "DescribeCluster"))) is False


# -- route status ------------------------------------------------------------------------------------------------------


def test_parent_status_lines() -> None:
    route = {
        "status": {
            "parents": [
                {
                    "parentRef": {"name": "demo-sn", "namespace": "infra", "sectionName": "http"},
                    "conditions": [
                        {"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners", "message": "no"},
                        {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs", "message": "ok"},
                        {"type": "Programmed", "status": "Unknown", "message": "pending"},
                        {"type": "Other", "status": "False", "reason": "Why"},
                        {"type": "Bare", "status": "False"},
                    ],
                },
                {"parentRef": {}, "conditions": []},
                {},
            ]
        }
    }
    assert parent_status(route) == [
        "parent infra/demo-sn/http: Accepted=False (NotAllowedByListeners: no), ResolvedRefs=True, "
        "Programmed=Unknown (pending), Other=False (Why: ), Bare=False",
        "parent ?: no conditions",
        "parent ?: no conditions",
    ]


@pytest.mark.parametrize("route", [{}, {"status": None}, {"status": {"parents": None}}])
def test_no_parent_status(route: dict[str, Any]) -> None:
    assert parent_status(route) == []


# -- controller status -------------------------------------------------------------------------------------------------


def test_controller_status_not_permitted() -> None:
    assert controller_status(kube(DEPLOYMENTS, KubeApiError("forbidden", status=403))) == (
        f"not permitted to list Deployments in {NS} (give this Lambda's access entry a view policy for that "
        "namespace to see controller readiness here)"
    )


def test_controller_status_other_error() -> None:
    assert controller_status(kube(DEPLOYMENTS, KubeApiError("500 boom", status=500))) == (
        f"could not list Deployments in {NS}: 500 boom"
    )


@pytest.mark.parametrize("listing", [None, {}, {"items": None}, {"items": []}])
def test_controller_not_installed(listing: Any) -> None:
    assert controller_status(kube(DEPLOYMENTS, listing)) == (
        f"no Deployment in namespace {NS}: is the AWS Gateway API Controller installed?"
    )


def test_controller_deployments() -> None:
    listing = {
        "items": [
            {
                "metadata": {"name": "ready"},
                "spec": {"replicas": 2},
                "status": {
                    "readyReplicas": 2,
                    "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}],
                },
            },
            {
                "metadata": {"name": "down"},
                "spec": {},
                "status": {
                    "conditions": [
                        {"type": "Progressing", "status": "False", "reason": "X"},
                        {
                            "type": "Available",
                            "status": "False",
                            "reason": "MinimumReplicasUnavailable",
                            "message": "0 up",
                        },
                    ]
                },
            },
            {"status": {"conditions": [{"type": "Available", "status": "Unknown"}]}},
            {},
        ]
    }
    assert controller_status(kube(DEPLOYMENTS, listing)) == (
        "Deployment ready 2/2 ready; "
        "Deployment down 0/1 ready (Available=False: MinimumReplicasUnavailable 0 up); "
        "Deployment ? 0/1 ready (Available=Unknown:  ); "
        "Deployment ? 0/1 ready" + LOGS
    )


# -- served resources --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "served"),
    [
        (KubeApiError("403", status=403), None),
        (None, False),
        ({}, False),
        ({"resources": None}, False),
        ({"resources": [{"name": "gateways"}, {"name": "httproutes/status"}]}, False),
        ({"resources": [{"name": "gateways"}, {"name": "httproutes"}]}, True),
    ],
)
def test_httproutes_served(answer: Any, served: bool | None) -> None:
    fake = kube(GATEWAY_API, answer)
    assert httproutes_served(fake) is served
    assert fake.gets == [GATEWAY_API]
