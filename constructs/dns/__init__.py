"""Route 53: the private zone for the routes' custom domains, and one CNAME per route to its Lattice name."""

from constructs.dns.private_zone import PrivateZone
from constructs.dns.records import LatticeDnsRecords

__all__ = ["LatticeDnsRecords", "PrivateZone"]
