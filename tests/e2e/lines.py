"""The exact console lines a peer prints (docs/GUIDE.md), and regexes that match them."""

from __future__ import annotations

import re

from peer.core.change_lines import TABLE_UPDATED as TABLE_UPDATED
from peer.core.direct import NO_ACK, RECEIVED_BY
from peer.core.leaving import OFFLINE_BYE as OFFLINE_BYE
from peer.core.registration import WELCOME as WELCOME
from peer.core.registration import YOU_HAVE_MESSAGES as YOU_HAVE_MESSAGES
from peer.core.request_ends import CLIENT_EXISTS
from peer.core.request_ends import EXITING as EXITING

# the product's own lines, for the tests that import them from here
from peer.core.request_ends import RECEIVED_BY_SERVER as RECEIVED_BY_SERVER
from peer.core.request_ends import SAVED as SAVED
from peer.core.request_ends import SERVER_NOT_RESPONDING as SERVER_NOT_RESPONDING

#: A timestamp in a mailbox line: YYYY-MM-DD HH:MM:SS.
STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"

#: SAVED, or the line that says the same of a message that waited in the outbox
SAVED_EVEN_IF_KEPT = (
    rf"^>>> ({re.escape(SAVED)}|\[Kept message for \S+ saved at the server: “.*”\])$"
)

#: RECEIVED_BY_SERVER, or the line that says the same of a post that waited in the outbox
POSTED_EVEN_IF_KEPT = (
    rf"^>>> ({re.escape(RECEIVED_BY_SERVER)}|\[Kept message received by Server: “.*”\])$"
)


def kept_saved(to: str, text: str) -> str:
    """The line that confirms that a message to `to` kept in the outbox is saved."""
    return f"[Kept message for {to} saved at the server: “{text}”]"


def received_by(name: str) -> str:
    return RECEIVED_BY.format(name)


def no_ack(name: str) -> str:
    return NO_ACK.format(name)


def client_exists(name: str) -> str:
    return CLIENT_EXISTS.format(name)


def line(text: str) -> str:
    """A regex matching exactly the peer output line `>>> <text>`."""
    return rf"^>>> {re.escape(text)}$"


def chat_line(sender: str, text: str) -> str:
    """Regex: a direct message arriving live, `>>> <sender>: <text>`."""
    return line(f"{sender}: {text}")


def channel_line(sender: str, text: str) -> str:
    """Regex: a channel message arriving live, `>>> [Channel_Message <sender>: <text>]`."""
    return line(f"[Channel_Message {sender}: {text}]")


def mail_line(sender: str, text: str) -> str:
    """Regex: a stored direct message handed over at reg; group 1 is the timestamp."""
    return rf"^>>> {re.escape(sender)}: ({STAMP}) {re.escape(text)}$"


def channel_mail_line(sender: str, text: str) -> str:
    """Regex: a stored channel message handed over at reg; group 1 is the timestamp."""
    return rf"^>>> Channel_Message {re.escape(sender)}: ({STAMP}) {re.escape(text)}$"
