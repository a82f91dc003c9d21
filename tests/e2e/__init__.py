"""End-to-end tests: the real ChatApp command, driven through pipes (see harness.py)."""
