"""The smoke Lambda's HTTPS, gRPC and TLS checks against real servers on 127.0.0.1: an HTTPS server and a TLS
endpoint with certificates from a test CA (trustme), and grpcio's own grpc.health.v1 server over h2c and over TLS."""

from __future__ import annotations

import contextlib
import enum
import json
import re
import socket
import ssl
import threading
import time
import typing
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any, Literal

import grpc
import pytest
import trustme
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from pydantic import BaseModel
from smoke import grpc_probe, hpack, protocols, spec
from smoke import handler as smoke

from config import model
from tests.sigv4_verifier import RawRequest, verify
from tests.support.background import BackgroundServer
from tests.support.budget import assert_within_budget
from tests.support.clock import RealTimeContext
from tests.support.fixed_answer import FixedAnswerServer
from tests.support.smoke_wire import KEY, REGION, REQUIRED, SECRET, SERVICE, TOKEN, signing_environment

GRPC_HOST = "grpc.example.com"
TLS_HOST = "tls.example.com"
WEB_HOST = "secure.example.com"
RESULT_KEYS = {"name", "route", "caller", "status", "method", "url", "ok", "detail"}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def bundles(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The function's code directory, holding the test CA's bundle (test-ca.pem) and another CA's (other-ca.pem)."""
    ca.cert_pem.write_to_path(str(tmp_path / "test-ca.pem"))
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "other-ca.pem"))
    monkeypatch.setattr(protocols, "BUNDLE_DIR", tmp_path)
    return tmp_path


def run(check: dict[str, Any], port: int, **event: Any) -> dict[str, Any]:
    """One check through the handler, the route's name resolving to the local server; its result either way."""
    settings = {"attempts": 1, "timeoutSeconds": 5, "retryDelaySeconds": 0, **event}
    try:
        report = smoke.run({"checks": [check], **settings}, resolver=lambda h, p: [("127.0.0.1", port)])
    except smoke.SmokeTestError:
        return LAST[0]
    (result,) = report["results"]
    return typing.cast(dict[str, Any], result)


def run_all(checks: dict[str, dict[str, Any]], **event: Any) -> dict[str, dict[str, Any]]:
    """Several checks in one handler run (each check's `port` naming its local server), their results by name."""
    settings = {"attempts": 1, "timeoutSeconds": 5, "retryDelaySeconds": 0, **event}
    named = [{**check, "name": name} for name, check in checks.items()]
    ALL.clear()
    with contextlib.suppress(smoke.SmokeTestError):
        smoke.run({"checks": named, **settings}, resolver=lambda h, p: [("127.0.0.1", p)])
    results = {result["name"]: result for result in ALL}
    assert set(results) == set(checks), results
    return results


LAST: list[dict[str, Any]] = []
ALL: list[dict[str, Any]] = []


