"""The AWS Gateway API Controller and what it needs: the Gateway API CRDs, its IAM policy, its Helm values."""

from constructs.controller.gateway_api_crds import GatewayApiCrds
from constructs.controller.gateway_controller import GatewayController
from constructs.controller.values import MANAGED_BY_TAG_KEY, controller_managed_by

__all__ = ["MANAGED_BY_TAG_KEY", "GatewayApiCrds", "GatewayController", "controller_managed_by"]
