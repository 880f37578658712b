"""The routing smoke test: checks derived from the config, the functions that run them, and the client test host."""

from constructs.smoke.client_host import ClientHost
from constructs.smoke.functions import SmokeTest

__all__ = ["ClientHost", "SmokeTest"]
