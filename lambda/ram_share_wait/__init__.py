"""Custom-resource handlers that wait until RAM has associated a resource share's resources."""
