"""Scanner acknowledgments written into the templates: checkov's (cdk-nag's are made where the finding is, with
constructs/nag.py)."""

from constructs.compliance.checkov import add_checkov_acknowledgments

__all__ = ["add_checkov_acknowledgments"]
