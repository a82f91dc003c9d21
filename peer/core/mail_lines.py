"""The mailbox hand-over as the peer shows it (docs/PROTOCOL.md, "The mailbox hand-over"):
"[You have messages]", then each stored message not shown before, recorded as shown in
batches once its line is on the screen. Sans-IO: actions are handed to the caller's `emit`.
"""

from __future__ import annotations

from peer.core.actions import Action, Emit, OnceShown, Print
from peer.core.inbox import Inbox
from wire.messages import NOTICE_KIND, StoredMessage

#: Stored messages recorded as shown together, once their lines are on the screen (see
#: `MailLines.show`): at most this many are shown again after a kill in the middle of a
#: mailbox. A record per line would wait on the terminal once per line, and a mailbox part
#: holds up to thousands.
MAIL_SHOWN_EVERY = 4


class MailLines:
    """The lines of the mailbox being handed over, each message shown once (by `inbox`)."""

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox
        # whether "[You have messages]" was shown for the mailbox being handed over
        self._announced = False

    def begin(self) -> None:
        """A new hand-over begins (a Welcome): its first new message is announced again."""
        self._announced = False

    def show(self, mail: tuple[StoredMessage, ...], emit: Emit) -> list[Action]:
        """Hand to `emit` the lines of the messages in `mail` not shown before, each
        MAIL_SHOWN_EVERY of them followed by a OnceShown recording them as shown. Returns
        the records of the last lines, not yet in a OnceShown: the caller adds what must
        wait for those lines too (telling the registry the mail was taken, which deletes
        it) and appends them in one OnceShown, so that a peer killed while printing shows
        at its next start only the lines it had not shown yet, and loses none."""
        shown: list[Action] = []  # the records of the lines printed since the last batch
        for message in mail:
            if not self._inbox.handed_over(message.sender, message.id, shown.append):
                continue
            if not self._announced:
                self._announced = True
                emit(Print("[You have messages]", "system"))
            emit(_mail_line(message))
            if len(shown) >= MAIL_SHOWN_EVERY:
                emit(OnceShown(tuple(shown)))
                shown = []
        return shown


def _mail_line(message: StoredMessage) -> Print:
    """The line for a stored message: `<sender>: <timestamp> <message>`, prefixed
    `Channel_Message ` for a channel one; a stored notice as a system line."""
    if message.kind == NOTICE_KIND:
        return Print(f"[{message.text}]", "system")
    prefix = "Channel_Message " if message.kind == "channel" else ""
    return Print(
        f"{prefix}{message.sender}: {message.stamp} {message.text}", "message", message.sender
    )
