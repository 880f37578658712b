"""What the probes beyond plain HTTP/1.1 share (ProbeError, an attempt's Deadline), and TLS: sockets for HTTPS
(chain and hostname verified) and a handshake that reports the peer certificate (TLS passthrough routes). The gRPC
health call is grpc_probe.py, its HPACK hpack.py. Standard library only (Lambda code depends on the runtime alone).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Every protocol a check may name, and the one its absence means (handler.py dispatches on these).
PROTOCOLS = ("HTTP", "HTTPS", "GRPC", "TLS")
DEFAULT_PORTS = {"HTTP": 80, "HTTPS": 443, "GRPC": 443, "TLS": 443}
# CA bundles travel in the function's code beside this module (constructs/smoke/checks.py names them).
BUNDLE_DIR = Path(__file__).parent
HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check"


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
