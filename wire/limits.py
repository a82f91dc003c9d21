"""The wire's size limits, each with the reason for its value (a registry's quotas and
room limits are in registry/core/post_office.py and rooms.py)."""

from typing import Final

#: Largest datagram we send or accept. A UDP datagram this size fits in one Ethernet frame
#: (1500 bytes MTU minus IP and UDP headers, with room for tunnels and VPNs), so it is never
#: fragmented on a normal LAN; anything larger travels over TCP.
MAX_DATAGRAM: Final = 1200

#: Largest TCP frame body. Big enough for a snapshot of 10,000 table entries or a full
#: mailbox; small enough that a hostile length header cannot make us allocate much.
MAX_FRAME: Final = 4 * 1024 * 1024

#: Bytes of the big-endian length header in front of every TCP frame.
FRAME_HEADER: Final = 4

#: Longest chat text in UTF-8 bytes. Long texts go over TCP; this bounds a mailbox record.
MAX_TEXT: Final = 16 * 1024

#: Longest text of a direct message saved at the registry, sealed to its recipient
#: (peer/core/sealed_mail.py): a MAX_TEXT text with its id and names, the seal's handshake,
#: nonce and tag (120 bytes), in base64 (4 characters for 3 bytes), with room to spare.
MAX_SEALED: Final = 24 * 1024

#: Longest farewell of a /quit, in characters. Every online peer is shown it, in one line
#: ("<name> has quit (<farewell>)"), unasked: a line of a terminal, not a message's worth.
MAX_FAREWELL: Final = 200

#: Longest message id. Ids are "<session>-<counter>", far shorter than this; the bound
#: keeps the ids a receiver remembers (to show each message once) small.
MAX_ID: Final = 64
#: Characters of a line's `after` (wire.base.After): an id of its sender's session and a counter.
MAX_AFTER: Final = 24

#: Characters of each field of a password's exchange (a Register's proof and verifier, a
#: PasswordChallenge's): hex of the 2048-bit group's numbers (512) with salts and a hash.
MAX_SRP: Final = 640
#: Characters of a mailbox ticket, or of the secret that makes them (secure/tickets.py).
MAX_TICKET: Final = 64

#: Longest name (of a peer or a room): see wire/names.py for the rules of names.
MAX_NAME: Final = 32

#: Most items in one list field (table entries, stored messages, ids).
MAX_ITEMS: Final = 20_000

#: Messages per second one address may send the registry on average, and in a burst above
#: that average: the registry's flood gate (registry/core/flood.py) drops the rest. A peer paces
#: what its user types below both (peer/core/requests.py), so that a script piping thousands of
#: lines is never taken for a flood.
REGISTRY_RATE: Final = 500.0
REGISTRY_BURST: Final = 1000.0
