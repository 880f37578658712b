"""Pods as emitted (issue 20, items 2-4): every probe targets an endpoint its image really serves, every signing
sidecar listens on loopback only, and every port is unique within its pod, init and sidecar containers included.

IMAGES is the table of the images this project pins into pod specs, with what each serves and how its listen
address is set, each from the image's source at the pinned tag. Apps' own images come from the configuration:
their one endpoint is the app's healthPath on its containerPort (the user's declaration), except the tutorial's
demo image, whose endpoints the tutorial documents.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from constructs.controller.values import controller_values
from constructs.workload.apps import SIGV4_PROXY_IMAGE
from constructs.workload.manifests import workload_objects

from config.loader import ConfigError, parse_context
from config.model import SIGNING_SIDECAR_PORT, AppConfig
from config.versions import CONTROLLER_NAMESPACE, EKS_VERSIONS
from tests.conftest import Synthesized
from tests.support.helm import helm_binary, helm_template
from tests.test_k8s_objects import rich_config
from tests.test_observability import flatten

TODAY = dt.date(2026, 11, 28)
CONTROLLER_IMAGE = "public.ecr.aws/aws-application-networking-k8s/aws-gateway-controller:v2.1.3"
Obj = dict[str, Any]
Endpoint = tuple[str, int]  # (HTTP path, port)
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")


def _flag(args: list[str], name: str, default: str, *, single_dash: bool = False) -> str:
    """A flag's value from a container's args: `--name value` or `--name=value` (kingpin), also `-name` (Go's flag
    package, `single_dash`); the last one wins."""
    spellings = (f"--{name}", f"-{name}") if single_dash else (f"--{name}",)
    value = default
    for i, arg in enumerate(args):
        for flag in spellings:
            if arg == flag and i + 1 < len(args):
                value = args[i + 1]
            elif arg.startswith(f"{flag}="):
                value = arg.split("=", 1)[1]
    return value


def _address(listen: str) -> tuple[str, int]:
    """Go's net.Listen address `host:port` ("" host: every interface)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class Image:
    source: str  # where the facts below were read, at the pinned tag
    serves: Callable[[Obj], set[Endpoint]]  # HTTP endpoints the container serves (given its spec)
    listens: Callable[[Obj], list[tuple[str, int]]]  # (host, port) it listens on ("" host: every interface)


def _demo_serves(container: Obj) -> set[Endpoint]:
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    prefix, port = env.get("GLOBAL_PREFIX"), env.get("PORT")
    return {(f"{prefix}/health", int(port)), (f"{prefix}/env", int(port))} if prefix and port else set()


def _demo_listens(container: Obj) -> list[tuple[str, int]]:
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    return [(env.get("HOST") or "", int(env["PORT"]))]


IMAGES: dict[str, Image] = {
    "public.ecr.aws/aws-observability/aws-sigv4-proxy:1.11.1": Image(
        source=(
            "awslabs/aws-sigv4-proxy tag v1.11.1 (commit ed72b374b7ba88f52ed012a60f98e05d1d39e7a0; its VERSION, "
            "1.11.1, is the image tag, .github/workflows/release.yaml), read 2026-12-05: cmd/aws-sigv4-proxy/main.go "
            "declares "
            'flag `port` ("TCP network address (port and optional ip/hostname)", default ":8080") and passes it to '
            "http.ListenAndServe with handler.Handler, whose ServeHTTP (handler/handler.go) proxies every request to "
            "the request's Host: no endpoint of its own. The Dockerfile's final stage is FROM scratch (no shell). "
            'Flag `host` ("Host to proxy to") replaces that Host (handler/proxy_client.go, ProxyClient.Do).'
        ),
        serves=lambda container: set(),
        listens=lambda container: [_address(_flag(container.get("args", []), "port", ":8080"))],
    ),
    "rlawnsdud/demo:latest": Image(
        source=(
            "The tutorial (../shared/seeds/000_7a80d1c7899bbadb.txt; SPEC section 1): its Deployments probe "
            "<GLOBAL_PREFIX>/health on PORT and read <GLOBAL_PREFIX>/env?select=...; the image binds HOST:PORT. "
            "The image's source is not published; the tutorial is the only source."
        ),
        serves=_demo_serves,
        listens=_demo_listens,
    ),
}


