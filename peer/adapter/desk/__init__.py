"""The help desk's clients, run: their terminal, connection and files; the
adapter of peer/core/desk/."""
