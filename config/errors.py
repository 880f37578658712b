"""The errors of the configuration, imported by every other module of config/ (and by nothing it imports).

Two forms of one thing. A model's check raises pydantic errors of type "config" (`config_error`, `fail`), whose
text `config.loader` shows as it is; the loader turns every error into a `ConfigError` line naming the key and
the reason. Keys checked by hand (config/pipeline.py, the provider's environment in config/consumers.py) raise
`ConfigError` themselves, through the `expect_*` helpers where a value has the wrong type or shape.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


class ConfigError(ValueError):
    """A configuration value that cannot be deployed. `str()` is the one line shown to the user; `lines` has
    one line for each problem found."""

    def __init__(self, key: str, reason: str, *, more: tuple[ConfigError, ...] = ()) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason
        self.lines = (str(self), *(str(e) for e in more))


Problem = tuple[tuple[str | int, ...], str]  # (location relative to the value validated, reason)

T = TypeVar("T")


def config_error(why: str) -> PydanticCustomError:
    return PydanticCustomError("config", why)  # type "config": config.loader shows the text as it is


def fail(*problems: Problem) -> None:
    """Raise each problem as its own error (none: return)."""
    if problems:
        details = [InitErrorDetails(type=config_error(why), loc=at, input=None) for at, why in problems]
        raise ValidationError.from_exception_data("config", details)


def hint(key: str, known: Iterable[str]) -> str:
    """The suffix naming the known key closest to `key` (did you mean ...?), or nothing."""
    found = difflib.get_close_matches(key, list(known))  # best first
    return f" (did you mean {found[0]!r}?)" if found else ""


# ------------------------------------------------------ helpers for hand-checked keys (config/pipeline.py)


def expect_type(key: str, value: Any, kind: type[T]) -> T:
    # bool is an int in Python; never accept it where a number is meant.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(key, f"expected {kind.__name__}, got {json.dumps(value)}")
    return value


def expect_object(key: str, value: Any, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    obj: dict[str, Any] = expect_type(key, value, dict)
    for name in obj:
        if name not in allowed:
            raise ConfigError(f"{key}.{name}", "unknown field" + hint(name, allowed))
    for name in sorted(required - obj.keys()):
        raise ConfigError(f"{key}.{name}", "is required")
    return obj


def expect_list(key: str, value: Any, *, min_len: int = 0) -> list[Any]:
    items: list[Any] = expect_type(key, value, list)
    if len(items) < min_len:
        raise ConfigError(key, f"needs at least {min_len} entr{'y' if min_len == 1 else 'ies'}")
    return items
