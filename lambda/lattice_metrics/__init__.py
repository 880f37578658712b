"""Custom-resource handlers that find the ids Lattice keys its CloudWatch metrics on."""
