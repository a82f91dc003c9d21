"""The peer: the state machine, the command language, the sockets and the terminal UI."""
