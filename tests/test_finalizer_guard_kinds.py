"""The finalizer guard's table of kinds against the controller's source (tests/controller_finalizers.py) and the
CRDs at the pinned versions (../shared/reference/crds): the finalizer it strips and the resource it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from constructs.workload.finalizer_guard import FINALIZED_KINDS, object_path

from tests.controller_finalizers import FINALIZED, finalizer_of


def _crd_plurals(reference_dir: Path) -> dict[tuple[str, str], str]:
    plurals: dict[tuple[str, str], str] = {}
    for path in (reference_dir / "crds").glob("*/*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                spec = doc["spec"]
                plurals[(spec["group"], spec["names"]["kind"])] = spec["names"]["plural"]
    return plurals


def test_the_guard_knows_every_finalizer_the_controller_adds_and_no_other() -> None:
    assert {key: finalizer for key, (_, finalizer) in FINALIZED_KINDS.items()} == {
        (f.group, f.kind): f.finalizer for f in FINALIZED
    }


def test_the_guard_names_each_kind_by_its_crds_plural(reference_dir: Path) -> None:
    plurals = _crd_plurals(reference_dir)
    for key, (resource, _) in FINALIZED_KINDS.items():
        assert plurals.get(key) == resource, f"{key}: the CRD's plural is {plurals.get(key)!r}"


@pytest.mark.parametrize("finalized", FINALIZED, ids=lambda f: f.kind)
def test_each_finalized_object_gets_its_path_and_the_controllers_finalizer(finalized: Any) -> None:
    version = "v1" if finalized.group == "gateway.networking.k8s.io" else "v1alpha1"
    obj = {
        "apiVersion": f"{finalized.group}/{version}",
        "kind": finalized.kind,
        "metadata": {"name": "demo", "namespace": "team-a"},
    }
    path, finalizer = object_path(obj)
    resource = FINALIZED_KINDS[(finalized.group, finalized.kind)][0]
    assert path == f"/apis/{finalized.group}/{version}/namespaces/team-a/{resource}/demo"
    assert finalizer == finalizer_of(obj["apiVersion"], finalized.kind) == finalized.finalizer


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("v1", "Service"),
        ("application-networking.k8s.aws/v1alpha1", "TargetGroupPolicy"),
        ("gateway.networking.k8s.io/v1", "GatewayClass"),
        ("apps/v1", "Deployment"),
    ],
)
def test_a_kind_the_controller_does_not_finalize_gets_no_guard(api_version: str, kind: str) -> None:
    assert finalizer_of(api_version, kind) is None
    with pytest.raises(ValueError, match=f"no finalizer on {api_version} {kind}"):
        object_path({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "namespace": "default"}})
