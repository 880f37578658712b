"""constructs.workload.k8s_objects, validated as built when the test runs.

test_k8s_objects.py validates objects built at collection time (a mutation run, which changes code only
while tests run, never reaches them) and its every-version check skips any object whose apiVersion is not a
core one, so there an apiVersion nobody serves (say "V1") went unnoticed. Here every object is built inside
the test and validated by its apiVersion: core ones against Kubernetes' schema on every supported version,
others against the CRDs, and an unknown one is an error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from constructs.controller.objects import controller_namespace, controller_service_account
from constructs.workload.manifests import workload_objects
from k8s_schemas import CORE_API_VERSIONS, validate_core, validate_object

from config.model import AppConfig
from config.versions import CONTROLLER_NAMESPACE, EKS_VERSIONS
from tests.test_k8s_objects import default_config, rich_config


@pytest.mark.parametrize("make", [default_config, rich_config], ids=["default", "rich"])
def test_every_object_is_served_and_valid(make: Callable[[], AppConfig], reference_dir: Path) -> None:
    cfg = make()
    objects = [controller_namespace(), controller_service_account(), *workload_objects(cfg)]
    for obj in objects:
        validate_object(obj, crd_root=reference_dir / "crds", kubernetes_version=cfg.kubernetes_version)
        if obj["apiVersion"] in CORE_API_VERSIONS:
            for version in EKS_VERSIONS:
                validate_core(obj, version)
    assert {o["kind"] for o in objects} >= {"Namespace", "ServiceAccount", "Deployment", "Service", "HTTPRoute"}


def test_controller_namespace_is_upstreams() -> None:
    # aws-application-networking-k8s v2.1.3 files/controller-installation/deploy-namesystem.yaml
    assert controller_namespace() == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": CONTROLLER_NAMESPACE, "labels": {"control-plane": "gateway-api-controller"}},
    }
