"""The fake Kubernetes API (fake_kube.py) made enough of an API server for the real kubectl's `apply --prune` and
`delete -f`: legacy discovery of the kinds this app emits and of kubectl's prune allowlist, a uid per created
object (prune skips the uids it applied), label selectors on lists, and strategic merge patches taken as merge
patches (the same for the labels and annotations these tests change).

    with KubectlApi() as api:
        kubectl = api.kubectl(binary, tmp_path)   # runs kubectl against it with a kubeconfig in tmp_path
        kubectl("apply", manifest_file, "--prune", "-l", label)
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .fake_kube import FakeKubeApi, RecordedRequest

# (group, version) -> [(plural, kind, namespaced)]: the kinds of kubectl's prune allowlist
# (tools/impact/kubernetes.py) and the ones this app emits.
RESOURCES: dict[tuple[str, str], list[tuple[str, str, bool]]] = {
    ("", "v1"): [
        ("configmaps", "ConfigMap", True),
        ("endpoints", "Endpoints", True),
        ("persistentvolumeclaims", "PersistentVolumeClaim", True),
        ("pods", "Pod", True),
        ("replicationcontrollers", "ReplicationController", True),
        ("secrets", "Secret", True),
        ("services", "Service", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("namespaces", "Namespace", False),
        ("persistentvolumes", "PersistentVolume", False),
    ],
    ("apps", "v1"): [
        ("daemonsets", "DaemonSet", True),
        ("deployments", "Deployment", True),
        ("replicasets", "ReplicaSet", True),
        ("statefulsets", "StatefulSet", True),
    ],
    ("batch", "v1"): [("jobs", "Job", True), ("cronjobs", "CronJob", True)],
    ("networking.k8s.io", "v1"): [("ingresses", "Ingress", True)],
    ("rbac.authorization.k8s.io", "v1"): [
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
    ],
    ("gateway.networking.k8s.io", "v1"): [
        ("gatewayclasses", "GatewayClass", False),
        ("gateways", "Gateway", True),
        ("httproutes", "HTTPRoute", True),
    ],
    ("application-networking.k8s.aws", "v1alpha1"): [
        ("iamauthpolicies", "IAMAuthPolicy", True),
        ("targetgrouppolicies", "TargetGroupPolicy", True),
    ],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def object_path(doc: dict[str, Any]) -> str:
    """Where the fake stores an object (as the API server addresses it)."""
    group, _, version = str(doc["apiVersion"]).rpartition("/")
    plural, _, namespaced = next(r for r in RESOURCES[(group, version)] if r[1] == doc["kind"])
    root = f"/apis/{group}/{version}" if group else f"/api/{version}"
    meta = doc["metadata"]
    where = f"/namespaces/{meta.get('namespace') or 'default'}" if namespaced else ""
    return f"{root}{where}/{plural}/{meta['name']}"


class KubectlApi(FakeKubeApi):
    def __init__(self) -> None:
        super().__init__()
        self._uids = itertools.count(1)

    def __enter__(self) -> KubectlApi:
        super().__enter__()
        self._publish_discovery()
        return self

    def _publish_discovery(self) -> None:
        self.put_object("/api", {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        groups = []
        for (group, version), resources in RESOURCES.items():
            gv = f"{group}/{version}" if group else version
            listed = [
                {"name": p, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": VERBS}
                for p, k, ns in resources
            ]
            path = f"/apis/{gv}" if group else f"/api/{gv}"
            document = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": listed}
            self.put_object(path, document)
            if group:
                entry = {"groupVersion": gv, "version": version}
                groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
        self.put_object("/apis", {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    def kubectl(self, binary: Path, workdir: Path) -> Callable[..., str]:
        """Runs `binary` against this server; returns its output, raising with it on failure."""
        config = workdir / "kubeconfig"
        ca = workdir / "ca.pem"
        ca.write_bytes(self.ca.cert_pem.bytes())
        config.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
            f"clusters: [{{name: fake, cluster: {{server: '{self.endpoint}', certificate-authority: '{ca}'}}}}]\n"
            f"users: [{{name: fake, user: {{token: '{self.token}'}}}}]\n"
            "contexts: [{name: fake, context: {cluster: fake, user: fake}}]\n"
        )

        def run(*args: str | Path) -> str:
            # As the CDK handler runs it, but: no schema validation (the fake serves no OpenAPI documents) and a
            # discovery cache of its own.
            cmd = [str(binary), *map(str, args), "--kubeconfig", str(config), "--cache-dir", str(workdir / "cache")]
            if args and args[0] == "apply":
                cmd.append("--validate=false")
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(map(str, args))}: {done.stdout}{done.stderr}")
            return done.stdout + done.stderr

        return run

    # -- what kubectl needs beyond fake_kube -------------------------------------------------------------------

    def _do_get(self, req: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        status, headers, payload = super()._do_get(req)
        selector = req.query.get("labelSelector")
        if status == 200 and payload.get("kind") == "List" and selector:
            wanted = [term.partition("=") for term in selector.split(",") if term]
            payload = {
                **payload,
                "items": [
                    item
                    for item in payload["items"]
                    if all(
                        key in (labels := (item.get("metadata") or {}).get("labels") or {})
                        and (not eq or labels[key] == value)
                        for key, eq, value in wanted
                    )
                ],
            }
        return status, headers, payload

    def _do_post(self, req: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        status, headers, payload = super()._do_post(req)
        if status == 201:
            payload.setdefault("metadata", {})["uid"] = f"uid-{next(self._uids)}"
        return status, headers, payload

    def _do_patch(self, req: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        if (req.content_type or "").startswith("application/strategic-merge-patch+json"):
            req = replace(req, headers={**req.headers, "content-type": "application/merge-patch+json"})
        return super()._do_patch(req)
