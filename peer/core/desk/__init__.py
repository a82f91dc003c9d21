"""The help desk's clients: a person asking for help, and an operator serving (docs/DESK.md)."""
