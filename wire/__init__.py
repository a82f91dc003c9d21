"""ChatApp's wire format: the closed set of messages and their encodings. Pure: bytes in,
typed messages out; no sockets, no clock, no files."""

from wire.codec import decode, decode_datagram, encode, encode_datagram, fits_datagram
from wire.errors import DecodeError
from wire.framing import StreamDecoder, encode_frame
from wire.messages import MESSAGE_TYPES, Entry, Message, StoredMessage

__all__ = [
    "MESSAGE_TYPES",
    "DecodeError",
    "Entry",
    "Message",
    "StoredMessage",
    "StreamDecoder",
    "decode",
    "decode_datagram",
    "encode",
    "encode_datagram",
    "encode_frame",
    "fits_datagram",
]
