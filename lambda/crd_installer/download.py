"""Fetch a manifest file over HTTP(S) with a timeout and a few retries of transient failures, within the time the
caller has left."""

from __future__ import annotations

import hashlib
import http.client
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

USER_AGENT = "eks-lattice-gateway/crd-installer"
# Largest upstream file is ~431 KB; anything far bigger is not what we asked for.
MAX_BYTES = 8 * 1024 * 1024
# Below this much time left, an attempt could not fetch a file: report instead of trying (as k8s_api does).
MIN_ATTEMPT_SECONDS = 1.0
CHUNK_BYTES = 64 * 1024


class DownloadError(RuntimeError):
    """The file could not be fetched; the message says why, without the file name (the caller adds it)."""


def download(
    url: str,
    *,
    timeout: float = 30.0,
    attempts: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    max_bytes: int = MAX_BYTES,
    time_left: Callable[[], float] | None = None,
) -> bytes:
    """The body at `url`; HTTP 429/5xx, connection errors and timeouts are retried, other statuses are not.

    `time_left()`: seconds the caller may still spend (a Lambda's remaining time less what it needs to answer). No
    attempt starts with less than MIN_ATTEMPT_SECONDS of it, none lasts longer than what is left (connection and
    whole body: a body that trickles in is cut off at that time, not only a silent socket), and no backoff sleeps
    into it. None: no limit."""
    if urlsplit(url).scheme not in ("https", "http"):
        raise DownloadError(f"download failed: only http(s) URLs are fetched, got {url}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310 - scheme checked above
    remaining = time_left or (lambda: math.inf)
    tries = max(1, attempts)
    last = ""  # pragma: no mutate -- equivalent: every failed attempt sets it before the raise reads it
    made = 0
    out_of_time = False  # pragma: no mutate -- equivalent: only its truth is read
    for attempt in range(1, tries + 1):
        left = remaining()
        if left < MIN_ATTEMPT_SECONDS:
            out_of_time = True
            break
        made = attempt
        wait = min(timeout, left)
        try:
            with urllib.request.urlopen(request, timeout=wait) as resp:  # noqa: S310 - scheme checked above
                data = _read_by(resp, time.monotonic() + wait, max_bytes + 1)
            if len(data) > max_bytes:
                raise DownloadError(f"download failed: larger than {max_bytes} bytes from {url}")
            return data
        except urllib.error.HTTPError as err:
            if err.code != 429 and err.code < 500:
                raise DownloadError(f"download failed: HTTP {err.code} from {url}") from err
            last = f"HTTP {err.code}"
        except TimeoutError:
            last = f"timed out after {wait:.3g}s"
        except urllib.error.URLError as err:
            reason = err.reason
            last = f"timed out after {wait:.3g}s" if isinstance(reason, TimeoutError) else f"{reason}"
        except (OSError, ValueError, http.client.HTTPException) as err:  # reset mid-body, malformed response
            last = f"{type(err).__name__}: {err}"
        if attempt < tries:
            delay = backoff * (2 ** (attempt - 1))
            if remaining() - delay < MIN_ATTEMPT_SECONDS:
                out_of_time = True
                break
            sleep(delay)
    if made == 0:
        raise DownloadError(f"download failed: no time left of this invocation to fetch {url}")
    if out_of_time:
        raise DownloadError(f"download failed: {last} ({made} attempts, out of time for another) from {url}")
    raise DownloadError(f"download failed: {last} ({made} attempts) from {url}")


def _read_by(resp: Any, deadline: float, limit: int) -> bytes:
    """Up to `limit` bytes of the body, by `deadline` (time.monotonic()) in all: urlopen's timeout bounds each socket
    operation only, so a body sent a byte at a time would otherwise run on for as long as it keeps trickling."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        # Each read waits at most the time left: http.client's socket (private, hence the guarded lookup) takes it.
        sock = getattr(getattr(resp.fp, "raw", None), "_sock", None)
        if sock is not None:
            sock.settimeout(left)
        chunk: bytes = resp.read1(min(CHUNK_BYTES, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
