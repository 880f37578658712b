"""Helm values for aws-gateway-controller-chart (v2.1.3): only what differs from the chart's defaults."""

from __future__ import annotations

from typing import Any

from config.model import AppConfig
from config.versions import CONTROLLER_SERVICE_ACCOUNT

# v2.1.3 tags every Lattice resource it creates (service, its service-network association, listener, rule,
# target group) with this key, valued "<account>/<cluster>/<vpc>" (pkg/aws/cloud.go: TagManagedBy,
# getManagedByTag), and treats only that value as its own.
MANAGED_BY_TAG_KEY = "application-networking.k8s.aws/ManagedBy"

# docs/faq.md (v2.1.3) advises 10 concurrent route reconciles to speed up deregistration of terminating pods.
ROUTE_MAX_CONCURRENT_RECONCILES = 10


def controller_values(cfg: AppConfig, *, region: str, account: str, vpc_id: str) -> dict[str, Any]:
    """Values for the controller release; region/account/vpc_id may be CDK token strings."""
    return {
        # Set explicitly: otherwise the controller asks instance metadata, which fails on nodes with IMDSv2
        # hop limit 1 ("vpcId is not specified"), SPEC §2.
        "awsRegion": region,
        "awsAccountId": account,
        "clusterVpcId": vpc_id,
        "clusterName": cfg.cluster_name,
        # The ServiceAccount is ours (constructs/controller/objects.py): Pod Identity injects credentials only at pod
        # creation, so the account and its association must exist before the chart starts the controller.
        "serviceAccount": {"create": False, "name": CONTROLLER_SERVICE_ACCOUNT},
        "log": {"level": cfg.controller_log_level},
        "deployment": {"replicas": 2},
        "pdb": {"enabled": True, "minAvailable": 1},
        # CloudFormation owns the service network and both VPC associations (SPEC §2). In v2.1.3 a non-empty
        # defaultServiceNetwork makes every controller start-up create a network of that name if none exists
        # and associate it with the cluster VPC if no association exists (docs/guides/environment.md;
        # pkg/controllers/gateway_controller.go → ServiceNetworkManager.CreateOrUpdate). That races the stack
        # (names are unique per account, a VPC has one association per network, so CloudFormation's create
        # fails) and leaves resources the controller never deletes. Without it the Gateway reconciler only
        # looks the network up by the Gateway's name, which is all we need. Override mode requires
        # defaultServiceNetwork, so it stays off too.
        "defaultServiceNetwork": "",
        "enableServiceNetworkOverride": False,
        "routeMaxConcurrentReconciles": ROUTE_MAX_CONCURRENT_RECONCILES,
    }


def controller_managed_by(*, account: str, cluster_name: str, vpc_id: str) -> str:
    """The ManagedBy tag value the controller run with `controller_values(...)` puts on its Lattice resources
    (the same awsAccountId, clusterName and clusterVpcId; CDK token strings allowed)."""
    return f"{account}/{cluster_name}/{vpc_id}"
