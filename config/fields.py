"""The building blocks of the models: constraints that word their own errors (says, Between, Matches, OneOf),
the base model, and the value types several areas share (Kubernetes and DNS names, URL paths, role ARNs)."""

from __future__ import annotations

import ast
import inspect
import ipaddress
import itertools
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Annotated, Any

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError, WrapValidator
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails

from config.errors import Problem, config_error
from config.limits import MAX_K8S_NAME, MAX_ROLE_ARN

# A path match or health-check path that both layers below take. The Gateway API v1.5.1 HTTPRoute CRD
# (config/crd/standard/gateway.networking.k8s.io_httproutes.yaml, x-kubernetes-validations of
# spec.rules[].matches[].path) allows ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$ and refuses '//', '/./',
# '/../', '%2f', '%2F', '#' and a trailing '/.' or '/..'; botocore 1.44.8's vpc-lattice model (PathMatchExact,
# PathMatchPrefix: /[a-zA-Z0-9@:%_+.~#?&/=-]*, 1-200 characters; HealthCheckPath a superset) allows its own
# set. URL_PATH is the two sets' intersection; URL_PATH_REFUSED the CRD's sequences
# (tests/test_accepted_values_pass_crd_rules_and_lattice.py checks both against the CRD and botocore). Read 2026-12-05.
URL_PATH = r"/(?:[-A-Za-z0-9/._~&+=:@]|%[0-9A-Fa-f]{2})*"
URL_PATH_REFUSED = r"//|/\./|/\.\./|%2[fF]|/\.\.?$"
MAX_PATH_LENGTH = 200

DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"  # RFC 1123 label
_CONSTRAINTS = {"greater_than_equal", "less_than_equal", "string_pattern_mismatch", "string_too_short",
                "string_too_long", "too_short", "too_long", "literal_error"}  # fmt: skip


