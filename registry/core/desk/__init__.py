"""The registry's side of the help desk: a waiting room served by operators (docs/DESK.md)."""
