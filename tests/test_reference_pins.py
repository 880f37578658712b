"""Pinned upstream files: the hashes the app and `make reference` use equal ../shared/reference's, and the
fetcher verifies what it downloads (against a local server; nothing leaves 127.0.0.1)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.versions import GATEWAY_API_RELEASES
from tests.support.file_server import FileServer
from tools import fetch_reference as fr


def manifest(reference_dir: Path) -> dict[tuple[str, str], str]:
    """{(section, file): sha256} from MANIFEST.md's `## <section>/ ...` headings and `- <file> ... sha256=` lines."""
    pins: dict[tuple[str, str], str] = {}
    section = ""
    for line in (reference_dir / "MANIFEST.md").read_text().splitlines():
        if heading := re.match(r"^## (\S+)/", line):
            section = heading[1]
        elif entry := re.match(r"^- (\S+)\s+(?:\d+ bytes\s+)?sha256=([0-9a-f]{64})", line):
            pins[(section, entry[1])] = entry[2]
    return pins


def test_gateway_api_pins_in_config_equal_the_manifest(reference_dir: Path) -> None:
    pins = manifest(reference_dir)
    release = GATEWAY_API_RELEASES["v1.5.1"]
    assert {(f"crds/gateway-api-{release.version}", f.name): f.sha256 for f in release.files} == {
        k: v for k, v in pins.items() if k[0] == "crds/gateway-api-v1.5.1"
    }


def test_fetcher_pins_cover_every_reference_file(reference_dir: Path) -> None:
    assert {(p.section, p.name): p.sha256 for p in fr.PINS} == manifest(reference_dir)
    for pin in fr.PINS:
        data = (reference_dir / pin.section / pin.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == pin.sha256, pin.name


@pytest.fixture
def server(reference_dir: Path) -> Iterator[str]:
    files = {f"{p.section}/{p.name}": (reference_dir / p.section / p.name).read_bytes() for p in fr.PINS}
    with FileServer(files) as site:
        yield site.base_url


def local(pin: fr.Pin, base: str, **changes: str) -> fr.Pin:
    values = {"section": pin.section, "name": pin.name, "url": f"{base}/{pin.section}/{pin.name}", "sha256": pin.sha256}
    return fr.Pin(**{**values, **changes})


def test_fetch_verifies_and_writes_the_same_layout(server: str, tmp_path: Path, reference_dir: Path) -> None:
    files = {local(p, server): fr.fetch(local(p, server)) for p in fr.PINS}
    fr.write_reference(tmp_path, files)
    assert manifest(tmp_path) == manifest(reference_dir)
    for pin in fr.PINS:
        assert (tmp_path / pin.section / pin.name).read_bytes() == (reference_dir / pin.section / pin.name).read_bytes()


def test_fetch_refuses_a_hash_mismatch_naming_the_file(server: str) -> None:
    pin = local(fr.PINS[0], server, sha256="0" * 64)
    with pytest.raises(fr.FetchError, match=rf"^{re.escape(pin.name)}: sha256 mismatch"):
        fr.fetch(pin)


def test_fetch_reports_a_missing_file(server: str) -> None:
    pin = local(fr.PINS[0], server, url=f"{server}/nope.yaml")
    with pytest.raises(fr.FetchError, match=rf"^{re.escape(pin.name)}: download failed .*404"):
        fr.fetch(pin)
