"""The smoke checks' probes beyond plain HTTP/1.1: TLS sockets for HTTPS (chain and hostname verified), a TLS
handshake that reports the peer certificate (TLS passthrough routes), and a gRPC health call over HTTP/2.

Standard library only (Lambda code depends on the runtime alone): the gRPC probe is a minimal HTTP/2 client for
one unary call, not a general one.
- HTTP/2 (RFC 9113, https://www.rfc-editor.org/rfc/rfc9113, read 2026-12-05): the client connection preface and
  a SETTINGS frame (3.4), "h2" by ALPN over TLS (3.2) or prior knowledge in cleartext (3.3), 9-octet frame
  headers (4.1), SETTINGS and PING acknowledged (6.5, 6.7), header blocks in HEADERS + CONTINUATION (4.3).
- HPACK (RFC 7541, https://www.rfc-editor.org/rfc/rfc7541, read 2026-12-05): requests use literal fields
  without indexing and without Huffman coding (6.2.2), which every decoder accepts; responses are decoded whole:
  integers (5.1), strings and Huffman (5.2, Appendix B), the static table (Appendix A) and the dynamic table (4).
- gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md at 010decebd96922114400a6490f397367840db2d1, read
  2026-12-05): POST to /<service>/<method>, content-type application/grpc, te: trailers, grpc-timeout; each
  message carries a 1-byte compressed flag and a 4-byte big-endian length; the status is the grpc-status
  trailer (or a Trailers-Only HEADERS), and RST_STREAM ends the call.
- grpc.health.v1 (grpc/grpc src/proto/grpc/health/v1/health.proto at 03b89f47f297e393344a1ba7baa9759af0d91619,
  read 2026-12-05): HealthCheckRequest{string service = 1}, HealthCheckResponse{ServingStatus status = 1} with
  UNKNOWN 0, SERVING 1, NOT_SERVING 2, SERVICE_UNKNOWN 3; Check fails with NOT_FOUND for an unknown service.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

# Every protocol a check may name, and the one its absence means (handler.py dispatches on these).
PROTOCOLS = ("HTTP", "HTTPS", "GRPC", "TLS")
DEFAULT_PORTS = {"HTTP": 80, "HTTPS": 443, "GRPC": 443, "TLS": 443}
# CA bundles travel in the function's code beside this module (constructs/smoke_checks.py names them).
BUNDLE_DIR = Path(__file__).parent
HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check"
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

# RFC 7541 Appendix A: the static table, indexes 1-61.
STATIC_TABLE: tuple[tuple[bytes, bytes], ...] = tuple(
    (name.encode(), value.encode())
    for name, value in (
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""),
        ("cache-control", ""), ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""),
        ("content-length", ""), ("content-location", ""), ("content-range", ""), ("content-type", ""),
        ("cookie", ""), ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
        ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
        ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""),
        ("proxy-authenticate", ""), ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""),
        ("retry-after", ""), ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""),
        ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    )
)  # fmt: skip

# RFC 7541 Appendix B: the code length of each symbol 0-255 and EOS (256). The code is canonical (within a length,
# codes ascend with the symbol; each length starts where the shorter one ended, shifted), so the lengths alone
# give every code (_huffman_codes); tests/lambda/test_smoke_protocols.py checks codes and RFC 7541 C.4 examples.
HUFFMAN_LENGTHS = (
    [13, 23] + [28] * 7 + [24, 30, 28, 28, 30] + [28] * 8 + [30] + [28] * 9  # 0-31
    + [6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5] + [6] * 7  # ' ' - '9'
    + [7, 8, 15, 6, 12, 10, 13, 6] + [7] * 22 + [8, 7, 8, 13, 19, 13, 14, 6, 15]  # ':' - '`'
    + [5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6] + [7] * 5 + [15, 11, 14, 13, 28]  # 'a' - 127
    + [20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23]  # 128-151
    + [23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23]  # 152-175
    + [21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25]  # 176-199
    + [26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27]  # 200-223
    + [20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27]  # 224-247
    + [27, 28, 27, 27, 27, 27, 27, 26, 30]  # 248-255, EOS
)  # fmt: skip
EOS = 256


class ProbeError(Exception):
    """The probe got an answer, and it is wrong (or the check cannot be made): `retryable` as CheckError's."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Deadline:
    """One attempt's time, shared by every socket operation on every address it tries: when it runs out, the sockets
    it opened are shut down, so no read, handshake or trickling answer outlives it (a socket timeout alone bounds
    each operation, not their sum)."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.end, self.expired = seconds, time.monotonic() + seconds, False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        """The time left; TimeoutError when there is none."""
        left = self.end - time.monotonic()
        if left <= 0 or self.expired:
            raise TimeoutError("timed out")
        return left

    def connect(self, address: tuple[str, int]) -> socket.socket:
        """A TCP connection within the time left, shut down when it runs out."""
        sock = socket.create_connection(address, timeout=self.left())
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                sock.close()
                raise TimeoutError("timed out")
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def _huffman_codes(lengths: Sequence[int]) -> dict[tuple[int, int], int]:
    """(length, code) -> symbol for a canonical Huffman code given by its code lengths."""
    codes: dict[tuple[int, int], int] = {}
    code = previous = 0
    for length, symbol in sorted((length, symbol) for symbol, length in enumerate(lengths)):
        code <<= length - previous
        codes[(length, code)] = symbol
        code, previous = code + 1, length
    return codes


HUFFMAN_CODES = _huffman_codes(HUFFMAN_LENGTHS)


def huffman_decode(data: bytes) -> bytes:
    """RFC 7541 5.2: padding is at most 7 bits, all ones (the EOS code's start); EOS itself is an error."""
    out = bytearray()
    code = length = 0
    for byte in data:
        for shift in range(7, -1, -1):
            code, length = (code << 1) | ((byte >> shift) & 1), length + 1
            symbol = HUFFMAN_CODES.get((length, code))
            if symbol is not None:
                if symbol == EOS:
                    raise ProbeError("HPACK: EOS inside a Huffman string", retryable=False)
                out.append(symbol)
                code = length = 0
            elif length > 30:
                raise ProbeError("HPACK: invalid Huffman code", retryable=False)
    if length > 7 or code != (1 << length) - 1:
        raise ProbeError("HPACK: invalid Huffman padding", retryable=False)
    return bytes(out)


def _integer(block: bytes, pos: int, prefix: int) -> tuple[int, int]:
    """RFC 7541 5.1: an integer with an N-bit prefix starting at block[pos]; returns (value, next position)."""
    mask = (1 << prefix) - 1
    value = block[pos] & mask
    pos += 1
    if value < mask:
        return value, pos
    shift = 0
    while True:
        if pos >= len(block) or shift > 28:
            raise ProbeError("HPACK: truncated or oversized integer", retryable=False)
        byte = block[pos]
        value += (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _encode_integer(value: int, prefix: int, first: int = 0) -> bytes:
    mask = (1 << prefix) - 1
    if value < mask:
        return bytes([first | value])
    out = bytearray([first | mask])
    value -= mask
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes([*out, value])


def encode_headers(headers: Sequence[tuple[str, str]]) -> bytes:
    """RFC 7541 6.2.2: each field a literal without indexing, with a literal name; strings raw (H bit 0)."""
    out = bytearray()
    for name, value in headers:
        out.append(0x00)
        for text in (name.encode(), value.encode()):
            out += _encode_integer(len(text), 7) + text
    return bytes(out)


@dataclass
class HpackDecoder:
    """One connection's decoding context: the dynamic table persists across header blocks (RFC 7541 2.2)."""

    max_size: int = 4096  # SETTINGS_HEADER_TABLE_SIZE's default; we never announce another
    table: list[tuple[bytes, bytes]] = field(default_factory=list)  # newest first

    def decode(self, block: bytes) -> list[tuple[str, str]]:
        fields: list[tuple[str, str]] = []
        pos = 0
        while pos < len(block):
            byte = block[pos]
            if byte & 0x80:  # 6.1 indexed field
                index, pos = _integer(block, pos, 7)
                name, value = self._entry(index)
            elif byte & 0x20 and not byte & 0x40:  # 6.3 dynamic table size update
                size, pos = _integer(block, pos, 5)
                if size > 4096:
                    raise ProbeError(f"HPACK: table size {size} above the 4096 allowed", retryable=False)
                self.max_size = size
                self._evict(0)
                continue
            else:  # 6.2.1 incremental indexing (01), 6.2.2 without / 6.2.3 never indexed (000x)
                indexing = bool(byte & 0x40)
                index, pos = _integer(block, pos, 6 if indexing else 4)
                if index:
                    name = self._entry(index)[0]
                else:
                    name, pos = self._string(block, pos)
                value, pos = self._string(block, pos)
                if indexing:
                    self._evict(len(name) + len(value) + 32)
                    if len(name) + len(value) + 32 <= self.max_size:
                        self.table.insert(0, (name, value))
            fields.append((name.decode("latin-1"), value.decode("latin-1")))
        return fields

    def _entry(self, index: int) -> tuple[bytes, bytes]:
        if 1 <= index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        if 0 < index - len(STATIC_TABLE) <= len(self.table):
            return self.table[index - len(STATIC_TABLE) - 1]
        raise ProbeError(f"HPACK: index {index} is in neither table", retryable=False)

    def _string(self, block: bytes, pos: int) -> tuple[bytes, int]:
        if pos >= len(block):
            raise ProbeError("HPACK: truncated header block", retryable=False)
        huffman = bool(block[pos] & 0x80)
        length, pos = _integer(block, pos, 7)
        if pos + length > len(block):
            raise ProbeError("HPACK: truncated string", retryable=False)
        raw = block[pos : pos + length]
        return (huffman_decode(raw) if huffman else raw), pos + length

    def _evict(self, room: int) -> None:
        size = sum(len(n) + len(v) + 32 for n, v in self.table)
        while self.table and size + room > self.max_size:
            name, value = self.table.pop()
            size -= len(name) + len(value) + 32


def shown(check: Mapping[str, Any]) -> tuple[str, str]:
    """The method and URL a report line shows: what is sent, or for a handshake its target."""
    protocol = check.get("protocol") or "HTTP"
    if "url" in check or protocol not in ("GRPC", "TLS"):
        return str(check.get("method", "GET")).upper(), str(check.get("url"))
    where = f"{check.get('host')}:{check.get('port') or DEFAULT_PORTS[protocol]}"
    if protocol == "TLS":
        return "HANDSHAKE", f"tls://{where}"
    return "POST", f"{'https' if grpc_tls(check) else 'http'}://{where}{HEALTH_CHECK_PATH}"


def grpc_tls(check: Mapping[str, Any]) -> bool:
    """A gRPC check speaks TLS unless it says `"tls": false`: the controller attaches a GRPCRoute only to an HTTPS
    listener ("The GRPCRoute sectionName must refer to an HTTPS listener", aws-application-networking-k8s
    docs/api-types/grpc-route.md at v2.1.3, read 2026-12-05), and the default port is 443."""
    return check.get("tls") is not False


def ca_file(bundle: Any) -> str | None:
    """The CA bundle shipped beside this module, or None (the system trust store). Only a plain file name."""
    if bundle in (None, ""):
        return None
    name = str(bundle)
    path = BUNDLE_DIR / name
    if Path(name).name != name or not path.is_file():
        raise ProbeError(f"caBundle {name!r} is not a file in the function's code", retryable=False)
    return str(path)


# The chain verification's flags, the same on every Python: since 3.13 ssl.create_default_context adds
# VERIFY_X509_STRICT (RFC 5280 conformance: a CA's basicConstraints critical, Authority/Subject Key Identifiers
# present) and VERIFY_X509_PARTIAL_CHAIN (a trusted intermediate is an anchor) (python/cpython#107361 and PR #112389,
# https://github.com/python/cpython/issues/107361, read 2026-12-05). Lambda runs 3.14 (constructs/python_function.py
# RUNTIME) and the tests 3.11: pinned here, a private CA that 3.14 refuses is refused in the tests too.
VERIFY_FLAGS = ssl.VERIFY_X509_TRUSTED_FIRST | ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN


def tls_context(bundle: Any, alpn: Sequence[str] = ()) -> ssl.SSLContext:
    """Chain and hostname verified (create_default_context: CERT_REQUIRED, check_hostname), TLS 1.2 or later, and
    the chain checked with VERIFY_FLAGS whatever the Python."""
    context = ssl.create_default_context(cafile=ca_file(bundle))
    context.verify_flags = VERIFY_FLAGS
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def tls_socket(
    address: tuple[str, int], server_name: str, bundle: Any, deadline: Deadline, alpn: Sequence[str] = ()
) -> ssl.SSLSocket:
    """A TLS connection to `address` with `server_name` as SNI and as the name the certificate must carry, within
    the attempt's deadline. A certificate that fails verification is a ProbeError (not retried: it will not fix
    itself)."""
    context = tls_context(bundle, alpn)
    raw = deadline.connect(address)
    try:
        raw.settimeout(deadline.left())
        return context.wrap_socket(raw, server_hostname=server_name)
    except ssl.SSLCertVerificationError as err:
        raw.close()
        why = err.verify_message or str(err)
        raise ProbeError(f"TLS: the certificate for {server_name} failed verification: {why}", retryable=False) from err
    except BaseException:
        raw.close()
        raise


def subject_cn(certificate: Mapping[str, Any]) -> str | None:
    """The subject's commonName from ssl.getpeercert()'s form (a tuple of RDNs, each a tuple of pairs)."""
    for rdn in certificate.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def dns_names(certificate: Mapping[str, Any]) -> list[str]:
    """The certificate's DNS subjectAltNames from ssl.getpeercert()'s form (pairs like ("DNS", name))."""
    return [str(value) for kind, value in certificate.get("subjectAltName", ()) if kind == "DNS"]


def tls_probe(check: Mapping[str, Any], address: tuple[str, int], deadline: Deadline) -> str:
    """A TLS passthrough route: handshake with the check's SNI, verify the chain and that the certificate names
    the SNI, then look for `expectSubject` (when the check gives one) among the names the certificate carries: its
    subject CN or any DNS subjectAltName (a certificate may carry its names in the SAN only, with no CN)."""
    sni = str(check.get("sni") or check["host"])
    with tls_socket(address, sni, check.get("caBundle"), deadline) as tls:
        certificate = tls.getpeercert() or {}
        version = tls.version()
    subject, sans = subject_cn(certificate), dns_names(certificate)
    names = f"subject CN={subject}, DNS names {', '.join(sans) or 'none'}"
    expected = check.get("expectSubject")
    if expected is not None and expected != subject and expected not in sans:
        raise ProbeError(f"TLS: peer certificate {names}; none is {expected}", retryable=False)
    return f"TLS handshake ({version}, SNI {sni}): peer certificate {names}, chain verified"


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
