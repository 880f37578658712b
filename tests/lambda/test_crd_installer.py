"""crd_installer: download + verify + server-side apply of the Gateway API CRDs, all against local servers."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from crd_installer import handler, manifests
from crd_installer.download import DownloadError, download
from crd_installer.handler import Deps, InstallError, TimeLeft, on_event
from k8s_api import KubeClient

from tests.support.clock import FakeClock
from tests.support.fake_kube import CRD_PREFIX, FakeKubeApi
from tests.support.file_server import FileServer

VERSION = "v1.5.1"
CRD_DIR = f"gateway-api-{VERSION}"
VAP_PATH = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/safe-upgrades.gateway.networking.k8s.io"
VAPB_PATH = (
    "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/safe-upgrades.gateway.networking.k8s.io"
)
HTTPROUTES = "gateway.networking.k8s.io_httproutes.yaml"
CRD_NAMES = sorted(
    f"{plural}.gateway.networking.k8s.io"
    for plural in (
        "backendtlspolicies",
        "gatewayclasses",
        "gateways",
        "grpcroutes",
        "httproutes",
        "listenersets",
        "referencegrants",
        "tlsroutes",
    )
)


@dataclass(frozen=True)
class Pinned:
    name: str
    size: int
    sha256: str


def _manifest_entries(reference_dir: Path, section: str) -> list[Pinned]:
    """The `- <file>  <n> bytes  sha256=<hex>` lines of one MANIFEST.md section."""
    text = (reference_dir / "MANIFEST.md").read_text()
    match = re.search(rf"^## crds/{re.escape(section)}/.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"section {section} missing from MANIFEST.md"
    entries = [
        Pinned(m[1], int(m[2]), m[3])
        for m in re.finditer(r"^- (\S+)\s+(\d+) bytes\s+sha256=([0-9a-f]{64})\s*$", match[1], re.M)
    ]
    assert entries, f"no files listed under {section}"
    return entries


@pytest.fixture(scope="module")
def pinned(reference_dir: Path) -> list[Pinned]:
    entries = _manifest_entries(reference_dir, CRD_DIR)
    assert len(entries) == 9
    return entries


@pytest.fixture(scope="module")
def crd_files(reference_dir: Path, pinned: list[Pinned]) -> dict[str, bytes]:
    files = {p.name: (reference_dir / "crds" / CRD_DIR / p.name).read_bytes() for p in pinned}
    for p in pinned:  # the test data itself must be what MANIFEST.md pins
        assert len(files[p.name]) == p.size
        assert hashlib.sha256(files[p.name]).hexdigest() == p.sha256
    return files


@pytest.fixture
def site(crd_files: dict[str, bytes]) -> Iterator[FileServer]:
    with FileServer({f"{VERSION}/{name}": data for name, data in crd_files.items()}) as server:
        yield server


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi(token="t") as server:
        server.establish_crds_after(2)
        yield server


def _deps(api: FakeKubeApi, clock: FakeClock | None = None, **overrides: Any) -> Deps:
    clock = clock or FakeClock(1000.0)

    def client(cluster_name: str, time_left: TimeLeft) -> KubeClient:
        assert cluster_name == "eks-demo"
        return KubeClient(
            endpoint=api.endpoint, ca_data=api.ca_data, token=lambda: "t", sleep=lambda _s: None, time_left=time_left
        )

    settings: dict[str, Any] = {
        "kube_client": client,
        "fetch": functools.partial(download, timeout=2.0, attempts=2, sleep=lambda _s: None),
        "sleep": clock.sleep,
        "clock": clock,
        "poll_interval": 1.0,
    }
    settings.update(overrides)
    return Deps(**settings)


def _event(
    site: FileServer, pinned: list[Pinned], *, request_type: str = "Create", version: str = VERSION, **extra: Any
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "ServiceToken": "arn:aws:lambda:ap-northeast-2:111111111111:function:provider",
        "ClusterName": "eks-demo",
        "Version": version,
        "Files": [{"name": p.name, "url": site.url(f"{version}/{p.name}"), "sha256": p.sha256} for p in pinned],
        "FieldManager": "eks-lattice-gateway",
        "EstablishedTimeoutSeconds": "60",  # CloudFormation sends every scalar as a string
    }
    props.update(extra)
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResourceType": "Custom::GatewayApiCrds",
        "LogicalResourceId": "GatewayApiCrds",
        "ResourceProperties": props,
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = "gateway-api-crds/eks-demo"
    return event


@functools.lru_cache(maxsize=32)
def _load(body: bytes) -> Any:
    return yaml.load(body, Loader=yaml.CSafeLoader)


def _expected_objects(crd_files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    """API path -> parsed document, computed independently with PyYAML."""
    collections = {
        "CustomResourceDefinition": CRD_PREFIX.rstrip("/"),
        "ValidatingAdmissionPolicy": "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
        "ValidatingAdmissionPolicyBinding": "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
    }
    out = {}
    for data in crd_files.values():
        for doc in yaml.load_all(data, Loader=yaml.CSafeLoader):
            if doc:
                out[f"{collections[doc['kind']]}/{doc['metadata']['name']}"] = doc
    return out


# -- the line scanner -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("section", ["gateway-api-v1.5.1", "aws-gateway-controller-v2.1.3"])
def test_scan_matches_yaml_parser_on_every_reference_file(reference_dir: Path, section: str) -> None:
    for entry in _manifest_entries(reference_dir, section):
        data = (reference_dir / "crds" / section / entry.name).read_bytes()
        parsed = [d for d in yaml.load_all(data, Loader=yaml.CSafeLoader) if d]
        docs = manifests.parse_file(data, source=entry.name)
        assert [(d.api_version, d.kind, d.name) for d in docs] == [
            (p["apiVersion"], p["kind"], p["metadata"]["name"]) for p in parsed
        ], entry.name
        # Each body is exactly one document and parses back to it.
        assert [yaml.load(d.body, Loader=yaml.CSafeLoader) for d in docs] == parsed


def test_vap_file_holds_policy_and_binding(crd_files: dict[str, bytes]) -> None:
    docs = manifests.parse_file(crd_files["gateway.networking.k8s.io_vap_safeupgrades.yaml"], source="vap")
    assert [d.kind for d in docs] == ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]
    assert [d.path for d in docs] == [VAP_PATH, VAPB_PATH]
    assert not any(d.is_crd for d in docs)


def test_scan_edge_cases() -> None:
    text = (
        "%YAML 1.2\n"
        "---\n"
        "# only a comment\n"
        "---\n"
        "kind: CustomResourceDefinition   # trailing comment\n"
        "metadata:\n"
        "    labels:\n"
        "        name: not-this-one\n"
        "    name: 'quoted.example.com'\n"
        'apiVersion: "apiextensions.k8s.io/v1"\n'
        "spec:\n"
        "  names:\n"
        "    kind: Foo\n"
        "---  # comment after marker\n"
        "apiVersion: admissionregistration.k8s.io/v1\n"
        "kind: ValidatingAdmissionPolicyBinding\n"
        "metadata:\n"
        "  name: b.example.com\n"
        "...\n"
    )
    docs = manifests.parse_file(text.encode(), source="f.yaml")
    assert [(d.kind, d.name) for d in docs] == [
        ("CustomResourceDefinition", "quoted.example.com"),
        ("ValidatingAdmissionPolicyBinding", "b.example.com"),
    ]
    assert docs[0].path == f"{CRD_PREFIX}quoted.example.com"
    assert yaml.safe_load(docs[0].body)["spec"]["names"]["kind"] == "Foo"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n", "not a kind this installer applies"),
        ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n", "could not find metadata.name"),
        (
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: ../../x\n",
            "not a valid object name",
        ),
        ("apiVersion: a/v1\nkind: K\nkind: L\nmetadata:\n  name: x\n", "duplicate top-level kind"),
        ("apiVersion: a/v1\nkind: K\nmetadata: {name: x}\n", "block mapping"),
        ("# nothing here\n---\n", "no YAML documents"),
    ],
)
def test_scan_rejects_what_it_cannot_route(text: str, message: str) -> None:
    with pytest.raises(manifests.ManifestError, match=re.escape(message)) as exc:
        manifests.parse_file(text.encode(), source="bad.yaml")
    assert str(exc.value).startswith("bad.yaml")


# -- Create -----------------------------------------------------------------------------------------------------


def test_create_applies_every_object_server_side_and_waits(
    site: FileServer, api: FakeKubeApi, pinned: list[Pinned], crd_files: dict[str, bytes]
) -> None:
    clock = FakeClock(1000.0)
    result = on_event(_event(site, pinned), None, deps=_deps(api, clock))

    assert result == {"PhysicalResourceId": "gateway-api-crds/eks-demo", "Data": {"Version": VERSION, "Objects": "10"}}
    expected = _expected_objects(crd_files)
    assert len(expected) == 10
    patches = [r for r in api.requests if r.method == "PATCH"]
    assert sorted(r.path for r in patches) == sorted(expected)
    assert {CRD_PREFIX + n for n in CRD_NAMES} | {VAP_PATH, VAPB_PATH} == set(expected)
    for req in patches:
        assert req.query == {"fieldManager": "eks-lattice-gateway", "force": "true"}
        assert req.content_type == "application/apply-patch+yaml"
        assert _load(req.body) == expected[req.path]
    # Files are applied in the order given, each file's documents in file order.
    assert patches[-2].path == VAP_PATH
    assert patches[-1].path == VAPB_PATH
    # Every CRD was polled until the fake reported Established (on its 2nd GET); the VAP objects are not polled.
    for name in CRD_NAMES:
        assert api.get_count(CRD_PREFIX + name) == 2
        stored = api.get_object(CRD_PREFIX + name)
        assert stored is not None
        conditions = stored["status"]["conditions"]
        assert {"type": "Established", "status": "True"}.items() <= conditions[0].items()
    assert api.get_count(VAP_PATH) == 0
    assert clock.slept == [1.0]
    # Every file was downloaded exactly once.
    assert sorted(site.requests) == sorted(f"/{VERSION}/{p.name}" for p in pinned)


def test_create_with_files_as_json_string_and_default_field_manager(
    site: FileServer, api: FakeKubeApi, pinned: list[Pinned]
) -> None:
    event = _event(site, pinned)
    props = event["ResourceProperties"]
    props["Files"] = json.dumps(props["Files"])
    del props["FieldManager"], props["EstablishedTimeoutSeconds"]
    on_event(event, None, deps=_deps(api))
    assert {r.query["fieldManager"] for r in api.requests if r.method == "PATCH"} == {"eks-lattice-gateway"}


def test_bad_hash_names_file_and_applies_nothing(site: FileServer, api: FakeKubeApi, pinned: list[Pinned]) -> None:
    event = _event(site, pinned)
    files = event["ResourceProperties"]["Files"]
    # The last file is the wrong one: earlier, good files must still not be applied.
    files[-1] = {**files[-1], "sha256": "0" * 64}
    with pytest.raises(InstallError) as exc:
        on_event(event, None, deps=_deps(api))
    msg = str(exc.value)
    assert msg.startswith(f"{pinned[-1].name}: sha256 mismatch (expected {'0' * 64}, got {pinned[-1].sha256}) from ")
    assert msg.endswith(files[-1]["url"])
    assert api.requests == []


def test_tampered_download_is_rejected(site: FileServer, api: FakeKubeApi, pinned: list[Pinned]) -> None:
    site.files[f"{VERSION}/{HTTPROUTES}"] += b"\n# tampered\n"
    with pytest.raises(InstallError, match=re.escape(f"{HTTPROUTES}: sha256 mismatch")):
        on_event(_event(site, pinned), None, deps=_deps(api))
    assert api.requests == []


def test_missing_file_404_names_file(site: FileServer, api: FakeKubeApi, pinned: list[Pinned]) -> None:
    del site.files[f"{VERSION}/{HTTPROUTES}"]
    with pytest.raises(InstallError) as exc:
        on_event(_event(site, pinned), None, deps=_deps(api))
    assert str(exc.value) == f"{HTTPROUTES}: download failed: HTTP 404 from {site.url(f'{VERSION}/{HTTPROUTES}')}"
    assert api.requests == []
    assert site.requests.count(f"/{VERSION}/{HTTPROUTES}") == 1  # 404 is not retried


def test_slow_download_times_out_naming_file(site: FileServer, api: FakeKubeApi, pinned: list[Pinned]) -> None:
    site.delay_next(f"{VERSION}/{HTTPROUTES}", 1.0, times=2)
    fetch = functools.partial(download, timeout=0.2, attempts=2, sleep=lambda _s: None)
    with pytest.raises(InstallError) as exc:
        on_event(_event(site, pinned), None, deps=_deps(api, fetch=fetch))
    msg = str(exc.value)
    assert msg.startswith(f"{HTTPROUTES}: download failed: timed out after 0.2s (2 attempts) from http://127.0.0.1:")
    assert api.requests == []


def test_transient_download_failure_is_retried(site: FileServer, api: FakeKubeApi, pinned: list[Pinned]) -> None:
    site.fail_next(f"{VERSION}/{HTTPROUTES}", 503)
    on_event(_event(site, pinned), None, deps=_deps(api))
    assert site.requests.count(f"/{VERSION}/{HTTPROUTES}") == 2
    assert len([r for r in api.requests if r.method == "PATCH"]) == 10


def test_download_rejects_other_schemes() -> None:
    with pytest.raises(DownloadError, match="only http"):
        download("file:///etc/passwd")


def test_established_timeout_lists_pending_crds(site: FileServer, pinned: list[Pinned]) -> None:
    with FakeKubeApi(token="t") as api:
        api.on_get(
            CRD_PREFIX + "httproutes",
            lambda _p, obj, _n: obj.setdefault("status", {}).update(
                conditions=[{"type": "NamesAccepted", "status": "False", "message": "conflicts with x"}]
            ),
        )
        clock = FakeClock(1000.0)
        event = _event(site, pinned, EstablishedTimeoutSeconds="30")
        with pytest.raises(InstallError) as exc:
            on_event(event, None, deps=_deps(api, clock, poll_interval=5.0))
    msg = str(exc.value)
    assert msg.startswith("timed out after 30s waiting for CRDs to become Established: ")
    for name in CRD_NAMES:
        assert name in msg
    assert "httproutes.gateway.networking.k8s.io (NamesAccepted=False: conflicts with x)" in msg
    assert "gateways.gateway.networking.k8s.io (no Established condition yet)" in msg
    assert 30 <= clock.now - 1000.0 <= 35


def test_wait_is_capped_by_lambda_remaining_time(site: FileServer, pinned: list[Pinned]) -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 45_000

    with FakeKubeApi(token="t") as api, pytest.raises(InstallError, match=r"timed out after 30s"):
        on_event(_event(site, pinned, EstablishedTimeoutSeconds="600"), Context(), deps=_deps(api, poll_interval=10.0))


def test_first_apply_waits_for_access_entry(site: FileServer, api: FakeKubeApi, pinned: list[Pinned]) -> None:
    first = CRD_PREFIX + "backendtlspolicies.gateway.networking.k8s.io"
    api.fail_next(first, 401, times=2)
    clock = FakeClock(1000.0)
    on_event(_event(site, pinned), None, deps=_deps(api, clock))
    assert len(api.requests_to(first, "PATCH")) == 3


def test_forbidden_apply_names_object_and_file(site: FileServer, api: FakeKubeApi, pinned: list[Pinned]) -> None:
    path = CRD_PREFIX + "httproutes.gateway.networking.k8s.io"
    api.fail_next(path, 403, message="cannot patch customresourcedefinitions")
    with pytest.raises(InstallError) as exc:
        on_event(_event(site, pinned), None, deps=_deps(api))
    msg = str(exc.value)
    assert msg.startswith(f"applying CustomResourceDefinition httproutes.gateway.networking.k8s.io from {HTTPROUTES}")
    assert "access policy" in msg
    assert "cannot patch customresourcedefinitions" in msg


# -- Update / Delete --------------------------------------------------------------------------------------------


def test_update_with_new_version_reapplies(
    site: FileServer, api: FakeKubeApi, pinned: list[Pinned], crd_files: dict[str, bytes]
) -> None:
    on_event(_event(site, pinned), None, deps=_deps(api))
    api.clear_requests()

    # "v1.5.2": same files except a changed HTTPRoute CRD, served under the new tag with its own hash.
    changed = crd_files[HTTPROUTES].replace(b"bundle-version: v1.5.1", b"bundle-version: v1.5.2", 1)
    assert changed != crd_files[HTTPROUTES]
    for p in pinned:
        site.files[f"v1.5.2/{p.name}"] = changed if p.name == HTTPROUTES else crd_files[p.name]
    new_pins = [
        Pinned(HTTPROUTES, len(changed), hashlib.sha256(changed).hexdigest()) if p.name == HTTPROUTES else p
        for p in pinned
    ]

    result = on_event(_event(site, new_pins, request_type="Update", version="v1.5.2"), None, deps=_deps(api))
    assert result == {"PhysicalResourceId": "gateway-api-crds/eks-demo", "Data": {"Version": "v1.5.2", "Objects": "10"}}
    assert len([r for r in api.requests if r.method == "PATCH"]) == 10
    stored = api.get_object(CRD_PREFIX + "httproutes.gateway.networking.k8s.io")
    assert stored is not None
    assert stored["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"] == "v1.5.2"


def test_reapply_same_version_is_harmless(site: FileServer, api: FakeKubeApi, pinned: list[Pinned]) -> None:
    first = on_event(_event(site, pinned), None, deps=_deps(api))
    before = api.objects
    second = on_event(_event(site, pinned, request_type="Update"), None, deps=_deps(api))
    assert first == second
    assert api.objects == before


def test_delete_is_a_no_op_even_when_cluster_unreachable(pinned: list[Pinned]) -> None:
    def unreachable(_name: str, _time_left: TimeLeft) -> KubeClient:
        raise AssertionError("Delete must not contact the cluster")

    def no_download(_url: str, *, time_left: TimeLeft) -> bytes:
        raise AssertionError("Delete must not download anything")

    event = {
        "RequestType": "Delete",
        "PhysicalResourceId": "gateway-api-crds/eks-demo",
        "ResourceProperties": {"ClusterName": "eks-demo", "Version": VERSION, "Files": "garbage"},
    }
    deps = Deps(kube_client=unreachable, fetch=no_download)
    assert on_event(event, None, deps=deps) == {"PhysicalResourceId": "gateway-api-crds/eks-demo"}
    # Even a malformed Delete succeeds.
    assert on_event({"RequestType": "Delete"}, None, deps=deps)["PhysicalResourceId"]


# -- properties -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ClusterName": ""}, "ClusterName property is required"),
        ({"Version": ""}, "Version property is required"),
        ({"Files": []}, "non-empty list"),
        ({"Files": "[not json"}, "not a JSON list"),
        ({"Files": [{"name": "a.yaml", "url": "http://x/a.yaml", "sha256": "abc"}]}, "a.yaml: sha256 must be 64 hex"),
        ({"Files": [{"name": "../a.yaml", "url": "u", "sha256": "0" * 64}]}, "must be a plain file name"),
        ({"EstablishedTimeoutSeconds": "soon"}, "EstablishedTimeoutSeconds must be a number"),
        ({"EstablishedTimeoutSeconds": "0"}, "must be positive"),
    ],
)
def test_bad_properties_are_reported(
    site: FileServer, api: FakeKubeApi, pinned: list[Pinned], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(InstallError, match=re.escape(message)):
        on_event(_event(site, pinned, **change), None, deps=_deps(api))
    assert api.requests == []


def test_unknown_request_type() -> None:
    with pytest.raises(InstallError, match="unknown RequestType"):
        on_event({"RequestType": "Poke", "ResourceProperties": {}}, None, deps=Deps())


def test_default_client_needs_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(InstallError, match="AWS_REGION"):
        handler._default_kube_client("eks-demo", lambda: 60.0)


def test_physical_id_properties_declaration_matches_the_handler(
    site: FileServer, api: FakeKubeApi, pinned: list[Pinned]
) -> None:
    """PHYSICAL_ID_PROPERTIES (read by tools/impact.py) is exactly the set of properties whose change alone gives
    an Update a new PhysicalResourceId, through the real on_event."""

    def client(cluster_name: str, _time_left: TimeLeft) -> KubeClient:  # any cluster name reaches the one fake API
        return KubeClient(endpoint=api.endpoint, ca_data=api.ca_data, token=lambda: "t", sleep=lambda _s: None)

    deps = _deps(api, kube_client=client)
    old = _event(site, pinned)
    physical = on_event(old, None, deps=deps)["PhysicalResourceId"]
    alternatives = {
        "ServiceToken": "arn:aws:lambda:ap-northeast-2:111111111111:function:other",
        "ClusterName": "eks-other",
        "Version": "v1.5.9",
        "Files": old["ResourceProperties"]["Files"][:1],
        "FieldManager": "someone-else",
        "EstablishedTimeoutSeconds": "30",
    }
    assert set(alternatives) == set(old["ResourceProperties"])  # every property is tried
    renaming = set()
    for key, value in alternatives.items():
        props = {**old["ResourceProperties"], key: value}
        event = {**old, "RequestType": "Update", "PhysicalResourceId": physical, "ResourceProperties": props}
        if on_event(event, None, deps=deps)["PhysicalResourceId"] != physical:
            renaming.add(key)
    assert renaming == set(handler.PHYSICAL_ID_PROPERTIES)
