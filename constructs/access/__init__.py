"""Apps that call routes (`apps[].calls`): their IAM role bound by EKS Pod Identity, and the check that their pods
started with its credentials."""

from constructs.access.app_caller import AppCaller
from constructs.access.pod_credentials import PodCredentialsChecks, credentials_check_rbac

__all__ = ["AppCaller", "PodCredentialsChecks", "credentials_check_rbac"]
