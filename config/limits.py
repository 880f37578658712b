"""Size limits of the documents this app writes, shared by the configuration's bounds and the tests that check
every synthesized policy against them (tests/support/policy_sizes.py). Each with its source, read 2026-12-05.

IAM counts characters and ignores white space ("IAM does not count white space when calculating the size of a
policy against these quotas": IAM User Guide, IAM and AWS STS quotas,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html). Lattice counts the JSON text's bytes
(VPC Lattice User Guide, Quotas, "Auth policy size: 10 Kilobytes, not adjustable",
https://docs.aws.amazon.com/vpc-lattice/latest/ug/quotas.html).
"""

from __future__ import annotations

from dataclasses import dataclass

IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
LATTICE_QUOTAS = "https://docs.aws.amazon.com/vpc-lattice/latest/ug/quotas.html"


@dataclass(frozen=True)
class DocumentLimit:
    limit: int
    unit: str  # "characters" (white space not counted) or "bytes" (UTF-8 of the compact JSON)
    source: str


# "Role trust policy length: 2048 characters" default (adjustable to 4096): IAM quotas, default quotas table.
TRUST_POLICY = DocumentLimit(2048, "characters", IAM_QUOTAS)
# The sum of a role's inline policies (AWS::IAM::Policy attached to it, and the role's own Policies): 10,240.
INLINE_ROLE_POLICIES = DocumentLimit(10240, "characters", IAM_QUOTAS)
# One managed policy: 6,144 characters.
MANAGED_POLICY = DocumentLimit(6144, "characters", IAM_QUOTAS)
# A Lattice auth policy (service network or service, IAMAuthPolicy's spec.policy): 10 KB.
LATTICE_AUTH_POLICY = DocumentLimit(10 * 1024, "bytes", LATTICE_QUOTAS)

# The most consumer accounts (`consumers`). Each adds one account id (15 characters with quotes and comma) to
# the two provider roles' trust policies and to the service network's auth policy; tests/test_consumers.py
# measures every policy of a synthesis with this many. 50 also keeps a pipeline's consumer wave readable.
MAX_CONSUMERS = 50

# A pipeline's stack holds, per stage, the stage's steps (Impact, Smoke, an approval) and, per consumer of each
# stage, an Impact and a Smoke CodeBuild step (project, role, policy each) and two actions. CloudFormation takes
# at most 500 resources and a 1,000,000-byte template per stack (aws-cdk-lib 2.273.0 core/lib/stack.js:
# MAX_RESOURCES = 500, TEMPLATE_BODY_MAXIMUM_SIZE = 1e6, read 2026-12-05; beyond the size aws-cdk-lib only
# warns). Measured at synth with 32-character stage and 20-character consumer names (2026-12-05): 84,456 bytes
# and 43 resources for one stage, each further stage +26,120 bytes and +6 resources, each consumer of a stage
# +23,168 bytes and +7. So stages x (consumers + 1), each unit costing at most 26,120 bytes, is held to 32:
# 84,456 + 31 x 26,120 = 894,176 bytes, 10% under the limit; tests/test_pipeline_size.py synthesizes the bound.
MAX_PIPELINE_UNITS = 32


def size(document_text: str, limit: DocumentLimit) -> int:
    """How `limit` counts a compact JSON document."""
    if limit.unit == "bytes":
        return len(document_text.encode())
    return sum(1 for c in document_text if not c.isspace())
