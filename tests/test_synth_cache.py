"""The synthesis cache's key (tests/conftest.py source_digest): any file of the clone, tracked or new, changes it;
what git ignores (cdk.out, .cache) does not; without git there is no key, so nothing is cached."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import source_digest


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_every_file_of_the_clone_and_nothing_ignored_is_in_the_key(tmp_path: Path) -> None:
    root = tmp_path / "clone"
    root.mkdir()
    _git(root, "init", "-q")
    (root / ".gitignore").write_text(".cache/\n")
    (root / "app.py").write_text("A = 1\n")
    _git(root, "add", ".")
    first = source_digest.__wrapped__(root)
    (root / ".cache").mkdir()
    (root / ".cache" / "x").write_text("ignored")
    assert source_digest.__wrapped__(root) == first
    (root / "app.py").write_text("A = 2\n")  # a tracked file changed
    second = source_digest.__wrapped__(root)
    assert second not in (None, first)
    (root / "new.py").write_text("")  # a new file, not yet added
    assert source_digest.__wrapped__(root) not in (first, second)


def test_only_test_modules_and_snapshots_stay_out_of_the_key(tmp_path: Path) -> None:
    """Changing a test module or a snapshot keeps the key (nothing synthesizes again); any other file under tests/
    (conftest.py, support modules, data a fixture reads) changes it."""
    root = tmp_path / "clone"
    for name in ("app.py", "tests/conftest.py", "tests/support/scans.py", "tests/test_x.py", "tests/lambda/test_y.py",
                 "tests/__snapshots__/test_x.ambr", "tests/testdata.json", "tests/support/test-ca.pem"):  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("1\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    key = source_digest.__wrapped__(root)
    for outside in ("tests/test_x.py", "tests/lambda/test_y.py", "tests/__snapshots__/test_x.ambr"):
        (root / outside).write_text("2\n")
        assert source_digest.__wrapped__(root) == key, outside
    for inside in ("app.py", "tests/conftest.py", "tests/support/scans.py", "tests/testdata.json",
                   "tests/support/test-ca.pem"):  # fmt: skip
        (root / inside).write_text("2\n")
        changed = source_digest.__wrapped__(root)
        assert changed not in (None, key), inside
        key = changed


def test_without_git_nothing_is_cached(tmp_path: Path) -> None:
    assert source_digest.__wrapped__(tmp_path) is None


# ------------------------------------------------------------------ what the key leaves out must not matter

# Read during a synthesis but unable to change a template: the PATH that finds Node (its version is in the key),
# jsii's warning switch and debug flag, and aws-cdk-lib's performance-counter file (written, not read).
HARMLESS = {"PATH", "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "JSII_DEBUG", "CDK_PERF_COUNTERS_FILE"}


def _environment_reads(path: Path) -> set[str]:
    """Names this file reads from the environment: os.environ[...] / .get(...) / os.getenv(...) / environ.get."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        target: ast.expr | None = None
        key: ast.expr | None = None
        if isinstance(node, ast.Subscript):
            target, key = node.value, node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            if node.func.attr == "get":
                target, key = node.func.value, node.args[0]
            elif node.func.attr == "getenv":
                target, key = ast.Name("environ"), node.args[0]
        if target is not None and ast.unparse(target).endswith("environ") and isinstance(key, ast.Constant):
            names.add(str(key.value))
    return names


