"""What each AWS service (and Kubernetes) accepts for the strings this app emits, as one table.

CloudFormation's resource schemas accept values that the service behind them refuses: EC2 rejects an apostrophe
in a security-group rule description with InvalidParameterValue, minutes into a deploy (issue 9). ROWS says, per
resource type and property, the constraint the service documents: allowed characters, length (characters or
UTF-8 bytes) and case. Patterns are read from botocore's service models at run time where the model carries one
(`botocore(...)`); otherwise each row cites the API reference it copies. A new resource type is one more row.

Values built with intrinsics (Ref, GetAtt, Join with tokens...) can't be checked whole: their literal parts are
checked against the row's character set and their literal length against the maximum (a lower bound), and the
report counts them apart. Values that are one intrinsic are skipped and counted.

`python -m tests.service_constraints` synthesizes the app as the suite does and prints the checked-count table.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import regex  # botocore's patterns use \p{L}-style classes, which `re` lacks (regex comes with cfn-lint)

from config.access_policy import MAX_AUTH_POLICY_BYTES
from tests import lattice_cloudwatch

# Every metric an alarm may read: Lattice's (tests/lattice_cloudwatch.py) and this app's own target-health
# metrics (constructs/observability/target_health.py, written by lambda/lattice_metrics/health.py).
OWN_METRICS = ("HealthyTargetCount", "UnhealthyTargetCount", "StaleServiceIds", "PublisherRuns")
OWN_DIMENSIONS = ("Cluster", "Route", "App")
KNOWN_METRICS = (*lattice_cloudwatch.METRICS, *OWN_METRICS)
KNOWN_DIMENSIONS = (*sorted(lattice_cloudwatch.DIMENSIONS), *OWN_DIMENSIONS)
METRIC_SOURCES = f"{lattice_cloudwatch.METRICS_SOURCE}; this app's own: constructs/observability/target_health.py"

TOKEN = "\ue000"  # stands for an unresolved intrinsic inside a rendered string (a private-use character)
Template = dict[str, Any]

# ---------------------------------------------------------------------------------------------- constraints


@cache
def _allowed(charset: str, char: str) -> bool:
    """Whether one character is in a constraint's charset: asked once per distinct pair (a synthesis checks tens of
    thousands of characters against a handful of charsets)."""
    return regex.fullmatch(charset, char) is not None


@dataclass(frozen=True, kw_only=True)
class Constraint:
    """One documented constraint on a string. `pattern` must match the whole value; `charset` is one allowed
    character, used on the literal parts of values that hold intrinsics (and on whole values too)."""

    source: str
    pattern: str | None = None
    charset: str | None = None
    min_len: int = 0
    max_len: int | None = None
    unit: str = "chars"  # or "bytes": UTF-8, as the service counts it
    rule: Callable[[str], str | None] | None = None  # extra whole-value rule; returns the problem

    def size(self, text: str) -> int:
        return len(text.encode()) if self.unit == "bytes" else len(text)

    def problems(self, value: str) -> list[str]:
        """Why the service would refuse `value` ([] if it would not). TOKEN marks unresolved parts."""
        literal = value.replace(TOKEN, "")
        found: list[str] = []
        if self.charset is not None:
            bad = sorted(c for c in set(literal) if not _allowed(self.charset, c))
            if bad:
                found.append(f"characters {''.join(bad)!r} are outside {self.charset}")
        if self.max_len is not None and self.size(literal) > self.max_len:
            found.append(f"{self.size(literal)} {self.unit} > {self.max_len}")
        if TOKEN in value:
            return found
        if self.size(value) < self.min_len:
            found.append(f"{self.size(value)} {self.unit} < {self.min_len}")
        if self.pattern is not None and not regex.fullmatch(self.pattern, value):
            found.append(f"does not match {self.pattern}")
        if self.rule is not None and (problem := self.rule(value)):
            found.append(problem)
        return found


@cache
def _botocore_shapes(service: str) -> dict[str, Any]:
    import botocore.loaders

    shapes: dict[str, Any] = botocore.loaders.Loader().load_service_model(service, "service-2")["shapes"]
    return shapes


def botocore(
    service: str,
    shape: str,
    *,
    charset: str | None = None,
    max_len: int | None = None,
    unit: str = "chars",
    rule: Callable[[str], str | None] | None = None,
    also: str = "",
) -> Constraint:
    """The pattern and lengths of botocore's `service` model shape `shape`, read now (not copied).

    AWS applies model patterns to the whole value, so they are full-matched. `max_len` tightens the model's
    maximum where the API reference documents a lower one (cited in `also`).
    """
    spec = _botocore_shapes(service)[shape]
    if spec.get("type") != "string":
        raise ValueError(f"botocore {service} {shape} is a {spec.get('type')}, not a string")
    limits = [m for m in (spec.get("max"), max_len) if m is not None]
    return Constraint(
        source=f"botocore {service} shape {shape}" + (f"; {also}" if also else ""),
        pattern=spec.get("pattern"),
        charset=charset,
        min_len=int(spec.get("min", 0)),
        max_len=min(limits) if limits else None,
        unit=unit,
        rule=rule,
    )


def _not_prefixed(*prefixes: str) -> Callable[[str], str | None]:
    def rule(value: str) -> str | None:
        hit = next((p for p in prefixes if value.lower().startswith(p)), None)
        return f"starts with the reserved prefix {hit!r}" if hit else None

    return rule


def _dns_name(value: str) -> str | None:
    """RFC 1035 as Route 53 applies it: labels of 1-63 octets, 255 octets in all (Route 53 Developer Guide,
    "DNS domain name format"). Route 53 accepts other characters only as \\ooo escapes, which we never emit."""
    labels = value.removesuffix(".").split(".")
    if len(value.removesuffix(".")) + 1 > 255:
        return "longer than 255 octets"
    if any(not 1 <= len(label) <= 63 for label in labels):
        return "a label is empty or longer than 63 octets"
    return None


def _k8s_qualified_name(value: str) -> str | None:
    """A label or annotation key: optional DNS-subdomain prefix (<= 253) and '/', then a name of <= 63
    (apimachinery pkg/util/validation IsQualifiedName; kubernetes.io "Labels and Selectors", syntax)."""
    if value.count("/") > 1:
        return "has more than one '/'"
    prefix, _, name = value.rpartition("/")
    if prefix and (len(prefix) > 253 or not regex.fullmatch(DNS1123_SUBDOMAIN, prefix)):
        return f"prefix {prefix!r} is not a DNS subdomain of <= 253 characters"
    if not 1 <= len(name) <= 63 or not regex.fullmatch(K8S_NAME_PART, name):
        return f"name {name!r} is not 1-63 of {K8S_NAME_PART}"
    return None


def _s3_bucket(value: str) -> str | None:
    """S3 User Guide, "General purpose bucket naming rules": no '..', not an IP address, reserved affixes."""
    if ".." in value or regex.fullmatch(r"\d+\.\d+\.\d+\.\d+", value):
        return "has '..' or is formatted as an IP address"
    if value.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or value.endswith(("-s3alias", "--ol-s3", "--x-s3")):
        return "uses a reserved prefix or suffix"
    return None


def _kms_alias(value: str) -> str | None:
    """KMS API reference, CreateAlias AliasName: begins with alias/, and alias/aws/ is reserved for AWS."""
    if not value.startswith("alias/") or value.startswith("alias/aws/"):
        return "must begin with 'alias/' and not 'alias/aws/'"
    return None


# Kubernetes (apimachinery pkg/util/validation/validation.go; kubernetes.io "Object Names and IDs", "Labels and
# Selectors", "Annotations"): no AWS model carries these.
K8S_NAME_PART = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"  # qualifiedNameFmt
DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = rf"{DNS1123_LABEL}(\.{DNS1123_LABEL})*"
DNS1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"
K8S_LABEL_VALUE = Constraint(
    source="apimachinery IsValidLabelValue (LabelValueMaxLength 63, labelValueFmt)",
    pattern=rf"({K8S_NAME_PART})?",
    max_len=63,
)
K8S_KEY = Constraint(source="apimachinery IsQualifiedName", charset=r"[-A-Za-z0-9_./]", rule=_k8s_qualified_name)
K8S_ANNOTATIONS_SIZE = Constraint(
    source="apimachinery ValidateAnnotationsSize (TotalAnnotationSizeLimitB = 256 KiB, keys + values)",
    max_len=256 * 1024,
    unit="bytes",
)
K8S_SUBDOMAIN = Constraint(source="apimachinery IsDNS1123Subdomain", pattern=DNS1123_SUBDOMAIN, min_len=1, max_len=253)
K8S_LABEL_NAME = Constraint(source="apimachinery IsDNS1123Label", pattern=DNS1123_LABEL, min_len=1, max_len=63)
# Service names are RFC 1035 labels (kubernetes.io "Object Names and IDs", RFC 1035 Label Names).
K8S_SERVICE_NAME = Constraint(source="apimachinery IsDNS1035Label", pattern=DNS1035_LABEL, min_len=1, max_len=63)

# EC2 API reference: CreateSecurityGroup GroupDescription and IpRange/Ipv6Range Description allow
# "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*", up to 255 characters. UserIdGroupPair and PrefixListId
# Description list the same set without '&', so rule descriptions get the narrower one. botocore's ec2 model
# carries no pattern for any of them.
EC2_GROUP_CHARS = r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]"
EC2_RULE_CHARS = r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=;{}!$*]"
EC2_GROUP_DESCRIPTION = Constraint(
    source="EC2 API reference CreateSecurityGroup GroupDescription",
    pattern=f"{EC2_GROUP_CHARS}*",
    charset=EC2_GROUP_CHARS,
    max_len=255,
)
EC2_RULE_DESCRIPTION = Constraint(
    source="EC2 API reference IpRange/UserIdGroupPair/PrefixListId Description",
    pattern=f"{EC2_RULE_CHARS}*",
    charset=EC2_RULE_CHARS,
    max_len=255,
)
DNS_NAME = Constraint(
    source="Route 53 Developer Guide, DNS domain name format (RFC 1035 lengths)",
    pattern=r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?",
    charset=r"[A-Za-z0-9_.-]",
    max_len=255,
    rule=_dns_name,
)
LOG_GROUP_CHARS = r"[.\-_/#A-Za-z0-9]"  # the class of botocore logs LogGroupName's pattern, for literal parts
# Step Functions API reference (e.g. StateExitedEventDetails.name, the state name): no white space, brackets,
# wildcards, `"#%\^|~`$&,;:/` or control characters; botocore stepfunctions Name carries the 1-80 length.
SFN_NAME_CHARS = r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]"

# ------------------------------------------------------------------------------------------------- rendering

INTRINSICS = ("Ref", "Condition")


def render(node: Any) -> str | None:
    """A template value as a string with TOKEN for each unresolved intrinsic; None if it isn't string-like."""
    if isinstance(node, str):
        return node
    if isinstance(node, bool) or not isinstance(node, dict) or len(node) != 1:
        return None
    ((key, arg),) = node.items()
    if key == "Fn::Join" and isinstance(arg, list) and isinstance(arg[1], list):
        parts = [render(p) for p in arg[1]]
        return arg[0].join(TOKEN if p is None else p for p in parts)
    if key == "Fn::Sub":
        text = arg if isinstance(arg, str) else arg[0]
        return regex.sub(r"\$\{[^!][^}]*\}", TOKEN, text)
    if key.startswith("Fn::") or key in INTRINSICS:
        return TOKEN
    return None


