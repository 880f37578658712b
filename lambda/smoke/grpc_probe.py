"""The gRPC health probe: a minimal HTTP/2 client for one unary call, not a general one.
- HTTP/2 (RFC 9113, https://www.rfc-editor.org/rfc/rfc9113, read 2026-12-05): the client connection preface and
  a SETTINGS frame (3.4), "h2" by ALPN over TLS (3.2) or prior knowledge in cleartext (3.3), 9-octet frame
  headers (4.1), SETTINGS and PING acknowledged (6.5, 6.7), header blocks in HEADERS + CONTINUATION (4.3).
- gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md at 010decebd96922114400a6490f397367840db2d1, read
  2026-12-05): POST to /<service>/<method>, content-type application/grpc, te: trailers, grpc-timeout; each
  message carries a 1-byte compressed flag and a 4-byte big-endian length; the status is the grpc-status
  trailer (or a Trailers-Only HEADERS), and RST_STREAM ends the call.
- grpc.health.v1 (grpc/grpc src/proto/grpc/health/v1/health.proto at 03b89f47f297e393344a1ba7baa9759af0d91619,
  read 2026-12-05): HealthCheckRequest{string service = 1}, HealthCheckResponse{ServingStatus status = 1} with
  UNKNOWN 0, SERVING 1, NOT_SERVING 2, SERVICE_UNKNOWN 3; Check fails with NOT_FOUND for an unknown service.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .hpack import HpackDecoder, _encode_integer, encode_headers
from .protocols import HEALTH_CHECK_PATH, Deadline, ProbeError, tls_socket

SERVING_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
# grpc-status codes by number (names: grpc/grpc doc/statuscodes.md at 02760600f45e74e18777dc249ceef165a7f5837a,
# read 2026-12-05; numbers: tests/lambda/test_smoke_protocols.py pins each against grpcio's grpc.StatusCode).
# fmt: off
GRPC_CODES = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
]
# fmt: on
MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BLOCK = 64 * 1024

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # RFC 9113 3.4
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
SETTINGS_ENABLE_PUSH = 0x2
STREAM = 1  # the call's stream: the first client-initiated one (RFC 9113 5.1.1)
DEFAULT_MAX_FRAME_SIZE = 16384  # RFC 9113 6.5.2: what a peer may send before our SETTINGS say otherwise
# fmt: off
HTTP2_ERRORS = [
    "NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
    "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR",
    "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
]  # RFC 9113 7
# fmt: on


@dataclass(frozen=True, slots=True)
class GrpcAnswer:
    status: int  # the HTTP :status
    body: bytes  # the DATA received (the gRPC messages, or a proxy's error body)
    grpc_status: int | None
    grpc_message: str
    headers: Mapping[str, str]


class _H2:
    """Frames over one socket, with a deadline for the whole exchange."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline, self.buffer = sock, deadline, b""

    def send(self, kind: int, flags: int, stream: int, payload: bytes = b"") -> None:
        self.sock.sendall(
            struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload
        )

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection before the call ended")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive(self) -> tuple[int, int, int, bytes]:
        head = self._read(9)
        length = int.from_bytes(head[:3], "big")
        if length > DEFAULT_MAX_FRAME_SIZE:
            raise ProbeError(f"HTTP/2: a {length}-octet frame exceeds SETTINGS_MAX_FRAME_SIZE", retryable=False)
        return head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF, self._read(length)


def _unpad(flags: int, payload: bytes, priority: bool = False) -> bytes:
    start = 0
    end = len(payload)
    if flags & PADDED:
        start, end = 1, len(payload) - payload[0] if payload else -1
    if priority and flags & PRIORITY_FLAG:
        start += 5
    if end < start:
        raise ProbeError("HTTP/2: padding longer than the frame", retryable=False)
    return payload[start:end]


def health_request(service: str) -> bytes:
    """A HealthCheckRequest (field 1, length-delimited; proto3 leaves out an empty string) in a gRPC message."""
    name = service.encode()
    message = (b"\x0a" + _encode_integer(len(name), 7) + name) if name else b""
    return b"\x00" + struct.pack(">I", len(message)) + message


