"""The finalizers the AWS Gateway API Controller adds, by kind: test data read from its source, not from the app.

Source: github.com/aws/aws-application-networking-k8s at tag v2.1.3 (commit e3fb86ea0573aa299458b9b022c59a364584b6e8),
read 2026-12-05. A kind is here when its reconciler *adds* the finalizer (k8s.FinalizerManager.AddFinalizers or
controllerutil.AddFinalizer); the value is the Go constant the file names.

Not here, on purpose: core Services (pkg/controllers/service_controller.go only *removes* the legacy
"service.ki8s.aws/resources", never adds it), TargetGroupPolicy (pkg/controllers/targetgrouppolicy_controller.go
has no finalizer), GatewayClass, Pods.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTROLLER_TAG = "v2.1.3"
READ_ON = "2026-12-05"


@dataclass(frozen=True)
class Finalized:
    group: str
    kind: str
    finalizer: str
    source: str  # the file at CONTROLLER_TAG that names the constant and adds it


FINALIZED: tuple[Finalized, ...] = (
    # routeTypeToFinalizer, added in route_controller.go's reconcile (one map entry per route type)
    Finalized(
        "gateway.networking.k8s.io", "HTTPRoute", "httproute.k8s.aws/resources", "pkg/controllers/route_controller.go"
    ),
    Finalized(
        "gateway.networking.k8s.io", "GRPCRoute", "grpcroute.k8s.aws/resources", "pkg/controllers/route_controller.go"
    ),
    Finalized(
        "gateway.networking.k8s.io", "TLSRoute", "tlsroute.k8s.aws/resources", "pkg/controllers/route_controller.go"
    ),
    # gatewayFinalizer
    Finalized(
        "gateway.networking.k8s.io", "Gateway", "gateway.k8s.aws/resources", "pkg/controllers/gateway_controller.go"
    ),
    # IAMAuthPolicyFinalizer = k8s.AnnotationPrefix + IAMAuthPolicyAnnotation; AnnotationPrefix in pkg/k8s/utils.go
    Finalized(
        "application-networking.k8s.aws",
        "IAMAuthPolicy",
        "application-networking.k8s.aws/iam-auth-policy",
        "pkg/controllers/iamauthpolicy_controller.go",
    ),
    # accessLogPolicyFinalizer
    Finalized(
        "application-networking.k8s.aws",
        "AccessLogPolicy",
        "accesslogpolicy.k8s.aws/resources",
        "pkg/controllers/accesslogpolicy_controller.go",
    ),
    # serviceExportFinalizer
    Finalized(
        "application-networking.k8s.aws",
        "ServiceExport",
        "serviceexport.k8s.aws/resources",
        "pkg/controllers/serviceexport_controller.go",
    ),
    # serviceImportFinalizer (singular "resource" in the source)
    Finalized(
        "application-networking.k8s.aws",
        "ServiceImport",
        "serviceimport.k8s.aws/resource",
        "pkg/controllers/serviceimport_controller.go",
    ),
    # finalizer
    Finalized(
        "application-networking.k8s.aws",
        "VpcAssociationPolicy",
        "vpcassociationpolicies.application-networking.k8s.aws/resources",
        "pkg/controllers/vpcassociationpolicy_controller.go",
    ),
    # serviceNetworkFinalizer
    Finalized(
        "application-networking.k8s.aws",
        "ServiceNetwork",
        "servicenetwork.k8s.aws/resources",
        "pkg/controllers/servicenetwork_controller.go",
    ),
)


def finalizer_of(api_version: str, kind: str) -> str | None:
    """The controller's finalizer on objects of this kind, or None when it puts none on them."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return next((f.finalizer for f in FINALIZED if (f.group, f.kind) == (group, kind)), None)