def _is_intrinsic(node: dict[str, Any]) -> bool:
    return len(node) == 1 and (next(iter(node)).startswith("Fn::") or next(iter(node)) in INTRINSICS)


def to_json_text(node: Any) -> str:
    """A template JSON value (e.g. a policy document) serialized compactly, intrinsics as TOKEN."""

    def plain(n: Any) -> Any:
        if isinstance(n, dict):
            if _is_intrinsic(n):
                return render(n) or TOKEN
            return {k: plain(v) for k, v in n.items()}
        if isinstance(n, list):
            return [plain(v) for v in n]
        return n

    return json.dumps(plain(node), separators=(",", ":"), ensure_ascii=False)


def parse_json(node: Any) -> Any:
    """A property that holds JSON text (Manifest, Values, DefinitionString), parsed with TOKEN for intrinsics;
    None when it is absent or unreadable (the JSON_TEXT row turns unreadable text into a finding)."""
    text = render(node)
    if text is None or text == TOKEN:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _readable_json(text: str) -> str | None:
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return f"is not JSON once intrinsics are replaced, so nothing in it can be checked ({error})"
    return None


# The rows below read inside these JSON texts; one the checker cannot parse must fail, not pass unread.
JSON_TEXT = Constraint(source="this checker: the JSON the rows below read", rule=_readable_json)


