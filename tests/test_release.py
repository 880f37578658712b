"""The app's version (issue 27 item 1): one source (VERSION), `make version`, a tag on every synthesized stack
within CloudFormation's tag limits, a CHANGELOG entry for it, and the licence."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from config.release import MAX_STACK_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE, VERSION_FILE, VERSION_TAG, app_version
from tests.conftest import ROOT, PipelineSynth, Synthesized
from tests.support import docs


def _stack_tags(outdir: Path) -> dict[str, dict[str, str]]:
    """Every stack artifact's tags in a cloud assembly, nested assemblies (a pipeline's stages) included."""
    found: dict[str, dict[str, str]] = {}
    for manifest in outdir.rglob("manifest.json"):
        for name, artifact in json.loads(manifest.read_text()).get("artifacts", {}).items():
            if artifact.get("type") == "aws:cloudformation:stack":
                found[f"{manifest.parent.name}/{name}"] = artifact.get("properties", {}).get("tags", {})
    return found


def test_make_version_prints_the_version_file() -> None:
    out = subprocess.run(["make", "-s", "version"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == VERSION_FILE.read_text().strip() == app_version()


def test_a_version_that_is_not_semantic_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from config import release

    bad = tmp_path / "VERSION"
    bad.write_text("v1\n")
    monkeypatch.setattr(release, "VERSION_FILE", bad)
    release.app_version.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"VERSION: 'v1' is not a semantic version"):
            release.app_version()
    finally:
        release.app_version.cache_clear()


def test_every_synthesized_stack_carries_the_version_within_the_tag_limits(
    synth: Synthesized, variant: Synthesized, namespaced: Synthesized, two_stages: PipelineSynth
) -> None:
    """Class test: each stack of every shared synthesis (the app's, the variants', the pipeline's and its stages')
    has the tag; no stack exceeds CloudFormation's 50 tags, 128-character keys or 256-character values; and the
    templates themselves do not hold it, so a version bump changes no template."""
    stacks: dict[str, dict[str, str]] = {}
    for outdir in (synth.outdir, variant.outdir, namespaced.outdir, two_stages.outdir):
        stacks.update(_stack_tags(outdir))
    assert len(stacks) > 10  # the pipeline's stages' stacks are in nested assemblies
    for name, tags in stacks.items():
        assert tags.get(VERSION_TAG) == app_version(), name
        assert len(tags) <= MAX_STACK_TAGS, name
        for key, value in tags.items():
            assert 1 <= len(key) <= MAX_TAG_KEY and not key.startswith("aws:"), (name, key)
            assert 1 <= len(value) <= MAX_TAG_VALUE, (name, key)
    for s in (synth, variant):
        assert VERSION_TAG not in json.dumps(s.templates)
    assert VERSION_TAG not in json.dumps(two_stages.template)


def test_the_changelog_has_an_entry_for_this_version_and_each_entry_a_date() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    entries = re.findall(r"^## \[(\S+)\] - (\d{4}-\d{2}-\d{2})$", text, flags=re.M)
    assert entries and entries[0][0] == app_version()  # newest first
    assert len({v for v, _ in entries}) == len(entries)
    assert [d for _, d in entries] == sorted((d for _, d in entries), reverse=True)


def test_the_licence_is_apache_2() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def _bullets(text: str) -> list[str]:
    return [b.replace("\n", " ") for b in re.split(r"\n(?=- )", text)]


def test_every_documented_upgrade_workaround_is_in_the_changelogs_upgrade_notes() -> None:
    """Class test: each documentation bullet (README.md, docs/) about upgrading a deployment made before a change (a
    step a plain deploy cannot take, [BLOCKING] in make impact) names its remedy's command, and the CHANGELOG's
    upgrade notes carry the same command, so the version that introduced it says what to do."""
    documented = docs.text()
    notes = " ".join(
        m.group(1).replace("\n", " ")
        for m in re.finditer(r"### Upgrade notes\n(.*?)(?=\n## |\Z)", (ROOT / "CHANGELOG.md").read_text(), re.S)
    )
    upgrades = [b for b in _bullets(documented) if re.search(r"deployment made (when|before)", b)]
    assert len(upgrades) >= 3, upgrades  # access entries, route names, per-object manifests
    for bullet in upgrades:
        remedies = [r for r in re.findall(r"`([^`]+)`", bullet) if r.startswith(("make destroy", "make deploy"))]
        assert remedies, bullet[:120]
        for remedy in remedies:
            assert remedy in notes, (remedy, bullet[:120])


def test_every_file_the_synthesis_reads_makes_cdk_out_stale() -> None:
    """Class test: each repository file the app's code reads by path (config/, constructs/, stacks/, app.py:
    a path joined to ROOT or to Path(__file__)'s parents) is one of tools/synth.py's SOURCES, so `make` tools that reuse
    cdk.out (deployer-policy, cost, impact) see its change; VERSION is the instance that was missing."""
    from tools.synth import SOURCES

    read: set[str] = set()
    for path in [ROOT / "app.py", *(p for d in ("config", "constructs", "stacks") for p in (ROOT / d).rglob("*.py"))]:
        for match in re.finditer(r'(?:\bROOT|\.parent)\s*/\s*"([^"/]+)', path.read_text()):
            read.add(match.group(1))
    read = {name for name in read if (ROOT / name).exists()}
    assert "VERSION" in read and "package.json" in read, read
    assert read <= set(SOURCES), read - set(SOURCES)
