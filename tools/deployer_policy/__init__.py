"""make deployer-policy: the IAM policies that deploying this app needs, generated from the synthesized templates.

The command, and what each policy file holds: tools/deployer_policy/cli.py.
"""

from __future__ import annotations

from tools.deployer_policy.cli import generate, main, policy_arns, qualifier_of
from tools.deployer_policy.deployer import (
    BOOTSTRAP_ROLES,
    BOOTSTRAP_TEMPLATE,
    DEFAULT_QUALIFIER,
    OWN_CREDENTIALS,
    bootstrap_document,
    bootstrap_types,
    deployer_document,
)
from tools.deployer_policy.execution import (
    IAM_ACTION,
    MAX_ROLE_MANAGED_POLICIES,
    NO_PERMISSIONS,
    PolicyError,
    _size,
    attached_aws_managed_policies,
    execution_actions,
    handler_permissions,
    iam_name_pattern,
    iam_statements,
    split_policies,
    stack_prefix_of,
    template_types,
)
from tools.deployer_policy.references import (
    NO_CALL_INTRINSICS,
    TEMPLATE_REFERENCES,
    reference_statements,
    template_references,
)

__all__ = [
    "BOOTSTRAP_ROLES",
    "BOOTSTRAP_TEMPLATE",
    "DEFAULT_QUALIFIER",
    "IAM_ACTION",
    "MAX_ROLE_MANAGED_POLICIES",
    "NO_CALL_INTRINSICS",
    "NO_PERMISSIONS",
    "OWN_CREDENTIALS",
    "TEMPLATE_REFERENCES",
    "PolicyError",
    "_size",
    "attached_aws_managed_policies",
    "bootstrap_document",
    "bootstrap_types",
    "deployer_document",
    "execution_actions",
    "generate",
    "handler_permissions",
    "iam_name_pattern",
    "iam_statements",
    "main",
    "policy_arns",
    "qualifier_of",
    "reference_statements",
    "split_policies",
    "stack_prefix_of",
    "template_references",
    "template_types",
]
