"""`apps[]`: one workload each (a Deployment, its Service and TargetGroupPolicy), with its health check, resources
and environment."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    PlainValidator,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    Strict,
    TypeAdapter,
    WithJsonSchema,
    model_serializer,
    model_validator,
)

from config.errors import config_error, fail
from config.fields import K8S_NAME, Between, K8sName, Matches, Model, UrlPath, says
from config.limits import (
    MAX_ENV_NAME,
    MAX_ENV_VALUE,
    MAX_ENV_VARS,
    MAX_IMAGE,
    MAX_K8S_NAME,
    MAX_QUANTITY,
    MAX_ROUTE_REFERENCE,
    MAX_ROUTES,
)

HealthProtocol = Literal["HTTP", "HTTPS"]
HealthProtocolVersion = Literal["HTTP1", "HTTP2"]

# Kubernetes env names the manifest builder sets itself (PORT follows containerPort, POD is the pod's name).
RESERVED_ENV = ("PORT", "POD")
# The port the SigV4 signing sidecar of an app that calls routes listens on, on the pod's loopback
# (constructs/workload/apps.py): containers of a pod share its network namespace, so the app cannot have it too.
SIGNING_SIDECAR_PORT = 8080


def _env_name(name: str) -> str:
    if name in RESERVED_ENV:
        raise config_error("is set by the app (PORT = containerPort, POD = the pod's name)")
    return name


Quantity = Annotated[
    str,
    Matches(
        r"[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?",
        f"{{input!r}} is not a Kubernetes quantity of at most {MAX_QUANTITY} characters",
        max_length=MAX_QUANTITY,
    ),
]

# A container image reference as the distribution grammar has it (distribution/reference, regexp.go): an optional
# registry (a host with a "." or a port, or localhost), lowercase path components joined by ".", "_", "__" or
# dashes, an optional tag of at most 128 characters, an optional digest.
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REGISTRY = rf"(?:{_HOST_PART}(?:\.{_HOST_PART})+(?::[0-9]+)?|{_HOST_PART}:[0-9]+|localhost)"
IMAGE_REFERENCE = (
    rf"(?:{_REGISTRY}/)?{_PATH_PART}(?:/{_PATH_PART})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
_ENV_NAME = r"[-._a-zA-Z][-._a-zA-Z0-9]*"
_ENV = TypeAdapter(
    Annotated[
        dict[
            Annotated[
                str,
                Matches(_ENV_NAME, f"is not a valid environment variable name of at most {MAX_ENV_NAME} characters"),
                Field(max_length=MAX_ENV_NAME),
                AfterValidator(_env_name),
            ],
            Annotated[
                str, Strict(), Field(max_length=MAX_ENV_VALUE), says(f"is longer than {MAX_ENV_VALUE} characters")
            ],
        ],
        Field(max_length=MAX_ENV_VARS),
    ]
)
# Validated as an object (so errors name the variable), kept as ordered pairs.
EnvVars = Annotated[
    tuple[tuple[str, str], ...],
    PlainValidator(lambda value: tuple(_ENV.validate_python(value).items())),
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {
                "pattern": f"^{_ENV_NAME}$",
                "maxLength": MAX_ENV_NAME,
                "not": {"enum": list(RESERVED_ENV)},
            },
            "additionalProperties": {"type": "string", "maxLength": MAX_ENV_VALUE},
            "maxProperties": MAX_ENV_VARS,
        }
    ),
]


class HealthCheck(Model):
    """Lattice target-group health check, emitted as a TargetGroupPolicy (ranges: SPEC §3). `path` and `port`
    are the app's healthPath and containerPort."""

    protocol: HealthProtocol = "HTTP"
    protocol_version: HealthProtocolVersion = "HTTP1"
    interval_seconds: Annotated[int, Between(5, 300)] = 10
    timeout_seconds: Annotated[int, Between(1, 120)] = 5
    """shorter than intervalSeconds"""
    healthy_threshold_count: Annotated[int, Between(2, 10)] = 3
    unhealthy_threshold_count: Annotated[int, Between(2, 10)] = 3
    _path: str = PrivateAttr("")
    _port: int = PrivateAttr(0)

    @property
    def path(self) -> str:
        return self._path

    @property
    def port(self) -> int:
        return self._port

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> HealthCheck:
        if self.timeout_seconds >= self.interval_seconds:
            why = f"{self.timeout_seconds} must be shorter than intervalSeconds ({self.interval_seconds})"
            fail((("timeoutSeconds",), why))
        return self


class Resources(Model):
    """Container requests and limits (Kubernetes quantities)."""

    cpu_request: Quantity = "50m"
    memory_request: Quantity = "64Mi"
    cpu_limit: Quantity = "250m"
    memory_limit: Quantity = "128Mi"


class App(Model):
    """One workload: a Deployment, a ClusterIP Service (port 80) and a TargetGroupPolicy."""

    name: Annotated[
        str,
        Matches(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", K8S_NAME % "start with a letter, ", max_length=MAX_K8S_NAME),
    ]
    """Deployment and Service name (DNS-1035)"""
    namespace: K8sName = "default"
    """created unless `default`"""
    image: Annotated[
        str,
        Matches(
            IMAGE_REFERENCE,
            f"{{input!r}} is not a container image reference of at most {MAX_IMAGE} characters",
            max_length=MAX_IMAGE,
        ),
    ]
    """container image reference, `[registry/]path[:tag][@digest]` (lowercase path; tag up to 128 characters)"""
    replicas: Annotated[int, Between(0, 100)] = 2
    container_port: Annotated[int, Between(1, 65535)]
    """the port the app listens on; not 8080 when the app calls routes (its signing sidecar's); at most
    4 distinct ports across apps, 1 with latticeIpv6 (the cluster security group's rule quota, with room for
    one port's change)"""
    env: EnvVars = Field((), json_schema_extra={"default": {}})
    """environment variables (strings); PORT and POD are set by the app"""
    health_path: UrlPath
    """HTTP path of the pod's probes and Lattice's health check"""
    health_check: HealthCheck = Field(default_factory=HealthCheck, json_schema_extra={"default": {}})
    """Lattice's health check of the app's targets"""
    resources: Resources = Field(default_factory=Resources, json_schema_extra={"default": {}})
    """requests and limits of each container"""
    calls: Annotated[
        tuple[Annotated[str, Strict(), Field(max_length=MAX_ROUTE_REFERENCE)], ...], Field(max_length=MAX_ROUTES)
    ] = ()
    """route names (or namespace/name) its pods call: they get a ServiceAccount, a Pod Identity role and a SigV4
    signing sidecar, and a place in each route's allow list"""
    args: Annotated[tuple[Annotated[str, Strict(), Field(max_length=1024)], ...], Field(max_length=32)] = ()
    """arguments to the image's entrypoint (Kubernetes `args`), like ["grpc-health-checking"]; none: the image's"""

    @model_serializer(mode="wrap")
    def _without_new_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if isinstance(data, dict) and data.get("args") in ((), []):
            del data["args"]  # added by issue 26: configs without it digest as they did
        return data

    def model_post_init(self, context: Any) -> None:
        # Private attributes: not input keys, and settable on a frozen model.
        self.health_check._path, self.health_check._port = self.health_path, self.container_port
