"""`make impact`: what a configuration change would replace, before `cdk deploy`, offline.

Compares two sets of CloudFormation templates resource by resource: the baseline (by default the app
synthesized with the current configuration; `--baseline DIR`, a cloud assembly; `--deployed`, the deployed
stacks' templates from CloudFormation GetTemplate) and the proposal (the app synthesized with the `-c key=value`
overrides, or `--assembly DIR`). Both synths run in this process, so jsii starts once.

A resource is replaced when a create-only property changes. Which properties are create-only comes from the
CloudFormation registry schemas that ship with cfn-lint, not from a hand-kept list. A property that holds a
reference (Ref, GetAtt, a cross-stack output) to a replaced resource changes too, so replacements propagate.
Custom resources are updated on any change, unless their handler derives the physical id from the changed
property: this app's handlers declare those properties beside the code (PHYSICAL_ID_PROPERTIES), found through
the template (ServiceToken -> provider framework -> the user's handler). Kubernetes manifests are compared
object by object: a change of kind, namespace or name deletes the object and creates another, as far as the CDK
kubectl handler's `kubectl apply --prune` really deletes it (KUBECTL_PRUNE_ALLOWLIST): an object it leaves is
`orphaned`.

Some changes no deploy carries out as planned, reported [BLOCKING]: a custom resource's ServiceToken changed, a new
resource whose template-set primary identifier equals that of an old one alive until cleanup, a stack whose
template is unchanged while an output it reads through a weak reference changes (the CDK CLI skips it), a VPC,
subnet or security group a producer's cleanup deletes while a later stack still uses it, and a Kubernetes object
that kubectl's prune would leave behind (orphaned) or delete although the new templates keep it.

Exit status: 0; 1 with --fail-on-stateful when a stateful resource would be replaced or removed, when a new
route (any kind) would take over a hostname the same deploy deletes only afterwards, or a route changes kind (the
deploy cannot succeed), or on any
other [BLOCKING] change; 2 on bad input (configuration, unreadable assembly, AWS errors with --deployed), always in
one line.
"""

from __future__ import annotations

from tools.impact.analysis import Environment, compare, environments
from tools.impact.baselines import (
    DEFAULT_QUALIFIER,
    LOOKUP_ROLE,
    QUALIFIER_KEY,
    Session,
    _describe,
    aws_session,
    bootstrap_qualifier,
    caller_account,
    deployed_templates,
    failure_line,
    lookup_client,
    lookup_session,
    partition_of,
    read_assemblies,
)
from tools.impact.cli import NO_ASSET_STAGING, main, parse_context, synthesize_in_tmp
from tools.impact.cloudformation import (
    KUBERNETES_MANIFEST,
    NAME_SETTINGS,
    SERVICE_UNIQUE_KEYS,
    STATEFUL_TYPES,
    VERSION_ATTRIBUTES,
    Template,
    _function_resource,
    _provider_index,
    _schemas_dir,
    declared_physical_id_properties,
    handler_module,
    has_token,
    minor_step,
    render_string,
    short,
    type_schema,
)
from tools.impact.errors import ImpactError
from tools.impact.kubernetes import (
    KUBECTL_PRUNE_ALLOWLIST,
    KUBECTL_PRUNE_SOURCE_VERSIONS,
    PRUNE_LABEL_PREFIX,
    Fate,
    K8sChange,
    K8sObject,
    api_group,
    leaving_fates,
    manifest_objects,
)
from tools.impact.model import Blocker, Change, Impact, Note
from tools.impact.output import refusal, report

__all__ = [
    "DEFAULT_QUALIFIER",
    "KUBECTL_PRUNE_ALLOWLIST",
    "KUBECTL_PRUNE_SOURCE_VERSIONS",
    "KUBERNETES_MANIFEST",
    "LOOKUP_ROLE",
    "NAME_SETTINGS",
    "NO_ASSET_STAGING",
    "PRUNE_LABEL_PREFIX",
    "QUALIFIER_KEY",
    "SERVICE_UNIQUE_KEYS",
    "STATEFUL_TYPES",
    "VERSION_ATTRIBUTES",
    "Blocker",
    "Change",
    "Environment",
    "Fate",
    "Impact",
    "ImpactError",
    "K8sChange",
    "K8sObject",
    "Note",
    "Session",
    "Template",
    "_describe",
    "_function_resource",
    "_provider_index",
    "_schemas_dir",
    "api_group",
    "aws_session",
    "bootstrap_qualifier",
    "caller_account",
    "compare",
    "declared_physical_id_properties",
    "deployed_templates",
    "environments",
    "failure_line",
    "handler_module",
    "has_token",
    "leaving_fates",
    "lookup_client",
    "lookup_session",
    "main",
    "manifest_objects",
    "minor_step",
    "parse_context",
    "partition_of",
    "read_assemblies",
    "refusal",
    "render_string",
    "report",
    "short",
    "synthesize_in_tmp",
    "type_schema",
]
