"""Routing smoke test Lambda (runs inside the client VPC); entry point: smoke.handler.handler."""
