"""The CRDs' `x-kubernetes-validations` CEL rules, evaluated on an object as the API server would at create.

kubernetes_validate and the structural schema (tests/k8s_schemas.py) check types, patterns and lengths; the
rules check the rest (the Gateway API v1.5.1 HTTPRoute refuses `//`, `#` and characters outside its path
alphabet in a path match only there). The walk follows the object through its CRD's openAPIV3Schema, applies
the schema's defaults to absent fields first (as the API server does before it validates), and evaluates every
rule of every node present with `self` bound to it, using the common-expression-language package. Transition
rules (those reading `oldSelf`) do not run at create and are not evaluated.

Kubernetes adds functions to CEL (https://kubernetes.io/docs/reference/using-api/cel/, read 2026-12-05); those
the evaluator lacks and a rule uses are defined below, and a rule that calls another fails loudly here rather
than passing unchecked.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import cel
import yaml


@cache
def _crd_schemas(crd_root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the version's openAPIV3Schema, for every CRD file under crd_root."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(crd_root.rglob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader):  # libyaml: the CRDs are large
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for version in doc["spec"]["versions"]:
                found[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return found


def rules(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (JSON path, rule) in a schema, for tests that read the CRD text."""

    def walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if not isinstance(node, dict):
            return
        for rule in node.get("x-kubernetes-validations", ()):
            yield where, rule
        for name, sub in (node.get("properties") or {}).items():
            yield from walk(sub, f"{where}.{name}")
        yield from walk(node.get("items"), f"{where}[]")
        if isinstance(node.get("additionalProperties"), dict):
            yield from walk(node["additionalProperties"], f"{where}{{}}")

    yield from walk(schema, "$")


def _is_transition(rule: dict[str, Any]) -> bool:
    return bool(re.search(r"\boldSelf\b", rule["rule"]))


def _defaulted(value: Any, schema: dict[str, Any]) -> Any:
    """The value with the schema's defaults filled in where a field is absent (structural defaulting)."""
    if isinstance(value, dict) and schema.get("properties"):
        filled = dict(value)
        for name, sub in schema["properties"].items():
            if name not in filled and "default" in sub:
                filled[name] = sub["default"]
        return {k: _defaulted(v, schema["properties"].get(k, {})) for k, v in filled.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_defaulted(v, schema["items"]) for v in value]
    return value


def _is_ip(text: str) -> bool:
    """Kubernetes' IP library `isIP(string)`: an IPv4 or IPv6 address without a zone index (the TLSRoute and
    GRPCRoute hostnames rules call it; https://kubernetes.io/docs/reference/using-api/cel/, IP library, read
    2026-12-05)."""
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _context(value: Any) -> cel.Context:
    context = cel.Context(variables={"self": value})
    context.add_function("isIP", _is_ip)
    return context


@cache
def _program(rule: str) -> cel.Program:
    """The rule compiled once per process: a CRD's rules run on every object of every generated config."""
    return cel.compile(rule)


def violations(obj: dict[str, Any], crd_root: Path) -> list[str]:
    """The messages of every rule the object breaks, each with where ([] when it keeps them all). Raises
    LookupError for an object no CRD under crd_root defines."""
    schema = _crd_schemas(crd_root).get((obj["apiVersion"], obj["kind"]))
    if schema is None:
        raise LookupError(f"no CRD defines {obj['apiVersion']} {obj['kind']}")
    found: list[str] = []

    def walk(value: Any, node: dict[str, Any], where: str) -> None:
        context = None  # one per node: every rule of the node sees the same `self`
        for rule in node.get("x-kubernetes-validations", ()):
            if _is_transition(rule):
                continue
            try:
                context = context or _context(value)
                kept = _program(rule["rule"]).execute(context)
            except Exception as err:  # the evaluator's own error types are not exported
                raise RuntimeError(f"{where}: cannot evaluate {rule['rule']!r}: {err}") from err
            if kept is not True:
                found.append(f"{where}: {rule.get('message') or rule['rule']}")
        if isinstance(value, dict):
            for name, sub in (node.get("properties") or {}).items():
                if name in value:
                    walk(value[name], sub, f"{where}.{name}")
            extra = node.get("additionalProperties")
            if isinstance(extra, dict):
                for name, sub_value in value.items():
                    walk(sub_value, extra, f"{where}.{name}")
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for i, item in enumerate(value):
                walk(item, node["items"], f"{where}[{i}]")

    walk(_defaulted(obj, schema), schema, obj["kind"])
    return found
