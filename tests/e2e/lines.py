"""The exact console lines a peer prints (docs/GUIDE.md), and regexes that match them."""

from __future__ import annotations

import re

#: A timestamp in a mailbox line: YYYY-MM-DD HH:MM:SS.
STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"

WELCOME = "[Welcome, You are registered.]"
TABLE_UPDATED = "[Client table updated.]"
SAVED = "[Messages received by the server and saved]"
#: SAVED, or the line that says the same of a message that waited in the outbox
SAVED_EVEN_IF_KEPT = (
    r"^>>> \[(Messages received by the server and saved"
    r"|Kept message for \S+ saved at the server: “.*”)\]$"
)

#: RECEIVED_BY_SERVER, or the line that says the same of a post that waited in the outbox
POSTED_EVEN_IF_KEPT = (
    r"^>>> \[(Message received by Server\.|Kept message received by Server: “.*”)\]$"
)


def kept_saved(to: str, text: str) -> str:
    """The line that confirms that a message to `to` kept in the outbox is saved."""
    return f"[Kept message for {to} saved at the server: “{text}”]"


YOU_HAVE_MESSAGES = "[You have messages]"
OFFLINE_BYE = "[You are Offline. Bye.]"
SERVER_NOT_RESPONDING = "[Server not responding]"
EXITING = "[Exiting]"
RECEIVED_BY_SERVER = "[Message received by Server.]"


def received_by(name: str) -> str:
    return f"[Message received by {name}.]"


def no_ack(name: str) -> str:
    return f"[No ACK from {name}, message sent to server.]"


def client_exists(name: str) -> str:
    return f"[Client {name} exists!!]"


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
