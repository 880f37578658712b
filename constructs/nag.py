"""cdk-nag acknowledgments: each names the rule, the resource (the construct it is attached to) and why."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(resource: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one finding of `rule` (e.g. "AwsSolutions-IAM5[Resource::*]") on `resource` and below."""
    if not reason.strip():
        raise ValueError(f"acknowledgment of {rule} on {resource.node.path} needs a reason")
    # Qualified with the plugin's name, as cdk-nag 3.x reports it ("AwsSolutions::AwsSolutions-IAM5[...]").
    qualified = rule if "::" in rule.split("[", maxsplit=1)[0] else f"{rule.split('-', maxsplit=1)[0]}::{rule}"
    Validations.of(resource).acknowledge(Acknowledgment(id=qualified, reason=reason))
