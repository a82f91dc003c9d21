"""The registry's side of the help desk, run: its connections, console and
files; the adapter of registry/core/desk/."""
