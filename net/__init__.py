"""The asyncio I/O both ends share: the endpoint (UDP and TCP on one port), stream
framing and the listener, durable files and locks, the wake timer and batching."""
