"""The adapter of registry/core/desk/: connections, console and files."""
