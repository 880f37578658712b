"""The top-level `constructs/` folder has no __init__.py: the `constructs` library extends its package
path to it. These tests prove that both our modules and the library's classes import, from pytest and
from app.py's own interpreter."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_constructs_folder_has_no_init() -> None:
    assert (ROOT / "constructs").is_dir()
    assert not (ROOT / "constructs" / "__init__.py").exists()


def test_library_and_project_modules_import_from_pytest() -> None:
    import constructs
    from constructs import Construct
    from constructs.network.vpcs import ClusterVpc

    assert Construct.__module__.startswith("constructs")
    assert ClusterVpc.__module__ == "constructs.network.vpcs"
    assert any(str(p).startswith(str(ROOT)) for p in constructs.__path__)


def test_imports_work_the_way_app_py_runs() -> None:
    code = "import app; from constructs import Construct; from constructs.cluster.eks import EksCluster; print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
