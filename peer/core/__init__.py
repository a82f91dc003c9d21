"""The peer's sans-IO core: events in with `now`, actions out; no sockets, clock,
files or terminal (tests/test_import_direction.py)."""