def says(template: str, *kinds: str) -> WrapValidator:
    """Our wording for a failed constraint on this value itself (not its type, not its items): `template` is
    formatted with the value as {input} and pydantic's context ({max_length}, {actual_length} ...)."""
    only = set(kinds or _CONSTRAINTS)

    def wrap(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as err:
            details: list[InitErrorDetails] = []
            for e in err.errors():
                if not e["loc"] and e["type"] in only:
                    why = template.format(input=value, **(e.get("ctx") or {}))
                    details.append(InitErrorDetails(type=config_error(why), input=value))  # loc: the value itself, ()
                elif e["type"] == "config":  # ours, from deeper down: keep the text
                    details.append(InitErrorDetails(type=config_error(e["msg"]), loc=e["loc"], input=None))
                else:
                    kind, ctx = e["type"], e.get("ctx", {})
                    details.append(InitErrorDetails(type=kind, loc=e["loc"], input=e["input"], ctx=ctx))
            raise ValidationError.from_exception_data(err.title, details) from None

    return WrapValidator(wrap)


class Between(GroupedMetadata):
    """A strict integer in lo..hi."""

    def __init__(self, lo: int, hi: int, message: str = "{input} is out of range {lo}..{hi}") -> None:
        self.lo, self.hi, self.message = lo, hi, message

    def __iter__(self) -> Iterator[Any]:
        yield Strict()
        yield Field(ge=self.lo, le=self.hi)
        message = self.message.format(input="{input}", lo=self.lo, hi=self.hi)
        yield says(message, "greater_than_equal", "less_than_equal")


class Matches(GroupedMetadata):
    """A strict string matching `pattern` (all of it), else `message` (with {input})."""

    def __init__(self, pattern: str, message: str, max_length: int | None = None) -> None:
        self.pattern, self.message, self.max_length = pattern, message, max_length

    def __iter__(self) -> Iterator[Any]:
        yield from (Strict(), Field(pattern=f"^{self.pattern}$", max_length=self.max_length), says(self.message))


class OneOf(GroupedMetadata):
    """One of `choices` (pinned releases, CloudWatch's periods), else `message` (with {input} and {known})."""

    def __init__(self, choices: Iterable[Any], message: str) -> None:
        # A mapping (the pinned-release tables) is kept as it is: validation reads the table, not a copy of it.
        self.choices: Iterable[Any] = choices if isinstance(choices, Mapping) else tuple(choices)
        self.message = message

    def __iter__(self) -> Iterator[Any]:
        def check(value: Any) -> Any:
            if value not in self.choices:
                raise config_error(self.message.format(input=value, known=", ".join(map(str, self.choices))))
            return value

        yield from (Strict(), AfterValidator(check), Field(json_schema_extra={"enum": list(self.choices)}))


def cidr(max_prefix: int | None) -> AfterValidator:
    """An IPv4 network (no host bits); for a VPC also a private /16../max_prefix."""

    def check(text: str) -> str:
        try:
            net = ipaddress.IPv4Network(text, strict=True)
        except ValueError as err:
            raise config_error(f"{text!r} is not an IPv4 CIDR block ({err})") from None
        if max_prefix is not None and not 16 <= net.prefixlen <= max_prefix:
            room = f"VPCs here need a prefix from /16 to /{max_prefix} (room for the subnets)"
            raise config_error(f"{text} is a /{net.prefixlen}; {room}")
        if max_prefix is not None and not net.is_private:
            raise config_error(f"{text} is not a private address range (RFC 1918)")
        return text

    return AfterValidator(check)


def _path_segments(path: str) -> str:
    if found := re.search(URL_PATH_REFUSED, path):
        why = "the HTTPRoute CRD refuses '//', '/./', '/../', '%2f' and a trailing '/.' or '/..'"
        raise config_error(f"{path!r} contains {found.group()!r}: {why}")
    return path


# Messages for values that do not match their field's pattern ({input} is the value).
K8S_NAME = "{input!r} is not a valid Kubernetes name (lowercase letters, digits and '-', %sat most 63 characters)"
_DNS_NAME = "{input!r} is not a valid lowercase DNS name (at least two labels, like example.com)"
_PATH = (
    "{input!r} must start with '/' and have at most 200 characters, each a letter, digit, one of - . _ ~ & + = : @ "
    "/ or a %XX escape"
)

K8sName = Annotated[str, Matches(DNS_LABEL, K8S_NAME % "", max_length=MAX_K8S_NAME)]
DnsName = Annotated[str, Matches(rf"(?:{DNS_LABEL}\.)+{DNS_LABEL}", _DNS_NAME, max_length=253)]
UrlPath = Annotated[
    str,
    Matches(URL_PATH, _PATH, max_length=MAX_PATH_LENGTH),
    AfterValidator(_path_segments),
    Field(json_schema_extra={"not": {"pattern": URL_PATH_REFUSED}}),
]

# The partitions of botocore 1.44.8's data/partitions.json (read 2026-12-05): an ARN of any other is refused by IAM.
PARTITIONS = ("aws", "aws-cn", "aws-eusc", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-us-gov")
PARTITION = "(?:" + "|".join(p.replace("-", r"\-") for p in PARTITIONS) + ")"
RoleArn = Annotated[
    str,
    Matches(
        rf"arn:{PARTITION}:iam::[0-9]{{12}}:role/[A-Za-z0-9_+=,.@/-]{{1,512}}",
        "{input!r} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)",
        max_length=MAX_ROLE_ARN,
    ),
]


def describe_fields(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """The fields' docstrings as the schema's descriptions. Read from the source only when a schema is generated
    (make schema): pydantic's use_attribute_docstrings would parse it on every import, ~0.1 s of every synth."""
    (class_def,) = ast.parse(textwrap.dedent(inspect.getsource(cls))).body
    assert isinstance(class_def, ast.ClassDef)
    for node, doc in itertools.pairwise(class_def.body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        name = node.target.id
        text = doc.value.value if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) else None
        if isinstance(text, str) and (field := cls.model_fields.get(name)):
            schema["properties"][field.alias or name]["description"] = inspect.cleandoc(text)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, json_schema_extra=describe_fields)


_ACCOUNT = "{input!r} is not an AWS account id (12 digits, as a string)"
AccountId = Annotated[str, Matches(r"[0-9]{12}", _ACCOUNT, max_length=12)]


def duplicates(names: list[str], at: tuple[str | int, ...]) -> list[Problem]:
    return [(at, f"duplicate name {n!r}") for i, n in enumerate(names) if n in names[:i]][:1]


def drop_unset_new_keys(data: Any, keys: tuple[str, ...]) -> Any:
    """Keys added by issue 26 leave the dump when unset, so digests of configs without them stay as they were."""
    if isinstance(data, dict):
        for key in keys:
            if key in data and data[key] is None:
                del data[key]
    return data
