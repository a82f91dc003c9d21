"""Registering: the Welcome taken, and the mailbox it hands over in parts (docs/PROTOCOL.md,
"The mailbox hand-over"). Sans-IO."""

from __future__ import annotations

from peer.core.actions import Action, Emit, OnceShown, Print, Remember
from peer.core.lifecycle import Event
from peer.core.registry_link import RegistryLink
from peer.core.shared import Shared, WelcomeTable
from wire.messages import (
    NOTICE_KIND,
    Leave,
    MailTaken,
    Message,
    MoreMail,
    Register,
    StoredMessage,
    Welcome,
)
from wire.names import name_key
from wire.words import counted

#: Stored messages recorded as shown together, once their lines are on the screen: at most
#: this many are shown again after a kill in the middle of a mailbox (a record per line
#: would wait on the terminal once per line, for thousands).
MAIL_SHOWN_EVERY = 4
WELCOME = "[Welcome, You are registered.]"
YOU_HAVE_MESSAGES = "[You have messages]"


class Registering:
    """The Welcome and the mailbox it hands over; the lines shown after the next one."""

    def __init__(self, shared: Shared, link: RegistryLink, news: WelcomeTable) -> None:
        self._shared = shared
        self._link = link
        self._table_news = news
        # whether "[You have messages]" was shown for the mailbox being handed over
        self._announced = False
        #: Lines shown once, right after the next Welcome (the registry's key, first met).
        self.after_welcome: list[Print] = []

    def more_mail(self, taken: MailTaken, reply: Message, now: float, emit: Emit) -> None:
        """The answer to the mail taken: the next part of the mailbox, if any."""
        if isinstance(reply, MoreMail) and self._shared.life.registered:
            self.take_mail(reply.mail, now, emit)

    def register_answered(
        self, register: Register, welcome: Message, now: float, emit: Emit
    ) -> None:
        """The answer to a registration of ours (a refusal is RequestEnds'): a Welcome makes
        us registered, with the table and our mail."""
        if not isinstance(welcome, Welcome):
            return
        shared = self._shared
        shared.learn_registries(welcome.registries, emit)
        state = shared.state
        first = not state.life.started
        state.life.fire(Event.WELCOME)
        self._take_identity(welcome, emit)
        shared.requests.registered(now)
        emit(Print(WELCOME, "system"))
        for said in self.after_welcome:
            emit(said)
        self.after_welcome.clear()
        kept = shared.settling.outbox
        count = sum(1 for m in kept if not isinstance(m, Leave))  # a leave is no message
        if first and count:
            line = f"[{counted(count, 'message')} kept from your last session; sending now.]"
            emit(Print(line, "system"))
        if state.room:
            # registered again after the registry took us out of the room: back to it
            shared.room_return.go_back_later(state.room)
            state.room = ""
        self._table_news.welcome_table(welcome, now, emit)
        self._announced = False
        self.take_mail(welcome.mail, now, emit)
        room_return = shared.room_return
        # join again the room of lines kept for it, or (not typed in, before the Welcome)
        # the room an earlier run was in
        self._join(room_return.rejoin_for_kept(state.room, emit), now, emit)
        typed, shared.early_lines = shared.early_lines, []
        if any(text is not None and text.strip() for text in typed):
            room_return.stay_out(emit)
        self._join(room_return.go_back(emit), now, emit)
        self._link.flush_outbox(now, emit)
        shared.lines_after_change.extendleft(reversed(typed))  # carried out as the event settles

    def _join(self, room: str, now: float, emit: Emit) -> None:
        if room:
            self._link.request(self._shared.join_message(room), now, emit)

    def _take_identity(self, welcome: Welcome, emit: Emit) -> None:
        """Our token and name as the Welcome has them (kept by a Remember when new)."""
        state = self._shared.state
        self._shared.tickets.learn(welcome.tickets)
        renamed = name_key(welcome.name) != name_key(state.name)
        if welcome.token != state.token or renamed:  # else kept already
            state.token = welcome.token
            emit(Remember(welcome.name, welcome.token))
        if renamed:
            # our rename was done as we stopped, before we could keep it
            state.former.add(name_key(state.name))
            line = (
                f"[{state.name} was renamed {welcome.name} as ChatApp stopped; "
                f"you are {welcome.name}.]"
            )
            emit(Print(line, "system"))
        state.name = welcome.name
        # a name the registry says became ours (a start after a rename) is ours too: a chat
        # still addressed to it, from before the rename, is taken and acked
        ours = name_key(welcome.name)
        state.former.update(name_key(a.old) for a in welcome.aliases if name_key(a.new) == ours)

    def take_mail(self, mail: tuple[StoredMessage, ...], now: float, emit: Emit) -> None:
        """Show the stored messages not shown before, each after its sender's earlier line
        (Inbox.mailed), a OnceShown recording each MAIL_SHOWN_EVERY of them; then, once their
        lines are on the screen, tell the registry they were taken (it answers with the next
        part)."""
        shown: list[Action] = []  # the records of the lines printed since the last batch
        inbox = self._shared.inbox
        for message in mail:
            if not inbox.unseen(message.sender, message.id):
                continue
            if not self._announced:
                self._announced = True
                emit(Print(YOU_HAVE_MESSAGES, "system"))
            inbox.mailed(message, _mail_line(message), now, shown.append, emit)
            if len(shown) >= MAIL_SHOWN_EVERY:
                emit(OnceShown(tuple(shown)))
                shown = []
        if mail:
            state = self._shared.state
            ids = tuple(m.id for m in mail)
            taken = MailTaken(self._shared.new_id(), state.name, state.token, ids)
            self._link.request(taken, now, shown.append, quiet=True)
        if shown:
            emit(OnceShown(tuple(shown)))


def _mail_line(message: StoredMessage) -> Print:
    """`<sender>: <timestamp> <message>`, prefixed `Channel_Message ` for a channel one; a
    stored notice as a system line."""
    if message.kind == NOTICE_KIND:
        return Print(f"[{message.text}]", "system")
    prefix = "Channel_Message " if message.kind == "channel" else ""
    return Print(
        f"{prefix}{message.sender}: {message.stamp} {message.text}", "message", message.sender
    )
