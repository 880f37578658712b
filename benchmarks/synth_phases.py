#!/usr/bin/env python3
"""Where one synthesis spends its time (`make bench`), for the full app or the bare cluster app.

Run as a child process: it times its own phases on the Python side (importing aws-cdk-lib, which starts jsii's
Node kernel; building the constructs; app.synth()) and prints them as JSON. The parent starts it with Node's own
sampling profiler on (NODE_OPTIONS=--cpu-prof, https://nodejs.org/api/cli.html#--cpu-prof, read 2026-12-05), so
the kernel's time inside those calls is split by what aws-cdk-lib was doing: asset staging and hashing, aspects,
the validation plugins (aws-cdk-lib's CloudFormation rules, cdk-nag), template writing.

    python benchmarks/synth_phases.py app|bare OUTDIR     (child: prints {"import": s, "build": s, "synth": s})
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# A sample's phase: the first rule, in this order, that a frame of its stack matches (function name, or a file
# name the frame's script URL ends with). Names are aws-cdk-lib 2.273.0's and cdk-nag's compiled JavaScript.
PHASE_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "validation: CloudFormation rules (aws-cdk-lib's plugin)",
        (),
        ("cloudformation-validate-plugin.js", "bindings_wasm.js", "cloudformation-validate/index.js"),
    ),
    ("validation: cdk-nag", (), ("nag-pack.js", "aws-solutions.js")),
    ("validation: hashing the output before/after plugins", ("snapshotFileHashes", "hasModifiedPreExistingFiles"), ()),
    ("validation: report, other", ("validateTemplates", "validateTree"), ()),
    ("aspects", ("invokeAspects", "invokeAspectsV2"), ()),
    ("prepare (references, dependencies)", ("prepareApp",), ()),
    ("template writing", ("synthesizeTree", "buildAssembly", "injectMetadataResources", "injectTreeMetadata"), ()),
    ("asset staging and hashing", ("AssetStaging",), ("asset-staging.js", "fingerprint.js")),
    ("jsii: loading modules", ("_Kernel_load", "wrapModuleLoad"), ()),
    ("construct build", ("_Kernel_create", "_Kernel_invoke", "_Kernel_sinvoke", "_Kernel_get", "_Kernel_set"), ()),
    ("jsii: idle, waiting on Python", ("readSync",), ()),
)
OTHER = "jsii: garbage collection, messages, start-up"


def classify_profile(profile: Mapping[str, Any]) -> dict[str, float]:
    """Seconds per phase of one .cpuprofile (Chrome DevTools' format that Node writes)."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {child: n["id"] for n in profile["nodes"] for child in n.get("children", ())}
    self_us: collections.Counter[int] = collections.Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
        self_us[sample] += delta
    phases: collections.Counter[str] = collections.Counter()
    for node_id, micros in self_us.items():
        frames = []
        current: int | None = node_id
        while current is not None:
            frame = nodes[current]["callFrame"]
            frames.append((frame["functionName"], frame["url"]))
            current = parent.get(current)
        phases[_phase(frames)] += micros
    return {name: micros / 1e6 for name, micros in phases.items()}


def _phase(frames: list[tuple[str, str]]) -> str:
    for name, functions, files in PHASE_RULES:
        for function, url in frames:
            if function in functions or (files and url.endswith(files)):
                return name
    return OTHER


def profile_synth(which: str, outdir: Path, profile_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Run this file as a child with Node's profiler on; its Python-side phases and the kernel's phases."""
    profile_dir.mkdir(parents=True, exist_ok=True)
    child_env = dict(env)
    child_env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} --cpu-prof --cpu-prof-dir={profile_dir}".strip()
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, __file__, which, str(outdir)],
        check=False,
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(f"synth_phases {which} exited {run.returncode}: {run.stderr.strip()[-2000:]}")
    python_side: dict[str, float] = json.loads(run.stdout.strip().splitlines()[-1])
    profiles = sorted(profile_dir.glob("*.cpuprofile"), key=lambda p: p.stat().st_size)
    # The kernel's is the largest; jsii's launcher process writes a small one of its own.
    kernel = classify_profile(json.loads(profiles[-1].read_text())) if profiles else {}
    return {"wall": wall, "python": python_side, "kernel": kernel}


def _child(which: str, outdir: str) -> None:
    marks = {"start": time.perf_counter()}
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    import aws_cdk as cdk  # noqa: PLC0415 - jsii's kernel starts here

    from tools.synth import cdk_json_context  # noqa: PLC0415

    marks["import"] = time.perf_counter()
    app = cdk.App(context=cdk_json_context(), outdir=outdir)
    if which == "bare":
        from benchmarks.bare_cluster_app import build  # noqa: PLC0415

        build(app)
    else:
        import datetime as dt  # noqa: PLC0415

        import app as app_module  # noqa: PLC0415
        from config import parse_context  # noqa: PLC0415

        app_module.build(app, parse_context(app.node.get_all_context(), today=dt.date.today()))
    marks["build"] = time.perf_counter()
    app.synth()
    marks["synth"] = time.perf_counter()
    print(
        json.dumps(
            {
                "import aws-cdk-lib (jsii start)": marks["import"] - marks["start"],
                "construct build": marks["build"] - marks["import"],
                "app.synth()": marks["synth"] - marks["build"],
            }
        )
    )


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
