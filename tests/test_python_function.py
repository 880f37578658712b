"""Data files in a Lambda's code asset (constructs/python_function.py): what travels there instead of the 4 KB
environment, laid out so the asset's hash follows the code and the data."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Aws, Stack
from constructs.python_function import lambda_asset_with_files


def _asset(outdir: Path, files: dict[str, str]) -> Path:
    stack = Stack(App(outdir=str(outdir)), "S")
    code = lambda_asset_with_files(stack, ("smoke",), files)
    config = code.bind(stack)
    assert config.s3_location is not None
    return outdir / f"asset.{config.s3_location.object_key.split('.', 1)[0]}"


def test_the_asset_holds_the_package_and_the_data_and_its_hash_follows_the_data(tmp_path: Path) -> None:
    first = _asset(tmp_path / "a", {"smoke/checks.json": "[1]"})
    again = _asset(tmp_path / "b", {"smoke/checks.json": "[1]"})
    other = _asset(tmp_path / "c", {"smoke/checks.json": "[2]"})
    assert (first / "smoke" / "handler.py").is_file() and (first / "smoke" / "__init__.py").is_file()
    assert (first / "smoke" / "checks.json").read_text() == "[1]"
    assert first.name == again.name != other.name
    assert not list(first.rglob("__pycache__")) and sorted(p.name for p in first.iterdir()) == ["smoke"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"smoke/handler.py": "x"}, "would overwrite code or leave the asset"),
        ({"../escape.json": "x"}, "would overwrite code or leave the asset"),
        ({"smoke/checks.json": f"[{Aws.ACCOUNT_ID!r}]"}, "hold deploy-time values"),
    ],
)
def test_data_that_cannot_ship_is_refused(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _asset(tmp_path, files)
