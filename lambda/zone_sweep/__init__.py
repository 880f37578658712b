"""Custom-resource handler that empties the private zone of the Lattice DNS records before it is deleted."""
