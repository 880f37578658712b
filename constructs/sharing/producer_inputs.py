"""Makes a change of what another stack is built from reach the stack that reads it through weak references.

A stack reads the platform's values with `Fn::GetStackOutput` (cdk.json: defaultCrossStackReferences "weak"),
which CloudFormation resolves only when that stack is created or updated ("The referenced value is resolved at
stack create or update time ... the consuming stack is not automatically updated",
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html,
read 2026-12-05). The CDK CLI skips a stack whose template is unchanged (aws-cdk 2.1148.1, canSkipDeploy). So a
change that replaces a platform resource (a new client VPC for `clientVpcCidr`) would leave the reader pointing
at the old one, its template byte-identical. This construct writes a digest of the configuration into the reader's
template, as the logical id of a property-less resource: a changed configuration adds one and removes the other,
a real change, so the stack is deployed and its references resolved again. `make impact` reports, as blocking, any
weak reference whose value changes while its reader's template does not (a change of code, not of config).
"""

from __future__ import annotations

import hashlib
import json

from aws_cdk import CfnWaitConditionHandle
from constructs import Construct

from config import AppConfig


def inputs_digest(config: AppConfig) -> str:
    """12 hex digits of the whole configuration, in a canonical form (sorted keys). Left out: goneConsumerAccounts
    (only the pre-deploy check, tools/stranded.py, reads it, so setting it changes no stack) and stackPrefix (it
    names the stacks: another prefix is other stacks, created afresh, so no deployed reader can be stale; leaving it
    out keeps the templates of deployments from before the key byte-identical)."""
    values = config.model_dump(
        mode="json", by_alias=True, warnings=False, exclude={"gone_consumer_accounts", "stack_prefix"}
    )
    text = json.dumps(values, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class ProducerInputs(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig) -> None:
        super().__init__(scope, construct_id)
        # A wait condition handle has no properties, costs nothing and waits for nothing unless a WaitCondition
        # names it; only its logical id (the digest) matters.
        self.handle = CfnWaitConditionHandle(self, f"Config{inputs_digest(config)}")
