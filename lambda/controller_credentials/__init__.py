"""Deploy-time check that the controller's pods run with their EKS Pod Identity credentials."""