def json_texts(props: dict[str, Any]) -> Found:
    for name in ("Manifest", "Values", "DefinitionString"):
        text = render(props.get(name))
        if text is not None and text != TOKEN:
            # Another private-use character: JSON, like parse_json, accepts it only inside strings.
            yield name, text.replace(TOKEN, "\ue001")


# ------------------------------------------------------------------------------------------------ extractors

Found = Iterator[tuple[str, str]]  # (where, rendered value)
Extractor = Callable[[dict[str, Any]], Found]


def at(path: str) -> Extractor:
    """Values at a dotted property path; `X[]` walks the list under X."""

    def extract(props: dict[str, Any]) -> Found:
        nodes: list[tuple[str, Any]] = [("", props)]
        for step in path.split("."):
            name, many = step.removesuffix("[]"), step.endswith("[]")
            nxt: list[tuple[str, Any]] = []
            for where, node in nodes:
                if not isinstance(node, dict) or name not in node:
                    continue
                child, here = node[name], f"{where}.{name}" if where else name
                if many and isinstance(child, list):
                    nxt += [(f"{here}[{i}]", c) for i, c in enumerate(child)]
                elif not many:
                    nxt.append((here, child))
            nodes = nxt
        for where, node in nodes:
            value = render(node)
            if value is not None:
                yield where, value

    return extract


