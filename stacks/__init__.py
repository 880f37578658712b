"""Deployment units. Stacks only wire constructs; all logic lives in constructs/ and config/."""
