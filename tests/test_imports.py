"""The top-level `constructs/` folder has no __init__.py: the `constructs` library extends its package
path to it. Its capability packages (constructs/<package>/) have their own __init__.py. These tests prove that
the library's classes, our shared modules and every package import, from pytest and from fresh interpreters
the way app.py runs, and that the stacks use the packages' surface."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from tests.conftest import ROOT

CONSTRUCTS = ROOT / "constructs"
PACKAGES = sorted(p.parent.name for p in CONSTRUCTS.glob("*/__init__.py"))


def _fresh(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1"},
    )


def test_constructs_folder_has_no_init() -> None:
    assert CONSTRUCTS.is_dir()
    assert not (CONSTRUCTS / "__init__.py").exists()


def test_every_folder_under_constructs_is_a_package_with_a_declared_surface() -> None:
    folders = sorted(p.name for p in CONSTRUCTS.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert len(PACKAGES) >= 10
    assert folders == PACKAGES, "a folder without __init__.py would be a namespace package of the library's"
    for package in PACKAGES:
        tree = ast.parse((CONSTRUCTS / package / "__init__.py").read_text())
        exported = [
            ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets)
        ]
        assert exported and exported[0], f"constructs/{package}/__init__.py declares no __all__"


def test_library_and_project_modules_import_from_pytest() -> None:
    import constructs
    import constructs.network
    from constructs import Construct
    from constructs.network import ClusterVpc
    from constructs.python_function import PythonFunction

    assert Construct.__module__.startswith("constructs")
    assert not Construct.__module__.startswith("constructs.network")
    assert ClusterVpc.__module__ == "constructs.network.vpcs"
    assert PythonFunction.__module__ == "constructs.python_function"
    assert constructs.network.__file__ == str(CONSTRUCTS / "network" / "__init__.py")
    assert any(str(p).startswith(str(ROOT)) for p in constructs.__path__)


def test_imports_work_the_way_app_py_runs() -> None:
    code = "import app; from constructs import Construct; from constructs.cluster import EksCluster; print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_each_package_imports_first_in_a_fresh_interpreter() -> None:
    """Imported first and alone, each package loads (no import cycle through another package's __init__), every
    name of its __all__ is there, and `constructs.Construct` is still the library's."""
    code = (
        "import sys, constructs, constructs.{0} as p\n"
        "from constructs import Construct\n"
        "missing = [n for n in p.__all__ if not hasattr(p, n)]\n"
        "assert not missing, missing\n"
        "assert Construct.__module__ == 'constructs', Construct.__module__\n"
        "assert p.__file__.endswith('constructs/{0}/__init__.py'), p.__file__\n"
        "print('ok', len(p.__all__))\n"
    )
    running = {package: _fresh(code.format(package)) for package in PACKAGES}
    for package, process in running.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"constructs.{package}: {err[-2000:]}"
        assert out.startswith("ok "), (package, out)


def test_stacks_and_app_import_packages_not_their_modules() -> None:
    """stacks/ and app.py use each package's surface (its __init__), never a module inside it; the shared building
    blocks at the top (constructs/*.py) are modules of their own."""
    shared = {p.stem for p in CONSTRUCTS.glob("*.py")}
    assert shared and len(shared) <= 4, shared  # a handful of shared blocks; everything else lives in a package
    found = []
    for path in [ROOT / "app.py", *(ROOT / "stacks").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("constructs."):
                parts = node.module.split(".")  # type: ignore[union-attr]
                if len(parts) > 2 or parts[1] not in {*PACKAGES, *shared}:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}")
    assert not found, found


def deep_imports(path_and_source: list[tuple[str, str]]) -> list[str]:
    """`from constructs.<other>.<module> import ...` (or `import constructs.<other>.<module>`) in a module of
    constructs/<package>/ or tools/: another package reached past its __init__ surface. A package's own modules
    may import each other."""
    found = []
    for name, source in path_and_source:
        parts = name.split("/")
        own = parts[1] if parts[0] == "constructs" and len(parts) > 2 else None
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            modules: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            for module in modules:
                dotted = module.split(".")
                if dotted[0] == "constructs" and len(dotted) > 2 and dotted[1] in PACKAGES and dotted[1] != own:
                    found.append(f"{name}:{node.lineno} {module}")
    return found


def test_the_deep_import_check_sees_a_package_bypassing_anothers_surface() -> None:
    """Class test, on the fault it is there for (dns/records.py importing workload.routes directly)."""
    fault = "from constructs.workload.routes import route_object\n"
    assert deep_imports([("constructs/dns/records.py", fault)]) == [
        "constructs/dns/records.py:1 constructs.workload.routes"
    ]
    assert deep_imports([("tools/cost/estimating.py", "import constructs.workload.manifests\n")])
    assert not deep_imports([("constructs/workload/gateway_workload.py", fault)])  # its own package
    assert not deep_imports([("constructs/dns/records.py", "from constructs.workload import route_object\n")])


def test_packages_and_tools_import_another_package_only_through_its_surface() -> None:
    """Class test: a constructs package (or a tool) uses another package only through the names its __init__
    exports, so a package's modules can move or split without reaching into its neighbours."""
    sources = [
        (path.relative_to(ROOT).as_posix(), path.read_text())
        for path in [*sorted(CONSTRUCTS.glob("*/*.py")), *sorted((ROOT / "tools").rglob("*.py"))]
    ]
    assert len(sources) > 50, len(sources)
    found = deep_imports(sources)
    assert not found, f"import the package, and export what others use from its __init__: {found}"
