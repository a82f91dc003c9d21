"""The one error the wire package raises for bad input."""


class DecodeError(ValueError):
    """Bytes that are not a valid ChatApp message or frame.

    Decoding untrusted bytes either returns valid messages or raises this; nothing else.
    The message says what was wrong, for logs and for the reason a connection is closed.
    """
