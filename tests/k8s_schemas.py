"""Validate Kubernetes objects the way the API server would, offline.

Custom resources: against the openAPIV3Schema of the served version in the reference CRDs (Gateway API
v1.5.1, controller v2.1.3). jsonschema ignores the x-kubernetes-* keywords (CEL rules are not evaluated)
but honours types, enums, required, min/max, maxItems and patterns. kubectl applies with strict field
validation, so unknown fields are errors here too: every object schema that lists properties gets
additionalProperties: false.

Core kinds: against Kubernetes' own published schema for the cluster's minor version (kubernetes-validate,
strict mode: unknown fields are errors).
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import yaml

CRD_SETS = ("gateway-api-v1.5.1", "aws-gateway-controller-v2.1.3")
CORE_API_VERSIONS = {"v1", "apps/v1", "policy/v1", "rbac.authorization.k8s.io/v1"}


class SchemaNotFoundError(LookupError):
    pass


# kubernetes_validate.validate reads and parses its JSON schema files (the definitions file is megabytes) on every
# call; the files never change within a run, so each is parsed once per process. The library still picks the
# version's file, builds its validator and raises its own errors.
if not hasattr(kubernetes_validate.utils.schema_contents, "cache_info"):
    kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)


@cache
def _crds(crd_root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(group, kind) → CRD document, for every CRD of the pinned sets."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for folder in CRD_SETS:
        for path in sorted((crd_root / folder).glob("*.yaml")):
            for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    spec = doc["spec"]
                    found[(spec["group"], spec["names"]["kind"])] = doc
    return found


def _strict(schema: Any) -> Any:
    """A copy with unknown fields rejected wherever the schema lists its fields."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) if k != "enum" else v for k, v in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def _crd_validator(crd_root: Path, api_version: str, kind: str) -> jsonschema.Draft4Validator:
    group, _, version = api_version.rpartition("/")
    crd = _crds(crd_root).get((group, kind))
    if crd is None:
        raise SchemaNotFoundError(f"no CRD for {kind} in group {group!r}")
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            if not entry["served"]:
                raise SchemaNotFoundError(f"{kind} {api_version} is not served")
            schema = _strict(copy.deepcopy(entry["schema"]["openAPIV3Schema"]))
            # OpenAPI v3.0 schemas are closest to draft 4 (boolean exclusiveMinimum, no const).
            return jsonschema.Draft4Validator(schema)
    raise SchemaNotFoundError(f"{kind} has no version {version!r}")


def validate_custom(obj: dict[str, Any], crd_root: Path) -> None:
    """Raise jsonschema.ValidationError (or SchemaNotFoundError) unless `obj` fits its CRD."""
    validator = _crd_validator(crd_root, obj["apiVersion"], obj["kind"])
    validator.validate(obj)
    _check_name(obj)


def validate_core(obj: dict[str, Any], kubernetes_version: str) -> None:
    """Raise kubernetes_validate.ValidationError unless `obj` fits Kubernetes' schema (strict)."""
    kubernetes_validate.validate(obj, kubernetes_version, strict=True)
    _check_name(obj)


def validate_object(obj: dict[str, Any], *, crd_root: Path, kubernetes_version: str) -> None:
    if obj["apiVersion"] in CORE_API_VERSIONS:
        validate_core(obj, kubernetes_version)
    else:
        validate_custom(obj, crd_root)


_NAME_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        # DNS-1123 subdomain, what the API server demands of most object names.
        "name": {
            "type": "string",
            "maxLength": 253,
            "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        },
        "namespace": {"type": "string", "maxLength": 63, "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
    },
}


def _check_name(obj: dict[str, Any]) -> None:
    # Neither schema checks metadata.name's format (the API server does it in code).
    jsonschema.Draft4Validator(_NAME_SCHEMA).validate(obj["metadata"])
