"""One HTTP request of a smoke check, as the handler sends it and signing signs it (a module of its own, so
signing needs nothing from the handler)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from . import protocols

Address = tuple[str, int]
Resolver = Callable[[str, int], Sequence[Address]]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    address: Address  # where to connect, already resolved
    host: str  # the route's hostname: the Host header Lattice routes on
    path: str  # the request target as sent and signed: request_target()'s path and canonical query
    headers: Mapping[str, str]
    sign: bool = True  # SigV4-sign when the function signs at all (SIGV4_REGION)
    tls: bool = False  # HTTPS: TLS to the address, the certificate verified for `host`
    ca_bundle: str | None = None  # the CA bundle file shipped with the function; None: the system trust store
    deadline: protocols.Deadline | None = None  # the attempt's, across its addresses; None: the opener's timeout
