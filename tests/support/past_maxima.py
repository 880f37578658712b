"""A validated configuration with one route admitting more callers than access.allow's maximum (MAX_CALLERS).

The maxima keep a route's own auth policy under Lattice's 10 KB (tests/test_largest_config.py: every key at its
maximum fits), so no configuration the loader accepts reaches AppConfig's per-route size check any more. That check
stays, for a raised maximum; its tests build the route past the maximum here (pydantic's model_construct skips the
list's length check only) and call the check itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config.model import Access, AppConfig, Caller


def with_allow(cfg: AppConfig, index: int, callers: Sequence[dict[str, Any]], *, unsigned: bool = False) -> AppConfig:
    """`cfg` with routes[index] admitting `callers` (each a validated Caller), however many."""
    access = Access.model_construct(allow=tuple(Caller.model_validate(c) for c in callers), unsigned=unsigned)
    routes = list(cfg.routes)
    routes[index] = routes[index].model_copy(update={"access": access})
    return cfg.model_copy(update={"routes": tuple(routes)})


def policy_problems(cfg: AppConfig) -> list[str]:
    """What the model's policy-size check says of `cfg`, as ConfigError lines ("key: reason")."""
    return [
        "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at).removeprefix(".") + f": {why}"
        for at, why in cfg._policy_sizes()
    ]