def health_status(body: bytes) -> int:
    """The `status` of the first HealthCheckResponse in the body (0, UNKNOWN, when the field is absent)."""
    if len(body) < 5:
        raise ProbeError(f"gRPC: no complete response message ({len(body)} octets)", retryable=True)
    if body[0] != 0:
        raise ProbeError("gRPC: a compressed response, though none was offered", retryable=False)
    message = body[5 : 5 + int.from_bytes(body[1:5], "big")]
    pos, status = 0, 0
    while pos < len(message):
        key, pos = _varint(message, pos)
        kind = key & 7
        if kind == 0:
            value, pos = _varint(message, pos)
            status = value if key >> 3 == 1 else status
        elif kind == 2:
            size, pos = _varint(message, pos)
            pos += size
        elif kind in (1, 5):
            pos += 8 if kind == 1 else 4
        else:
            raise ProbeError(f"gRPC: undecodable HealthCheckResponse {message!r}", retryable=False)
    return status


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos
    raise ProbeError("gRPC: truncated varint in the response", retryable=False)


def grpc_health(
    address: tuple[str, int],
    authority: str,
    service: str,
    *,
    tls: bool,
    bundle: Any,
    deadline: Deadline,
    metadata: Mapping[str, str] | None = None,
) -> GrpcAnswer:
    """One grpc.health.v1.Health/Check call on a fresh connection. `authority` is the route's hostname without
    a port and, over TLS, the SNI and the name the certificate must carry. `metadata`: extra request headers, the
    SigV4 ones when signing. How Lattice takes a signed gRPC call ("SIGv4 authenticated requests for Amazon VPC
    Lattice", section Golang - GRPC, https://docs.aws.amazon.com/vpc-lattice/latest/ug/sigv4-authenticated-requests.html,
    read 2026-12-05): SigV4 over POST, the RPC's path and the authority without a port ("Lattice needs both the
    Authority to be set (without a port), and the SigV4 signer"), x-amz-content-sha256 UNSIGNED-PAYLOAD (Lattice
    signs no payload), and the authorization, x-amz-date, x-amz-security-token headers sent as gRPC metadata."""
    if tls:
        sock: socket.socket = tls_socket(address, authority, bundle, deadline, alpn=("h2",))
        chosen = sock.selected_alpn_protocol()  # type: ignore[attr-defined]
        if chosen != "h2":
            sock.close()
            raise ProbeError(f"TLS: the server did not agree to HTTP/2 by ALPN (chose {chosen})", retryable=False)
    else:
        sock = deadline.connect(address)
    with sock:
        h2 = _H2(sock, deadline.end)
        sock.sendall(PREFACE)
        h2.send(SETTINGS, 0, 0, struct.pack(">HI", SETTINGS_ENABLE_PUSH, 0))
        headers = [
            (":method", "POST"),
            (":scheme", "https" if tls else "http"),
            (":path", HEALTH_CHECK_PATH),
            (":authority", authority),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("grpc-timeout", f"{max(1, int(deadline.left() * 1000))}m"),
            ("user-agent", "eks-lattice-gateway-smoke"),
        ]
        headers += [(k.lower(), str(v)) for k, v in (metadata or {}).items() if k.lower() != "host"]
        block = encode_headers(headers)
        if len(block) > DEFAULT_MAX_FRAME_SIZE:
            raise ProbeError(f"HTTP/2: request headers of {len(block)} octets do not fit one frame", retryable=False)
        h2.send(HEADERS, END_HEADERS, 1, block)
        h2.send(DATA, END_STREAM, 1, health_request(service))
        return _response(h2)


