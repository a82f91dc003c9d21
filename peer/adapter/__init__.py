"""The peer's adapter: the sockets, files, clock and terminal that run its core."""
