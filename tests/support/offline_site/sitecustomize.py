"""Cut the network for a Python process that has this folder on PYTHONPATH (tests/support/offline.py sets it):
resolving a name or connecting a socket to anything but loopback raises OfflineError, so a tool that fetches fails
loudly instead of reaching the internet or waiting on a proxy."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class OfflineError(OSError):
    pass


def _loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _address_host(address: object) -> object:
    return address[0] if isinstance(address, tuple) and address else address


_getaddrinfo = socket.getaddrinfo
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not _loopback(host):
        raise OfflineError(f"offline: name lookup of {host!r} refused")
    return _getaddrinfo(host, *args, **kwargs)


def connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(_address_host(address)):
        raise OfflineError(f"offline: connection to {address!r} refused")
    _connect(self, address)


def connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(_address_host(address)):
        raise OfflineError(f"offline: connection to {address!r} refused")
    return _connect_ex(self, address)


socket.getaddrinfo = getaddrinfo
socket.socket.connect = connect  # type: ignore[method-assign,assignment]
socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
