"""Custom-resource Lambda: Route 53 CNAME for an HTTPRoute's VPC Lattice domain name (see handler.py)."""
