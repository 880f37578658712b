"""Reusable fakes for Lambda handler tests."""
