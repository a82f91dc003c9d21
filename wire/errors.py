"""The one error the wire package raises for bad input."""


class DecodeError(ValueError):
    """Bytes that are not a valid ChatApp message or frame: decoding untrusted bytes
    returns valid messages or raises this, nothing else."""


class OtherVersion(DecodeError):
    """A message of a known type with other fields (or a key answer of another protocol):
    most likely another version's. `kind` is its type; `request_id` its id when it waits
    for an answer (no `reply_to`), for the receiver to refuse it by name; else ""."""

    def __init__(self, detail: str, kind: str, request_id: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.request_id = request_id
