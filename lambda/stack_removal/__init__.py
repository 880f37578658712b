"""Whether CloudFormation is removing a whole stack (shared by the handlers that may only clean up then)."""
