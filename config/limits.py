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
# A Lattice auth policy (service network or service, IAMAuthPolicy's spec.policy): "10 Kilobytes". Whether that is
# 10,000 or 10,240 bytes no source settles (botocore vpc-lattice 2022-11-30 AuthPolicyString: max 102400;
# PolicyString, the resource policy: max 10000), so the lower one, until a source settles it. The one constant:
# config/access_policy.py's MAX_AUTH_POLICY_BYTES is this limit.
LATTICE_AUTH_POLICY = DocumentLimit(10_000, "bytes", LATTICE_QUOTAS)

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


# The longest list and the longest string each configuration key takes (issue 24 item 2). Where a service limit
# binds, it is cited; the rest are this app's own caps, set so that one configuration with every list at its
# maximum and every string at its longest still synthesizes within CloudFormation's 500 resources and 1 MB per
# stack, IAM's and Lattice's policy sizes and Lambda's 4 KB environment: tests/test_largest_config.py builds that
# configuration from config/schema.json and measures each limit (read 2026-12-05).
# Apps and routes: every route adds its HTTPRoute (up to 10 rules of 5 headers and 10 backends each, ~36 KB of
# template at the longest), IAMAuthPolicy, DNS record, guard, alarms and dashboard widgets to the gateway stack, and
# every app its Deployment, Service, TargetGroupPolicy and alarms (and a rule at most one backend per app). Measured
# at synth (2026-12-05) with everything else at its maximum and every app calling every route: 7 routes and 6 apps
# make an 860,469-byte gateway template (289 resources); 8 apps make 979,413 and 5 routes with 10 apps 885,227, each
# too close to the 1 MB. (stacks/gateway_stack.py still refuses a mix past 500 resources.)
MAX_APPS = 6
MAX_ROUTES = 7
# A route's access.allow entries: each role ARN (up to MAX_ROLE_ARN characters) lands in the route's Lattice auth
# policy (10 KB, LATTICE_AUTH_POLICY) beside a statement for every calling app (~600 bytes at the longest names)
# and the consumer accounts. With 10 calling apps, 8 entries measured 10,041 bytes, over config.access_policy's
# 10,000; 6 fit (with MAX_APPS now 6, there is room to spare).
MAX_CALLERS = 6
# An app's environment: no Kubernetes limit short of the object's size; each variable is written into the gateway
# stack's template once per app (16 x (64 + 256) characters, ~5 KB an app at the longest).
MAX_ENV_VARS = 16
MAX_ENV_NAME = 64
MAX_ENV_VALUE = 256
# clusterEndpointPublicCidrs: EKS takes at most 40 per cluster, not adjustable (EKS service quotas, "Public endpoint
# access CIDR ranges per cluster: 40", quota code L-93A74D60,
# https://docs.aws.amazon.com/eks/latest/userguide/service-quotas.html and
# https://docs.aws.amazon.com/general/latest/gr/eks.html, read 2026-12-05): 20 stays well under it.
# clusterAdminRoleArns: one EKS access entry each (the cluster stack).
MAX_PUBLIC_CIDRS = 20
MAX_ADMIN_ROLES = 20
# A route's hostname: the DNS handler keeps its ownership marker, a TXT record, at MARKER_PREFIX + hostname
# (lambda/lattice_dns/records.py; tests/test_config_bounds.py checks this copy equals it), and a DNS name is at
# most 253 characters (RFC 1035 section 3.1, 255 octets on the wire; the handler's MAX_DNS_NAME), so the hostname
# itself may take 253 - 21 = 232.
DNS_MARKER_PREFIX = "_eks-lattice-gateway."
MAX_DNS_NAME = 253
MAX_ROUTE_HOSTNAME = MAX_DNS_NAME - len(DNS_MARKER_PREFIX)
# Lattice reaches the pods through the EKS cluster security group: one ingress rule per distinct container port
# per Lattice prefix list (constructs/lattice/ingress.py); the smoke test reaches Lattice with one outbound rule
# per port range (constructs/lattice/egress.py). A rule naming an AWS-managed prefix list counts as the list's
# weight, and com.amazonaws.<region>.vpc-lattice and .ipv6.vpc-lattice weigh 10 each (VPC User Guide,
# "AWS-managed prefix lists", weight table,
# https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html, read 2026-12-05).
# A security group takes 60 inbound and 60 outbound rules by default, counted separately for IPv4 and IPv6
# (Amazon VPC quotas, "Inbound or outbound rules per security group",
# https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html, read 2026-12-05). The live quotas page
# said "A rule that references a security group or AWS-managed prefix list ID counts as one rule for IPv4 and one
# rule for IPv6" in an earlier revision of its source (awsdocs/amazon-vpc-user-guide doc_source/amazon-vpc-limits.md,
# found by exact-text search 2026-12-06; the revision at a16ab76ed2f6b230672e98a0b2bfdab6d165ac4a says only "enforced
# separately for IPv4 rules and IPv6 rules", nothing that says otherwise): so a prefix-list rule is counted, at its
# weight, in both families (PREFIX_LIST_FAMILIES).
# EKS itself keeps an inbound rule from the group to itself (EKS User Guide, sec-group-reqs, "Default cluster
# security group", https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html, read 2026-12-05) and the
# platform stack adds one for the Kubernetes API from its Lambda functions (CLUSTER_SG_OTHER_INBOUND).
# Updates: every AWS::EC2::SecurityGroupIngress/Egress property but Description is create-only (the CloudFormation
# registry schemas cfn-lint 1.58.0 bundles, createOnlyProperties; neither sets replacementStrategy, whose default is
# create_then_delete: CloudFormation CLI User Guide, resource type schema,
# https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html; read 2026-12-06),
# and "AWS CloudFormation usually creates the replacement resource first, [...] and then deletes the old resource"
# (CloudFormation User Guide, "Update behaviors of stack resources",
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html,
# read 2026-12-06). So changing a port makes the old and the new rule exist at once: the steady state must leave
# room for what one change adds.
# tests/test_security_group_rule_quota.py sums every security group's rules in the synthesized templates, and over
# the union of two configurations' rules (an edit in flight).
SECURITY_GROUP_RULES = 60
LATTICE_PREFIX_LIST_WEIGHT = 10
PREFIX_LIST_FAMILIES = 2  # a prefix-list rule counts in IPv4 and in IPv6 (above)
CLUSTER_SG_OTHER_INBOUND = 2
# Cluster group, IPv4 list only: one changed containerPort adds one rule while the old one lives, so
# (60 - 2 - 10) // 10 = 4 distinct ports (52 while one changes). With latticeIpv6 each port has a rule per list and
# each rule counts in both families: one changed port adds two rules of 10 to each family, so
# (60 - 2 - 20) // 20 = 1. More distinct ports are refused (config/model.py, apps[].containerPort); change one
# port per deployment at the maximum.
MAX_LATTICE_PORTS = (SECURITY_GROUP_RULES - CLUSTER_SG_OTHER_INBOUND - LATTICE_PREFIX_LIST_WEIGHT) // (
    LATTICE_PREFIX_LIST_WEIGHT
)
MAX_LATTICE_PORTS_IPV6 = (SECURITY_GROUP_RULES - CLUSTER_SG_OTHER_INBOUND - 2 * LATTICE_PREFIX_LIST_WEIGHT) // (
    2 * LATTICE_PREFIX_LIST_WEIGHT
)
# The smoke test's group (constructs/lattice/egress.py): aws-cdk-lib's inline match-nothing placeholder (an IPv4
# CIDR rule, 1) and its rules to the IPv4 Lattice list (10 each). At most (60 - 1) // 10 = 5 of them may exist at
# once, during an update too, whatever the edit: HTTP's 80, which every configuration has, is one rule that never
# changes, and the other listener ports are merged into at most (5 - 1) // 2 = 2 ranges, so old and new
# configurations' rules together are at most 1 + 2 + 2 = 5 (51); 3 in the steady state (31).
SMOKE_SG_OTHER_OUTBOUND = 1
MAX_LATTICE_EGRESS_ALIVE = (SECURITY_GROUP_RULES - SMOKE_SG_OTHER_OUTBOUND) // LATTICE_PREFIX_LIST_WEIGHT
MAX_LATTICE_EGRESS_VARYING = (MAX_LATTICE_EGRESS_ALIVE - 1) // 2
MAX_LATTICE_EGRESS_RULES = 1 + MAX_LATTICE_EGRESS_VARYING
# Ranges clusterEndpointPublicCidrs may not include: "The block cannot include reserved addresses" (EKS User Guide,
# config-cluster-endpoint, https://docs.aws.amazon.com/eks/latest/userguide/config-cluster-endpoint.html, read
# 2026-12-05, linking the list of reserved IP addresses). The IPv4 blocks the IANA IPv4 Special-Purpose Address
# Registry marks not globally reachable (https://www.iana.org/assignments/iana-ipv4-special-registry/), as CPython
# 3.11.7's ipaddress module lists them (_IPv4Constants: _private_networks, the shared 100.64.0.0/10; 192.0.0.0/24
# whole, the registry's IETF protocol assignments, of which CPython lists 192.0.0.0/29 and 192.0.0.170/31) and
# multicast (224.0.0.0/4, RFC 5771), read 2026-12-05. tests/test_config_public_cidrs.py checks them against ipaddress.
# 0.0.0.0/0 ("all addresses", EKS's own default) is the one range that contains them and is accepted.
NON_GLOBAL_IPV4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
)
# An IPv4 CIDR's text ("255.255.255.255/32").
MAX_CIDR = 18
# An IAM role ARN: "arn:aws-us-gov:iam::<12 digits>:role/" (38 characters at the longest partition this pattern
# takes, aws-iso-b and aws-us-gov) and at most 512 characters of path and name (the model's RoleArn pattern).
MAX_ROLE_ARN = 38 + 512
# A container image reference: the repository name at most 255 characters (github.com/distribution/reference,
# reference.go: NameTotalLengthMax = 255), ":" and a tag of at most 128, a sha256 digest 71 ("@sha256:" and 64 hex
# digits).
MAX_IMAGE = 255 + 1 + 128 + 71
# A Kubernetes quantity ("250m", "1.5Gi"): 32 characters is far past any real one.
MAX_QUANTITY = 32
# An AZ name or ID (us-gov-west-1a is 14 characters): 32.
MAX_ZONE = 32
# An EC2 instance type (config/ec2_instance_types.txt's longest is far shorter; tests/test_largest_config.py).
MAX_INSTANCE_TYPE = 32
# A Kubernetes name (RFC 1123 label), an app or route reference, and namespace/name in `calls`.
MAX_K8S_NAME = 63
MAX_ROUTE_REFERENCE = 2 * MAX_K8S_NAME + 1
# An organization ARN: arn:<partition>:organizations::<12 digits>:organization/o-<10 to 32> (config.consumers
# ORG_ARN_PATTERN), 90 characters in the aws-us-gov partition: 128.
MAX_ORG_ARN = 128
# A consumer's region (ap-southeast-5 is 14 characters) and VPC id (vpc- and 17 hex digits).
MAX_REGION = 32
MAX_VPC_ID = 21
