"""The one error the wire package raises for bad input."""


class DecodeError(ValueError):
    """Bytes that are not a valid ChatApp message or frame.

    Decoding untrusted bytes either returns valid messages or raises this; nothing else.
    The message says what was wrong, for logs and for the reason a connection is closed.
    """


class OtherVersion(DecodeError):
    """A message of a type this version knows, whose fields are not the ones it knows: most
    likely sent by another version of ChatApp. `kind` is its type; `request_id` is its id
    when it is a request or push that waits for an answer (a type without `reply_to`),
    so that the receiver can refuse it by name rather than leave it unanswered; else ""."""

    def __init__(self, detail: str, kind: str, request_id: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.request_id = request_id
