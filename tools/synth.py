"""Shared by the tools: the app's synthesized templates, from a fresh cdk.out or an in-process synthesis.

`load()` reuses `cdk.out/` when it is newer than every source file (what `make synth` left behind), and
otherwise synthesizes the app in this process into a temporary directory, the way tests/conftest.py does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Everything a synthesis reads: the app, its configuration, VERSION (config/release.py) and package.json (the
# pipeline stack pins its CLI from it); a change to any of them makes cdk.out stale.
SOURCES = ("app.py", "cdk.json", "config", "constructs", "stacks", "lambda", "VERSION", "package.json")

Template = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Assembly:
    """What the tools read from one synthesis: templates by stack name and the order between stacks."""

    outdir: Path
    templates: dict[str, Template]
    # stack name -> stack names it depends on (from manifest.json artifact dependencies)
    dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # stack name -> region, when the stack's environment names one
    regions: dict[str, str] = field(default_factory=dict)
    # stack name -> account, when the stack's environment names one (a consumer stack: the consumer's)
    accounts: dict[str, str] = field(default_factory=dict)


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def read_assembly(outdir: Path) -> Assembly:
    """Read a cloud assembly directory (cdk.out): every CloudFormation stack artifact in manifest.json."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    names: dict[str, str] = {}
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") == "aws:cloudformation:stack":
            names[artifact_id] = artifact.get("properties", {}).get("stackName", artifact_id)
    templates: dict[str, Template] = {}
    dependencies: dict[str, tuple[str, ...]] = {}
    regions: dict[str, str] = {}
    accounts: dict[str, str] = {}
    for artifact_id, name in names.items():
        artifact = artifacts[artifact_id]
        templates[name] = json.loads((outdir / artifact["properties"]["templateFile"]).read_text())
        dependencies[name] = tuple(names[d] for d in artifact.get("dependencies", []) if d in names)
        env = str(artifact.get("environment", ""))
        region = env.rsplit("/", 1)[-1] if env.startswith("aws://") else ""
        if region and region != "unknown-region":
            regions[name] = region
        account = env.removeprefix("aws://").split("/", 1)[0] if env.startswith("aws://") else ""
        if account.isdigit():
            accounts[name] = account
    return Assembly(outdir=outdir, templates=templates, dependencies=dependencies, regions=regions, accounts=accounts)


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in SOURCES:
        path = ROOT / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for file in path.rglob("*"):
                if file.is_file() and "__pycache__" not in file.parts:
                    newest = max(newest, file.stat().st_mtime)
    return newest


def fresh_cdk_out(outdir: Path = ROOT / "cdk.out") -> bool:
    manifest = outdir / "manifest.json"
    return manifest.is_file() and manifest.stat().st_mtime >= _newest_source_mtime()


def build_app(
    outdir: Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    today: dt.date | None = None,
    env: tuple[str, str] | None = None,
    nag: bool = True,
) -> Any:
    """The app as app.py builds it, from cdk.json's context plus `overrides` (what `-c` would add), and
    `env` (account, region) as credentials would give it (default: the environment's, usually none);
    `nag=False` without the cdk-nag pass (see app.build).

    Returns (cdk.App, AppConfig); jsii starts here, so the virtualenv's Node is put on PATH first.
    """
    bin_dir = str(ROOT / ".venv" / "bin")
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    import aws_cdk as cdk  # noqa: PLC0415 - jsii starts on import; PATH must be set first

    import app as app_module  # noqa: PLC0415
    from config import parse_context  # noqa: PLC0415

    context = {**cdk_json_context(), **(overrides or {})}
    app = cdk.App(context=context, outdir=str(outdir))
    config = parse_context(app.node.get_all_context(), today=today or dt.date.today())
    app_module.build(app, config, env=cdk.Environment(account=env[0], region=env[1]) if env else None, nag=nag)
    return app, config


def synthesize(outdir: Path, overrides: Mapping[str, Any] | None = None, *, today: dt.date | None = None) -> Assembly:
    """Build and synthesize the app in this process."""
    app, _ = build_app(outdir, overrides, today=today)
    app.synth()
    return read_assembly(outdir)


def load(*, outdir: Path = ROOT / "cdk.out", emit: Any = None) -> Assembly:
    """cdk.out when it is up to date, else a fresh in-process synthesis into a temporary directory."""
    if fresh_cdk_out(outdir):
        return read_assembly(outdir)
    if emit is not None:
        emit(f"({outdir.name} missing or older than the sources: synthesizing the app in-process)")
    return synthesize(Path(tempfile.mkdtemp(prefix="cdk.out.")))
