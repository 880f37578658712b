"""The one error make impact reports in a line (exit status 2): bad input, an unreadable assembly, AWS."""


class ImpactError(Exception):
    """Reported in one line, exit status 2."""
