#!/usr/bin/env python3
"""Fetch the upstream reference data the test suite validates against (`make reference`).

CI and developers' machines get it from `../shared/reference`; a machine without it (the pipeline's
CodeBuild synth step) fetches the same files from their pinned upstream release URLs, verifies each
sha256, and writes them in the same layout, with a MANIFEST.md listing what was fetched. The files are
never committed: they are upstream text, used as test data only.

    python tools/fetch_reference.py [--dest .cache/shared/reference]
    EKS_LATTICE_SHARED=.cache/shared make test

raw.githubusercontent.com rate-limits busy addresses (shared CodeBuild NAT addresses among them): a 429, a
5xx, a timeout or a dropped connection is retried with exponential backoff (honouring Retry-After), and the
final error names the file, the URL, the attempts and the last failure. A 404 or a hash mismatch is not retried.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.versions import GATEWAY_API_RELEASES

CONTROLLER_TAG = "v2.1.3"
CONTROLLER_RAW = f"https://raw.githubusercontent.com/aws/aws-application-networking-k8s/{CONTROLLER_TAG}"


@dataclass(frozen=True, kw_only=True)
class Pin:
    section: str  # folder under reference/, also the MANIFEST.md section
    name: str
    url: str
    sha256: str


def _controller(path: str, sha256: str, section: str) -> Pin:
    return Pin(section=section, name=path.rsplit("/", 1)[-1], url=f"{CONTROLLER_RAW}/{path}", sha256=sha256)


_CRDS = f"crds/aws-gateway-controller-{CONTROLLER_TAG}"
_CHART = f"aws-gateway-controller-{CONTROLLER_TAG}"
PINS: tuple[Pin, ...] = (
    *(
        Pin(section=f"crds/gateway-api-{release.version}", name=f.name, url=release.url(f), sha256=f.sha256)
        for release in GATEWAY_API_RELEASES.values()
        for f in release.files
    ),
    _controller(
        "helm/crds/application-networking.k8s.aws_accesslogpolicies.yaml",
        "1b5475cd2311fa01669544b4d527677b8290f366ecbf5a3992998dd6a2661bf1",
        _CRDS,
    ),
    _controller(
        "helm/crds/application-networking.k8s.aws_iamauthpolicies.yaml",
        "cbd2ae363c101b7de222f9624151356e4cda33ee813b85abd02dfa33bfc5efbc",
        _CRDS,
    ),
    _controller(
        "helm/crds/application-networking.k8s.aws_serviceexports.yaml",
        "219d1c29057eeeafd4321be4e347d8daf678db81101aefa75dedf3591f46bbd2",
        _CRDS,
    ),
    _controller(
        "helm/crds/application-networking.k8s.aws_serviceimports.yaml",
        "88245297e2d1a425896b98d9051904deae3cafbcaf40d129cbc8b9869884779b",
        _CRDS,
    ),
    _controller(
        "helm/crds/application-networking.k8s.aws_servicenetworks.yaml",
        "89d3247af0403163f11b7ce23052bda9a922d3adddd90bf1643a5c3436dabeff",
        _CRDS,
    ),
    _controller(
        "helm/crds/application-networking.k8s.aws_targetgrouppolicies.yaml",
        "bf8d9a779758a559596ef783351e398098d4af2a158f095692c1fc5ddfc6efc6",
        _CRDS,
    ),
    _controller(
        "helm/crds/application-networking.k8s.aws_vpcassociationpolicies.yaml",
        "fa8856c889bc10a59ac9c9f4f568b3ea6acb7837ec759cb3b50ff04db123f0f0",
        _CRDS,
    ),
    _controller("helm/Chart.yaml", "6735ac6cf545a692db3cc36fa516c51117e3394f1651ac48dcb8dd91f18e6201", _CHART),
    _controller("helm/values.yaml", "086c63129175e8970d1690b348e356648418b13916ae17f6e043955a1924504e", _CHART),
    _controller("helm/values.schema.json", "9343ca77d1cb89ecde2ec482cde7af492123843d02e83a7ca6e5615a2598faca", _CHART),
    # The chart's templates: with Chart.yaml and the values beside them the folder is the chart, which
    # tests/test_controller_chart.py renders with the kubectl layer's helm.
    *(
        _controller(f"helm/templates/{name}", sha256, f"{_CHART}/templates")
        for name, sha256 in (
            ("NOTES.txt", "dfee06aea7119a803c60429579f9b086f6ec25342644d77718b4709ba2091938"),
            ("_helpers.tpl", "b315a0682170fbea1225ff1d14d95e67a506f671c07d110d77dcf07ae8c07a04"),
            ("cluster-role-binding.yaml", "733b3391973e6b35da43894cfb6aab1dbbf8d3b2e12b90be48061e6ad1cd8e51"),
            ("cluster-role-controller.yaml", "3120a0467c9d1caa646b2544c4267e89301f57550fd6c012980edb1766448898"),
            ("deployment.yaml", "67c94ce74b06620d11a743d568cfb5b6c24eec95e34babef7644c25f937cf955"),
            (
                "externaldns.k8s.io_dnsendpoints.yaml",
                "946cab3bd8b3f0332b7f7c34813e5bd2baf9af24458e3d7ced25d4e944ca1dcf",
            ),
            ("metrics-service.yaml", "c34d57987b26c5a18762c75cebd6212bb1024cfda4c8a49b6ce590849ebe5303"),
            ("pdb.yaml", "382315ff4e60fc33e688c260d0389facf0822fac688d4eb839b9125f57e0cfc0"),
            ("service-account.yaml", "3deb330a11ed4f69782f5b60ed9cfbf35406b2e0fe2bcd63f1039fe345900a8b"),
            ("webhook.yaml", "26e5f77109ed38a3760d3926d06bd6ca6ddb2c4d2b83c5ba779b9108adab7ba9"),
        )
    ),
    _controller(
        "files/controller-installation/recommended-inline-policy.json",
        "3990890bcc821730da14a27b28c2796cd3c8c5d5e9d23344196efa03fa314dae",
        _CHART,
    ),
)


class FetchError(RuntimeError):
    pass


@dataclass(frozen=True, kw_only=True)
class Retry:
    attempts: int = 6
    base_delay: float = 2.0  # seconds before the 2nd attempt; doubled each time (2, 4, 8, 16, 30)
    max_delay: float = 30.0  # also caps a server's Retry-After


DEFAULT_RETRY = Retry()
# Transient: rate limiting (429), request timeout (408) and server-side faults. Anything else is an answer.
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def _retry_after(headers: Message | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff


def fetch(
    pin: Pin, *, timeout: float = 30.0, retry: Retry | None = None, sleep: Callable[[float], None] = time.sleep
) -> bytes:
    retry = retry or DEFAULT_RETRY
    waited = 0.0
    for attempt in range(1, retry.attempts + 1):
        delay = min(retry.max_delay, retry.base_delay * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(pin.url, timeout=timeout) as response:  # noqa: S310 (pinned https URLs)
                data: bytes = response.read()
            break
        except urllib.error.HTTPError as err:
            if err.code not in RETRY_STATUS:
                raise FetchError(f"{pin.name}: download failed from {pin.url}: {err}") from None
            last = str(err)
            delay = min(retry.max_delay, _retry_after(err.headers) or delay)
        except (OSError, http.client.HTTPException) as err:  # refused, reset, timed out, truncated body
            last = f"{type(err).__name__}: {err}"
        if attempt == retry.attempts:
            raise FetchError(
                f"{pin.name}: download failed from {pin.url} after {attempt} attempts over {waited:.0f} s "
                f"(last: {last}); retry later, or copy the reference data in and set EKS_LATTICE_SHARED"
            )
        sleep(delay)
        waited += delay
    digest = hashlib.sha256(data).hexdigest()
    if digest != pin.sha256:
        raise FetchError(f"{pin.name}: sha256 mismatch (expected {pin.sha256}, got {digest}) from {pin.url}")
    return data


def write_reference(dest: Path, files: dict[Pin, bytes]) -> None:
    """Write the files and a MANIFEST.md in the line format of ../shared/reference/MANIFEST.md."""
    lines = ["# Reference data fetched by tools/fetch_reference.py from pinned upstream URLs (test data only)", ""]
    for section in dict.fromkeys(pin.section for pin in files):
        lines += [f"## {section}/", ""]
        for pin, data in files.items():
            if pin.section == section:
                (dest / section).mkdir(parents=True, exist_ok=True)
                (dest / section / pin.name).write_bytes(data)
                lines.append(f"- {pin.name}  {len(data)} bytes  sha256={pin.sha256}")
        lines.append("")
    (dest / "MANIFEST.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dest", type=Path, default=Path(".cache/shared/reference"))
    args = parser.parse_args(argv)
    try:
        files = {pin: fetch(pin) for pin in PINS}  # every file verified before anything is written
    except FetchError as err:
        print(f"fetch_reference: {err}", file=sys.stderr)
        return 1
    write_reference(args.dest, files)
    print(f"fetch_reference: {len(files)} files verified and written to {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
