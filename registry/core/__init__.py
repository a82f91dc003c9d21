"""The registry's sans-IO core (tests/test_import_direction.py)."""