def _response(h2: _H2) -> GrpcAnswer:
    decoder = HpackDecoder()
    blocks: list[list[tuple[str, str]]] = []
    body = bytearray()
    while True:
        kind, flags, stream, payload = h2.receive()
        if kind == SETTINGS and not flags & ACK:
            h2.send(SETTINGS, ACK, 0)
        elif kind == PING and not flags & ACK:
            h2.send(PING, ACK, 0, payload)
        elif kind == GOAWAY:
            # RFC 9113 6.8: streams up to the last stream id may still complete (a graceful shutdown announces
            # 2^31-1); only a stream above it was not processed. If ours then ends unanswered, _read says so.
            last = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF if len(payload) >= 8 else 0
            if last < STREAM:
                code = int.from_bytes(payload[4:8], "big") if len(payload) >= 8 else 0
                raise ProbeError(
                    f"HTTP/2: the server sent GOAWAY ({_h2_error(code)}, last stream {last}) before taking the call",
                    retryable=True,
                )
        elif stream != 1:
            continue  # WINDOW_UPDATE, PRIORITY and other streams' frames: nothing to do for one small call
        elif kind == RST_STREAM:
            code = int.from_bytes(payload[:4], "big") if len(payload) >= 4 else 0
            raise ProbeError(f"HTTP/2: the server reset the stream ({_h2_error(code)})", retryable=True)
        elif kind == DATA:
            if len(body) < MAX_BODY_BYTES:
                body += _unpad(flags, payload)
        elif kind == HEADERS:
            fragment = _unpad(flags, payload, priority=True)
            while not flags & END_HEADERS:
                more, flags_more, more_stream, more_payload = h2.receive()
                if more != CONTINUATION or more_stream != 1 or len(fragment) > MAX_HEADER_BLOCK:
                    raise ProbeError("HTTP/2: a header block without its CONTINUATION", retryable=False)
                fragment += more_payload
                flags = (flags & END_STREAM) | flags_more
            blocks.append(decoder.decode(fragment))
        if kind in (DATA, HEADERS) and stream == 1 and flags & END_STREAM:
            break
    if not blocks:
        raise ProbeError("HTTP/2: the stream ended without response headers", retryable=True)
    response = dict(blocks[0])
    trailers = dict(blocks[-1]) if len(blocks) > 1 else response  # Trailers-Only: one block
    grpc_status = trailers.get("grpc-status", "")
    status = response.get(":status", "")
    return GrpcAnswer(
        status=int(status) if status.isdigit() else 0,
        body=bytes(body),
        grpc_status=int(grpc_status) if grpc_status.isdigit() else None,
        # Percent-encoded UTF-8 (PROTOCOL-HTTP2.md, Responses, Status-Message); a broken escape stays as sent.
        grpc_message=unquote(trailers.get("grpc-message", ""), errors="replace"),
        headers=response,
    )


def _h2_error(code: int) -> str:
    return HTTP2_ERRORS[code] if code < len(HTTP2_ERRORS) else f"error code {code}"


def grpc_code(code: int | None) -> str:
    if code is None:
        return "none"
    return f"{code} ({GRPC_CODES[code]})" if 0 <= code < len(GRPC_CODES) else str(code)


def judge_health(answer: GrpcAnswer, service: str) -> str:
    """The verdict on an HTTP 200 answer: grpc-status 0 and SERVING pass, anything else fails with why."""
    named = f"service {service!r}" if service else "the whole server ('')"
    if answer.grpc_status is None:
        raise ProbeError(f"gRPC health of {named}: no grpc-status in the trailers (not a gRPC server?)", retryable=True)
    if answer.grpc_status != 0:
        message = f": {answer.grpc_message}" if answer.grpc_message else ""
        hint = " (the server knows no such service)" if answer.grpc_status == 5 else ""
        # UNIMPLEMENTED: no health service at all; retrying will not add one.
        retryable = answer.grpc_status != 12
        raise ProbeError(
            f"gRPC health of {named}: grpc-status {grpc_code(answer.grpc_status)}{hint}{message}", retryable=retryable
        )
    status = health_status(answer.body)
    name = SERVING_STATUS.get(status, str(status))
    if status != 1:
        raise ProbeError(f"gRPC health of {named}: {name}, expected SERVING", retryable=True)
    return f"grpc-status 0, {named} SERVING"
