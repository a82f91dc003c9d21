"""The peer's protocol logic, sans-IO.

`PeerCore` takes events (the user typed a line, a message arrived from an address, time
passed) with `now` (seconds on a monotonic clock) and returns actions (peer.actions) for its
adapter: send this message there, print this line, remember this token, exit. Delivery
follows DESIGN.md section 4: every request is sent at most 5 times, 500 ms apart; every
message id is shown once.

Each action is handed to the event's `emit` (peer.actions.Emit) the moment it is decided,
in the order they are to be carried out, and nothing handed over is ever read back. The
entry points collect them in a list and return it; `line` and `receive` also take the
adapter's own `emit`, which carries each out at once (PeerNode's, for a typed line and
for a datagram of one message): the datagram a user waits for then leaves before the
bookkeeping that follows its decision. What must come
first is decided first: a message's Shown before its ack and its line, a typed message's
Send before the records kept of it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from peer import commands as cmd
from peer.actions import (
    Action,
    Addr,
    Emit,
    Exit,
    OnceShown,
    Print,
    Prompt,
    Remember,
    Send,
    Sending,
    SendStream,
    Settled,
)
from peer.change_lines import ChangeLines
from peer.mail_lines import MailLines
from peer.outbox import Outbox
from peer.registry_watch import KEEPALIVE, RegistryWatch
from peer.requests import Request, Requests
from peer.room_return import RoomReturn
from peer.rooms import KnownRooms, room_line
from peer.seen_ids import SeenIds
from peer.table import Table
from wire.codec import travels_by_stream
from wire.keys import fingerprint, key_from_text
from wire.limits import MAX_FAREWELL, MAX_TEXT
from wire.messages import (
    Ack,
    Acks,
    Alias,
    Alive,
    Busy,
    ChannelMessage,
    ChannelPost,
    Chat,
    Deregister,
    Entry,
    Join,
    Keepalive,
    Leave,
    MailTaken,
    Message,
    MoreMail,
    Notice,
    Refused,
    Register,
    Relayed,
    Rename,
    Restarted,
    RoomList,
    RoomMessage,
    RoomNotice,
    RoomPost,
    RoomsRequest,
    Saved,
    SaveMessage,
    StoredMessage,
    TableRequest,
    TableSnapshot,
    TableUpdate,
    TooBig,
    Welcome,
)
from wire.names import name_key, name_problem
from wire.refusals import RefusalCode
from wire.reliable import ATTEMPTS, TIMEOUT, IdMaker, Retransmitter
from wire.version import WIRE_VERSION
from wire.words import counted

#: The requests that carry something the user sent: what a quit waits for (see
#: `PeerCore._delivering`), and what is kept in the outbox when the registry does not
#: answer (see `PeerCore._request_failed`).
_DELIVERED = (SaveMessage, ChannelPost, RoomPost, Leave)
#: What any key may send a peer (peer.trust): all else that reaches the core from the
#: registry's IP address came with the registry's key, over TCP too.
_ANY_KEY = (Chat, Ack, Acks, TooBig)
#: What a peer whose registry does not answer says about rooms.
ROOMS_DOWN = (
    "[Rooms are unavailable while the registry does not answer; direct messages still work.]"
)


@dataclass
class PeerState:
    """Who the peer is: its name and token, whether it is registered, and its room."""

    name: str
    port: int
    token: str = ""
    password: str = ""
    registered: bool = False
    room: str = ""


class PeerCore:
    """One peer: its registration, its table, its direct chats and its outbox."""

    def __init__(
        self,
        *,
        name: str,
        port: int,
        server: Addr,
        session: str,
        token: str = "",
        password: str = "",
        keepalive: float = KEEPALIVE,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        seen: Iterable[tuple[str, str]] = (),
        outbox: Iterable[Message] = (),
        room: str = "",
    ) -> None:
        """`server` is the registry's address; `token` the one kept from an earlier run;
        `seen` the (sender, id) pairs already shown in earlier runs (see Shown);
        `outbox` what an earlier run kept to send when the registry answers; `room` the
        room an earlier run was in (see KeepRoom), joined again once registered."""
        self.state = PeerState(name=name, port=port, token=token, password=password)
        #: The peer's copy of the registry's table (read-only outside this class).
        self.table = Table()
        self.server = server
        self.keepalive = keepalive
        self._watch = RegistryWatch(keepalive)
        self._new_id = IdMaker(session)
        self._chats: Retransmitter[Chat] = Retransmitter(timeout, attempts)
        # per recipient (name key): the id of a direct message too long for a datagram,
        # on its way over TCP, and the messages typed to them after it, held until it is
        # acked or given up: they would otherwise arrive first (see `_send_in_order`)
        self._long_chat: dict[str, str] = {}
        self._behind: dict[str, list[Chat]] = {}
        # messages held while the registry does not answer, in the order typed, and
        # direct messages unanswered after their first try, kept on disk (KeepOutbox)
        self._outbox = Outbox(outbox)
        # the requests to the registry: in flight, held behind a long or kept one (the same
        # rule for what is typed to the registry), awaiting a save's outcome, given up on
        self._requests = Requests(server, self._outbox, timeout, attempts)
        # what the user sent and is not known delivered, kept by the adapter (Sending) so
        # that a peer killed even before a first retry loses nothing; and the ids that an
        # answer of this event may have settled (checked in `_settle`)
        self._sending: set[str] = set()
        self._maybe_settled: list[str] = []
        self._seen = SeenIds(seen)
        self._mail = MailLines(self._seen)
        self._started = False
        # lines typed before the first registration was answered, in order (None: the end
        # of input): carried out once it is, since each may need the table or the token
        self._early: list[str | None] = []
        # the first registration was sent again: its answer is late (see `end_of_input`)
        self._register_late = False
        # lines typed (None: the end of input) while a change they may depend on is on its
        # way (see `_changing`): carried out in order once it is answered or given up
        self._after_change: deque[str | None] = deque()
        # ids of joins in flight whose room's notice came: done, their ack still to come
        # (see `_joined_by_notice`)
        self._noticed_joins: set[str] = set()
        # the farewell of a /quit (or end of input) waiting for what is on its way to be
        # delivered before the Deregister goes; None when not quitting
        self._farewell: str | None = None
        self.asking: str | None = None  # the recipient typed after `message`, awaiting text
        self._asking_step = 0
        self._former: set[str] = set()  # keys of names this peer had before a rename
        #: Lines shown once, right after the next Welcome (the registry's key, first met:
        #: after it, so that the Welcome stays the first line a script reads).
        self.after_welcome: list[Print] = []
        #: Our key's fingerprint, for /whois (the node knows the key).
        self.fingerprint = ""
        #: Seconds from `now` to the time of day, for the lines that say when something was
        #: said: the adapter, whose `now` is monotonic, sets it with every event, as the
        #: wall clock may be stepped meanwhile (NTP). 0 for a caller whose `now` is the time
        #: of day.
        self.wall_offset = 0.0
        self._told_renamed: set[tuple[str, str]] = set()  # (old, new) keys said on a send
        self._rooms = KnownRooms()  # for tab completion, and the registry's spellings
        # the room kept on disk, and the rooms to go back to (after a restart, and for
        # room lines kept while the registry did not answer)
        self._room_return = RoomReturn(self._outbox, room)
        # leaving for good (a quit, or leave_now): the room left on the way out stays kept,
        # so the next start goes back to it
        self._quitting = False
        self._prompt = ""
        # how often "[Client table updated.]" and "[<name> has quit]" are said
        self._change_lines = ChangeLines()
        # whether this start was told that another start holds its name (see `_replaced`)
        self._replaced_said = False
        # left at once (`leave_now`): nothing more is done, the caller is exiting
        self._left = False

    # -- entry points -------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        """Register with the registry (the first thing a peer does)."""
        actions: list[Action] = []
        self._request(self._register_message(), now, actions.append)
        self._settle(now, actions.append)
        return actions

    def line(self, text: str, now: float, emit: Emit | None = None) -> list[Action]:
        """The user typed `text` (one line, without its newline): the actions, in order.
        With `emit`, each is handed to it instead, the moment it is decided, and none is
        returned."""
        actions: list[Action] = []
        if emit is None:
            emit = actions.append
        if not self._left:
            self._line(text, now, emit)
            self._settle(now, emit)
        return actions

    def _line(self, text: str, now: float, emit: Emit) -> None:
        if not self._started:
            self._early.append(text)
            return
        if self._after_change or self._changing():
            self._after_change.append(text)
            return
        self._carry_out(text, now, emit)

    def _carry_out(self, text: str, now: float, emit: Emit) -> None:
        if (self._farewell is not None or self._quitting) and text.strip():
            # typed, or pasted, after /quit: the user is leaving, and said so first
            emit(Print(f"[Not carried out, as you are quitting: {text}]", "error"))
            return
        if self._asking_step:
            self._continue_asking(text, now, emit)
            return
        command = cmd.parse(text, in_room=bool(self.state.room))
        if command is None:
            return
        offline = not self.state.registered and self._started
        if offline and not isinstance(command, cmd.Reg | cmd.Help | cmd.Quit):
            reg = self._typed(f"reg {self.state.name}")
            line = f"[You are offline. Type {reg} to come back, or /quit.]"
            emit(Print(line, "error"))
            return
        self._command(command, now, emit)

    def end_of_input(self, now: float) -> list[Action]:
        """Standard input ended (Ctrl-D, or the end of a script): quit (once the lines before
        it are carried out, when it comes before the registration is answered)."""
        actions: list[Action] = []
        if not self._started:
            if None not in self._early:
                self._early.append(None)
                if self._register_late:
                    self._say_quitting_later(actions.append)
            return actions
        self._input_ended(now, actions.append)
        self._settle(now, actions.append)
        return actions

    def _say_quitting_later(self, emit: Emit) -> None:
        """Say that the end of input waits for the registry's answer: only once that answer
        is late (the registration was sent again), as the wait is then worth knowing of. An
        answer that comes at once is said first, refusal or Welcome, not after this line
        (a script's input nearly always ends before its registration is answered)."""
        line = "[Quitting once the registry has answered; Ctrl-C quits at once.]"
        emit(Print(line, "system"))

    def _input_ended(self, now: float, emit: Emit) -> None:
        """Quit, once the lines that wait for a change are carried out (`_changing`)."""
        if self._after_change or self._changing():
            self._after_change.append(None)
        else:
            self._quit("", now, emit)

    def _changing(self) -> bool:
        """Whether a change that the next typed line depends on is on its way: a join (is
        a line room text?), a rename (who sends?), a dereg or a reg (may it be sent at
        all?), a leave (a /join after it must reach the registry after it: were the join
        to overtake it, or the leave be lost and sent again, the registry would answer the
        join as one for the room we are in, and then take us out). Lines typed meanwhile,
        by a quick hand or a script, wait for its answer, so that they are carried out in
        the order typed."""
        return self._requests.any_of((Join, Leave, Rename, Deregister, Register), streamed=True)

    def _carry_out_waiting(self, now: float, emit: Emit) -> None:
        """Carry out the lines that waited for a change, in order, until one of them
        starts another change (the rest wait for that one)."""
        while self._after_change and not self._changing():
            text = self._after_change.popleft()
            if text is None:
                self._quit("", now, emit)
            else:
                self._carry_out(text, now, emit)

    def leave_now(self) -> list[Action]:
        """The user leaves at once (a second Ctrl-C, or the terminal closed), without
        waiting for what is on its way. Whatever they sent that is not known delivered is
        kept in the outbox on disk, so that the next start sends it on (to the registry,
        which delivers or saves it; its id keeps it from being shown twice), and the
        registry is told, once and without waiting for an answer, that this peer is gone.
        The caller exits once these actions are carried out; until then, anything else
        (the registry's answer to that farewell, say) does nothing: it could rewrite the
        outbox just kept, without the messages that are only in it since."""
        actions: list[Action] = []
        emit = actions.append
        self._quitting = self._left = True
        for text in self._after_change:  # typed after a change that was still on its way
            if text is not None and text.strip():
                emit(Print(f"[Not carried out, as you left at once: {text}]", "error"))
        self._after_change.clear()
        undelivered = self.undelivered()
        self._outbox.keep(emit, undelivered)
        if undelivered:
            kept = counted(len(undelivered), "message")
            line = f"[{kept} not yet delivered kept; sent at your next start.]"
            emit(Print(line, "system"))
        if self.state.registered:
            farewell = self._farewell or ""
            dereg = Deregister(self._new_id(), self.state.name, self.state.token, True, farewell)
            emit(Send(self.server, dereg))
        return actions

    def undelivered(self) -> tuple[Message, ...]:
        """The outbox, then everything else sent and not known delivered, roughly in the
        order typed, each once: direct messages as the saves they would become."""
        chats = [*self._chats.items(), *(c for waiting in self._behind.values() for c in waiting)]
        found: dict[str, Message] = {m.id: m for m in self._outbox}
        for message in (
            *self._outbox.unanswered.values(),
            *(self._save_of(c) for c in chats),
            *self._requests.undelivered(_DELIVERED),
        ):
            found.setdefault(message.id, message)
        return tuple(sorted(found.values(), key=self._outbox.typed_at))

    def receive(
        self, message: Message, addr: Addr, now: float, emit: Emit | None = None
    ) -> list[Action]:
        """A message arrived from `addr`: the actions, in order. With `emit`, each is handed
        to it instead, the moment it is decided, and none is returned."""
        actions: list[Action] = []
        if emit is None:
            emit = actions.append
        if not self._left:
            self._receive(message, addr, now, emit)
            self._settle(now, emit)
        return actions

    def _receive(self, message: Message, addr: Addr, now: float, emit: Emit) -> None:
        if addr == self.server or (not isinstance(message, _ANY_KEY) and self._from_registry(addr)):
            self._watch.heard(now)
        back = addr == self.server and self._watch.down
        if back:
            self._server_back(now, emit)
        self._handle(message, addr, now, emit)
        if back:
            # What is still in flight went into the silence, and its tries may run out
            # before the next copy: it would be said unanswered by a registry just back.
            # (What this message answered is no longer in flight: it is not sent again.)
            self._requests.send_again(now, emit)

    def _handle(self, message: Message, addr: Addr, now: float, emit: Emit) -> None:
        match message:
            case Chat():  # first: each case is a test, and a direct message is waited on
                self._incoming_chat(message, addr, emit)
            case Ack() | Refused() | Welcome() | Alive() | TooBig() | RoomList() | MoreMail():
                self._answer(message, addr, now, emit)
            case Busy() if addr == self.server:
                self._busy(message, now, emit)
            case Acks():
                for reply_to in message.replies:
                    self._answer(Ack(message.id, reply_to), addr, now, emit)
            case TableSnapshot():
                self._answer(message, addr, now, emit)
                self._apply_snapshot(message, now, emit)
            case ChannelMessage():
                if self._from_registry(addr) and self._accept(
                    message.sender, message.id, addr, emit
                ):
                    emit(
                        Print(
                            f"[Channel_Message {message.sender}: {message.text}]",
                            "channel",
                            message.sender,
                        )
                    )
            case (
                TableUpdate()
                | Saved()
                | Relayed()
                | Restarted()
                | Notice()
                | RoomMessage()
                | RoomNotice()
            ) if not self._from_registry(addr):
                pass  # a forgery: it could point a name at another port, or speak for the registry
            case TableUpdate():
                emit(Send(addr, Ack(self._new_id(), message.id)))
                if self.state.registered:
                    self._apply_update(message, now, emit)
                else:
                    # Our Welcome is still on its way (over TCP when the table is big): keep
                    # the update for it rather than leave the registry resending it to us.
                    self.table.keep_early(message)
            case Saved():
                emit(Send(addr, Ack(self._new_id(), message.id)))
                self._save_outcome(message, now, emit)
            case Relayed():  # not acked: sent once, and asked for again if lost
                self._relay_outcome(message.reply_to, now, emit)
            case Restarted():  # acked; a copy (the ack lost) sends nothing the registry lacks
                emit(Send(addr, Ack(self._new_id(), message.id)))
                self._registry_restarted(now, emit)
            case Notice():
                if self.state.registered:
                    emit(Send(addr, Ack(self._new_id(), message.id)))
                    if self._accept("", message.id, addr, _unkept):
                        if message.quitter:
                            self._change_lines.someone_quit(message, now, emit)
                        else:
                            emit(Print(f"[{message.text}]", "system"))
            case RoomMessage():
                self._room_message(message, addr, now, emit)
            case RoomNotice():
                if self._accept("", message.id, addr, emit):
                    self._seen_room(message.room)
                    emit(Print(f"[{message.text}]", "system"))
                    self._joined_by_notice(message.room, addr, now, emit)
            case _:
                pass

    def tick(self, now: float) -> list[Action]:
        """Time passed: retries, give-ups, keepalives and outbox retries."""
        if self._left:
            return []
        actions: list[Action] = []
        self._tick(now, actions.append)
        self._settle(now, actions.append)
        return actions

    def _tick(self, now: float, emit: Emit) -> None:
        self._change_lines.tick(now, emit)
        again, failed = self._chats.due(now)
        for chat in again:
            self._send_chat(chat, emit)
            if chat.id not in self._outbox.unanswered:
                # not answered at once, as nearly every message is: worth a write to disk
                self._outbox.unanswered[chat.id] = self._save_of(chat)
        for chat in failed:
            self._no_ack(chat, now, emit)  # its save stays kept until the registry takes it
            self._chat_over(chat, now, emit, gave_up=True)
        self._requests.release(now, emit)
        again_r, failed_r = self._requests.due(now, self._watch.heard_at)
        for request in again_r:
            emit(Send(self.server, request.message))
            if isinstance(request.message, Register) and not self._started:
                if not self._register_late and None in self._early:
                    self._say_quitting_later(emit)
                self._register_late = True
        for request in failed_r:
            self._request_failed(request, now, emit)
        for request in self._requests.streams_over(now):
            self._request_failed(request, now, emit)
        for request in self._requests.busy_over(now):
            emit(Send(self.server, request.message))
        self._ask_outcomes_again(now, now, emit)
        if self._watch.keepalive_due(now):
            self._keepalive(now, emit)

    def _whois(self, name: str) -> str:
        """The /whois line: `name`'s key fingerprint from the table, and ours."""
        entry = self.table.entry(name)
        key = key_from_text(entry.key) if entry is not None else None
        yours = f"yours: {self.fingerprint}" if self.fingerprint else ""
        if entry is None:
            return f"[No user named {name}.]"
        if key is None:
            return f"[{entry.name} has no key yet (not started since the registry took keys).]"
        return f"[{entry.name}'s key: {fingerprint(key)}; {yours}. Read them aloud to compare.]"

    def next_wake(self) -> float | None:
        """When `tick` next has work, or None."""
        if self._left:
            return None
        # called after every event: no lists built when only the usual few are set
        wake = self._watch.next_keepalive
        for t in (
            self._chats.next_wake(),
            self._requests.next_wake(),
            self._change_lines.next_wake(),
        ):
            if t is not None and (wake is None or t < wake):
                wake = t
        return wake

    @property
    def outbox(self) -> tuple[Message, ...]:
        """Messages held while the registry does not answer."""
        return tuple(self._outbox)

    def awaiting_ack(self, msg_id: str) -> bool:
        """Whether direct message `msg_id` was sent to its recipient and waits for its ack
        (an Ack of it now is shown: "[Message received by <name>.]")."""
        return self._chats.get(msg_id) is not None

    def awaiting_outcome(self, msg_id: str) -> bool:
        """Whether save request `msg_id` waits for the registry's answer or, accepted, for
        its outcome (a Saved for it now is shown: saved, delivered, or refused)."""
        return self._requests.awaiting_outcome(msg_id)

    def prompt(self) -> str:
        """The input prompt: the name, and the room when in one or "(offline)" after dereg
        (or the question of the `message` command)."""
        if self._asking_step == 1:
            return "message to: "
        if self._asking_step == 2:
            return f"message to {self.asking}: "
        if self.state.room:
            return f"{self.state.name}@{self.state.room}> "
        if self._started and not self.state.registered:
            return f"{self.state.name} (offline)> "
        return f"{self.state.name}> "

    def question(self) -> str:
        """Which question of the `message` command the next line answers: "recipient",
        "text", or "" when it is a command (the terminal completes and keeps its history
        by this: an answer is no command to recall or complete)."""
        return {1: "recipient", 2: "text"}.get(self._asking_step, "")

    def online_names(self) -> list[str]:
        """The names online in the table, for tab completion."""
        return self.table.online_names()

    def known_rooms(self) -> list[str]:
        """Rooms this peer has heard of (joined, listed, or told about), for tab completion."""
        return self._rooms.names()

    def _settle(self, now: float, emit: Emit) -> None:
        """After every event: carry out the lines that waited for a change, leave if a quit
        was waiting for that, and say if the prompt or the outbox changed."""
        self._carry_out_waiting(now, emit)
        if self._farewell is not None and not self._delivering():
            self._deregister_and_quit(now, emit)
        if self._room_return.join_after_kept is not None:
            join = self._room_return.join_due()
            if join is not None:
                self._request(join, now, emit)
        self._update_prompt(emit)
        self._outbox.keep(emit)
        self._room_return.keep(self.state.room, self._quitting, emit)
        if self._maybe_settled:
            for msg_id in self._maybe_settled:
                if msg_id in self._sending and not self._on_its_way(msg_id):
                    self._sending.discard(msg_id)
                    self._outbox.forget_typed(msg_id)
                    emit(Settled(msg_id))
            self._maybe_settled.clear()

    def _keep_sending(self, message: Message, emit: Emit) -> None:
        """Have `message`, just typed, kept until it is settled (see Sending)."""
        self._outbox.note_typed(message)
        self._sending.add(message.id)
        emit(Sending(message))

    def _on_its_way(self, msg_id: str) -> bool:
        """Whether message `msg_id`, sent by this peer, is still between being typed and
        being known delivered: the places `undelivered` looks in."""
        if (
            self._chats.get(msg_id) is not None
            or self._requests.holds(msg_id)
            or msg_id in self._outbox.unanswered
        ):
            return True
        if self._outbox and any(m.id == msg_id for m in self._outbox):
            return True
        return bool(self._behind) and any(
            c.id == msg_id for waiting in self._behind.values() for c in waiting
        )

    def _update_prompt(self, emit: Emit) -> None:
        prompt = self.prompt()
        if prompt != self._prompt:
            self._prompt = prompt
            emit(Prompt(prompt))

    # -- commands -----------------------------------------------------------------------

    def _command(self, command: cmd.Command, now: float, emit: Emit) -> None:
        match command:
            case cmd.Send(to, text):
                self._send(to, text, now, emit)
            case cmd.SendAll(text):
                if self._text_ok(text, emit):
                    post = ChannelPost(self._new_id(), self.state.name, self.state.token, text)
                    self._keep_sending(post, emit)
                    self._request(post, now, emit)
            case cmd.AskMessage(to):
                self._asking_step = 1
                if to:
                    self._continue_asking(to, now, emit)
                else:
                    emit(Print("[To whom?]", "system"))
            case cmd.Who(long):
                self.table.who(long, self.state.name, emit)
            case cmd.Whois(name):
                emit(Print(self._whois(name), "system"))
            case cmd.Dereg(name):
                if self._is_me(name, "dereg", emit):
                    if not self.state.registered:
                        emit(Print("[You are already offline.]", "error"))
                        return
                    message = Deregister(
                        self._new_id(), self.state.name, self.state.token, False, ""
                    )
                    self._request(message, now, emit)
            case cmd.Reg(name):
                if self._is_me(name, "reg", emit):
                    if self.state.registered:
                        emit(Print("[You are already registered.]", "error"))
                        return
                    self._request(self._register_message(), now, emit)
            case cmd.Quit(farewell):
                self._quit(farewell, now, emit)
            case cmd.Help(topic):
                in_room = bool(self.state.room)
                for line in cmd.help_lines(topic, in_room=in_room):
                    emit(Print(line, "info"))
            case cmd.Mistake(message):
                emit(Print(f"[{message}]", "error"))
            case cmd.ForServer(instead):
                line = (
                    f"[Not said in {self.state.room}; in a room, commands need their /: {instead}]"
                )
                emit(Print(line, "error"))
            case cmd.JoinRoom(room):
                self._join(room, now, emit)
            case cmd.LeaveRoom():
                self._leave(now, emit)
            case cmd.ListRooms():
                self._request(RoomsRequest(self._new_id()), now, emit)
            case cmd.RoomSay(text):
                if self._text_ok(text, emit):
                    said = RoomPost(
                        self._new_id(), self.state.name, self.state.token, self.state.room, text
                    )
                    self._keep_sending(said, emit)
                    self._request(said, now, emit)
                    if cmd.spelled_as_command(text):
                        line = (
                            f"[Said in {self.state.room} as text; in a room, commands need "
                            f"their /: /{text.split()[0].lower()}]"
                        )
                        emit(Print(line, "system"))
            case cmd.Nick(new):
                self._rename(new, now, emit)

    def cancel_question(self) -> list[Action]:
        """The user pressed Ctrl-C: at a question of the `message` command (the recipient,
        or the text) it cancels that message, as an empty answer does, and the usual prompt
        is back; the actions say so. Anywhere else there is nothing to cancel: no actions,
        and the caller quits as Ctrl-C does."""
        if not self._asking_step:
            return []
        self.asking, self._asking_step = None, 0
        actions: list[Action] = [Print("[Cancelled.]", "system")]
        self._update_prompt(actions.append)
        return actions

    def _continue_asking(self, text: str, now: float, emit: Emit) -> None:
        if self._asking_step == 1:
            name = text.strip()
            if not name:
                self._asking_step = 0
                emit(Print("[Cancelled.]", "system"))
                return
            entry = self.table.entry(name)
            if entry is None:  # said now, not after the text is typed
                self._asking_step = 0
                who = self._typed("who")
                emit(Print(f"[No user named {name}. Type {who} to see the names.]", "error"))
                return
            if name_key(entry.name) == name_key(name):  # the name as the table spells it
                name = entry.name
            self.asking = name
            self._asking_step = 2
            emit(Print(f"[Message to {name}?]", "system"))
            return
        to, self.asking, self._asking_step = self.asking or "", None, 0
        text = text.rstrip()  # leading spaces are the user's, as in `send` (commands.parse)
        if not text:
            emit(Print("[Cancelled.]", "system"))
            return
        self._send(to, text, now, emit)

    def _is_me(self, name: str, verb: str, emit: Emit) -> bool:
        if name_key(name) != name_key(self.state.name):
            mine = self._typed(f"{verb} {self.state.name}")
            emit(Print(f"[You can only {verb} yourself ({mine}).]", "error"))
            return False
        return True

    def _typed(self, command: str) -> str:
        """`command` as a hint shows it: with its / when in a room (cmd.typed)."""
        return cmd.typed(command, in_room=bool(self.state.room))

    def _text_ok(self, text: str, emit: Emit) -> bool:
        size = len(text.encode())
        if size > MAX_TEXT:
            emit(Print(f"[Message too long: {size} bytes, at most {MAX_TEXT}. Not sent.]", "error"))
            return False
        return True

    def _quit(self, farewell: str, now: float, emit: Emit) -> None:
        """Deregister and exit, but only once what was sent is delivered (acked, or handed
        to the registry, or kept in the outbox when it does not answer): a message typed
        just before quitting must not be dropped with the process. `_settle` sends the
        Deregister as soon as nothing is on its way any more."""
        if not self.state.registered:
            emit(Exit(0))
            return
        if self._deregistering():
            return  # already leaving
        if len(farewell) > MAX_FAREWELL:
            line = (
                f"[A farewell has at most {MAX_FAREWELL} characters; yours has {len(farewell)}. "
                "Not quitting.]"
            )
            emit(Print(line, "error"))
            return
        if self._farewell is None and self._delivering():
            line = "[Quitting once what you sent is delivered; Ctrl-C quits at once.]"
            emit(Print(line, "system"))
        if self._farewell is None or farewell:
            self._farewell = farewell

    def _deregister_and_quit(self, now: float, emit: Emit) -> None:
        farewell, self._farewell = self._farewell or "", None
        self._quitting = True
        if not self.state.registered:
            emit(Exit(0))
            return
        message = Deregister(self._new_id(), self.state.name, self.state.token, True, farewell)
        self._request(message, now, emit)

    def _delivering(self) -> bool:
        """Whether a message the user sent is still on its way: a direct one awaiting its
        ack or held behind a long one, or one for the registry (a save, a channel or room
        line, a leave) awaiting its answer or held, or a save awaiting its outcome (until
        the registry says it is on disk or delivered, a crash of the registry could still
        lose it, and this peer would send it again). Outbox retries do not count: what the
        registry did not take is kept on disk for the next start. A `rooms` awaiting its
        answer counts too."""
        if self._chats or self._behind:
            return True
        # `rooms` too: the user asked, and a script ending with it would quit unanswered
        asked = (*_DELIVERED, RoomsRequest)
        return self._requests.delivering(asked)

    # -- rooms and renames --------------------------------------------------------------

    def _join(self, room: str, now: float, emit: Emit) -> None:
        problem = name_problem(room)
        if problem:
            line = f"[Cannot join {room!r}: {problem} (room names follow the name rules).]"
            emit(Print(line, "error"))
            return
        if self.state.room and name_key(room) == name_key(self.state.room):
            emit(Print(f"[You are already in {self.state.room}.]", "error"))
            return
        join = self._join_message(room)
        if self._room_return.typed_join(join, emit):
            self._request(join, now, emit)

    def _leave(self, now: float, emit: Emit) -> None:
        """Leave at once here (what is typed next is no longer room text) and tell the
        registry; if it does not answer, the Leave waits in the outbox like a message."""
        if not self.state.room:
            emit(Print("[You are not in a room. join <room> enters one.]", "error"))
            return
        emit(Print(f"[You left {self.state.room}.]", "system"))
        self.state.room = ""
        leave = Leave(self._new_id(), self.state.name, self.state.token)
        self._outbox.note_typed(leave)  # it may wait in the outbox, after lines typed in the room
        self._request(leave, now, emit)

    def _rename(self, new: str, now: float, emit: Emit) -> None:
        problem = name_problem(new)
        if problem:
            emit(Print(f"[Cannot rename to {new!r}: {problem}.]", "error"))
            return
        if new == self.state.name:
            emit(Print(f"[You are already called {new}.]", "error"))
            return
        if any(isinstance(m, Rename) for m in self._requests.messages()):
            emit(Print("[A rename is already on its way; wait for its answer.]", "error"))
            return
        rename = Rename(self._new_id(), self.state.name, self.state.token, new)
        self._request(rename, now, emit)

    def _renamed_to(self, rename: Rename, emit: Emit) -> None:
        old = self.state.name
        if rename.name != old:
            return  # an answer to a copy of a rename already done
        self.state.name = rename.new_name
        self.table.renamed(old, rename.new_name)
        self._former.add(name_key(old))
        self._former.discard(name_key(rename.new_name))
        emit(Remember(rename.new_name, self.state.token))
        emit(Print(f"[You are now known as {rename.new_name}.]", "system"))

    def _room_message(self, message: RoomMessage, addr: Addr, now: float, emit: Emit) -> None:
        first = self._accept(message.sender, message.id, addr, emit)
        if message.history and self.state.registered:
            # after a join we made by ourselves (back after a pause or a restart), only
            # what was said meanwhile is news; after a typed join, the room's last lines
            # are, once
            shown = self._room_return.shows_history(message.id, first)
        else:
            shown = first  # not a copy
        if not shown:
            return
        self._seen_room(message.room)
        emit(room_line(message, now + self.wall_offset))

    def _seen_room(self, room: str) -> None:
        """Remember `room` for completion; take the registry's spelling of our own room."""
        self._rooms.saw(room)
        if self.state.room and name_key(room) == name_key(self.state.room):
            self.state.room = room

    # -- direct messages ----------------------------------------------------------------

    def _send(self, to: str, text: str, now: float, emit: Emit) -> None:
        if not self._text_ok(text, emit):
            return
        entry = self.table.entry(to)
        if entry is None:
            who = self._typed("who")
            emit(Print(f"[No user named {to}. Type {who} to see the names.]", "error"))
            return
        renamed = (name_key(to), name_key(entry.name)) if entry.name != to else ("", "")
        if renamed[0] != renamed[1] and renamed not in self._told_renamed:
            self._told_renamed.add(renamed)  # once: a burst to the old name is no list of it
            emit(Print(f"[{to} is now known as {entry.name}.]", "system"))
        chat = Chat(self._new_id(), self.state.name, entry.name, text)
        if entry.online:
            self._send_in_order(chat, now, emit)  # before the records: the user waits for it
            self._keep_sending(chat, emit)
        else:
            self._keep_sending(chat, emit)  # first: a save held in the outbox takes its place
            self._request(self._save_of(chat), now, emit)

    def _send_in_order(self, chat: Chat, now: float, emit: Emit) -> None:
        """Send `chat` unless a long message to the same person is still on its way: a
        message too long for a datagram travels over TCP, which takes longer than a
        datagram sent after it, so what follows it waits for its ack (or its give-up)."""
        key = name_key(chat.to)
        behind = self._behind.get(key)
        if behind is not None:
            behind.append(chat)
            return
        self._send_chat(chat, emit)
        self._chats.start(chat.id, chat, now)
        if travels_by_stream(chat):
            self._long_chat[key] = chat.id
            self._behind[key] = []

    def _chat_over(self, chat: Chat, now: float, emit: Emit, *, gave_up: bool) -> None:
        """`chat` was acked or given up: send what waited behind it, in order. After a
        give-up they go to the registry with it: the person did not answer for 2.5 s, and
        trying each again in turn would save the last of them only after as many times
        that (the registry keeps the order: see `_request`)."""
        key = name_key(chat.to)
        if self._long_chat.get(key) != chat.id:
            return
        del self._long_chat[key]
        for waiting in self._behind.pop(key):
            if gave_up:
                self._no_ack(waiting, now, emit)
            else:
                self._send_in_order(waiting, now, emit)

    def _no_ack(self, chat: Chat, now: float, emit: Emit) -> None:
        self._to_registry(chat, f"[No ACK from {chat.to}, message sent to server.]", now, emit)

    def _to_registry(self, chat: Chat, line: str, now: float, emit: Emit) -> None:
        """Show `line`, saying why `chat` did not reach its recipient, and save it at the
        registry instead."""
        emit(Print(line, "system"))
        self._request(self._save_of(chat), now, emit)

    def _send_chat(self, chat: Chat, emit: Emit) -> None:
        entry = self.table.entry(chat.to)
        if entry is not None:
            emit(Send((entry.ip, entry.port), chat))

    def _save_of(self, chat: Chat) -> SaveMessage:
        """`chat` as the save it becomes at the registry (at once, to an offline recipient;
        or once it goes unanswered): under the name it was sent as, though we renamed since
        (the registry takes our former names from us), so that a recipient that showed the
        chat itself knows the stored copy for the same message."""
        return SaveMessage(chat.id, chat.sender, self.state.token, chat.to, chat.text)

    def _incoming_chat(self, chat: Chat, addr: Addr, emit: Emit) -> None:
        if chat.to != self.state.name:  # as the sender's table spells us, nearly always
            to = name_key(chat.to)
            if to != name_key(self.state.name) and to not in self._former:
                return  # meant for whoever had this address before; the sender falls back
        if not self._plausible(chat.sender, addr):
            return  # unanswered: a real sender falls back to the registry, which delivers
        if name_problem(chat.sender) is not None or (
            len(chat.text) > MAX_TEXT // 4 and len(chat.text.encode()) > MAX_TEXT
        ):
            return  # no peer of ours sends such a thing: a name that is none, or a flood
        if self._accept(chat.sender, chat.id, addr, emit):
            emit(Print(f"{chat.sender}: {chat.text}", "message", chat.sender))

    def _from_registry(self, addr: Addr) -> bool:
        """Whether what came from `addr` may be the registry's: from its IP (a long message
        comes over a TCP connection of its own, from another port). As with `_plausible`,
        this stops forgeries from other machines, not from processes on the registry's."""
        return addr[0] == self.server[0]

    def _plausible(self, sender: str, addr: Addr) -> bool:
        """Whether a direct message claiming `sender` may come from `addr`: the sender's IP
        in our table, or the registry's (it delivers messages itself). This stops forgeries
        from other machines; processes on one machine share an IP and are not told apart.
        A name renamed since the message was sent is followed to its new row."""
        if addr[0] == self.server[0]:
            return True
        entry = self.table.entry(sender)
        return entry is not None and entry.ip == addr[0]

    def _accept(self, sender: str, msg_id: str, addr: Addr, emit: Emit) -> bool:
        """Ack every copy; True only for the first copy of (sender, id), whose Shown comes
        before the ack (recorded before it is acked, and so before it is shown). A
        deregistered peer answers nothing, so that senders fall back to the registry's
        mailbox."""
        if not self.state.registered:
            return False
        first = self._seen.first_sight(sender, msg_id, emit)
        emit(Send(addr, Ack(self._new_id(), msg_id)))
        return first

    # -- requests to the registry -------------------------------------------------------

    def _register_message(self) -> Register:
        return Register(
            self._new_id(),
            self.state.name,
            self.state.port,
            self.state.token,
            self.state.password,
            WIRE_VERSION,
        )

    def _request(self, message: Message, now: float, emit: Emit, quiet: bool = False) -> None:
        """Send `message` to the registry (`Requests.send`). What the user types while kept
        messages wait to be sent again (the registry was away) goes after them: the first
        kept one is sent first, as a probe (`Requests.send`, `kept`)."""
        kept = self._next_kept() if self._outbox else None
        self._requests.send(message, now, emit, quiet, kept=kept)

    def _request_over(
        self, message: Message, now: float, emit: Emit, *, gave_up: bool = False
    ) -> None:
        """`message` was answered (and its answer taken) or given up: if what follows
        waited for it, send the next kept message, or else what was held behind it, in
        order. The outbox goes on only after an answer that took its message out of it:
        one given up on, or kept again (refused as offline), says the registry cannot take
        the rest now either; they go when it answers again (`_flush_outbox`)."""
        if not self._requests.over(message.id):
            return
        if self._replaced_said:
            return  # this start sends nothing more (see `_replaced`)
        if not gave_up and message not in self._outbox:
            kept = self._next_kept()
            if kept is not None:
                self._request(kept, now, emit, quiet=True)
                return
        for waiting, quiet in self._requests.take_held():
            if gave_up and (message in self._outbox or isinstance(message, _DELIVERED)):
                # a kept one (or one kept next) went unanswered 5 times: the registry is
                # away, and what was typed behind it is kept behind it, said so now rather
                # than 2.5 s later
                self._request_failed(Request(waiting, quiet), now, emit)
            else:
                self._requests.send(waiting, now, emit, quiet)  # the outbox is behind it

    def _next_kept(self) -> Message | None:
        """The first kept message not on its way yet; None when there is none, or when it
        waits for its room to be joined again (`_rejoin_for_kept`)."""
        return self._requests.next_kept(rejoining=self._room_return.rejoining is not None)

    def _joined_by_notice(self, room: str, addr: Addr, now: float, emit: Emit) -> None:
        """A notice about `room` while our join of it waits for its ack: the registry
        tells a room's members only, so the join is done. Its ack comes after the notice
        and the room's history, and the lines typed after the join wait for the ack, so
        that they are carried out after the history is shown (a script's `join lobby`
        then `leave` showed the history after `[You left lobby.]`). Should the ack be
        lost, with the registry killed in between, the join's give-up is taken as its ack
        (see `_request_failed`): the peer does not say that the join failed, nor take its
        next lines as outside the room the registry has it in. A join given up on already
        is taken as answered at once."""
        key = name_key(room)
        for join in self._requests.messages(streamed=True, given_up=True):
            if isinstance(join, Join) and name_key(join.room) == key:
                if self._requests.holds(join.id):
                    self._noticed_joins.add(join.id)
                else:
                    self._answer(Ack(self._new_id(), join.id), addr, now, emit)
                return

    def _busy(self, busy: Busy, now: float, emit: Emit) -> None:
        """The registry is too busy to carry out a request now (a join storm): it is sent
        again after the wait asked, which is said once; kept waiting too long, it fails as
        one the registry does not answer."""
        if self._requests.too_busy(busy.reply_to, now):
            given_up = self._requests.answer(busy.reply_to)
            if given_up is not None:
                self._request_failed(given_up, now, emit, busy=True)
            return
        wait = max(0.0, busy.wait_ms / 1000)
        request, first = self._requests.busy(busy.reply_to, wait, now)
        if request is not None and first and not request.quiet:
            line = f"[The registry is busy; trying again in {wait:.1f} s.]"
            emit(Print(line, "system"))

    def _answer(self, reply: Message, addr: Addr, now: float, emit: Emit) -> None:
        reply_to = getattr(reply, "reply_to", "")
        if reply_to in self._sending:
            self._maybe_settled.append(reply_to)
        if isinstance(reply, Ack) and self._chats.get(reply_to) is not None:
            chat = self._chats.answer(reply_to)
            if chat is not None:
                self._outbox.unanswered.pop(chat.id, None)
                emit(Print(f"[Message received by {chat.to}.]", "system"))
                self._chat_over(chat, now, emit, gave_up=False)
            return
        if isinstance(reply, Refused) and self._chats.get(reply_to) is not None:
            # A peer refuses a direct message only when it cannot read it (another version
            # of ChatApp: see wire.messages.version_refusal). Retrying cannot help; the
            # registry's mailbox may (it hands over stored messages in another form).
            chat = self._chats.answer(reply_to)
            if chat is not None:
                line = (
                    f"[{chat.to} runs another version of ChatApp and could not read your "
                    "message; message sent to server.]"
                )
                self._to_registry(chat, line, now, emit)
                self._chat_over(chat, now, emit, gave_up=True)
            return
        if addr != self.server:
            return
        if isinstance(reply, TooBig):
            request = self._requests.stream(reply_to, now)
            if request is not None:
                emit(SendStream(self.server, request.message))
            return
        request = self._requests.answer(reply_to)
        if request is not None:
            message = request.message
        else:
            late = self._requests.take_given_up(reply_to)
            if late is None or isinstance(reply, Refused | TooBig):
                return  # a copy, or a refusal of what was already said to have failed
            # Done after all (the registry was slow, or the answers were lost): what the
            # registry did is what counts, or this peer and the table disagree for good.
            message = late
        self._take_answer(message, reply, now, emit)
        if request is not None:
            # once the answer is taken: a kept message it answers is out of the outbox, or
            # kept again (see `_request_over`)
            self._request_over(message, now, emit)

    def _take_answer(self, message: Message, reply: Message, now: float, emit: Emit) -> None:
        """Do what `reply`, the registry's answer to our request `message`, says."""
        if isinstance(reply, Refused):
            self._refused(message, reply, now, emit)
            return
        match message:
            case Register():
                if isinstance(reply, Welcome):
                    self._welcome(reply, now, emit)
            case Deregister():
                self.state.registered = False
                self._watch.offline()
                if self.state.room and message.quitting:  # its room file is kept
                    line = f"[You left {self.state.room}; your next start goes back to it.]"
                    emit(Print(line, "system"))
                    self.state.room = ""
                elif self.state.room:
                    emit(Print(f"[You left {self.state.room}.]", "system"))
                    self.state.room = ""
                emit(Print("[You are Offline. Bye.]", "system"))
                if message.quitting:
                    emit(Exit(0))
            case SaveMessage():
                self._requests.await_outcome(message, now, kept=self._drop_from_outbox(message))
            case ChannelPost():
                kept = self._drop_from_outbox(message)
                # Kept (in the sending log too) until its outcome: see _relay_outcome. The
                # answer to asking again for that outcome is not said a second time.
                if self._requests.await_outcome(message, now):
                    if kept:
                        line = f"[Kept message received by Server: {_quoted(message.text)}]"
                        emit(Print(line, "system"))
                    else:
                        emit(Print("[Message received by Server.]", "system"))
            case Join():
                self._noticed_joins.discard(message.id)
                # the room's notices may have overtaken this ack: keep the spelling they
                # brought, the registry's, over the one typed
                self.state.room = self._rooms.spelling(message.room)
                self._seen_room(self.state.room)
                self._rejoined(message, now, emit)
            case Leave():
                self._drop_from_outbox(message)
            case RoomPost():
                kept = self._drop_from_outbox(message)
                # kept until its outcome, as a channel post (see _relay_outcome)
                if self._requests.await_outcome(message, now) and kept:
                    line = f"[Kept line said in {message.room}: {_quoted(message.text)}]"
                    emit(Print(line, "system"))
                # our own line, under its id: not shown again when the room's history is
                self._seen.first_sight(message.sender, message.id, emit)
            case RoomsRequest():
                if isinstance(reply, RoomList):
                    self._rooms.listed(reply, self.state.room, self._typed("join <room>"), emit)
            case Rename():
                self._renamed_to(message, emit)
            case MailTaken():
                if isinstance(reply, MoreMail) and self.state.registered:
                    self._take_mail(reply.mail, now, emit)
            case Keepalive():
                if isinstance(reply, Alive) and reply.version > self.table.version:
                    self._request(TableRequest(self._new_id()), now, emit, quiet=True)
            case _:
                pass

    def _refused(self, message: Message, refusal: Refused, now: float, emit: Emit) -> None:
        reason, code = refusal.reason, refusal.code
        if code in (RefusalCode.REPLACED, RefusalCode.REPLACED_GONE):
            self._replaced(refusal, emit)
            return
        if (
            code is RefusalCode.NAME_UNKNOWN
            and not isinstance(message, Register)
            and not self._renames_asked()
        ):
            # The registry no longer knows our name: its console released it. Said first,
            # before what became of the kept messages this refusal may be one of (the
            # table change that says it may come later: after a gap, the whole table is
            # fetched); and said as that, not as a name the user never typed.
            if self.state.registered and self._started:
                self._released(emit)
            reason = f"the registry released the name {self.state.name}."
        if isinstance(message, Keepalive):
            # The registry no longer counts us as online (it gave up on us): come back,
            # unless the user went offline meanwhile, or is going (the keepalive crossed
            # the Deregister, whose ack may come after this refusal).
            self._come_back(now, emit)
            return
        if (
            isinstance(message, ChannelPost | RoomPost)
            and self._requests.accepted(message.id)
            and not (isinstance(message, RoomPost) and self._offline_refusal(code))
        ):
            self._unconfirmed(message, reason, emit)
            return
        if isinstance(message, RoomPost):
            self._room_post_refused(message, refusal, now, emit)
            return
        if isinstance(message, SaveMessage | ChannelPost) and self._drop_from_outbox(message):
            self._kept_refused(message, reason, emit)
            return
        if isinstance(message, SaveMessage):
            # it may come seconds after the send, with more typed since: say which one
            emit(Print(_not_saved(message, reason, kept=False), "error"))
            return
        emit(Print(f"[{reason}]", "error"))
        if isinstance(message, Join):
            self._rejoin_refused(message, refusal, now, emit)
        if isinstance(message, Register):
            if not self._started:
                self._never_started(emit)
            elif self.state.registered:  # a quiet re-registration was refused
                self.state.registered = False
                self._watch.offline()
                if self.state.room:
                    # the registry took us out of it as it gave up on us; offline, we are
                    # in no room here either (the prompt says so)
                    emit(Print(f"[You are no longer in {self.state.room}.]", "system"))
                    self.state.room = ""
                reg = self._typed(f"reg {self.state.name}")
                emit(Print(f"[You are offline. Type {reg} to retry.]"))
        if isinstance(message, Deregister) and message.quitting:
            emit(Exit(0))
        if isinstance(message, SaveMessage | ChannelPost | Leave):
            self._drop_from_outbox(message)

    def _replaced(self, refusal: Refused, emit: Emit) -> None:
        """Another start of this peer took its name over while this one was stopped (kill
        -STOP, a laptop asleep): everything for the name goes there now. Say so, keep what
        this start sent and is not known delivered in the outbox on disk (sent by the next
        start with this data directory), send nothing more, and exit 1. No Deregister: the
        name is the other start's, which would be taken offline by it."""
        if self._replaced_said:
            return  # said already (several requests may be refused in one datagram)
        self._replaced_said = True
        self._quitting = True
        self._farewell = None  # a /quit waiting: its Deregister would reach the other start
        self._after_change.clear()
        self._room_return.drop_join()
        self.state.registered = False
        self._watch.offline()
        name = self.state.name
        # gone offline since, the other start no longer holds the name: this one's token
        # (the data directory's) takes it back at its next start
        back = (
            ""
            if refusal.code is RefusalCode.REPLACED
            else "; start ChatApp again to take the name back"
        )
        line = f"[{refusal.reason} This start stops: it no longer sends as {name}{back}.]"
        emit(Print(line, "error"))
        undelivered = self.undelivered()
        # all of it as the outbox, so that what is kept after this event (`_settle`) is it
        self._outbox.replace(undelivered)
        self._outbox.keep(emit)
        if undelivered:
            count = counted(len(undelivered), "message")
            line = (
                f"[{count} not yet delivered kept in this data directory; sent at its next start.]"
            )
            emit(Print(line, "system"))
        emit(Exit(1))

    def _kept_refused(self, message: SaveMessage | ChannelPost, reason: str, emit: Emit) -> None:
        """A message kept in the outbox (typed while the registry did not answer, or in an
        earlier session) was refused as it went out: say which, in full (nothing else has
        it, and it was typed long before), and why. A reason alone, coming out of the blue
        when the registry is back, would not say which message was lost."""
        where = f"for {message.to}" if isinstance(message, SaveMessage) else "to the channel"
        emit(Print(f"[Kept message {where} not delivered: {reason}]", "error"))
        emit(Print(f"[Your message: {message.text}]", "error"))

    def _come_back(self, now: float, emit: Emit) -> None:
        """The registry no longer counts us as online: it gave up on us, silent too long
        (a laptop asleep, say). Register again, quietly, unless the user went offline
        meanwhile, or is going (a refusal may cross the Deregister, whose ack comes after
        it), or a registration is on its way already. Its Welcome takes us back to our room."""
        if not self.state.registered or self._deregistering():
            return
        if not any(isinstance(m, Register) for m in self._requests.messages()):
            self._request(self._register_message(), now, emit, quiet=True)

    def _room_post_refused(self, post: RoomPost, refusal: Refused, now: float, emit: Emit) -> None:
        """Say which line was not sent, in full (it may have waited in the outbox: nothing
        else has it), and why. Refused as not in its room: we are in none here either.
        Refused as offline: the registry gave up on us, which took us out of the room; the
        line is kept, as one typed while the registry was down, and said in the room once
        we are back in it."""
        reason = refusal.reason
        if self._offline_refusal(refusal.code):
            if post not in self._outbox:
                self._outbox.add(post)
            self._come_back(now, emit)
            return
        self._drop_from_outbox(post)
        emit(Print(f"[Not sent to {post.room}: {reason}]", "error"))
        emit(Print(f"[Your line: {post.text}]", "error"))
        if self.state.room and name_key(self.state.room) == name_key(post.room):
            self.state.room = ""
            line = f"[You are no longer in {post.room}; /join {post.room} to go back.]"
            emit(Print(line, "error"))

    def _offline_refusal(self, code: RefusalCode) -> bool:
        """Whether a refusal of `code` refused a request because the registry gave up on
        us, which we are still registered to come back from (not going offline meanwhile)."""
        return code is RefusalCode.OFFLINE and self.state.registered and not self._deregistering()

    def _unconfirmed(self, post: ChannelPost | RoomPost, reason: str, emit: Emit) -> None:
        """`post`, accepted by the registry earlier, was asked for again for want of its
        outcome, and the registry could not give it: it forgot the post (a restart) and now
        refuses it, say, as its sender has left the room since. Whether every member has it
        is not known: said, quoting it, and it is no longer kept."""
        self._requests.take_outcome(post.id)
        self._drop_from_outbox(post)
        if isinstance(post, RoomPost):
            what = f"everyone in {post.room} had your line"
        else:
            what = "everyone had your message"
        line = f"[Not confirmed that {what} {_quoted(post.text)}: {reason.rstrip('.')}.]"
        emit(Print(line, "error"))

    def _request_failed(
        self, request: Request, now: float, emit: Emit, *, busy: bool = False
    ) -> None:
        """`request` got no answer in its tries (or, `busy`, only Busy for BUSY_PATIENCE)."""
        message = request.message
        if (
            isinstance(message, RoomPost)
            and self._requests.accepted(message.id)
            and name_key(self.state.room) != name_key(message.room)
        ):
            # Asked again for its outcome, unanswered, and we have left its room since:
            # kept, it would take us back there to be said (see RoomReturn).
            self._unconfirmed(message, "the registry does not answer", emit)
            self._server_went_away(now)
            return
        if message.id in self._noticed_joins:
            # done, as its room's notice said: only the ack was lost
            self._take_answer(message, Ack(self._new_id(), message.id), now, emit)
            self._request_over(message, now, emit)
            return
        self._request_over(message, now, emit, gave_up=True)
        if self._started and isinstance(message, Register | Join | Rename):
            # said to have failed; should the registry have done it anyway, its late
            # answer is taken (see `_answer`)
            self._requests.give_up(message)
        if not request.quiet and busy:
            emit(Print("[The registry stayed too busy to answer.]", "error"))
        elif not request.quiet:
            dot = "." if isinstance(message, ChannelPost) else ""
            emit(Print(f"[Server not responding{dot}]", "error"))
        match message:
            case Register() if not self._started:
                why = "; try again later" if busy else "; is the registry running?"
                emit(Print(f"[Could not register{why}]", "error"))
                # Said once, unanswered: should the registration have reached a registry too
                # busy to answer in time, the name does not stay online without us.
                name, token = self.state.name, self.state.token
                # As `dereg`, not `/quit`: nobody is told that a peer never seen has quit.
                emit(Send(self.server, Deregister(self._new_id(), name, token, False, "")))
                if self._outbox or self._outbox.unanswered:
                    emit(Print("[Your kept messages stay on disk for the next start.]"))
                self._never_started(emit)
            case Deregister():
                self._leaving_unheard(message, emit)
                emit(Print("[Exiting]", "system"))
                emit(Exit(0))
            case _ if isinstance(message, _DELIVERED):
                if not request.quiet and isinstance(message, RoomPost | Leave):
                    # once an outage: a burst of lines typed in a room fails line by line,
                    # and each is said kept below
                    if not self._watch.rooms_down_said:
                        emit(Print(ROOMS_DOWN, "error"))
                    self._watch.rooms_down_said = True
                self._outbox.unanswered.pop(message.id, None)  # kept as an outbox entry from now
                if message not in self._outbox:
                    self._outbox.add(message)
                    self._outbox.keep(emit)  # on disk before we say it is kept
                    if not request.quiet and not isinstance(message, Leave):
                        emit(
                            Print("[Kept in your outbox; sent when the server answers.]", "system")
                        )
                self._server_went_away(now)
            case Join() | RoomsRequest():
                emit(Print(ROOMS_DOWN, "error"))  # asked for: said every time
                self._watch.rooms_down_said = True
                self._server_went_away(now)
            case Rename():
                line = f"[Renames need the registry; you are still {self.state.name}.]"
                emit(Print(line, "error"))
                self._server_went_away(now)
            case Keepalive():
                if not self._watch.down:
                    emit(Print("[Server not responding]", "error"))
                self._server_went_away(now)
            case _:
                pass

    def _leaving_unheard(self, dereg: Deregister, emit: Emit) -> None:
        """A `dereg` or quit the registry did not answer: the peer exits all the same (the
        user wanted to leave). Say what the next start finds, as nothing else will: the
        messages kept in the outbox (sent then), and for a `dereg` that the room is left
        (the registry takes this peer out of it once it finds it gone; the next start does
        not go back, as after a `dereg` it heard). Room lines kept for that room are still
        said there at the next start, then a kept `leave` takes it out again, as typed."""
        room = self.state.room
        if room and not dereg.quitting:
            if any(isinstance(m, RoomPost) for m in self._outbox) and not any(
                isinstance(m, Leave) for m in self._outbox
            ):
                self._outbox.add(Leave(self._new_id(), self.state.name, self.state.token))
            self.state.room = ""  # kept by `_settle`: the next start is in no room
            emit(Print(f"[You left {room}; your next start is in no room.]", "system"))
        elif room:
            emit(Print(f"[You left {room}; your next start goes back to it.]", "system"))
        kept = self.undelivered()
        self._outbox.replace(kept)  # all of it kept on disk, by `_settle`
        said = [m for m in kept if not isinstance(m, Leave)]  # a leave is no message
        if said:
            count = counted(len(said), "message")
            where = " (room lines included)" if any(isinstance(m, RoomPost) for m in kept) else ""
            line = f"[{count} kept in your outbox{where}; sent at your next start.]"
            emit(Print(line, "system"))

    def _registry_restarted(self, now: float, emit: Emit) -> None:
        """The registry started again (`_receive` has said it is back, if it was away):
        what was kept for it goes now. The outbox is sent, and each post or save awaiting
        its outcome is asked for again: a registry killed while relaying a post has
        forgotten it, and relays it again now rather than when its outcome is overdue.
        Not before our Welcome: a start of this peer on the port the registry counted online
        goes back to its room first, and sends what it kept once it is there."""
        if not self.state.registered:
            return
        self._flush_outbox(now, emit)
        self._ask_outcomes_again(math.inf, now, emit)

    def _ask_outcomes_again(self, due: float, now: float, emit: Emit) -> None:
        """Ask again for each outcome awaited whose deadline is `due` or before: the
        registry dedupes, and one killed while relaying a post, which forgot it, relays it
        again."""
        for accepted in self._requests.outcomes_over(due):
            self._request(accepted, now, emit, quiet=True)

    def _server_went_away(self, now: float) -> None:
        self._watch.went_away(now, started=self._started)

    def _server_back(self, now: float, emit: Emit) -> None:
        self._watch.came_back(now)
        emit(Print("[Server is back.]", "system"))
        self._flush_outbox(now, emit)

    def _flush_outbox(self, now: float, emit: Emit) -> None:
        rejoining = self._room_return.rejoining
        if rejoining is not None and not self._joining():
            # the join for kept lines went unanswered: ask again
            self._request(self._join_message(rejoining), now, emit, quiet=True)
        if self._requests.waiting:
            return  # the kept message on its way sends the next once answered
        # One at a time, each once the one before is answered (`_request_over`): sent
        # together, a lost one would be sent again 500 ms later, after those typed after
        # it, and the registry would store or relay them out of the order typed. An idle
        # registry answers in well under a millisecond: nobody sees the wait.
        kept = self._next_kept()
        if kept is not None:
            self._request(kept, now, emit, quiet=True)

    def _joining(self) -> bool:
        return self._requests.any_of(Join)

    def _rejoin_for_kept(self, now: float, emit: Emit) -> None:
        """Kept lines typed in a room we are no longer in: join that room again before
        sending them, so that they reach it and no other (RoomReturn.rejoin_for_kept)."""
        room = self._room_return.rejoin_for_kept(self.state.room, emit)
        if room:
            self._request(self._join_message(room), now, emit)

    def _go_back_to_room(self, now: float, emit: Emit) -> None:
        """At the first Welcome, join the room an earlier run was in (RoomReturn.go_back)."""
        room = self._room_return.go_back(emit)
        if room:
            self._request(self._join_message(room), now, emit)

    def _join_message(self, room: str) -> Join:
        return Join(self._new_id(), self.state.name, self.state.token, room)

    def _rejoined(self, join: Join, now: float, emit: Emit) -> None:
        """The answer to a join: if it was the one for kept lines, send them now; a kept
        /leave after them takes us out again (as typed)."""
        if not self._room_return.answered(join):
            return
        if any(isinstance(m, Leave) for m in self._outbox):
            self.state.room = ""
        self._flush_outbox(now, emit)

    def _rejoin_refused(self, join: Join, refusal: Refused, now: float, emit: Emit) -> None:
        """The join for kept lines was refused: say each of them in full, as not sent."""
        if not self._room_return.answered(join):
            return
        for message in list(self._outbox):
            if isinstance(message, RoomPost):
                self._room_post_refused(message, refusal, now, emit)
            elif isinstance(message, Leave):
                self._drop_from_outbox(message)  # in no room already

    def _deregistering(self) -> bool:
        return any(isinstance(m, Deregister) for m in self._requests.messages())

    def _drop_from_outbox(self, message: Message) -> bool:
        """`message` is answered: forget it. True when it was kept in the outbox, so that
        its confirmation, coming late and unprompted, says which message it is for."""
        if message.id in self._sending:
            self._maybe_settled.append(message.id)
        if isinstance(message, Leave):  # settled here: not kept by Sending
            self._outbox.forget_typed(message.id)
        return self._outbox.drop(message.id)

    def _keepalive(self, now: float, emit: Emit) -> None:
        if not self.state.registered and not self._outbox:
            return
        if self._watch.down:
            self._flush_outbox(now, emit)
        in_flight = any(isinstance(m, Keepalive) for m in self._requests.messages())
        if self.state.registered and not in_flight and not self._deregistering():
            message = Keepalive(self._new_id(), self.state.name, self.state.token)
            self._request(message, now, emit, quiet=True)

    # -- registration answers and the table ---------------------------------------------

    def _welcome(self, welcome: Welcome, now: float, emit: Emit) -> None:
        first = not self._started
        self._started = True
        self.state.registered = True
        renamed = name_key(welcome.name) != name_key(self.state.name)
        if welcome.token != self.state.token or renamed:  # else kept already
            self.state.token = welcome.token
            emit(Remember(welcome.name, welcome.token))
        if renamed:
            # our rename was done as we stopped, before we could keep it: the registry
            # welcomes us under the new name (see RegistryCore._register)
            self._former.add(name_key(self.state.name))
            line = (
                f"[{self.state.name} was renamed {welcome.name} as ChatApp stopped; "
                f"you are {welcome.name}.]"
            )
            emit(Print(line, "system"))
        self.state.name = welcome.name
        self._watch.registered(now)
        emit(Print("[Welcome, You are registered.]", "system"))
        for said in self.after_welcome:
            emit(said)
        self.after_welcome = []
        count = sum(1 for m in self._outbox if not isinstance(m, Leave))  # a leave is no message
        if first and count:
            # said once the name is ours: a start that is refused (the name in use by
            # another start) says only why, and its kept messages stay for the next
            line = f"[{counted(count, 'message')} kept from your last session; sending now.]"
            emit(Print(line, "system"))
        if self.state.room:
            # registered again after the registry gave up on us, which took us out of the
            # room: back to it, as a restarted peer goes back (`_go_back_to_room`)
            self._room_return.go_back_later(self.state.room)
            self.state.room = ""
        # said at once, whatever came just before: the line between the Welcome and the
        # mail is part of what registering looks like (DESIGN.md section 4, "Mailbox")
        self._replace_table(
            welcome.version, welcome.entries, welcome.aliases, now, emit, at_once=True
        )
        for update in self.table.take_early():
            self._apply_update(update, now, emit)
        self._mail.begin()
        self._take_mail(welcome.mail, now, emit)
        self._rejoin_for_kept(now, emit)
        typed, self._early = self._early, []
        if any(text is not None and text.strip() for text in typed):
            # Lines typed before this answer (a script's, all of them) were meant for where
            # the user stood when typing: in no room, not the one they are taken back to.
            self._room_return.stay_out(emit)
        self._go_back_to_room(now, emit)
        self._flush_outbox(now, emit)
        for text in typed:
            if text is None:
                self._input_ended(now, emit)
            else:
                self._line(text, now, emit)

    def _never_started(self, emit: Emit) -> None:
        """The first registration failed and the peer exits: say which typed lines were
        not carried out, so that nothing typed is lost in silence."""
        for text in self._early:
            if text is not None and text.strip():
                emit(Print(f"[Not carried out, as you are not registered: {text}]", "error"))
        self._early.clear()
        emit(Exit(1))

    def _take_mail(self, mail: tuple[StoredMessage, ...], now: float, emit: Emit) -> None:
        """Show the stored messages of a Welcome or MoreMail not shown before (MailLines),
        then tell the registry they were taken (it answers with the next part of the
        mailbox, if any, and deletes them), once the last lines are on the screen too."""
        then = self._mail.show(mail, emit)
        if mail:
            ids = tuple(m.id for m in mail)
            taken = MailTaken(self._new_id(), self.state.name, self.state.token, ids)
            self._request(taken, now, then.append, quiet=True)
        if then:
            emit(OnceShown(tuple(then)))

    def _apply_update(self, update: TableUpdate, now: float, emit: Emit) -> None:
        if update.version <= self.table.version:
            return
        if update.version > self.table.version + 1:
            # we missed a change: fetch the whole table (over TCP if it does not fit)
            if not any(isinstance(m, TableRequest) for m in self._requests.messages()):
                self._request(TableRequest(self._new_id()), now, emit, quiet=True)
            return
        renamed_to = self.table.apply(update, self.state.name)
        self._change_lines.table_changed(now, emit)
        if renamed_to:
            self._own_rename_seen(renamed_to, emit)
        elif (
            self.state.registered
            and not self._renames_asked()  # a rename's two rows may come in two updates
            and name_key(self.state.name)
            in {name_key(e.name) for e in update.entries if not e.port}
        ):
            self._released(emit)

    def _released(self, emit: Emit) -> None:
        """The registry's console released our name (gone from the table, not renamed):
        say so and go offline, rather than take the name back unseen with the next
        keepalive, which would undo what the registry's administrator did."""
        self.state.registered = False
        self._watch.offline()
        name = self.state.name
        line = (
            f"[The registry released the name {name}: you are offline. "
            f"Type reg {name} to register it again.]"
        )
        emit(Print(line, "error"))  # first (README): the cause, then what follows
        if self.state.room:
            emit(Print(f"[You are no longer in {self.state.room}.]", "system"))
            self.state.room = ""

    def _renames_asked(self) -> list[Rename]:
        """Renames we asked for that are on their way, or were given up on lately."""
        return [m for m in self._requests.messages(given_up=True) if isinstance(m, Rename)]

    def _own_rename_seen(self, new_name: str, emit: Emit) -> None:
        """The table says our name became `new_name`: a rename we asked for was done, though
        its answer has not come (lost, or still on its way) or we gave up on it. Take it as
        done, or this peer would go on under a name that is no longer its own."""
        for rename in self._renames_asked():
            if name_key(rename.new_name) == name_key(new_name):
                self._requests.answer_sent(rename.id)
                self._requests.take_given_up(rename.id)
                self._renamed_to(rename, emit)
                return

    def _apply_snapshot(self, snapshot: TableSnapshot, now: float, emit: Emit) -> None:
        """A whole table (asked for when updates were missed). Our name missing from it is
        the news the missed updates carried: a rename we asked for, when the new name is
        in it, or else a release by the registry's console; unless it still has our row
        under a name we gave up by a rename: it was taken before that rename."""
        if snapshot.version < self.table.version:
            return
        self._replace_table(snapshot.version, snapshot.entries, snapshot.aliases, now, emit)
        if not self.state.registered or self.state.name in self.table:
            return
        before = next(
            (
                e.name
                for e in snapshot.entries
                if e.port == self.state.port and name_key(e.name) in self._former
            ),
            "",
        )
        if before:
            # taken before our own rename, whose answer came first (the registry restarted
            # meanwhile, say): its update is still to come, and our row is ours as renamed
            self.table.renamed(before, self.state.name)
            return
        asked = self._renames_asked()
        new = next((r.new_name for r in asked if r.new_name in self.table), "")
        if new:
            self._own_rename_seen(new, emit)
        elif not asked:
            self._released(emit)

    def _replace_table(
        self,
        version: int,
        entries: tuple[Entry, ...],
        aliases: tuple[Alias, ...],
        now: float,
        emit: Emit,
        *,
        at_once: bool = False,
    ) -> None:
        self.table.replace(version, entries, aliases)
        if at_once:
            self._change_lines.table_replaced(emit)
        else:
            self._change_lines.table_changed(now, emit)

    def _save_outcome(self, saved: Saved, now: float, emit: Emit) -> None:
        if saved.reply_to in self._sending:
            self._maybe_settled.append(saved.reply_to)
        pending = self._requests.take_outcome(saved.reply_to)
        request = self._requests.answer_sent(saved.reply_to)
        if pending is None and request is None:
            return  # a copy of an outcome already shown
        kept = self._requests.outcome_of_kept(saved.reply_to)
        if request is not None:  # the outcome overtook the save's Ack
            kept = self._drop_from_outbox(request.message) or kept
            self._request_over(request.message, now, emit)
        save = pending if pending is not None else request.message if request else None
        text = save.text if kept and isinstance(save, SaveMessage) else None
        if saved.refused:
            if isinstance(save, SaveMessage):
                emit(Print(_not_saved(save, saved.refused, kept=kept), "error"))
            else:
                emit(Print(f"[{saved.refused}]", "error"))
        elif saved.delivered:
            if text is None:
                line = f"[Client {saved.to} exists!!]"
            else:
                line = f"[Kept message delivered to {saved.to}: {_quoted(text)}]"
            emit(Print(line, "system"))
            self._request(TableRequest(self._new_id()), now, emit, quiet=True)
        elif text is not None:
            line = f"[Kept message for {saved.to} saved at the server: {_quoted(text)}]"
            emit(Print(line, "system"))
        else:
            emit(Print("[Messages received by the server and saved]", "system"))

    def _relay_outcome(self, post_id: str, now: float, emit: Emit) -> None:
        """Every other member has channel or room post `post_id` (a channel post may wait in
        their mailbox), or is gone: it is delivered, and leaves the sending log. Should its
        Ack have been lost, this answers it too."""
        request = self._requests.answer_sent(post_id)
        if request is not None:  # the outcome overtook the post's Ack
            self._take_answer(request.message, Ack(self._new_id(), post_id), now, emit)
            self._request_over(request.message, now, emit)
        if self._requests.take_outcome(post_id) is not None and post_id in self._sending:
            self._maybe_settled.append(post_id)


def _quoted(text: str, limit: int = 40) -> str:
    """A message's text in quotes, cut to `limit` characters, to say which one is meant
    (made safe to show where every Print is: peer.terminal)."""
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def _not_saved(save: SaveMessage, reason: str, *, kept: bool) -> str:
    """The line for `save`, refused by the registry (its recipient's mailbox is full, say):
    to whom, why, and which message, quoted, as an answer that comes a while after the
    send, with other lines typed since, must say (see `_quoted`)."""
    what = "Kept message" if kept else "Message"
    return f"[{what} for {save.to} not saved ({reason.rstrip('.')}): {_quoted(save.text)}]"


def _unkept(action: Action) -> None:
    """An `emit` for what is decided and not to be carried out."""
