"""ChatApp's wire format: the closed set of messages and their encodings. Pure: bytes in,
typed messages out; no sockets, no clock, no files."""
