"""`make e2e`: deploy, smoke, update, live facts, destroy and audit against a real account (tools/e2e/run.py)."""
