"""The smoke checks a synthesis ships: each smoke function's checks file, read from its code asset."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from constructs.smoke.functions import CHECKS_FILE

SMOKE_HANDLER = "smoke.handler.handler"


def asset_dir(outdir: Path, function: Mapping[str, Any]) -> Path:
    """The staged code asset of a synthesized AWS::Lambda::Function (its S3Key is `<hash>.zip`)."""
    key = function["Properties"]["Code"]["S3Key"]
    return outdir / f"asset.{key.split('.', 1)[0]}"


def smoke_functions(
    outdir: Path, templates: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """("stack/logical id", function properties, checks) for every smoke function in the templates."""
    found = []
    for stack, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::Function" and props.get("Handler") == SMOKE_HANDLER:
                checks = json.loads((asset_dir(outdir, resource) / CHECKS_FILE).read_text(encoding="utf-8"))
                found.append((f"{stack}/{logical_id}", props, checks))
    return found
