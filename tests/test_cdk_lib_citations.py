"""Every aws-cdk-lib version the project cites is the one it pins (review of issue 21: after the pin moved from
2.275.0 to 2.273.0, comments and tests still cited 2.275.0's files for facts the app relies on, e.g. the 500
resources a stack may hold). A citation names what was read; reading another version's file is not evidence for
the pinned one, so a pin change must re-read (and re-point) each citation.
"""

from __future__ import annotations

import re
import subprocess

from tests.conftest import ROOT

# `aws-cdk-lib 2.273.0`, `aws-cdk-lib 2.273`, `aws-cdk-lib@2.273.0`, `aws-cdk-lib==2.273.0`, with the name in
# backticks or not.
CITATION = re.compile(r"aws-cdk-lib`?(?:\s+|@|==)v?(\d+\.\d+(?:\.\d+)?)\b")
# Mentions of another version that are not citations of what was read but the record of why the pin is what it
# is: (file, version) -> why.
NOT_CITATIONS = {
    ("tests/test_pipeline_tools.py", "2.275"): "the schema-55 failure that made 2.273.0 the pin",
}
# Generated or vendored text: snapshots, the npm lock file.
SKIP = ("tests/__snapshots__/", "package-lock.json")


def pinned() -> str:
    (version,) = re.findall(r"^aws-cdk-lib==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    return version


def citations() -> list[tuple[str, int, str]]:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    found = []
    for name in filter(None, files):
        path = ROOT / name
        if name.startswith(SKIP) or not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            found += [(name, number, version) for version in CITATION.findall(line)]
    return found


def test_every_aws_cdk_lib_citation_is_the_pinned_version() -> None:
    pin = pinned()
    found = citations()
    assert any(name == "stacks/gateway_stack.py" for name, _, _ in found)  # the scan sees the cited files
    wrong = [
        f"{name}:{number}: aws-cdk-lib {version} (pinned: {pin})"
        for name, number, version in found
        if pin.split(".")[: version.count(".") + 1] != version.split(".") and (name, version) not in NOT_CITATIONS
    ]
    assert wrong == []


def test_the_pattern_finds_each_way_a_version_is_written() -> None:
    other = "2.275"  # not written after the name here: this file would cite it
    for text in (
        f"aws-cdk-lib {other}.0 core",
        f"`aws-cdk-lib` {other}.0",
        f"aws-cdk-lib@{other}.0.jsii",
        f"aws-cdk-lib=={other}.0",
        f"aws-cdk-lib {other}'s",
    ):
        assert CITATION.findall(text) in ([f"{other}.0"], [other]), text
    assert CITATION.findall("aws-cdk-lib grants") == []