def _controller_probe_port(container: Obj) -> int:
    return _address(_flag(container.get("args", []), "health-probe-bind-address", ":8081", single_dash=True))[1]


def _controller_listens(container: Obj) -> list[tuple[str, int]]:
    args = container.get("args", [])
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    metrics = _address(_flag(args, "metrics-bind-address", ":8080", single_dash=True))
    probes = _address(_flag(args, "health-probe-bind-address", ":8081", single_dash=True))
    return [metrics, probes, *([("", 9443)] if str(env.get("WEBHOOK_ENABLED", "")).lower() == "true" else [])]


IMAGES[CONTROLLER_IMAGE] = Image(
    source=(
        "aws/aws-application-networking-k8s tag v2.1.3 (commit e3fb86ea0573aa299458b9b022c59a364584b6e8), read "
        "2026-12-05: cmd/aws-application-networking-k8s/main.go declares the Go flags metrics-bind-address "
        '(default ":8080") and health-probe-bind-address (default ":8081"), adds the checks "healthz" and "readyz", '
        'and starts the webhook server on port 9443 when WEBHOOK_ENABLED is "true" (pkg/config/controller_config.go). '
        "kubernetes-sigs/controller-runtime v0.22.1 (the go.mod pin; commit 6422ed031ac07ae85c8bd234657e77ddf5cace6e) "
        "pkg/manager/internal.go serves them at /healthz and /readyz."
    ),
    serves=lambda container: {
        ("/healthz", _controller_probe_port(container)),
        ("/readyz", _controller_probe_port(container)),
    },
    listens=_controller_listens,
)
LOOPBACK = "127.0.0.1"


def is_signing_sidecar(container: Obj) -> bool:
    """Any tag of the SigV4 proxy (a tag not in IMAGES fails on its own: its facts must be read again)."""
    return str(container["image"]).rsplit(":", 1)[0].endswith("/aws-sigv4-proxy")


def test_the_pinned_images_are_in_the_table() -> None:
    """Bumping a pin means reading its source again and adding its row."""
    assert SIGV4_PROXY_IMAGE in IMAGES


# ----------------------------------------------------------------------------------------------- the pods


