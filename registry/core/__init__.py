"""The registry's sans-IO core: the table of names, mailboxes, relays and rooms; no
sockets, clock, files or terminal (tests/test_import_direction.py)."""
