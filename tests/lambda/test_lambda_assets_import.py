"""Each Python Lambda function imports from its own code asset alone (issue 28's split of lambda/ into modules).

pytest's pythonpath puts every package under lambda/ on sys.path, so a module that imports a package its function
does not bundle passes every other test and fails only in Lambda (Runtime.ImportModuleError). Here one interpreter
(-I: no PYTHONPATH; -S: no site-packages; -B: nothing written into the assembly) imports, for every Python function
of the shared syntheses, its Handler's module with only that function's asset (and its layers' python/ folders),
the standard library and the runtime's boto3 on sys.path, and resolves the handler function."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Synthesized
from tests.support.smoke_assets import asset_dir

# What the Lambda Python runtime provides besides the standard library: "the AWS SDK for Python (Boto3) and its
# dependencies" (https://docs.aws.amazon.com/lambda/latest/dg/python-package.html, read 2026-12-05). The
# dependencies are read from the installed boto3's metadata; each is linked from this venv into a folder of its own,
# so nothing else in site-packages is seen.
RUNTIME_SDK = "boto3"


_IMPORT_EACH = r"""
import importlib, json, os, sys
runtime, functions = sys.argv[1], json.loads(sys.argv[2])
base = [p for p in sys.path if p]  # the standard library only (-I -S)
failures = []
for function in functions:
    paths = [function["asset"], *function["layers"]]
    sys.path[:] = [*paths, *base, runtime]
    module_name, _, attribute = function["handler"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
        if not callable(handler):
            raise TypeError(f"{function['handler']} is not callable")
    except Exception as err:  # report every function's fault, not only the first
        failures.append(f"{function['name']} ({function['handler']}): {type(err).__name__}: {err}")
    finally:  # the next function must not find this asset's packages already imported
        for name, module in list(sys.modules.items()):
            where = [getattr(module, "__file__", None) or "", *(getattr(module, "__path__", None) or [])]
            if any(str(w).startswith(tuple(paths)) for w in where):
                del sys.modules[name]
print(json.dumps(failures))
"""


def _python_functions(synthesized: Synthesized) -> list[dict[str, Any]]:
    outdir = Path(synthesized.assembly.directory)
    found = []
    for stack, template in synthesized.templates.items():
        resources: Mapping[str, Any] = template.get("Resources", {})
        for logical_id, resource in resources.items():
            props = resource.get("Properties", {})
            if resource["Type"] != "AWS::Lambda::Function" or not str(props.get("Runtime", "")).startswith("python"):
                continue
            layers = []
            for layer in props.get("Layers", []):
                content = resources[layer["Ref"]]["Properties"]["Content"]
                layers.append(str(outdir / f"asset.{content['S3Key'].split('.', 1)[0]}" / "python"))
            found.append(
                {
                    "name": f"{stack}/{logical_id}",
                    "handler": props["Handler"],
                    "asset": str(asset_dir(outdir, resource)),
                    "layers": layers,
                }
            )
    return found


def _distribution_and_dependencies(name: str, found: set[str]) -> set[str]:
    key = name.lower().replace("_", "-")
    if key not in found:
        found.add(key)
        for requirement in metadata.requires(name) or []:
            if "extra ==" not in requirement:  # optional extras are not installed in the runtime
                match = re.match(r"[A-Za-z0-9_.-]+", requirement)
                assert match, requirement
                _distribution_and_dependencies(match.group(0), found)
    return found


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding links to the top-level packages of boto3 and its dependencies, and nothing else (built once:
    reading every installed distribution's metadata takes half a second, and the imports only read the folder)."""
    import boto3

    site = Path(boto3.__file__).resolve().parents[1]
    distributions = _distribution_and_dependencies(RUNTIME_SDK, set())
    runtime = tmp_path_factory.mktemp("lambda-runtime") / "runtime"
    runtime.mkdir()
    for top, owners in metadata.packages_distributions().items():
        if any(o.lower().replace("_", "-") in distributions for o in owners):
            source = site / top if (site / top).is_dir() else site / f"{top}.py"
            (runtime / source.name).symlink_to(source)
    assert {"boto3", "botocore"} <= {p.name for p in runtime.iterdir()}
    return runtime


def import_each(functions: list[dict[str, Any]], runtime: Path) -> list[str]:
    """The failures of importing each function's handler from its own asset, one line per function."""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", _IMPORT_EACH, str(runtime), json.dumps(functions)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failures: list[str] = json.loads(result.stdout.splitlines()[-1])
    return failures


@pytest.mark.parametrize("fixture", ["synth", "protocols"])
def test_every_python_function_imports_its_handler_from_its_own_asset(
    fixture: str, request: pytest.FixtureRequest, runtime: Path
) -> None:
    synthesized: Synthesized = request.getfixturevalue(fixture)
    functions = _python_functions(synthesized)
    # Not blind: the defaults' synthesis holds a dozen and more Python functions, the smoke function among them.
    assert len(functions) >= 12 and any(f["handler"] == "smoke.handler.handler" for f in functions), functions
    failures = import_each(functions, runtime)
    assert not failures, "\n".join(failures)


def test_a_module_importing_a_package_its_function_does_not_bundle_fails(tmp_path: Path, runtime: Path) -> None:
    """The check itself can fail: an asset whose module imports another lambda/ package (present in the repository,
    absent from the asset) is named with the missing module, and the asset after it still imports."""
    broken, fine = tmp_path / "broken", tmp_path / "fine"
    (broken / "pkg").mkdir(parents=True)
    (broken / "pkg" / "__init__.py").write_text("")
    (broken / "pkg" / "handler.py").write_text("from pkg import helper\n\ndef on_event(event, context):\n    pass\n")
    (broken / "pkg" / "helper.py").write_text("import lattice_dns.records\n")
    (fine / "pkg").mkdir(parents=True)
    (fine / "pkg" / "__init__.py").write_text("")
    (fine / "pkg" / "handler.py").write_text("import boto3\n\ndef on_event(event, context):\n    pass\n")
    functions = [
        {"name": "Stack/Broken", "handler": "pkg.handler.on_event", "asset": str(broken), "layers": []},
        {"name": "Stack/Fine", "handler": "pkg.handler.on_event", "asset": str(fine), "layers": []},
    ]
    failures = import_each(functions, runtime)
    assert failures == ["Stack/Broken (pkg.handler.on_event): ModuleNotFoundError: No module named 'lattice_dns'"], (
        failures
    )