def _cdk_reads() -> set[str]:
    """The variables aws-cdk-lib's App reads (core/lib/app.js: process.env[cxapi().NAME], names from cx-api)."""
    import re
    import tarfile

    import aws_cdk

    bundle = next((Path(aws_cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz"))
    with tarfile.open(bundle) as tar:
        app = tar.extractfile("package/core/lib/app.js").read().decode()  # type: ignore[union-attr]
        cxapi = tar.extractfile("package/cx-api/lib/cxapi.js").read().decode()  # type: ignore[union-attr]
    constants = dict(re.findall(r'([A-Z_]+)="([A-Z_]+)"', cxapi))
    reads = set(re.findall(r"process\.env\.([A-Z_]+)", app))
    reads |= {constants[name] for name in re.findall(r"process\.env\[cxapi\(\)\.([A-Z_]+)\]", app)}
    return reads


def test_every_variable_the_synthesis_reads_is_cleared_or_harmless() -> None:
    """Each environment variable the app or aws-cdk-lib reads while synthesizing is either cleared for the session
    (conftest.SYNTH_ENVIRONMENT: so it cannot change a template the cache keeps) or unable to change a template."""
    from tests.conftest import ROOT, SYNTH_ENVIRONMENT

    sources = [ROOT / "app.py", ROOT / "tools" / "synth.py"]
    sources += [p for folder in ("config", "stacks", "constructs") for p in (ROOT / folder).rglob("*.py")]
    app_reads = set().union(*(_environment_reads(p) for p in sources))
    cdk_reads = _cdk_reads()
    assert {"CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION"} <= app_reads and "CDK_CONTEXT_JSON" in cdk_reads
    unaccounted = (app_reads | cdk_reads) - set(SYNTH_ENVIRONMENT) - HARMLESS
    assert not unaccounted, f"clear these in tests/conftest.py SYNTH_ENVIRONMENT, or key them: {sorted(unaccounted)}"
    assert not set(SYNTH_ENVIRONMENT) & set(os.environ)


def test_the_scan_finds_a_read(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text('import os\nA = os.environ.get("ONE")\nB = os.environ["TWO"]\nC = os.getenv("THREE")\n')
    assert _environment_reads(source) == {"ONE", "TWO", "THREE"}


# ------------------------------------------------------------------------------------ mutation testing


def test_mutation_testing_never_reads_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import _synth_cache_on
    from tools import mutation

    env = mutation.mutmut_env()
    assert env["EKS_LATTICE_SYNTH_CACHE"] == "off"
    monkeypatch.setenv("EKS_LATTICE_SYNTH_CACHE", env["EKS_LATTICE_SYNTH_CACHE"])
    assert not _synth_cache_on()
    root = _clone(tmp_path)
    assert source_digest.__wrapped__(root) is not None
    monkeypatch.setenv("MUTANT_UNDER_TEST", "x.y__mutmut_1")  # set by mutmut for each mutant
    assert source_digest.__wrapped__(root) is None


def test_a_folder_git_ignores_has_no_key(tmp_path: Path) -> None:
    root = _clone(tmp_path)
    (root / ".gitignore").write_text("mutants/\n")
    copy = root / "mutants"
    copy.mkdir()
    (copy / "app.py").write_text("A = 3\n")
    assert source_digest.__wrapped__(copy) is None


def _clone(tmp_path: Path) -> Path:
    root = tmp_path / "clone"
    root.mkdir()
    _git(root, "init", "-q")
    (root / "app.py").write_text("A = 1\n")
    _git(root, "add", ".")
    return root


# ------------------------------------------------------------------------------------------ toolchain


def test_the_installed_toolchain_is_in_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from tests.conftest import toolchain

    found = toolchain()
    for name in ("aws-cdk-lib", "jsii", "cdk-nag", "aws-cdk.lambda-layer-kubectl-v36"):
        assert found[name] == importlib.metadata.version(name)
    assert found["node"].startswith("v")
    root = _clone(tmp_path)
    before = source_digest.__wrapped__(root)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    node = bin_dir / "node"
    node.write_text("#!/bin/sh\necho v0.0.1\n")
    node.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert toolchain()["node"] == "v0.0.1"
    assert source_digest.__wrapped__(root) not in (None, before)


# ------------------------------------------------------------------------------------------ storing


def _assembly(tmp_path: Path, text: str) -> Path:
    out = tmp_path / f"out-{text}"
    out.mkdir()
    (out / "manifest.json").write_text(text * 1000)
    (out / "sub").mkdir()
    (out / "sub" / "t.json").write_text(text)
    return out


def _complete(cache: Path, name: str) -> list[str]:
    return sorted(p.name for p in cache.glob(f"{name}-*") if (p / ".complete").is_file())


def test_a_store_keeps_an_entry_readable_throughout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry is removed only while another complete entry of the fixture is in place (the new is renamed in
    before the old goes), so a reader always finds one; the other fixture whose name starts the same is left alone;
    the stored files are read-only. Checked at each removal, not by a polling thread: a thread's glob-then-check
    is not one instant and raced in CI."""
    import tests.conftest as conftest

    cache = tmp_path / "cache"
    assert conftest._store_synthesis(_assembly(tmp_path, "a"), "largest", "a" * 40, cache)
    assert conftest._store_synthesis(_assembly(tmp_path, "p"), "largest-ports", "c" * 40, cache)
    removed: list[str] = []
    remove = conftest._remove

    def checked_remove(path: Path) -> None:
        if not path.name.startswith("."):
            others = [name for name in _complete(cache, "largest") if name != path.name and "ports" not in name]
            assert others, f"{path.name} removed with no other complete entry in place"
            removed.append(path.name)
        remove(path)

    monkeypatch.setattr(conftest, "_remove", checked_remove)
    for i in range(5):
        assert conftest._store_synthesis(_assembly(tmp_path, f"b{i}"), "largest", f"{i}" * 40, cache)
    assert removed == ["largest-" + "a" * 40] + [f"largest-{i}" + f"{i}" * 39 for i in range(4)]
    assert _complete(cache, "largest") == sorted(["largest-" + "4" * 40, "largest-ports-" + "c" * 40])
    stored = cache / ("largest-" + "4" * 40) / "sub" / "t.json"
    assert stored.read_text() == "b4" and not stored.stat().st_mode & 0o222


def test_an_unwritable_cache_is_no_failure(tmp_path: Path) -> None:
    from tests.conftest import _store_synthesis

    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder would be")
    assert _store_synthesis(_assembly(tmp_path, "a"), "largest", "a" * 40, blocked) is False
    assert blocked.is_file()


def test_stale_staging_folders_are_removed(tmp_path: Path) -> None:
    from tests.conftest import STALE_STAGING_SECONDS, _store_synthesis

    cache = tmp_path / "cache"
    cache.mkdir()
    stale, fresh = cache / ".largest-dead-1", cache / ".largest-live-2"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "f").write_text("x")
    old = time.time() - STALE_STAGING_SECONDS - 60
    os.utime(stale, (old, old))
    assert _store_synthesis(_assembly(tmp_path, "a"), "largest", "a" * 40, cache)
    assert not stale.exists() and fresh.exists()
