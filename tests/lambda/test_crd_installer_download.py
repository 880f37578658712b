"""crd_installer.download, limit by limit: retry policy, size cap, and the message for each way a fetch fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from crd_installer.download import DownloadError, download

from tests.support.file_server import FileServer

PATH = "v1/crds.yaml"
BODY = b"0123456789"


@pytest.fixture
def site() -> Iterator[FileServer]:
    with FileServer({PATH: BODY}) as server:
        yield server


@pytest.mark.parametrize("attempts", [1, 0, -3])
def test_one_attempt_at_least_and_no_retry(site: FileServer, attempts: int) -> None:
    site.fail_next(PATH, 503, times=2)
    sleeps: list[float] = []
    with pytest.raises(DownloadError) as exc:
        download(site.url(PATH), attempts=attempts, sleep=sleeps.append)
    assert str(exc.value) == f"download failed: HTTP 503 (1 attempts) from {site.url(PATH)}"
    assert len(site.requests) == 1
    assert sleeps == []