@pytest.fixture(autouse=True)
def _keep_failed_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing run raises SmokeTestError with text only: keep the structured result of the last check."""
    original = smoke._run_check

    def recorded(check: Any, **kwargs: Any) -> dict[str, Any]:
        result = original(check, **kwargs)
        LAST[:] = [result]
        ALL.append(result)
        return result

    monkeypatch.setattr(smoke, "_run_check", recorded)
    for name in ("SIGV4_REGION",):
        monkeypatch.delenv(name, raising=False)


# --- servers -----------------------------------------------------------------------------------------------------


def HttpsServer(cert: trustme.LeafCert | None, reply: tuple[int, bytes] = (200, b"{}")) -> FixedAnswerServer:
    """An HTTPS server with a certificate from the test CA (None: plain HTTP); answers every request with `reply`,
    records heads."""
    tls = None
    if cert is not None:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(tls)
    status, body = reply
    return FixedAnswerServer(status, body, {}, tls=tls)


class SilentServer:
    """Accepts TCP connections (the kernel's backlog) and never says a word: every probe must time out."""

    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


class MetadataRecorder(grpc.ServerInterceptor):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        self.calls.append((details.method, dict(details.invocation_metadata)))
        return continuation(details)


@pytest.fixture(scope="module")
def grpc_server(ca: trustme.CA) -> Iterator[dict[str, Any]]:
    """grpcio's health service: '' and demo.Echo SERVING, demo.Down NOT_SERVING; h2c and TLS (test CA) ports."""
    recorder = MetadataRecorder()
    server = grpc.server(ThreadPoolExecutor(max_workers=4), interceptors=[recorder])
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("demo.Echo", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("demo.Down", health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    cert = ca.issue_cert(GRPC_HOST)
    credentials = grpc.ssl_server_credentials([(cert.private_key_pem.bytes(), cert.cert_chain_pems[0].bytes())])
    plain = server.add_insecure_port("127.0.0.1:0")
    secure = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield {"plain": plain, "tls": secure, "recorder": recorder}
    finally:
        server.stop(grace=None)


def grpc_check(service: str = "demo.Echo", *, tls: bool = False, **extra: Any) -> dict[str, Any]:
    check = {"name": "default/grpc-route", "route": "default/grpc-route", "caller": "smoke role"}
    return {**check, "protocol": "GRPC", "host": GRPC_HOST, "port": 443, "grpcService": service, "tls": tls, **extra}


# --- the class test: every protocol the configuration can name has a probe --------------------------------------


def configured_protocols() -> set[str]:
    """The route protocols config/model.py can name (its Literal), read now: a protocol added there needs a probe."""
    found: set[str] = {"HTTP"}
    for cls in vars(model).values():
        if isinstance(cls, type) and hasattr(cls, "model_fields") and "protocol" in cls.model_fields:
            for arg in _literals(cls.model_fields["protocol"].annotation):
                found.add(str(arg))
    return found


def _literals(annotation: Any) -> list[Any]:
    """The values a field's type admits: a Literal's, an Enum's, through Annotated, Optional and unions."""
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [member.value for member in annotation]
    return [value for arg in typing.get_args(annotation) for value in _literals(arg)]


def test_every_protocol_the_configuration_names_has_a_probe() -> None:
    named = configured_protocols()
    # Today's model names HTTP/HTTPS (health checks); the route protocols arrive with issue 26's config.
    assert {"HTTP", "HTTPS"} <= named
    assert named <= set(protocols.PROTOCOLS), f"no probe for {sorted(named - set(protocols.PROTOCOLS))}"
    assert set(protocols.DEFAULT_PORTS) == set(protocols.PROTOCOLS)


def test_the_class_test_sees_a_protocol_added_to_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model field `protocol` naming a new value (Literal through Annotated/Optional, or an Enum) is found, so the
    test above fails until that protocol has a probe."""

    class Kind(enum.Enum):
        QUIC = "QUIC"

    class Route(BaseModel):
        protocol: Annotated[Literal["HTTP", "SCTP"], "a note"] | None = None

    class Listener(BaseModel):
        protocol: Kind = Kind.QUIC

    monkeypatch.setattr(model, "FutureRoute", Route, raising=False)
    monkeypatch.setattr(model, "FutureListener", Listener, raising=False)
    assert {"SCTP", "QUIC"} <= configured_protocols()
    assert not {"SCTP", "QUIC"} <= set(protocols.PROTOCOLS)


def test_a_protocol_without_a_probe_fails_its_check_by_name() -> None:
    result = run({"name": "x", "protocol": "QUIC", "host": "a.example.com"}, 1)
    assert result["ok"] is False
    assert result["detail"] == "protocol 'QUIC' has no probe (known: HTTP, HTTPS, GRPC, TLS)"


# --- gRPC ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "h2-tls"])
@pytest.mark.parametrize("service", ["demo.Echo", ""])
def test_grpc_serving_passes(grpc_server: dict[str, Any], bundles: Path, tls: bool, service: str) -> None:
    port = grpc_server["tls" if tls else "plain"]
    result = run(grpc_check(service, tls=tls, caBundle="test-ca.pem" if tls else None), port)
    named = f"service {service!r}" if service else "the whole server ('')"
    assert result == {
        "name": "default/grpc-route",
        "route": "default/grpc-route",
        "caller": "smoke role",
        "method": "POST",
        "url": f"{'https' if tls else 'http'}://{GRPC_HOST}:443/grpc.health.v1.Health/Check",
        "status": 200,
        "ok": True,
        "detail": f"grpc-status 0, {named} SERVING",
    }


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "h2-tls"])
def test_grpc_not_serving_fails(grpc_server: dict[str, Any], bundles: Path, tls: bool) -> None:
    result = run(grpc_check("demo.Down", tls=tls, caBundle="test-ca.pem"), grpc_server["tls" if tls else "plain"])
    assert (result["ok"], result["status"]) == (False, 200)
    assert result["detail"] == "gRPC health of service 'demo.Down': NOT_SERVING, expected SERVING"


def test_grpc_unknown_service_fails_with_not_found(grpc_server: dict[str, Any]) -> None:
    result = run(grpc_check("no.Such"), grpc_server["plain"])
    assert result["ok"] is False
    assert result["detail"].startswith(
        "gRPC health of service 'no.Such': grpc-status 5 (NOT_FOUND) (the server knows no such service)"
    )


def test_grpc_over_tls_needs_a_trusted_chain_and_the_right_name(grpc_server: dict[str, Any], bundles: Path) -> None:
    port = grpc_server["tls"]
    untrusted = run(grpc_check(tls=True, caBundle="other-ca.pem"), port)
    system = run(grpc_check(tls=True, caBundle=None), port)
    wrong_name = run({**grpc_check(tls=True, caBundle="test-ca.pem"), "host": "other.example.com"}, port)
    for result in (untrusted, system):
        assert result["ok"] is False
        assert result["detail"].startswith(f"TLS: the certificate for {GRPC_HOST} failed verification: ")
        assert "unable to get local issuer certificate" in result["detail"]
    assert wrong_name["detail"].startswith("TLS: the certificate for other.example.com failed verification: ")
    assert "Hostname mismatch" in wrong_name["detail"]


def test_grpc_signed_like_http(grpc_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGV4_REGION set: the call carries SigV4 over POST, the RPC's path and the authority (no port); the
    independent verifier accepts what grpcio received. Unsigned (`"sign": false`): no signature headers."""
    signing_environment(monkeypatch)
    recorder: MetadataRecorder = grpc_server["recorder"]
    del recorder.calls[:]
    assert run(grpc_check(), grpc_server["plain"])["ok"] is True
    assert run(grpc_check(sign=False), grpc_server["plain"])["ok"] is True
    (signed_method, signed), (_, unsigned) = recorder.calls
    assert signed_method == protocols.HEALTH_CHECK_PATH
    headers = (("host", GRPC_HOST), *signed.items())
    verify(RawRequest("POST", signed_method, headers), {KEY: SECRET}, region=REGION, service=SERVICE, required=REQUIRED)
    assert (signed["x-amz-content-sha256"], signed["x-amz-security-token"]) == ("UNSIGNED-PAYLOAD", TOKEN)
    assert not {"authorization", "x-amz-date"} & set(unsigned)


def test_grpc_timeout_is_reported_with_the_reason() -> None:
    with SilentServer() as port:
        for check in (grpc_check(), grpc_check(tls=True)):
            result = run(check, port, timeoutSeconds=0.5)
            assert result["ok"] is False
            assert result["detail"] == f"timeout: no answer from {GRPC_HOST} (127.0.0.1:{port}) within 0.5s"


class Http1Server(BackgroundServer):
    """Speaks HTTP/1.1 only: an HTTP/2 preface gets a 400 and a closed connection."""

    def _make_server(self) -> ThreadingHTTPServer:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def test_grpc_against_a_server_without_http2_fails_readably() -> None:
    with Http1Server() as server:
        result = run(grpc_check(), server.port)
    assert result["ok"] is False
    assert re.match(r"(connection to .* failed|HTTP/2: )", result["detail"]), result["detail"]


# --- TLS passthrough -----------------------------------------------------------------------------------------------


def tls_check(**extra: Any) -> dict[str, Any]:
    check = {"name": "default/tls-route", "route": "default/tls-route", "caller": "smoke role", "protocol": "TLS"}
    return {**check, "host": TLS_HOST, "port": 443, "sni": TLS_HOST, "caBundle": "test-ca.pem", **extra}


@pytest.fixture(scope="module")
def tls_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert(TLS_HOST, common_name=TLS_HOST)


def test_tls_handshake_reports_the_peer_subject(tls_cert: trustme.LeafCert, bundles: Path) -> None:
    with HttpsServer(tls_cert) as server:
        result = run(tls_check(expectSubject=TLS_HOST), server.port)
        unchecked = run(tls_check(expectSubject=None), server.port)
    assert set(result) == RESULT_KEYS
    assert (result["ok"], result["status"], result["method"]) == (True, None, "HANDSHAKE")
    assert result["url"] == f"tls://{TLS_HOST}:443"
    assert re.fullmatch(
        rf"TLS handshake \(TLSv1\.[23], SNI {TLS_HOST}\): peer certificate subject CN={TLS_HOST}, DNS names "
        rf"{TLS_HOST}, chain verified",
        result["detail"],
    )
    assert unchecked["ok"] is True and unchecked["detail"] == result["detail"]


def test_tls_wrong_subject_sni_ca_fail(tls_cert: trustme.LeafCert, bundles: Path) -> None:
    with HttpsServer(tls_cert) as server:
        subject = run(tls_check(expectSubject="payments.example.com"), server.port)
        sni = run(tls_check(sni="other.example.com"), server.port)
        untrusted = run(tls_check(caBundle="other-ca.pem"), server.port)
        system = run(tls_check(caBundle=None), server.port)
        missing = run(tls_check(caBundle="absent.pem"), server.port)
        escape = run(tls_check(caBundle="../test-ca.pem"), server.port)
    assert subject["detail"] == (
        f"TLS: peer certificate subject CN={TLS_HOST}, DNS names {TLS_HOST}; none is payments.example.com"
    )
    assert sni["detail"].startswith("TLS: the certificate for other.example.com failed verification: Hostname mismatch")
    for result in (untrusted, system):
        assert result["detail"] == (
            f"TLS: the certificate for {TLS_HOST} failed verification: unable to get local issuer certificate"
        )
    assert missing["detail"] == "caBundle 'absent.pem' is not a file in the function's code"
    assert escape["detail"] == "caBundle '../test-ca.pem' is not a file in the function's code"
    assert not any(r["ok"] for r in (subject, sni, untrusted, system, missing, escape))


def test_expect_subject_matches_the_cn_or_any_dns_san(ca: trustme.CA, bundles: Path) -> None:
    """`expectSubject` is one of the names the certificate carries: a SAN-only certificate (no CN) passes on any of
    its DNS names; a CN that is in no SAN passes on the CN; a name in neither fails, listing what was there."""
    san_only = ca.issue_cert(TLS_HOST, "alt.example.com")
    with HttpsServer(san_only) as server:
        first = run(tls_check(expectSubject=TLS_HOST), server.port)
        second = run(tls_check(expectSubject="alt.example.com"), server.port)
        neither = run(tls_check(expectSubject="payments.example.com"), server.port)
    assert (first["ok"], second["ok"], neither["ok"]) == (True, True, False)
    assert "subject CN=None, DNS names tls.example.com, alt.example.com, chain verified" in first["detail"]
    assert neither["detail"] == (
        "TLS: peer certificate subject CN=None, DNS names tls.example.com, alt.example.com; "
        "none is payments.example.com"
    )
    cn_apart = ca.issue_cert(TLS_HOST, common_name="Payments Service")
    with HttpsServer(cn_apart) as server:
        by_cn = run(tls_check(expectSubject="Payments Service"), server.port)
    assert by_cn["ok"] is True, by_cn


def test_tls_timeout_and_refusal_are_reported_and_retried(bundles: Path) -> None:
    with SilentServer() as port:
        result = run(tls_check(), port, timeoutSeconds=0.5, attempts=2)
    assert result["detail"] == f"timeout: no answer from {TLS_HOST} (127.0.0.1:{port}) within 0.5s (after 2 attempts)"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    refused = run(tls_check(), closed)
    assert refused["detail"].startswith(f"connection to {TLS_HOST} (127.0.0.1:{closed}) failed: ")


# --- HTTPS ---------------------------------------------------------------------------------------------------------


def https_check(**extra: Any) -> dict[str, Any]:
    check = {"name": "default/web rule 1", "route": "default/web", "caller": "smoke role", "protocol": "HTTPS"}
    return {**check, "url": f"https://{WEB_HOST}/v1/env", "port": 443, "caBundle": "test-ca.pem", **extra}


@pytest.fixture(scope="module")
def web_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert(WEB_HOST)


def test_https_request_passes_over_a_verified_chain(web_cert: trustme.LeafCert, bundles: Path) -> None:
    body = json.dumps({"ROUTE": "web", "POD": "web-1"}).encode()
    with HttpsServer(web_cert, (200, body)) as server:
        result = run(https_check(expect=[{"route": "web", "app": "web"}]), server.port)
        (request,) = server.requests
    assert set(result) == RESULT_KEYS
    assert (result["ok"], result["status"], result["detail"]) == (True, 200, "status 200, ROUTE=web from pod web-1")
    assert request["path"] == "/v1/env" and request["headers"]["Host"] == WEB_HOST


def test_https_keeps_the_403_rules(web_cert: trustme.LeafCert, bundles: Path) -> None:
    with HttpsServer(web_cert, (403, b"AccessDeniedException: not allowed")) as server:
        denied = run(https_check(expectStatus=403, sign=False), server.port)
        expected_access = run(https_check(), server.port)
    assert denied["ok"] is True and denied["detail"].startswith("status 403, refused as expected")
    assert expected_access["ok"] is False and "Lattice refused the caller" in expected_access["detail"]


def test_https_untrusted_or_mismatched_certificates_fail(web_cert: trustme.LeafCert, bundles: Path) -> None:
    with HttpsServer(web_cert) as server:
        untrusted = run(https_check(caBundle="other-ca.pem"), server.port)
        mismatch = run(https_check(url="https://other.example.com/v1/env"), server.port)
        plain_url = run(https_check(url=f"http://{WEB_HOST}/"), server.port)
        assert server.requests == []
    assert untrusted["detail"] == (
        f"TLS: the certificate for {WEB_HOST} failed verification: unable to get local issuer certificate"
    )
    assert mismatch["detail"].startswith("TLS: the certificate for other.example.com failed verification: Hostname")
    assert plain_url["detail"] == (
        f"unsupported URL 'http://{WEB_HOST}/' (the gateway listens on over TLS: an https:// URL)"
    )


def test_https_timeout_is_reported(bundles: Path) -> None:
    with SilentServer() as port:
        result = run(https_check(), port, timeoutSeconds=0.5)
    assert result["detail"] == f"timeout: no answer from {WEB_HOST} (127.0.0.1:{port}) within 0.5s"


# --- the HTTP/2 and HPACK pieces, against their specifications' own data -----------------------------------------


def test_grpc_status_names_match_grpcio() -> None:
    assert {code.value[0]: code.name for code in grpc.StatusCode} == dict(enumerate(grpc_probe.GRPC_CODES))


def test_huffman_code_is_rfc7541s() -> None:
    """Appendix B codes (as hex, LSB-aligned, with their lengths) and the C.4 examples' Huffman strings
    (https://www.rfc-editor.org/rfc/rfc7541#appendix-B and #appendix-C.4, read 2026-12-05)."""
    table = {s: (length, code) for (length, code), s in hpack.HUFFMAN_CODES.items()}
    assert len(table) == 257 and sum(2.0**-n for n in hpack.HUFFMAN_LENGTHS) == 1.0
    appendix_b = {0: (13, 0x1FF8), 1: (23, 0x7FFFD8), 10: (30, 0x3FFFFFFC), 32: (6, 0x14), 48: (5, 0x0),
                  92: (19, 0x7FFF0), 127: (28, 0xFFFFFFC), 195: (19, 0x7FFF1), 203: (27, 0x7FFFFDE),
                  220: (28, 0xFFFFFFD), 255: (26, 0x3FFFFEE), 256: (30, 0x3FFFFFFF)}  # fmt: skip
    assert {s: table[s] for s in appendix_b} == appendix_b
    examples = {"f1e3c2e5f23a6ba0ab90f4ff": b"www.example.com", "a8eb10649cbf": b"no-cache",
                "25a849e95ba97d7f": b"custom-key", "25a849e95bb8e8b4bf": b"custom-value"}  # fmt: skip
    assert {h: hpack.huffman_decode(bytes.fromhex(h)) for h in examples} == examples
    with pytest.raises(protocols.ProbeError, match="padding"):
        hpack.huffman_decode(bytes.fromhex("f1e3c2e5f23a6ba0ab90f400"))


def test_hpack_decodes_rfc7541s_response_examples_with_the_dynamic_table() -> None:
    """RFC 7541 C.6.1-C.6.3 (https://www.rfc-editor.org/rfc/rfc7541#appendix-C.6, read 2026-12-05; Huffman, a
    256-octet table): later blocks index earlier entries, and an entry that no longer fits evicts the oldest."""
    decoder = hpack.HpackDecoder(max_size=256)
    first = decoder.decode(
        bytes.fromhex(
            "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3"
        )
    )
    assert first == [
        (":status", "302"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ]
    second = decoder.decode(bytes.fromhex("4883640effc1c0bf"))
    assert second == [(":status", "307"), *first[1:]]
    assert [name for name, _ in decoder.table] == [b":status", b"location", b"date", b"cache-control"]
    third = decoder.decode(
        bytes.fromhex(
            "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960"
            "d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007"
        )
    )
    assert third[4:] == [
        ("content-encoding", "gzip"),
        ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
    ]
    assert [name for name, _ in decoder.table] == [b"set-cookie", b"content-encoding", b"date"]


def test_hpack_encoding_round_trips_through_grpcio_free_decoding() -> None:
    headers = [(":path", "/grpc.health.v1.Health/Check"), ("x-long", "v" * 300)]
    assert hpack.HpackDecoder().decode(hpack.encode_headers(headers)) == headers


def test_health_messages_match_the_generated_protobuf_code() -> None:
    """The hand-made HealthCheckRequest and the decoding of HealthCheckResponse agree with protobuf's own."""
    request = grpc_probe.health_request("demo.Echo")
    assert request[5:] == health_pb2.HealthCheckRequest(service="demo.Echo").SerializeToString()
    assert int.from_bytes(request[1:5], "big") == len(request) - 5 and request[0] == 0
    assert grpc_probe.health_request("") == b"\x00\x00\x00\x00\x00"
    for status in (0, 1, 2, 3):
        message = health_pb2.HealthCheckResponse(status=status).SerializeToString()
        framed = b"\x00" + len(message).to_bytes(4, "big") + message
        assert grpc_probe.health_status(framed) == status


def test_server_frames_mid_call_are_answered(grpc_server: dict[str, Any]) -> None:
    """A PING from the server before its answer is acknowledged with its payload, and the server's SETTINGS
    (grpcio's, relayed) too; the call still completes. grpcio hides :authority from interceptors: read it here."""
    received: list[bytes] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(5)
                upstream = socket.create_connection(("127.0.0.1", grpc_server["plain"]))
                with upstream:
                    ping = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + b"12345678"
                    conn.sendall(ping)
                    pipe(conn, upstream, received)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        result = run(grpc_check(), listener.getsockname()[1])
        thread.join(timeout=5)
    assert result["ok"] is True, result
    client_bytes = b"".join(received)
    assert b"\x00\x00\x08\x06\x01\x00\x00\x00\x0012345678" in client_bytes  # PING ACK, same payload
    assert b"\x00\x00\x00\x04\x01\x00\x00\x00\x00" in client_bytes  # SETTINGS ACK
    # The authority (what the signature's host is), as a raw literal (RFC 7541 6.2.2): the hostname, no port.
    assert b"\x00\x0a:authority\x10" + GRPC_HOST.encode() in client_bytes


def pipe(client: socket.socket, upstream: socket.socket, received: list[bytes]) -> None:
    """Relay both ways until either side closes; record what the client sent."""
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(client, selectors.EVENT_READ, upstream)
    selector.register(upstream, selectors.EVENT_READ, client)
    while True:
        for key, _ in selector.select(timeout=5):
            data = typing.cast(socket.socket, key.fileobj).recv(65536)
            if not data:
                return
            if key.fileobj is client:
                received.append(data)
            key.data.sendall(data)


class AcceptLoop:
    """A TCP listener on 127.0.0.1 whose thread hands each accepted connection to `handle`, until closed."""

    backlog = 4

    def __enter__(self) -> int:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(self.backlog)
        threading.Thread(target=self._serve, daemon=True).start()
        return int(self.listener.getsockname()[1])

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def __exit__(self, *exc: object) -> None:
        self.listener.close()


class ScriptedH2(AcceptLoop):
    """An HTTP/2 endpoint that answers every call with one fixed response (a stand-in for Lattice's refusal, which
    grpcio cannot send: its server always answers 200). Its frames are written out by hand (RFC 9113 4.1)."""

    def __init__(
        self, status: int = 200, body: bytes = b"", *, reply: bytes | None = None, close: bool = False
    ) -> None:
        self.close = close  # close the connection right after the reply
        block = hpack.encode_headers([(":status", str(status)), ("content-type", "text/plain")])
        self.reply = reply if reply is not None else frame(4, 0, 0) + frame(1, 0x4, 1, block) + frame(0, 0x1, 1, body)
        self.received: list[bytes] = []

    def handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)  # the checks' own timeout: a client that stops writing ends the exchange
            try:
                # The whole request, read frame by frame to its END_STREAM (not "until the client pauses",
                # which a loaded machine can stretch past any pause), so the reply never races the request.
                self._read_request(conn)
                conn.sendall(self.reply)
                if self.close:
                    # A FIN right after the reply, never a close on unread data (the client's SETTINGS ACK may
                    # already be on its way): that would reset the connection and could discard the reply.
                    conn.shutdown(socket.SHUT_WR)
                while conn.recv(65536):  # until the client closes its end
                    pass
            except OSError:
                pass

    def _read_request(self, conn: socket.socket) -> None:
        """Read the preface and the frames up to one that ends a stream (the call's DATA or HEADERS)."""
        data = b""
        while not _ends_a_stream(data.removeprefix(grpc_probe.PREFACE)):
            chunk = conn.recv(65536)
            if not chunk:
                return
            self.received.append(chunk)
            data += chunk


def _ends_a_stream(frames: bytes) -> bool:
    """Whether complete HTTP/2 frames in `frames` include a DATA or HEADERS frame with END_STREAM (RFC 9113 4.1)."""
    while len(frames) >= 9:
        length, kind, flags = int.from_bytes(frames[:3], "big"), frames[3], frames[4]
        if len(frames) < 9 + length:
            return False
        if kind in (grpc_probe.DATA, grpc_probe.HEADERS) and flags & grpc_probe.END_STREAM:
            return True
        frames = frames[9 + length :]
    return False


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def test_grpc_denials_keep_the_403_rules() -> None:
    """A gRPC denial check (expectStatus 403) passes on the auth policy's 403; a check expecting access fails on it
    with the body; a signature error's 403 fails either way; a 200 without grpc-status is no gRPC answer."""
    denial = b"AccessDeniedException: User: anonymous is not authorized"
    with ScriptedH2(403, denial) as port:
        refused = run(grpc_check(sign=False, expectStatus=403), port)
        wanted = run(grpc_check(sign=False), port)
    assert (refused["ok"], refused["status"]) == (True, 403)
    assert refused["detail"] == f"status 403, refused as expected; body {denial.decode()!r}"
    assert (wanted["ok"], wanted["status"]) == (False, 403)
    assert wanted["detail"].startswith("status 403: Lattice refused the caller (auth policy), expected access")
    with ScriptedH2(403, b"InvalidSignatureException: Signature expired") as port:
        bad = run(grpc_check(expectStatus=403), port)
    assert bad["ok"] is False and bad["detail"].startswith("status 403 from the signature check, not the auth policy")
    with ScriptedH2(200, b"") as port:
        silent = run(grpc_check(), port)
    assert silent["detail"] == "gRPC health of service 'demo.Echo': no grpc-status in the trailers (not a gRPC server?)"


# --- the chain's verification flags: the same on the tests' Python as on Lambda's -----------------------------------


class PemLeaf:
    """A leaf certificate and its chain as PEM files, with trustme.LeafCert's configure_cert (for HttpsServer)."""

    def __init__(self, key_pem: bytes, chain_pem: bytes, directory: Path) -> None:
        self.key, self.chain = directory / "leaf-key.pem", directory / "leaf-chain.pem"
        self.key.write_bytes(key_pem)
        self.chain.write_bytes(chain_pem)

    def configure_cert(self, context: ssl.SSLContext) -> None:
        context.load_cert_chain(str(self.chain), str(self.key))


def nonconformant_ca(directory: Path, host: str) -> PemLeaf:
    """A private CA that RFC 5280 does not allow (its basicConstraints not critical, no key identifiers, as some
    hand-made openssl CAs are) and a leaf for `host`; the CA's bundle is nonconformant-ca.pem in `directory`."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hand-made private CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "nonconformant-ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return PemLeaf(key_pem, leaf.public_bytes(serialization.Encoding.PEM), directory)


def lambda_default_context(cafile: str) -> ssl.SSLContext:
    """ssl.create_default_context as Python 3.13+ builds it (python/cpython PR #112389, read 2026-12-05: the two
    flags added to a client context's verify_flags), on whatever Python runs the tests."""
    context = ssl.create_default_context(cafile=cafile)
    context.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def handshake_error(context: ssl.SSLContext, port: int, host: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            context.wrap_socket(raw, server_hostname=host).close()
        except ssl.SSLCertVerificationError as err:
            return str(err.verify_message)
    return ""


def test_a_nonconformant_private_ca_fails_here_as_on_lambdas_python(bundles: Path) -> None:
    """The smoke checks refuse a CA without RFC 5280's basicConstraints-critical and key identifiers, with the
    reason Python 3.13+'s default context gives (Lambda's 3.14), while 3.11's own default would have accepted it."""
    leaf = nonconformant_ca(bundles, WEB_HOST)
    cafile = str(bundles / "nonconformant-ca.pem")
    with HttpsServer(leaf) as server:  # type: ignore[arg-type]
        lambdas = handshake_error(lambda_default_context(cafile), server.port, WEB_HOST)
        legacy = handshake_error(ssl.create_default_context(cafile=cafile), server.port, WEB_HOST)
        https = run(https_check(caBundle="nonconformant-ca.pem"), server.port)
        tls = run({**tls_check(caBundle="nonconformant-ca.pem"), "host": WEB_HOST, "sni": WEB_HOST}, server.port)
        assert server.requests == []
    assert lambdas, "Python 3.13+'s default context accepted a CA that RFC 5280 does not allow"
    if not ssl.create_default_context().verify_flags & ssl.VERIFY_X509_STRICT:
        assert legacy == "", "this Python's own default refused it: the test no longer shows the difference"
    for result in (https, tls):
        assert result["ok"] is False
        assert result["detail"] == f"TLS: the certificate for {WEB_HOST} failed verification: {lambdas}"


def test_every_tls_context_the_smoke_checks_build_has_the_pinned_flags(
    grpc_server: dict[str, Any], tls_cert: trustme.LeafCert, web_cert: trustme.LeafCert, bundles: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Every context that wraps a socket in an HTTPS, gRPC-over-TLS or TLS check verifies with VERIFY_FLAGS (strict,
    partial chain, trusted first: Python 3.13+'s default), and the smoke code builds contexts in one place only."""
    seen: list[tuple[int, int]] = []
    original = ssl.SSLContext.wrap_socket

    def recording(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("server_side"):
            seen.append((self.verify_flags, self.verify_mode))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "wrap_socket", recording)
    with HttpsServer(web_cert) as web, HttpsServer(tls_cert) as passthrough:
        results = [
            run(https_check(), web.port),
            run(tls_check(), passthrough.port),
            run(grpc_check(tls=True, caBundle="test-ca.pem"), grpc_server["tls"]),
        ]
    assert all(r["ok"] for r in results), results
    assert len(seen) == 3
    pinned = ssl.VERIFY_X509_TRUSTED_FIRST | ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
    assert pinned == protocols.VERIFY_FLAGS
    assert set(seen) == {(pinned, ssl.CERT_REQUIRED)}
    source = "\n".join(p.read_text() for p in Path(protocols.__file__).parent.glob("*.py"))
    builders = re.findall(r"create_default_context\(|SSLContext\(|_create_unverified_context|wrap_socket\(", source)
    assert builders == ["create_default_context(", "wrap_socket("], builders


def goaway(last_stream: int, code: int = 0) -> bytes:
    return frame(7, 0, 0, last_stream.to_bytes(4, "big") + code.to_bytes(4, "big"))


def grpc_reply(*, serving: int = 1, grpc_status: int = 0) -> bytes:
    """A health answer on stream 1 as a gRPC server frames it: headers, one HealthCheckResponse, trailers."""
    head = hpack.encode_headers([(":status", "200"), ("content-type", "application/grpc")])
    message = health_pb2.HealthCheckResponse(status=serving).SerializeToString()
    trailers = hpack.encode_headers([("grpc-status", str(grpc_status))])
    return (
        frame(1, 0x4, 1, head)
        + frame(0, 0, 1, b"\x00" + len(message).to_bytes(4, "big") + message)
        + frame(1, 0x5, 1, trailers)
    )


@pytest.mark.parametrize("pace", [0.0, 0.4])
def test_goaway_lets_the_streams_it_covers_complete(pace: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 9113 6.8: a GOAWAY whose last stream id covers ours (a graceful shutdown announces 2^31-1, or exactly our
    stream 1) still lets the call finish: SERVING passes. One below our stream (0: none taken) fails, retried, as
    does a GOAWAY that covers the stream when the connection then closes without the answer. The same with a client
    that pauses before each frame (`pace` seconds, as a loaded machine can make it): ScriptedH2 answers the whole
    request, never a pause."""
    send = grpc_probe._H2.send

    def slow_send(self: Any, *frame_args: Any) -> None:
        time.sleep(pace)
        send(self, *frame_args)

    monkeypatch.setattr(grpc_probe._H2, "send", slow_send)
    settings = frame(4, 0, 0)
    replies = {
        "graceful": settings + goaway(2**31 - 1) + grpc_reply(),
        "covers ours": settings + goaway(1) + grpc_reply(),
        "not taken": settings + goaway(0, code=2),
        "then closed": settings + goaway(1),
    }
    with contextlib.ExitStack() as servers:
        # One server per case, the four checks in one run (side by side, as the handler runs a report's checks):
        # a paced case then costs its own pauses, not the sum of all four.
        ports = {
            name: servers.enter_context(ScriptedH2(reply=r, close=name == "then closed")) for name, r in replies.items()
        }
        results = run_all({name: grpc_check(port=port) for name, port in ports.items()}, attempts=2)
    assert results["graceful"]["ok"] is True, results["graceful"]
    assert results["graceful"]["detail"] == "grpc-status 0, service 'demo.Echo' SERVING"
    assert results["covers ours"]["ok"] is True
    assert results["not taken"]["detail"] == (
        "HTTP/2: the server sent GOAWAY (INTERNAL_ERROR, last stream 0) before taking the call (after 2 attempts)"
    )
    assert results["then closed"]["ok"] is False
    assert results["then closed"]["detail"].endswith(
        "the server closed the connection before the call ended (after 2 attempts)"
    )


def test_grpc_check_headers_go_out_as_metadata(grpc_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A gRPC check's `headers` (a rule's header matches) reach the server as metadata, names lower-cased, and are
    covered by the signature; unsigned they go out alone."""
    signing_environment(monkeypatch)
    recorder: MetadataRecorder = grpc_server["recorder"]
    del recorder.calls[:]
    headers = {"X-Canary": "1", "x-tenant.id": "blue team"}
    assert run(grpc_check(headers=headers), grpc_server["plain"])["ok"] is True
    assert run(grpc_check(headers=headers, sign=False), grpc_server["plain"])["ok"] is True
    (method, signed), (_, unsigned) = recorder.calls
    assert (signed["x-canary"], signed["x-tenant.id"]) == ("1", "blue team")
    assert "x-canary" in signed["authorization"] and "x-tenant.id" in signed["authorization"]
    verify(
        RawRequest("POST", method, (("host", GRPC_HOST), *signed.items())),
        {KEY: SECRET}, region=REGION, service=SERVICE, required=(*REQUIRED, "x-canary", "x-tenant.id"),
    )  # fmt: skip
    assert (unsigned["x-canary"], unsigned["x-tenant.id"]) == ("1", "blue team")
    assert "authorization" not in unsigned


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"x canary": "1"}, "a gRPC metadata name is 0-9 a-z _ - . only"),
        ({"x-ünicode": "1"}, "a gRPC metadata name is 0-9 a-z _ - . only"),
        ({"grpc-trace": "1"}, "names starting grpc- are reserved to gRPC"),
        ({"Content-Type": "text/plain"}, "the probe sends that header itself"),
        ({"authorization": "Bearer x"}, "the probe sends that header itself"),
        ({"x-a": "line\nbreak"}, "a gRPC metadata value is printable ASCII (space to ~), not empty"),
        ({"x-a": "café"}, "a gRPC metadata value is printable ASCII (space to ~), not empty"),
        ({"x-a": ""}, "a gRPC metadata value is printable ASCII (space to ~), not empty"),
    ],
)
def test_grpc_headers_that_cannot_be_metadata_fail_by_name(
    grpc_server: dict[str, Any], headers: dict[str, str], why: str
) -> None:
    recorder: MetadataRecorder = grpc_server["recorder"]
    del recorder.calls[:]
    result = run(grpc_check(headers=headers), grpc_server["plain"], attempts=3)
    (name,) = headers
    assert result["ok"] is False
    assert result["detail"] == f"headers: {name!r} cannot be sent as gRPC metadata: {why}"
    assert recorder.calls == []


def trailers_only(grpc_status: int, message: str) -> bytes:
    """An Envoy-style refusal: one HEADERS block that ends the stream, :status 200 and the grpc-status."""
    block = hpack.encode_headers(
        [(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", str(grpc_status)),
         ("grpc-message", message)]
    )  # fmt: skip
    return frame(4, 0, 0) + frame(1, 0x5, 1, block)


@pytest.mark.parametrize("code", [7, 16], ids=["PERMISSION_DENIED", "UNAUTHENTICATED"])
def test_grpc_status_refusals_count_as_denials(code: int) -> None:
    """Both reply shapes of a refused gRPC call are a refusal: HTTP 403 (test above) or a trailers-only grpc-status 7
    or 16. A denial check passes on it, a check expecting access fails on it (retried), and a refusal whose message
    names a signature error fails both; grpc-message is percent-decoded UTF-8."""
    name = grpc_probe.GRPC_CODES[code]
    with ScriptedH2(reply=trailers_only(code, "RBAC%3A access denied %E2%9C%93")) as port:
        denial = run(grpc_check(sign=False, expectStatus=403), port)
        access = run(grpc_check(sign=False), port, attempts=2)
    seen = f"grpc-status {code} ({name}); grpc-message 'RBAC: access denied ✓'"
    assert (denial["ok"], denial["status"], denial["detail"]) == (True, 200, f"{seen}, refused as expected")
    assert (access["ok"], access["status"]) == (False, 200)
    assert access["detail"] == f"{seen}: Lattice refused the caller (auth policy), expected access (after 2 attempts)"
    with ScriptedH2(reply=trailers_only(code, "InvalidSignatureException%3A Signature expired")) as port:
        signature = [run({**grpc_check(), **extra}, port, attempts=2) for extra in ({"expectStatus": 403}, {})]
    for result in signature:
        assert result["detail"] == (
            f"grpc-status {code} ({name}); grpc-message 'InvalidSignatureException: Signature expired': the signature "
            "check's refusal, not the auth policy's"
        )  # not retried: no "(after 2 attempts)"


def test_grpc_message_percent_decoding_keeps_broken_escapes() -> None:
    """PROTOCOL-HTTP2.md: an invalid percent-encoding must not fail or drop the message."""
    with ScriptedH2(reply=trailers_only(13, "bad %ZZ and %E2%9C end")) as port:
        result = run(grpc_check(), port)
    assert result["detail"] == "gRPC health of service 'demo.Echo': grpc-status 13 (INTERNAL): bad %ZZ and \ufffd end"


# --- the class test: every key a check may carry changes what its probe does, or fails the check by name ----------

# One change per key the protocol's probe reads, from a baseline check that passes (see observe: the result, what
# the resolver was asked and what the server received must differ).
BASE = {"name": "n", "route": "r", "caller": "c"}
VARIANTS: dict[str, dict[str, Any]] = {
    "HTTP": {"name": "n2", "route": "r2", "caller": "c2", "protocol": "HTTPS", "url": f"http://{WEB_HOST}/other",
             "host": "other.example.com",
             "method": "POST", "headers": {"x-canary": "1"}, "expect": [{"app": "web", "route": "web"}],
             "sign": False, "expectStatus": 403, "port": 8080},
    "HTTPS": {"name": "n2", "route": "r2", "caller": "c2", "protocol": "HTTP", "url": f"https://{WEB_HOST}/other",
              "host": "other.example.com",
              "method": "POST", "headers": {"x-canary": "1"}, "expect": [{"app": "web", "route": "web"}],
              "sign": False, "expectStatus": 403, "port": 8443, "caBundle": "other-ca.pem"},
    "GRPC": {"name": "n2", "route": "r2", "caller": "c2", "protocol": "TLS", "host": "other.example.com",
             "port": 8443, "tls": False, "caBundle": "other-ca.pem", "grpcService": "demo.Down", "sign": False,
             "expectStatus": 403, "headers": {"x-canary": "1"}},
    "TLS": {"name": "n2", "route": "r2", "caller": "c2", "protocol": "GRPC", "host": "other.example.com",
            "port": 8443, "sni": "other.example.com", "expectSubject": "other.example.com",
            "caBundle": "other-ca.pem"},
}  # fmt: skip
# The signature's own values change with the clock: only their presence is compared.
VOLATILE = {"x-amz-date", "authorization", "X-Amz-Date", "Authorization"}


def observe(check: dict[str, Any], port: int, received: list[Any]) -> tuple[Any, ...]:
    """What a check does: its result, the (host, port) it resolved and what the server received."""
    asked: list[tuple[str, int]] = []

    def resolver(host: str, wanted: int) -> list[tuple[str, int]]:
        asked.append((host, wanted))
        return [("127.0.0.1", port)]

    before = len(received)
    try:
        (result,) = smoke.run({"checks": [check], "attempts": 1, "timeoutSeconds": 5}, resolver=resolver)["results"]
    except smoke.SmokeTestError:
        result = LAST[0]
    seen = [
        {k: ("(signed)" if k in VOLATILE else v) for k, v in dict(item).items()}
        for item in (r.get("headers", r) if isinstance(r, dict) else r[1] for r in received[before:])
    ]
    paths = [r.get("path") if isinstance(r, dict) else r[0] for r in received[before:]]
    return json.dumps(result, sort_keys=True), asked, seen, paths


@pytest.fixture
def baselines(
    grpc_server: dict[str, Any], tls_cert: trustme.LeafCert, web_cert: trustme.LeafCert, bundles: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, tuple[dict[str, Any], int, list[Any]]]]:  # fmt: skip
    """A passing check of each protocol, signed, with the port its server listens on and what that server records."""
    signing_environment(monkeypatch)
    recorder: MetadataRecorder = grpc_server["recorder"]
    with HttpsServer(None) as web, HttpsServer(web_cert) as secure, HttpsServer(tls_cert) as passthrough:
        yield {
            "HTTP": ({**BASE, "protocol": "HTTP", "url": f"http://{WEB_HOST}/v1/env"}, web.port, web.requests),
            "HTTPS": ({**https_check(**BASE)}, secure.port, secure.requests),
            "GRPC": (grpc_check(tls=True, caBundle="test-ca.pem", **BASE), grpc_server["tls"], recorder.calls),
            "TLS": (tls_check(**BASE), passthrough.port, []),
        }


@pytest.mark.parametrize("protocol", protocols.PROTOCOLS)
def test_every_key_a_probe_reads_changes_what_it_does(
    protocol: str, baselines: dict[str, tuple[dict[str, Any], int, list[Any]]]
) -> None:
    """For each key the protocol's probe reads (spec.KEYS), changing it changes the result, the lookup or what the
    server receives: a key in spec.KEYS that the probe ignored would fail here."""
    assert set(VARIANTS[protocol]) == set(spec.KEYS[protocol]), "each key needs a variant here"
    check, port, received = baselines[protocol]
    base = observe(check, port, received)
    assert json.loads(base[0])["ok"] is True, base
    for key, value in VARIANTS[protocol].items():
        assert check.get(key) != value
        assert observe({**check, key: value}, port, received) != base, f"{protocol} check key {key!r} changed nothing"


@pytest.mark.parametrize("protocol", protocols.PROTOCOLS)
def test_a_key_the_probe_does_not_read_fails_the_check_by_name(
    protocol: str, baselines: dict[str, tuple[dict[str, Any], int, list[Any]]]
) -> None:
    """Every other protocol's keys, and a misspelt one, fail the check at once with the key named and nothing sent:
    a TLS check with expectStatus or sign would otherwise pass on a handshake that never looked at them."""
    check, port, received = baselines[protocol]
    others = {key for keys in spec.KEYS.values() for key in keys} - set(spec.KEYS[protocol])
    assert others or protocol == "HTTPS"
    for key in sorted(others | {"expectstatus", "timeoutSeconds"}):
        before = len(received)
        result = run({**check, key: VARIANTS["GRPC"].get(key, 1)}, port, attempts=3)
        assert result["ok"] is False
        assert result["detail"] == (
            f"check key {key!r} does not apply to a {protocol} check (its keys: {', '.join(spec.KEYS[protocol])})"
        )
        assert len(received) == before


def test_every_key_the_generated_checks_carry_is_read_by_their_probe() -> None:
    """The checks constructs/smoke/checks.py writes for the default configuration and every examples/ configuration
    carry only keys their protocol's probe reads (else every deploy's smoke test would fail on them)."""
    import datetime as dt

    from constructs.smoke.checks import SECOND_IDENTITY, UNSIGNED, denial_checks, smoke_checks

    from config.loader import parse_context

    root = Path(__file__).parents[2]
    contexts = [{}] + [json.loads(p.read_text()) for p in sorted((root / "examples").glob("*.json"))]
    checked = 0
    for context in contexts:
        cfg = parse_context({k: v if isinstance(v, str) else json.dumps(v) for k, v in context.items()},
                            today=dt.date(2026, 12, 5))  # fmt: skip
        for check in [
            *smoke_checks(cfg),
            *denial_checks(cfg, caller=UNSIGNED),
            *denial_checks(cfg, caller=SECOND_IDENTITY),
        ]:
            assert spec.key_problem(check, check.get("protocol") or "HTTP") == "", check
            checked += 1
    assert checked


# --- the class test: every key's type is checked exactly (JSON "false" is not false) -------------------------------

# Values of every JSON type: for each key, each one its type does not admit must fail the check, naming the key.
JSON_VALUES: tuple[Any, ...] = ("false", "", 0, 1, 443, 70000, True, False, 1.5, [], ["x"], {}, {"x": 1}, None)


@pytest.mark.parametrize("protocol", protocols.PROTOCOLS)
def test_every_check_key_is_type_checked(
    protocol: str, baselines: dict[str, tuple[dict[str, Any], int, list[Any]]]
) -> None:
    check, port, received = baselines[protocol]
    assert set(spec.TYPES) == {key for keys in spec.KEYS.values() for key in keys}
    for key in spec.KEYS[protocol]:
        kind, valid = spec.TYPES[key]
        wrong = [v for v in JSON_VALUES if not valid(v) and not (v is None and key in spec.NULLABLE)]
        assert wrong, f"no wrong value for {key!r} among JSON_VALUES"
        for value in wrong:
            before = len(received)
            result = run({**check, key: value}, port, attempts=3)
            assert result["ok"] is False, (key, value)
            null = " or null" if key in spec.NULLABLE else ""
            typed = f"check key {key!r} must be {kind}{null}, got {value!r}"
            # A truthy non-string protocol is no protocol name at all; a falsy one reads as absent, then its type.
            unknown = f"protocol {value!r} has no probe (known: {', '.join(protocols.PROTOCOLS)})"
            assert result["detail"] in ((typed, unknown) if key == "protocol" else (typed,)), (key, value)
            assert len(received) == before


def test_grpc_tls_defaults_to_true_and_a_string_false_is_refused(grpc_server: dict[str, Any], bundles: Path) -> None:
    """A gRPC check without `tls` speaks TLS (the controller's GRPCRoute listener is HTTPS): it passes against the
    TLS port and fails against the h2c one; `"tls": "false"` is refused, not read as true."""
    check = {k: v for k, v in grpc_check(caBundle="test-ca.pem").items() if k != "tls"}
    over_tls = run(check, grpc_server["tls"])
    against_h2c = run(check, grpc_server["plain"])
    assert over_tls["ok"] is True and over_tls["url"].startswith("https://")
    assert against_h2c["ok"] is False
    assert run({**check, "tls": None}, grpc_server["tls"])["ok"] is True
    text = run({**check, "tls": "false"}, grpc_server["plain"])
    assert text["detail"] == "check key 'tls' must be true or false or null, got 'false'"


# --- one deadline per attempt, across every socket operation and every resolved address --------------------------


class StallingServer(AcceptLoop):
    """Accepts, then answers a little and stalls: `first` bytes (a TLS record header promising more, or an HTTP head
    trickled a byte at a time with `trickle`), then nothing, until closed."""

    backlog = 8

    def __init__(self, first: bytes, trickle: bytes = b"", every: float = 0.1) -> None:
        self.first, self.trickle, self.every = first, trickle, every
        self.stop = threading.Event()

    def handle(self, conn: socket.socket) -> None:
        threading.Thread(target=self._stall, args=(conn,), daemon=True).start()

    def _stall(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(0.5)
                with contextlib.suppress(TimeoutError):
                    conn.recv(65536)  # the ClientHello or the request
                conn.sendall(self.first)
                for byte in self.trickle:
                    if self.stop.wait(self.every):
                        return
                    conn.sendall(bytes([byte]))
                self.stop.wait(30)
            except OSError:
                return

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        super().__exit__(*exc)


# A TLS handshake record header (RFC 8446 5.1: handshake, TLS 1.2 record version, 200 octets) and 3 of the octets.
PARTIAL_SERVER_HELLO = bytes([22, 3, 3, 0, 200, 2, 0, 0])


def timed(check: dict[str, Any], ports: list[int], context: Any = None, **event: Any) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    with contextlib.suppress(smoke.SmokeTestError):
        smoke.run(
            {"checks": [check], "retryDelaySeconds": 0, **event},
            context,
            resolver=lambda _h, _p: [("127.0.0.1", port) for port in ports],
        )
    return time.monotonic() - started, LAST[0]


@pytest.mark.parametrize("protocol", ["HTTPS", "GRPC", "TLS"])
def test_one_attempt_stalled_mid_handshake_on_two_addresses_ends_within_its_timeout(
    protocol: str, bundles: Path
) -> None:
    """Two resolved addresses (A and AAAA), each stalling in the middle of the TLS handshake: the attempt as a whole
    ends at `timeoutSeconds`, not once per address."""
    check = {"HTTPS": https_check(), "GRPC": grpc_check(tls=True, caBundle="test-ca.pem"), "TLS": tls_check()}
    with StallingServer(PARTIAL_SERVER_HELLO) as a, StallingServer(PARTIAL_SERVER_HELLO) as b:
        elapsed, result = timed(check[protocol], [a, b], attempts=1, timeoutSeconds=1)
    assert result["ok"] is False
    assert (
        result["detail"]
        == f"timeout: no answer from {result['detail'].split('from ')[1].split(' within')[0]} within 1s"
    )
    assert "(127.0.0.1:" in result["detail"]
    assert_within_budget(elapsed, 1)  # one attempt's timeoutSeconds, not one per address


def test_a_trickling_http_answer_is_cut_at_the_timeout() -> None:
    """An HTTP server that sends its head one byte every 0.1s would keep each read within a socket timeout forever:
    the attempt's deadline still ends it at `timeoutSeconds`."""
    check = {"name": "n", "url": "http://api.example.com/v1/env"}
    with StallingServer(b"HTTP/1.1 200 OK\r\n", trickle=b"X-Slow: " + b"a" * 100) as port:
        elapsed, result = timed(check, [port], attempts=1, timeoutSeconds=1)
    assert result["detail"] == f"timeout: no answer from api.example.com (127.0.0.1:{port}) within 1s"
    assert_within_budget(elapsed, 1)


def test_the_report_arrives_before_the_lambda_deadline_despite_stalled_handshakes(bundles: Path) -> None:
    """Retries stop while the report can still get out: with two stalling addresses an attempt still takes one
    `timeoutSeconds` (not two), so the last retry ends before the function's own deadline (its remaining time
    less DEADLINE_MARGIN_SECONDS).

    How many attempts fit depends on how long each took on this machine, so the count is checked against the
    rule, at the times the handler itself read: it retries after every failure that leaves a whole attempt before
    the deadline, and stops at the first that does not. The budget sits just under four attempts, so a load that
    slows each attempt by a fraction of a second moves the count, never the report past the deadline."""
    timeout = 0.6
    budget = 3.9 * timeout  # seconds the function may use before its margin: three whole attempts, not four
    readings: list[float] = []

    def clock() -> float:
        readings.append(time.monotonic())
        return readings[-1]

    remaining: list[int] = []

    class Context(RealTimeContext):
        def get_remaining_time_in_millis(self) -> int:
            remaining.append(super().get_remaining_time_in_millis())
            return remaining[-1]

    context = Context(smoke.DEADLINE_MARGIN_SECONDS + budget)
    started = time.monotonic()
    event = {"checks": [tls_check()], "retryDelaySeconds": 0, "attempts": 20, "timeoutSeconds": timeout}
    with (
        StallingServer(PARTIAL_SERVER_HELLO) as a,
        StallingServer(PARTIAL_SERVER_HELLO) as b,
        contextlib.suppress(smoke.SmokeTestError),
    ):
        smoke.run(event, context, resolver=lambda _h, _p: [("127.0.0.1", a), ("127.0.0.1", b)], clock=clock)
    elapsed = time.monotonic() - started
    result = LAST[0]
    assert result["ok"] is False and result["detail"].startswith("timeout: "), result["detail"]
    # The handler reads the clock once for its deadline (before asking the context), then once per failed attempt.
    deadline = readings[0] + remaining[0] / 1000 - smoke.DEADLINE_MARGIN_SECONDS
    ends = readings[1:]
    assert f"(after {len(ends)} attempts)" in result["detail"], (result["detail"], len(ends))
    assert len(ends) >= 2, f"no retry: the first attempt took {ends[0] - readings[0]:.2f}s of {budget:.2f}s"
    assert all(end + timeout <= deadline for end in ends[:-1]), "retried without a whole attempt left"
    assert ends[-1] + timeout > deadline, "stopped retrying with a whole attempt left"
    assert_within_budget(elapsed, budget, slack=0)  # the report before the deadline: its margin is the slack


def test_an_http_checks_host_must_be_its_urls_hostname(web_cert: trustme.LeafCert, bundles: Path) -> None:
    """The generator writes `host` beside an HTTPS check's URL: the same name passes, another fails naming both."""
    with HttpsServer(web_cert) as server:
        same = run(https_check(host=WEB_HOST), server.port)
        other = run(https_check(host="other.example.com"), server.port)
        assert len(server.requests) == 1
    assert same["ok"] is True
    assert other["detail"] == f"check key 'host' is 'other.example.com', but the URL's hostname is '{WEB_HOST}'"
