"""Deploy-time installer of the Gateway API standard-channel CRDs (CloudFormation custom resource)."""
