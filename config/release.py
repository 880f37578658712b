"""The app's own version: one source, the VERSION file at the repository's root (`make version` prints it).

Every synthesized stack carries it as a stack tag (app.build), which the CDK CLI passes to CloudFormation on deploy
and CloudFormation propagates to the resources it supports: a new version re-tags them, an update in place.
CHANGELOG.md has one entry per version.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

VERSION_FILE = Path(__file__).resolve().parent.parent / "VERSION"
VERSION_TAG = "eks-lattice-gateway:version"
# CloudFormation stack tags (botocore cloudformation 2010-05-15 service-2.json, shapes Tags/TagKey/TagValue, read
# 2026-12-05): at most 50 per stack, keys 1-128 characters and not starting "aws:", values 1-256 characters.
MAX_STACK_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = 50, 128, 256
_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?")


@cache
def app_version() -> str:
    """VERSION's one line, a semantic version (2.1.0, 2.1.0-rc.1); anything else is refused by name."""
    text = VERSION_FILE.read_text().strip()
    if not _SEMVER.fullmatch(text) or len(text) > MAX_TAG_VALUE:
        raise ValueError(f"{VERSION_FILE.name}: {text!r} is not a semantic version (MAJOR.MINOR.PATCH[-pre])")
    return text
