"""Sockets both ends share: the endpoint (UDP and TCP on one port), streams served,
the listener, discovery, the wake timer and batching."""
