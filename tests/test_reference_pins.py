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
    """{(section, file): sha256} from MANIFEST.md's `## <section>/ ...` headings and `- <file> ... sha256=` lines,
    and its `| <folder>/<file> | <sha256> |` table rows (a folder inside the section above them)."""
    pins: dict[tuple[str, str], str] = {}
    section = ""
    for line in (reference_dir / "MANIFEST.md").read_text().splitlines():
        if heading := re.match(r"^## (\S+)/", line):
            section = heading[1]
        elif entry := re.match(r"^- (\S+)\s+(?:\d+ bytes\s+)?sha256=([0-9a-f]{64})", line):
            pins[(section, entry[1])] = entry[2]
        elif row := re.match(r"^\| (\S+)/([^/\s]+) \| ([0-9a-f]{64}) \|", line):  # the chart templates' table
            pins[(f"{section}/{row[1]}", row[2])] = row[3]
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


# ------------------------------------------------------------------------------------ retry with backoff

DATA = b"kind: CustomResourceDefinition\n"
PATH = "crds/x/test.yaml"


@pytest.fixture
def site() -> Iterator[FileServer]:
    with FileServer({PATH: DATA}) as server:
        yield server


def pin_on(site: FileServer, path: str = PATH) -> fr.Pin:
    return fr.Pin(section="crds/x", name="test.yaml", url=site.url(path), sha256=hashlib.sha256(DATA).hexdigest())


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_fetch_retries_transient_answers_with_backoff(site: FileServer, status: int) -> None:
    site.fail_next(PATH, status, times=3)
    sleeps = Sleeps()
    assert fr.fetch(pin_on(site), sleep=sleeps) == DATA
    assert site.requests == [f"/{PATH}"] * 4
    assert sleeps == [2.0, 4.0, 8.0]


def test_fetch_honours_retry_after_up_to_the_cap(site: FileServer) -> None:
    site.fail_next(PATH, 429, headers={"Retry-After": "7"})
    site.fail_next(PATH, 429, headers={"Retry-After": "3600"})
    sleeps = Sleeps()
    assert fr.fetch(pin_on(site), sleep=sleeps) == DATA
    assert sleeps == [7.0, 30.0]


def test_fetch_gives_up_with_a_clear_error(site: FileServer) -> None:
    site.fail_next(PATH, 429, times=100)
    sleeps = Sleeps()
    pin = pin_on(site)
    with pytest.raises(fr.FetchError) as info:
        fr.fetch(pin, sleep=sleeps)
    assert str(info.value).startswith(
        f"test.yaml: download failed from {pin.url} after 6 attempts over 60 s (last: HTTP Error 429: "
    )
    assert "EKS_LATTICE_SHARED" in str(info.value)
    assert sleeps == [2.0, 4.0, 8.0, 16.0, 30.0]
    assert len(site.requests) == 6


def test_fetch_retries_a_refused_connection() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pin = fr.Pin(section="s", name="gone.yaml", url=f"http://127.0.0.1:{port}/gone.yaml", sha256="0" * 64)
    sleeps = Sleeps()
    with pytest.raises(fr.FetchError, match=r"^gone\.yaml: download failed .* after 3 attempts .*Connection refused"):
        fr.fetch(pin, retry=fr.Retry(attempts=3), sleep=sleeps)
    assert sleeps == [2.0, 4.0]


def test_fetch_does_not_retry_an_answer(site: FileServer) -> None:
    sleeps = Sleeps()
    with pytest.raises(fr.FetchError, match="404"):
        fr.fetch(pin_on(site, "crds/x/missing.yaml"), sleep=sleeps)
    bad = fr.Pin(section="crds/x", name="test.yaml", url=site.url(PATH), sha256="0" * 64)
    with pytest.raises(fr.FetchError, match="sha256 mismatch"):
        fr.fetch(bad, sleep=sleeps)
    assert sleeps == []
    assert len(site.requests) == 2


def test_make_reference_reports_the_failure_in_one_line(
    site: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site.fail_next(PATH, 503, times=100)
    monkeypatch.setattr(fr, "PINS", (pin_on(site),))
    monkeypatch.setattr(fr, "DEFAULT_RETRY", fr.Retry(attempts=2, base_delay=0.0))
    assert fr.main(["--dest", str(tmp_path / "reference")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("fetch_reference: test.yaml: download failed from ")
    assert "after 2 attempts" in line and "503" in line
    assert not (tmp_path / "reference").exists()  # nothing written