def pods(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    """(where, pod spec) of every workload object that holds a pod template."""
    for obj in objects:
        spec = obj.get("spec", {})
        pod = spec.get("template", {}).get("spec") or spec.get("jobTemplate", {}).get("spec", {}).get("template", {})
        if obj.get("kind") == "Pod":
            pod = spec
        if pod:
            yield f"{obj['kind']}/{obj['metadata'].get('namespace', '-')}/{obj['metadata']['name']}", pod


def containers(pod: Obj) -> list[Obj]:
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def served_and_listening(container: Obj, cfg: AppConfig) -> tuple[set[Endpoint], list[tuple[str, int]]]:
    """What the container serves and where it listens: from IMAGES, else from the configured app it runs."""
    image = IMAGES.get(container["image"])
    declared = [("", p["containerPort"]) for p in container.get("ports", [])]
    app = next((a for a in cfg.apps if a.name == container["name"] and a.image == container["image"]), None)
    if image is not None:
        served = image.serves(container)
        listening = image.listens(container)
    elif app is not None:  # a configured image: its endpoint is what the config declares
        served, listening = {(app.health_path, app.container_port)}, [("", app.container_port)]
    else:
        pytest.fail(
            f"container {container['name']!r} runs {container['image']}, neither a configured app nor in IMAGES"
        )
    return served, listening + [d for d in declared if d[1] not in {port for _, port in listening}]


def assert_pods_hold(objects: list[Obj], cfg: AppConfig) -> int:
    """Every probe targets an endpoint its own container serves; every signing sidecar listens on loopback only;
    every port is unique within the pod. Returns the number of containers seen."""
    seen = 0
    for where, pod in pods(objects):
        owner: dict[int, str] = {}
        for container in containers(pod):
            seen += 1
            served, listening = served_and_listening(container, cfg)
            for probe_name in PROBES:
                probe = container.get(probe_name)
                if probe is None:
                    continue
                assert set(probe) & {"httpGet", "tcpSocket", "exec", "grpc"} == {"httpGet"}, (where, probe)
                endpoint = (probe["httpGet"]["path"], probe["httpGet"]["port"])
                assert "host" not in probe["httpGet"], (where, probe)  # kubelet's probes go to the pod IP
                assert endpoint in served, f"{where} {container['name']} {probe_name} {endpoint}: not in {served}"
                assert endpoint[1] in {port for _, port in listening}, (where, container["name"], endpoint)
            if is_signing_sidecar(container):
                assert listening == [(LOOPBACK, SIGNING_SIDECAR_PORT)], (
                    f"{where}: the signing sidecar listens on {listening}"
                )
                assert_forwards_only_where_called(where, pod, container, cfg)
            for _, port in listening:
                assert port not in owner, f"{where}: port {port} of {container['name']} is {owner.get(port)}'s too"
                owner[port] = container["name"]
    return seen


def assert_forwards_only_where_called(where: str, pod: Obj, sidecar: Obj, cfg: AppConfig) -> None:
    """A sidecar whose app calls exactly one hostname forwards only there (`--host`); with several it must forward
    to the request's Host (README: in-cluster callers), so it has no `--host`."""
    (app,) = [a for a in cfg.apps if a.name in {c["name"] for c in pod.get("containers", [])}]
    called = cfg.called_hostnames(app)
    assert called, f"{where}: {app.name} has a signing sidecar but calls no route"
    host = _flag(sidecar.get("args", []), "host", "")
    assert host == (called[0] if len(called) == 1 else ""), f"{where}: --host {host!r}; {app.name} calls {called}"


# --------------------------------------------------------------------------------------------- the configs


_DEMO = {"image": "rlawnsdud/demo:latest", "env": {"HOST": "0.0.0.0", "GLOBAL_PREFIX": "/v1", "ROUTE": "v1"}}
# Every app calls a route: one through `calls`, one through a route's allow list, with ports around the sidecar's.
CALLING_APPS = [
    {"name": "demo-app-a", **_DEMO, "containerPort": 3000, "healthPath": "/v1/health", "calls": ["demo-http-route"]},
    {"name": "demo-app-b", **_DEMO, "containerPort": SIGNING_SIDECAR_PORT + 1, "healthPath": "/v1/health"},
]
CALLED_ROUTE = {
    "name": "demo-http-route",
    "hostname": "api.example.com",
    "rules": [{"pathPrefix": "/v1", "backends": [{"app": "demo-app-a"}, {"app": "demo-app-b"}]}],
    "access": {"allow": [{"app": "demo-app-b"}]},
}


def _calls_everything() -> AppConfig:
    return parse_context({"apps": json.dumps(CALLING_APPS), "routes": json.dumps([CALLED_ROUTE])}, today=TODAY)


def _calls_two_hosts() -> AppConfig:
    """demo-app-a calls two hostnames: its sidecar forwards to each request's Host."""
    second = {
        **CALLED_ROUTE,
        "name": "second-route",
        "hostname": "second.example.com",
        "access": {"allow": [{"clientHost": True}]},
    }
    apps = [{**CALLING_APPS[0], "calls": ["demo-http-route", "second-route"]}, CALLING_APPS[1]]
    return parse_context({"apps": json.dumps(apps), "routes": json.dumps([CALLED_ROUTE, second])}, today=TODAY)


CONFIGS: dict[str, Callable[[], AppConfig]] = {
    "default": lambda: parse_context({}, today=TODAY),
    "rich": rich_config,
    "calls everything": _calls_everything,
    "calls two hosts": _calls_two_hosts,
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_emitted_pod_holds(name: str) -> None:
    cfg = CONFIGS[name]()
    objects = workload_objects(cfg, signing_region="ap-northeast-2")
    assert assert_pods_hold(objects, cfg) >= len(cfg.apps) + len(cfg.calling_apps)
    sidecars = [c for _, pod in pods(objects) for c in containers(pod) if is_signing_sidecar(c)]
    assert len(sidecars) == len(cfg.calling_apps)


def test_the_calling_configs_really_have_sidecars() -> None:
    assert len(_calls_everything().calling_apps) == 2 and rich_config().calling_apps
    two = _calls_two_hosts()
    assert [len(two.called_hostnames(a)) for a in two.calling_apps] == [2, 1]  # both cases of --host


def test_the_checks_catch_a_sidecar_forwarding_anywhere() -> None:
    cfg = _calls_everything()
    app = _app_container(cfg)
    listen = ("--port", f"127.0.0.1:{SIGNING_SIDECAR_PORT}")
    with pytest.raises(AssertionError, match="--host ''; demo-app-a calls"):
        assert_pods_hold(_pod(app, init=(_sidecar(*listen),)), cfg)
    with pytest.raises(AssertionError, match=r"--host 'evil\.example\.com'"):
        assert_pods_hold(_pod(app, init=(_sidecar(*listen, "--host=evil.example.com"),)), cfg)
    assert_pods_hold(_pod(app, init=(_sidecar(*listen, "--host", "api.example.com"),)), cfg)


@pytest.fixture(scope="module")
def calls_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app synthesized with apps that call routes ("calls everything"): the sidecars as the stack emits them.
    Once per session, or read from the synthesis cache (its key holds these overrides)."""
    from tests.conftest import cached_synthesis
    from tools.impact import NO_ASSET_STAGING

    raw = {"apps": json.dumps(CALLING_APPS), "routes": json.dumps([CALLED_ROUTE]), **NO_ASSET_STAGING}
    return cached_synthesis(tmp_path_factory, "pod-calls", raw)


def synthesized_objects(synth: Synthesized) -> list[Obj]:
    objects: list[Obj] = []
    for template in synth.templates.values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] == "Custom::AWSCDK-EKS-KubernetesResource":
                # A manifest with a token (the sidecar's region) is an Fn::Join: each intrinsic as a placeholder.
                objects += json.loads(flatten(resource["Properties"]["Manifest"]))
    return objects


@pytest.mark.parametrize("which", ["synth", "variant", "calls_synth"])
def test_every_synthesized_pod_holds(which: str, request: pytest.FixtureRequest) -> None:
    """The manifests as the syntheses emit them: the default, the variant's, and one whose apps call routes."""
    synth: Synthesized = request.getfixturevalue(which)
    objects = synthesized_objects(synth)
    assert assert_pods_hold(objects, synth.config) >= len(synth.config.apps) + len(synth.config.calling_apps)
    sidecars = [c for _, pod in pods(objects) for c in containers(pod) if is_signing_sidecar(c)]
    assert len(sidecars) == len(synth.config.calling_apps) == (2 if which == "calls_synth" else 0)


def test_the_controller_charts_pods_hold(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The controller's Deployment as the real helm (from the app's kubectl layer) renders the pinned chart with
    the values the app passes: its probes and ports too."""
    cfg = parse_context({}, today=TODAY)
    helm = helm_binary(EKS_VERSIONS[cfg.kubernetes_version].kubectl_layer_module)
    values = controller_values(cfg, region="ap-northeast-2", account="123456789012", vpc_id="vpc-0123456789abcdef0")
    chart = reference_dir / f"aws-gateway-controller-{cfg.controller_chart_version}"
    objects = helm_template(
        helm, chart, release="gateway-api-controller", namespace=CONTROLLER_NAMESPACE, values=values
    )
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    assert [c["image"] for c in containers(deployment["spec"]["template"]["spec"])] == [CONTROLLER_IMAGE]
    assert assert_pods_hold(objects, cfg) == 1


# ------------------------------------------------------------------------------------------ the class, itself


def _pod(*cs: Obj, init: tuple[Obj, ...] = ()) -> list[Obj]:
    return [
        {
            "kind": "Deployment",
            "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"containers": list(cs), "initContainers": list(init)}}},
        }
    ]


def _sidecar(*args: str, probe: Obj | None = None) -> Obj:
    c: Obj = {"name": "sigv4-proxy", "image": SIGV4_PROXY_IMAGE, "restartPolicy": "Always", "args": list(args)}
    return {**c, "readinessProbe": probe} if probe else c


def _app_container(cfg: AppConfig, **extra: Any) -> Obj:
    from constructs.workload.apps import deployment

    (container,) = deployment(cfg.apps[0])["spec"]["template"]["spec"]["containers"]
    return {**container, **extra}


@pytest.mark.parametrize(
    ("sidecar", "why"),
    [
        (_sidecar("--name", "vpc-lattice-svcs"), "listens on [('', 8080)]"),  # the flag's default: every interface
        (_sidecar("--port", ":8080"), "listens on [('', 8080)]"),
        (_sidecar("--port=0.0.0.0:8080"), "listens on [('0.0.0.0', 8080)]"),
        (_sidecar("--port", "127.0.0.1:8080", probe={"httpGet": {"path": "/health", "port": 8080}}), "not in set()"),
        (_sidecar("--port", "127.0.0.1:3000"), "listens on [('127.0.0.1', 3000)]"),
    ],
)
def test_the_checks_catch_a_sidecar_off_loopback_or_probed(sidecar: Obj, why: str) -> None:
    cfg = parse_context({}, today=TODAY)
    with pytest.raises(AssertionError, match=why.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        assert_pods_hold(_pod(_app_container(cfg), init=(sidecar,)), cfg)


def test_the_checks_catch_a_port_clash_and_a_probe_on_another_containers_port() -> None:
    cfg = _calls_everything()
    loopback = _sidecar("--port", f"127.0.0.1:{SIGNING_SIDECAR_PORT}", "--host", "api.example.com")
    clash = _app_container(cfg, ports=[{"containerPort": SIGNING_SIDECAR_PORT}])
    with pytest.raises(AssertionError, match=f"port {SIGNING_SIDECAR_PORT} of demo-app-a is sigv4-proxy's too"):
        assert_pods_hold(_pod(clash, init=(loopback,)), cfg)
    through = _app_container(cfg, readinessProbe={"httpGet": {"path": "/v1/health", "port": SIGNING_SIDECAR_PORT}})
    with pytest.raises(AssertionError, match="not in"):
        assert_pods_hold(_pod(through, init=(loopback,)), cfg)
    stranger = {"name": "debug", "image": "busybox:1.36"}
    with pytest.raises(pytest.fail.Exception, match="neither a configured app nor in IMAGES"):
        assert_pods_hold(_pod(_app_container(cfg), stranger), cfg)


# ------------------------------------------------------------------------------------------ the config refuses


def _caller_config(port: int, how: str) -> dict[str, str]:
    app = {"name": "caller", "image": "example.com/caller:1", "containerPort": port, "healthPath": "/healthz"}
    route = {
        "name": "demo-http-route",
        "hostname": "api.example.com",
        "rules": [{"pathPrefix": "/v1", "backends": [{"app": "caller"}]}],
        "access": {"allow": [{"app": "caller"}] if how == "allow" else [{"clientHost": True}]},
    }
    if how == "calls":
        app["calls"] = ["demo-http-route"]
    return {"apps": json.dumps([app]), "routes": json.dumps([route])}


@pytest.mark.parametrize("how", ["calls", "allow", "neither"])
@pytest.mark.parametrize("port", [SIGNING_SIDECAR_PORT - 1, SIGNING_SIDECAR_PORT, SIGNING_SIDECAR_PORT + 1, 3000])
def test_an_apps_port_either_is_refused_naming_the_key_or_is_unique_in_its_pod(port: int, how: str) -> None:
    raw = _caller_config(port, how)
    if port == SIGNING_SIDECAR_PORT and how != "neither":
        with pytest.raises(ConfigError) as err:
            parse_context(raw, today=TODAY)
        assert str(err.value).startswith(f"apps[0].containerPort: {SIGNING_SIDECAR_PORT} is the port of the SigV4")
        return
    cfg = parse_context(raw, today=TODAY)
    assert (len(cfg.calling_apps) == 1) == (how != "neither")
    assert_pods_hold(workload_objects(cfg), cfg)
