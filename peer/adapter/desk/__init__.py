"""The adapter of peer/core/desk/: terminal, connection and files."""
