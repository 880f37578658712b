"""An environment for a Python subprocess with the network cut (offline_site/sitecustomize.py): only loopback is
reachable; any other name lookup or connection raises, naming the host."""

from __future__ import annotations

import os
from pathlib import Path

SITECUSTOMIZE = Path(__file__).resolve().parent / "offline_site"
REFUSED = "offline: "  # the start of every refusal's message


def offline_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITECUSTOMIZE), env.get("PYTHONPATH", "")) if p)
    for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY"):
        env.pop(proxy, None)  # a proxy would be another address to reach; none is needed
    return env
