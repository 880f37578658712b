"""Pinned upstream versions and the facts that depend on them, kept as data.

Everything the app downloads or installs at deploy time is pinned here, with the hashes it verifies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class EksVersion:
    """One Kubernetes minor version on EKS: its support calendar and the kubectl layer that matches it."""

    version: str
    end_of_standard: dt.date
    end_of_extended: dt.date
    kubectl_layer_module: str  # Python module of aws-cdk.lambda-layer-kubectl-vNN (pinned in requirements.txt)


# EKS support calendar (SPEC §2, checked Nov 2026): the EKS User Guide's release calendar, "Understand the Kubernetes
# version lifecycle on EKS", https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html (standard
# support 14 months, then 12 months of extended support; read 2026-12-05). 1.31 left extended support on
# 2026-11-26 and has no entry: the app refuses it like any unknown version.
EKS_VERSIONS: dict[str, EksVersion] = {
    v.version: v
    for v in (
        EksVersion(
            version="1.32",
            end_of_standard=dt.date(2026, 3, 23),
            end_of_extended=dt.date(2027, 3, 23),
            kubectl_layer_module="aws_cdk.lambda_layer_kubectl_v32",
        ),
        EksVersion(
            version="1.33",
            end_of_standard=dt.date(2026, 7, 29),
            end_of_extended=dt.date(2027, 7, 29),
            kubectl_layer_module="aws_cdk.lambda_layer_kubectl_v33",
        ),
        EksVersion(
            version="1.34",
            end_of_standard=dt.date(2026, 12, 2),
            end_of_extended=dt.date(2027, 12, 2),
            kubectl_layer_module="aws_cdk.lambda_layer_kubectl_v34",
        ),
        EksVersion(
            version="1.35",
            end_of_standard=dt.date(2027, 3, 27),
            end_of_extended=dt.date(2028, 3, 27),
            kubectl_layer_module="aws_cdk.lambda_layer_kubectl_v35",
        ),
        EksVersion(
            version="1.36",
            end_of_standard=dt.date(2027, 8, 2),
            end_of_extended=dt.date(2028, 8, 2),
            kubectl_layer_module="aws_cdk.lambda_layer_kubectl_v36",
        ),
    )
}

# EKS control plane, USD per cluster-hour (the same in every commercial region).
EKS_STANDARD_HOURLY_USD = 0.10
EKS_EXTENDED_HOURLY_USD = 0.60

# The controller needs Kubernetes >= 1.31 (SPEC §2): every entry in EKS_VERSIONS satisfies it.


@dataclass(frozen=True, slots=True, kw_only=True)
class CrdFile:
    name: str
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayApiRelease:
    version: str
    files: tuple[CrdFile, ...]

    def url(self, file: CrdFile) -> str:
        return (
            "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/"
            f"{self.version}/config/crd/standard/{file.name}"
        )


# Gateway API standard channel, installed server-side at deploy time from the pinned URLs and verified
# against these hashes. The controller needs >= v1.5 (it exits unless GRPCRoute and TLSRoute v1 are served).
GATEWAY_API_RELEASES: dict[str, GatewayApiRelease] = {
    "v1.5.1": GatewayApiRelease(
        version="v1.5.1",
        files=(
            CrdFile(
                name="gateway.networking.k8s.io_backendtlspolicies.yaml",
                sha256="9b8818172153d72f9c84032db0be0a4a657277d13f5bbc22226ad9481ff57971",
            ),
            CrdFile(
                name="gateway.networking.k8s.io_gatewayclasses.yaml",
                sha256="234ad4b2757ee1b3596a4187bb98df071c5bbdd9e1806f692f2dbf8387e6bef4",
            ),
            CrdFile(
                name="gateway.networking.k8s.io_gateways.yaml",
                sha256="7416e8300eb4d8c0a71a23445609075bbacbe8bc80104584b019cfe1ebe77c31",
            ),
            CrdFile(
                name="gateway.networking.k8s.io_grpcroutes.yaml",
                sha256="979f4125d44d3df24659ba00d1d04ff8e76c45423193e8aae82dd5810d7827df",
            ),
            CrdFile(
                name="gateway.networking.k8s.io_httproutes.yaml",
                sha256="682203b109baecb18d38073a578f7bc2c17d22fe9b0c27bf030850abe014c370",
            ),
            CrdFile(
                name="gateway.networking.k8s.io_listenersets.yaml",
                sha256="9221468d19fdfbb0026113b1ef64abac64f27607975aff2410361b8b38f0e0bb",
            ),
            CrdFile(
                name="gateway.networking.k8s.io_referencegrants.yaml",
                sha256="a8902c486eed0b7339f5bb8a476ccaba0918eb038048402bdc01cbb69b0fbb51",
            ),
            CrdFile(
                name="gateway.networking.k8s.io_tlsroutes.yaml",
                sha256="818e4827c469a40e2527a2851591e656782c50fea8dd44812c900d219da09345",
            ),
            CrdFile(
                name="gateway.networking.k8s.io_vap_safeupgrades.yaml",
                sha256="981a4da92706cb567c051e006ff229429947f054b90cd0719c297abe14f958a1",
            ),
        ),
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerRelease:
    chart_version: str
    min_gateway_api: tuple[int, int]


CONTROLLER_CHART_REPOSITORY = "oci://public.ecr.aws/aws-application-networking-k8s/aws-gateway-controller-chart"
CONTROLLER_NAMESPACE = "aws-application-networking-system"
CONTROLLER_SERVICE_ACCOUNT = "gateway-api-controller"
CONTROLLER_NAME = "application-networking.k8s.aws/gateway-api-controller"

# The IAM policy (constructs/controller/policy.py) is written per release, so only known releases are accepted.
CONTROLLER_RELEASES: dict[str, ControllerRelease] = {
    "v2.1.3": ControllerRelease(chart_version="v2.1.3", min_gateway_api=(1, 5)),
}
