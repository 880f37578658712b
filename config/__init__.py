"""Configuration of one deployment: typed model, pinned versions, and the loader that validates it."""

from config.errors import ConfigError
from config.loader import DEFAULTS, parse_context
from config.model import App, AppConfig, Backend, HeaderMatch, HealthCheck, Resources, Route, RouteRule

__all__ = [
    "DEFAULTS",
    "App",
    "AppConfig",
    "Backend",
    "ConfigError",
    "HeaderMatch",
    "HealthCheck",
    "Resources",
    "Route",
    "RouteRule",
    "parse_context",
]