def _tag_lists(props: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    yield "Tags", props.get("Tags")
    for base in ("TagSpecifications", "LaunchTemplateData.TagSpecifications"):
        specs: Any = props
        for step in base.split("."):
            specs = specs.get(step) if isinstance(specs, dict) else None
        for i, spec in enumerate(specs if isinstance(specs, list) else []):
            yield f"{base}[{i}].Tags", spec.get("Tags") if isinstance(spec, dict) else None


def tags(part: str) -> Extractor:
    """Tag keys or values of any resource: a list of {Key, Value} or a map (EKS, SSM)."""

    def extract(props: dict[str, Any]) -> Found:
        for where, found in _tag_lists(props):
            if isinstance(found, list):
                for i, tag in enumerate(found):
                    value = render(tag.get(part)) if isinstance(tag, dict) else None
                    if value is not None:
                        yield f"{where}[{i}].{part}", value
            elif isinstance(found, dict):
                for key, val in found.items():
                    value = key if part == "Key" else render(val)
                    if value is not None:
                        yield f"{where}.{key}", value

    return extract


def json_size(path: str) -> Extractor:
    """The compact JSON text of the object at `path` (a policy, a map of environment variables)."""

    def extract(props: dict[str, Any]) -> Found:
        node: Any = props
        for step in path.split("."):
            node = node.get(step) if isinstance(node, dict) else None
        if node is not None:
            yield path, to_json_text(node)

    return extract


def state_names(props: dict[str, Any]) -> Found:
    definition = parse_json(props.get("DefinitionString"))

    def walk(machine: Any, where: str) -> Found:
        states = machine.get("States") if isinstance(machine, dict) else None
        for name, state in (states or {}).items():
            yield f"{where}.States.{name}", name
            for i, branch in enumerate(state.get("Branches", [])):
                yield from walk(branch, f"{where}.States.{name}.Branches[{i}]")
            for key in ("Iterator", "ItemProcessor"):
                yield from walk(state.get(key), f"{where}.States.{name}.{key}")

    yield from walk(definition, "DefinitionString")


# Kubernetes objects: what a manifest-carrying property holds.


def k8s_objects(props: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    manifest = parse_json(props.get("Manifest"))
    for i, obj in enumerate(manifest if isinstance(manifest, list) else []):
        if isinstance(obj, dict):
            yield f"Manifest[{i}]({obj.get('kind')} {obj.get('metadata', {}).get('name')})", obj


LABEL_MAPS = ("labels", "matchLabels", "podLabels", "commonLabels")
ANNOTATION_MAPS = ("annotations", "podAnnotations")


def _maps(node: Any, where: str, names: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every map under one of `names` anywhere in `node`; also a Service's spec.selector (a label map)."""
    if isinstance(node, dict):
        for key, child in node.items():
            here = f"{where}.{key}"
            is_selector = key == "selector" and isinstance(child, dict) and "matchLabels" not in child
            if isinstance(child, dict) and (key in names or ("labels" in names and is_selector)):
                yield here, child
            else:
                yield from _maps(child, here, names)
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _maps(child, f"{where}[{i}]", names)


def _k8s_documents(props: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Manifest objects and the Helm chart's values: both end up as Kubernetes objects."""
    yield from k8s_objects(props)
    values = parse_json(props.get("Values"))
    if values is not None:
        yield "Values", values


def k8s_label_values(props: dict[str, Any]) -> Found:
    for where, doc in _k8s_documents(props):
        for here, labels in _maps(doc, where, LABEL_MAPS):
            for key, value in labels.items():
                if (text := render(value)) is not None:
                    yield f"{here}.{key}", text


def k8s_keys(props: dict[str, Any]) -> Found:
    for where, doc in _k8s_documents(props):
        for here, found in _maps(doc, where, LABEL_MAPS + ANNOTATION_MAPS):
            yield from ((f"{here}.{key}", key) for key in found)
    if (prune := render(props.get("PruneLabel"))) is not None:  # aws-cdk-lib labels every object with it
        yield "PruneLabel", prune


def k8s_annotation_sizes(props: dict[str, Any]) -> Found:
    """Per object, its annotations as the API server sizes them: keys and values concatenated."""
    for where, obj in k8s_objects(props):
        for here, metadata in _maps(obj, where, ("metadata",)):
            annotations = metadata.get("annotations") or {}
            yield f"{here}.annotations", "".join(f"{k}{render(v) or TOKEN}" for k, v in annotations.items())


def k8s_names(kinds: tuple[str, ...] | None, *, exclude: tuple[str, ...] = ()) -> Extractor:
    """metadata.name of the manifest's objects of `kinds` (None: every kind not in `exclude`)."""

    def extract(props: dict[str, Any]) -> Found:
        for where, obj in k8s_objects(props):
            kind = obj.get("kind")
            wanted = kind in kinds if kinds is not None else kind not in exclude
            name = render(obj.get("metadata", {}).get("name"))
            if wanted and name is not None:
                yield f"{where}.metadata.name", name

    return extract


def k8s_namespaces(props: dict[str, Any]) -> Found:
    for where, obj in k8s_objects(props):
        if (namespace := render(obj.get("metadata", {}).get("namespace"))) is not None:
            yield f"{where}.metadata.namespace", namespace


def k8s_field(kind: str, path: str) -> Extractor:
    """A field of the manifest's objects of `kind`, e.g. HTTPRoute spec.hostnames[]."""
    inner = at(path)

    def extract(props: dict[str, Any]) -> Found:
        for where, obj in k8s_objects(props):
            if obj.get("kind") == kind:
                yield from ((f"{where}.{here}", value) for here, value in inner(obj))

    return extract


def helm_values(path: str) -> Extractor:
    inner = at(path)

    def extract(props: dict[str, Any]) -> Found:
        values = parse_json(props.get("Values"))
        if isinstance(values, dict):
            yield from ((f"Values.{here}", value) for here, value in inner(values))

    return extract


# ------------------------------------------------------------------------------------------------------ table

OUTPUTS, TEMPLATE = "(Outputs)", "(Template)"  # pseudo resource types: template sections, not resources
ANY = "*"  # every resource type


@dataclass(frozen=True)
class Row:
    types: tuple[str, ...]
    path: str  # where the value sits under Properties (for reports and the name-property guard)
    constraint: Constraint
    extract: Extractor | None = None  # default: at(path)
    covers: tuple[str, ...] = field(default=())  # more property paths this row accounts for

    @property
    def key(self) -> str:
        return f"{'|'.join(self.types)} {self.path}"

    def values(self, props: dict[str, Any]) -> Found:
        return (self.extract or at(self.path))(props)


def _rows() -> tuple[Row, ...]:
    iam_name = botocore("iam", "roleNameType", charset=r"[\w+=,.@-]")
    k8s_manifest = "Custom::AWSCDK-EKS-KubernetesResource"
    helm = "Custom::AWSCDK-EKS-HelmChart"
    return (
        # --- EC2 (see EC2_* above)
        Row(("AWS::EC2::SecurityGroup",), "GroupDescription", EC2_GROUP_DESCRIPTION),
        Row(("AWS::EC2::SecurityGroup",), "SecurityGroupIngress[].Description", EC2_RULE_DESCRIPTION),
        Row(("AWS::EC2::SecurityGroup",), "SecurityGroupEgress[].Description", EC2_RULE_DESCRIPTION),
        Row(("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"), "Description", EC2_RULE_DESCRIPTION),
        # --- IAM
        Row(("AWS::IAM::Role",), "RoleName", iam_name),
        Row(("AWS::IAM::Role",), "Description", botocore("iam", "roleDescriptionType")),
        Row(("AWS::IAM::Role",), "Policies[].PolicyName", botocore("iam", "policyNameType", charset=r"[\w+=,.@-]")),
        Row(("AWS::IAM::Policy",), "PolicyName", botocore("iam", "policyNameType", charset=r"[\w+=,.@-]")),
        Row(("AWS::IAM::ManagedPolicy",), "Description", botocore("iam", "policyDescriptionType")),
        Row(("AWS::IAM::ManagedPolicy",), "Path", botocore("iam", "policyPathType")),
        # --- Lambda
        Row(("AWS::Lambda::Function", "AWS::Lambda::LayerVersion"), "Description", botocore("lambda", "Description")),
        Row(("AWS::Lambda::LayerVersion",), "LicenseInfo", botocore("lambda", "LicenseInfo")),
        # Lambda Developer Guide, environment variables: "The total size of all environment variables doesn't
        # exceed 4 KB"; the error names the JSON text it measured ("String measured: {...}").
        Row(
            ("AWS::Lambda::Function",),
            "Environment.Variables",
            Constraint(source="Lambda Developer Guide, 4 KB of environment variables", max_len=4096, unit="bytes"),
            json_size("Environment.Variables"),
        ),
        # --- CloudWatch Logs
        Row(("AWS::Logs::LogGroup",), "LogGroupName", botocore("logs", "LogGroupName", charset=LOG_GROUP_CHARS)),
        # --- CloudWatch (constructs/observability/monitoring.py). PutDashboard DashboardName: "up to 255 characters;
        # valid characters are A-Z, a-z, 0-9, "-", and "_"" (CloudWatch API reference; botocore has no pattern).
        Row(
            ("AWS::CloudWatch::Dashboard",),
            "DashboardName",
            Constraint(
                source="CloudWatch API reference PutDashboard DashboardName",
                pattern=r"[A-Za-z0-9_-]+",
                charset=r"[A-Za-z0-9_-]",
                max_len=255,
            ),
        ),
        # PutMetricAlarm AlarmName: "only UTF-8 characters, and can't contain ASCII control characters".
        Row(
            ("AWS::CloudWatch::Alarm",),
            "AlarmName",
            botocore("cloudwatch", "AlarmName", charset=r"[^\x00-\x1f\x7f]", also="PutMetricAlarm AlarmName"),
        ),
        Row(("AWS::CloudWatch::Alarm",), "AlarmDescription", botocore("cloudwatch", "AlarmDescription")),
        # Names CloudWatch accepts but nothing publishes give an alarm that never sees data: only Lattice's own
        # (tests/lattice_cloudwatch.py, with its source) and this app's target-health metrics.
        *(
            Row(("AWS::CloudWatch::Alarm",), path, Constraint(source=METRIC_SOURCES, pattern="|".join(names)))
            for path, names in (
                ("Metrics[].MetricStat.Metric.MetricName", KNOWN_METRICS),
                ("Metrics[].MetricStat.Metric.Dimensions[].Name", KNOWN_DIMENSIONS),
            )
        ),
        # Dimension values: 1-1024 characters (botocore cloudwatch DimensionValue); the publisher writes the same.
        Row(
            ("AWS::CloudWatch::Alarm",),
            "Metrics[].MetricStat.Metric.Dimensions[].Value",
            botocore("cloudwatch", "DimensionValue"),
        ),
        Row(("AWS::Events::Rule",), "Description", botocore("events", "RuleDescription")),
        Row(("AWS::Logs::QueryDefinition",), "Name", botocore("logs", "QueryDefinitionName")),
        Row(("AWS::RAM::Permission",), "Name", botocore("ram", "PermissionName")),
        # Our metric-id lookup finds each route's Lattice service by name.
        Row(("Custom::LatticeMetricIds",), "Services[].Name", botocore("vpc-lattice", "ServiceName")),
        # --- VPC Lattice
        Row(("AWS::VpcLattice::ServiceNetwork",), "Name", botocore("vpc-lattice", "ServiceNetworkName")),
        # VPC Lattice User Guide, quotas: "Auth policy size: 10 Kilobytes, not adjustable" (the model allows more);
        # 10,000 not 10,240 bytes until a source settles which (config/access_policy.py MAX_AUTH_POLICY_BYTES).
        Row(
            ("AWS::VpcLattice::AuthPolicy",),
            "Policy",
            botocore(
                "vpc-lattice", "AuthPolicyString", max_len=MAX_AUTH_POLICY_BYTES, unit="bytes", also="Lattice quota"
            ),
            json_size("Policy"),
        ),
        # The same quota for the route policies the controller attaches from IAMAuthPolicy objects (issue 12).
        Row(
            (k8s_manifest,),
            "Manifest[IAMAuthPolicy].spec.policy",
            botocore(
                "vpc-lattice", "AuthPolicyString", max_len=MAX_AUTH_POLICY_BYTES, unit="bytes", also="Lattice quota"
            ),
            k8s_field("IAMAuthPolicy", "spec.policy"),
        ),
        # The controller names the service network after the Gateway (Gateway API Controller docs, Gateway), and
        # the route's first hostname becomes the Lattice service's custom domain name.
        Row(
            (k8s_manifest,),
            "Manifest[Gateway].metadata.name",
            botocore("vpc-lattice", "ServiceNetworkName"),
            k8s_names(("Gateway",)),
        ),
        Row(
            (k8s_manifest,),
            "Manifest[HTTPRoute].spec.hostnames[]",
            botocore("vpc-lattice", "ServiceCustomDomainName", charset=DNS_NAME.charset, rule=_dns_name),
            k8s_field("HTTPRoute", "spec.hostnames[]"),
        ),
        # --- Route 53
        Row(("AWS::Route53::HostedZone",), "Name", DNS_NAME),
        Row(("AWS::Route53::HostedZone",), "HostedZoneConfig.Comment", botocore("route53", "ResourceDescription")),
        Row(("Custom::LatticeDnsRecord",), "Hostname", DNS_NAME),  # the CNAME's name, written by our Lambda
        # --- EKS
        Row(("AWS::EKS::Cluster",), "Name", botocore("eks", "ClusterName", charset=r"[A-Za-z0-9\-_]")),
        # EKS User Guide, "Create a managed node group": up to 63 characters, starts with a letter or digit, then
        # letters, digits, hyphens and underscores (botocore's eks model has no pattern).
        Row(
            ("AWS::EKS::Nodegroup",),
            "NodegroupName",
            Constraint(
                source="EKS User Guide, create a managed node group",
                pattern=r"[A-Za-z0-9][A-Za-z0-9_-]*",
                charset=r"[A-Za-z0-9_-]",
                min_len=1,
                max_len=63,
            ),
        ),
        # EKS API reference CreateAddon addonName: "must match one of the names returned by
        # DescribeAddonVersions"; offline, the AWS add-ons the EKS User Guide lists ("AWS add-ons").
        Row(
            ("AWS::EKS::Addon",),
            "AddonName",
            Constraint(
                source="EKS User Guide, AWS add-ons",
                pattern="vpc-cni|coredns|kube-proxy|eks-pod-identity-agent|aws-ebs-csi-driver|aws-efs-csi-driver"
                "|aws-mountpoint-s3-csi-driver|snapshot-controller|eks-node-monitoring-agent|amazon-cloudwatch-observability"
                "|aws-guardduty-agent|adot|aws-network-flow-monitoring-agent|aws-fsx-csi-driver|metrics-server",
            ),
        ),
        # EKS passes these to Kubernetes: a namespace is a DNS-1123 label, a ServiceAccount a DNS-1123 subdomain.
        Row(("AWS::EKS::PodIdentityAssociation",), "Namespace", K8S_LABEL_NAME),
        Row(("AWS::EKS::PodIdentityAssociation",), "ServiceAccount", K8S_SUBDOMAIN),
        # --- KMS
        Row(("AWS::KMS::Key",), "Description", botocore("kms", "DescriptionType")),
        Row(("AWS::KMS::Alias",), "AliasName", botocore("kms", "AliasNameType", rule=_kms_alias)),
        # --- Step Functions (state names; this app sets no state machine name, CloudFormation generates it)
        Row(
            ("AWS::StepFunctions::StateMachine",),
            "DefinitionString.States{name}",
            botocore("stepfunctions", "Name", charset=SFN_NAME_CHARS),
            state_names,
        ),
        # --- Tags, on every resource. IAM's tag patterns (read from botocore) are those of the other models
        # that carry one (codebuild, ssm, logs, lambda); EC2 (API reference, Tag) and CodeBuild cap keys at 127
        # characters and CodeBuild values at 255, the strictest of the services tagged here. "aws:" is reserved
        # (Tagging AWS Resources, tag naming limits).
        Row(
            (ANY,),
            "Tags[].Key",
            botocore("iam", "tagKeyType", max_len=127, rule=_not_prefixed("aws:"), also="EC2 API reference Tag Key"),
            tags("Key"),
        ),
        Row(
            (ANY,),
            "Tags[].Value",
            botocore("iam", "tagValueType", max_len=255, also="codebuild ValueInput"),
            tags("Value"),
        ),
        # --- CloudFormation
        Row((OUTPUTS,), "Description", botocore("cloudformation", "Description")),
        Row((TEMPLATE,), "Description", botocore("cloudformation", "Description", unit="bytes")),
        # --- CodePipeline / CodeBuild (the pipeline stack)
        Row(("AWS::CodePipeline::Pipeline",), "Name", botocore("codepipeline", "PipelineName")),
        Row(("AWS::CodePipeline::Pipeline",), "Stages[].Name", botocore("codepipeline", "StageName")),
        Row(("AWS::CodePipeline::Pipeline",), "Stages[].Actions[].Name", botocore("codepipeline", "ActionName")),
        *(
            Row(
                ("AWS::CodePipeline::Pipeline",),
                f"Stages[].Actions[].{side}[].Name",
                botocore("codepipeline", "ArtifactName"),
            )
            for side in ("InputArtifacts", "OutputArtifacts")
        ),
        # CloudFormation API reference CreateStack StackName: letters, digits and hyphens, starting with a
        # letter, up to 128 characters (botocore's StackName has no pattern).
        Row(
            ("AWS::CodePipeline::Pipeline",),
            "Stages[].Actions[].Configuration.StackName",
            Constraint(
                source="CloudFormation API reference CreateStack StackName",
                pattern=r"[A-Za-z][-A-Za-z0-9]*",
                charset=r"[-A-Za-z0-9]",
                max_len=128,
            ),
        ),
        Row(("AWS::CodeBuild::Project",), "Name", botocore("codebuild", "ProjectName")),
        Row(("AWS::CodeBuild::Project",), "Description", botocore("codebuild", "ProjectDescription")),
        # S3 User Guide, general purpose bucket naming rules: 3-63 characters, lowercase letters, digits, dots and
        # hyphens, beginning and ending with a letter or digit (botocore's BucketName has no pattern).
        Row(
            ("AWS::S3::Bucket",),
            "BucketName",
            Constraint(
                source="S3 User Guide, bucket naming rules",
                pattern=r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
                charset=r"[a-z0-9.-]",
                min_len=3,
                max_len=63,
                rule=_s3_bucket,
            ),
        ),
        Row(
            (k8s_manifest, helm, "AWS::StepFunctions::StateMachine"),
            "Manifest|Values|DefinitionString",
            JSON_TEXT,
            json_texts,
        ),
        # --- Kubernetes objects in manifests (aws-cdk-lib's KubernetesResource) and the Helm chart's values
        Row((k8s_manifest, helm), "Manifest[].**.labels{value}", K8S_LABEL_VALUE, k8s_label_values),
        Row((k8s_manifest, helm), "Manifest[].**.labels|annotations{key}", K8S_KEY, k8s_keys, covers=("PruneLabel",)),
        Row((k8s_manifest,), "Manifest[].**.metadata.annotations (total)", K8S_ANNOTATIONS_SIZE, k8s_annotation_sizes),
        Row((k8s_manifest,), "Manifest[Namespace].metadata.name", K8S_LABEL_NAME, k8s_names(("Namespace",))),
        Row((k8s_manifest,), "Manifest[Service].metadata.name", K8S_SERVICE_NAME, k8s_names(("Service",))),
        Row(
            (k8s_manifest,),
            "Manifest[*].metadata.name",
            K8S_SUBDOMAIN,
            k8s_names(None, exclude=("Namespace", "Service")),
        ),
        Row((k8s_manifest,), "Manifest[].metadata.namespace", K8S_LABEL_NAME, k8s_namespaces),
        # Helm (pkg/chartutil ValidateReleaseName): a DNS-1123 subdomain of at most 53 characters.
        Row((helm,), "Release", Constraint(source="Helm ValidateReleaseName", pattern=DNS1123_SUBDOMAIN, max_len=53)),
        Row((helm,), "Namespace", K8S_LABEL_NAME),
        Row((helm,), "Values.serviceAccount.name", K8S_SUBDOMAIN, helm_values("serviceAccount.name")),
        # Our DNS custom resource reads the HTTPRoute by namespace and name.
        Row(("Custom::LatticeDnsRecord",), "Namespace", K8S_LABEL_NAME),
        Row(("Custom::LatticeDnsRecord",), "RouteName", K8S_SUBDOMAIN),
    )


ROWS: tuple[Row, ...] = _rows()

# Name-like properties (see NAME_SUFFIXES) that carry literal text yet need no row, each with its reason.
EXEMPT: dict[str, str] = {
    "AWS::EC2::Instance BlockDeviceMappings[].DeviceName": "a device path EC2 defines (/dev/xvda)",
    "AWS::EC2::LaunchTemplate LaunchTemplateData.BlockDeviceMappings[].DeviceName": "a device path EC2 defines",
    "AWS::RAM::ResourceShare Name": "RAM's model gives share names no pattern or length (botocore ram "
    "CreateResourceShare name: String); ours is the stack name plus -service-network",
    "Custom::FinalizerGuard Path": "a Kubernetes API path our handler reads, built from names the config "
    "already validates as DNS labels (config/model.py)",
    "Custom::CrossAccountZoneAssociation ZoneName": "the consumer_link handler's input (compared with "
    "ListHostedZonesByVPC names), not a name AWS stores; privateZoneName is validated by config (DnsName)",
    "AWS::EC2::VPCEndpoint ServiceName": "an AWS endpoint service name (com.amazonaws.<region>.<service>)",
    "AWS::CodeBuild::Project Environment.EnvironmentVariables[].Name": "a shell variable CDK Pipelines sets",
    "AWS::CodePipeline::Pipeline Stages[].Actions[].Configuration.BranchName": "validated as a git branch by "
    "config/pipeline.py",
    "AWS::CodePipeline::Pipeline Stages[].Actions[].Configuration.ChangeSetName": "CDK Pipelines' constant",
    "AWS::CodePipeline::Pipeline Stages[].Actions[].Configuration.TemplatePath": "an artifact path CDK "
    "Pipelines writes",
}
NAME_SUFFIXES = ("Name", "Description", "Comment", "Path")
OPAQUE = ("PolicyDocument", "AssumeRolePolicyDocument", "KeyPolicy", "Policy", "Code", "Content")  # not names

# -------------------------------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Finding:
    row: Row
    location: str  # template name / logical id / where
    value: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        shown = self.value.replace(TOKEN, "<token>")
        shown = shown if len(shown) <= 120 else f"{shown[:117]}..."
        return f"{self.location}: {shown!r}: {'; '.join(self.problems)} [{self.row.constraint.source}]"


@dataclass
class Report:
    checked: Counter[str] = field(default_factory=Counter)  # resource type -> whole values checked
    partial: Counter[str] = field(default_factory=Counter)  # literal parts checked (value holds intrinsics)
    skipped: Counter[str] = field(default_factory=Counter)  # one intrinsic, nothing literal to check
    rows_hit: Counter[str] = field(default_factory=Counter)  # row key -> values checked (whole or partial)
    findings: list[Finding] = field(default_factory=list)

    def table(self) -> str:
        """Values checked per resource type: whole, literal parts only, skipped."""
        types = sorted(set(self.checked) | set(self.partial) | set(self.skipped))
        lines = [f"{'resource type':<42} {'whole':>6} {'parts':>6} {'skipped':>7}"]
        lines += [f"{t:<42} {self.checked[t]:>6} {self.partial[t]:>6} {self.skipped[t]:>7}" for t in types]
        total = (sum(self.checked.values()), sum(self.partial.values()), sum(self.skipped.values()))
        lines.append(f"{'total':<42} {total[0]:>6} {total[1]:>6} {total[2]:>7}")
        return "\n".join(lines)


def _sections(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, id, properties) for every resource, plus the Outputs and the template's own Description."""
    for logical_id, resource in template.get("Resources", {}).items():
        yield resource["Type"], logical_id, resource.get("Properties") or {}
    for name, output in template.get("Outputs", {}).items():
        yield OUTPUTS, name, output
    yield TEMPLATE, "", template


def _rows_for(kind: str) -> list[Row]:
    return [r for r in ROWS if kind in r.types or (ANY in r.types and not kind.startswith("("))]


def check_value(row: Row, location: str, value: str, report: Report, kind: str) -> None:
    if value == TOKEN:
        report.skipped[kind] += 1
        return
    (report.partial if TOKEN in value else report.checked)[kind] += 1
    report.rows_hit[row.key] += 1
    if problems := row.constraint.problems(value):
        report.findings.append(Finding(row, location, value, tuple(problems)))


def check_templates(templates: Iterable[tuple[str, Template]]) -> Report:
    """One pass over every template: each row's values against the row's constraint."""
    report = Report()
    for name, template in templates:
        for kind, logical_id, props in _sections(template):
            for row in _rows_for(kind):
                for where, value in row.values(props):
                    check_value(row, f"{name}/{logical_id}/{where}", value, report, kind)
    return report


def uncovered_name_properties(templates: Iterable[tuple[str, Template]]) -> set[str]:
    """Name-like properties holding literal text that no row checks and EXEMPT doesn't excuse."""
    covered = {f"{t} {p}" for r in ROWS for t in r.types for p in (r.path, *r.covers)}
    found: set[str] = set()

    def walk(kind: str, node: Any, path: str) -> None:
        if isinstance(node, dict) and not _is_intrinsic(node):
            for key, child in node.items():
                here = f"{path}.{key}" if path else key
                literal = render(child)
                if key.endswith(NAME_SUFFIXES) and literal is not None and literal.replace(TOKEN, ""):
                    found.add(f"{kind} {here}")
                if key not in OPAQUE:
                    walk(kind, child, here)
        elif isinstance(node, list):
            for child in node:
                walk(kind, child, f"{path}[]")

    for _, template in templates:
        for resource in template.get("Resources", {}).values():
            walk(resource["Type"], resource.get("Properties") or {}, "")
    return {f for f in found if f not in covered and f not in EXEMPT}


# --------------------------------------------------------------------------------------------------- loading


def assembly_templates(outdir: Path, prefix: str = "") -> Iterator[tuple[str, Template]]:
    """Every CloudFormation template of a cloud assembly, nested assemblies (pipeline stages) included."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        props = artifact.get("properties", {})
        if artifact.get("type") == "aws:cloudformation:stack":
            name = props.get("stackName", artifact_id)
            yield f"{prefix}{name}", json.loads((outdir / props["templateFile"]).read_text())
        elif artifact.get("type") == "cdk:cloud-assembly":
            yield from assembly_templates(outdir / props["directoryName"], f"{prefix}{artifact_id}/")


if __name__ == "__main__":  # the same four syntheses as tests/test_service_constraints.py, then the table
    import tempfile

    from tests.conftest import (
        ONE_STAGE,
        PROVIDER_ACCOUNT,
        PROVIDER_REGION,
        TWO_STAGES,
        VARIANT,
        PipelineSynth,
        Synthesized,
    )

    with tempfile.TemporaryDirectory() as tmp:
        outdirs = {
            "default": Synthesized(Path(tmp) / "default").outdir,
            "variant": Synthesized(Path(tmp) / "variant", VARIANT, (PROVIDER_ACCOUNT, PROVIDER_REGION)).outdir,
            "pipeline-two": PipelineSynth(Path(tmp) / "pipeline-two", TWO_STAGES).outdir,
            "pipeline-one": PipelineSynth(Path(tmp) / "pipeline-one", ONE_STAGE).outdir,
        }
        result = check_templates((f"{k}:{n}", t) for k, d in outdirs.items() for n, t in assembly_templates(d))
        print(result.table())
        print("\n".join(map(str, result.findings)) or "no findings")
