"""The peer's protocol logic, sans-IO: `PeerCore` takes events with `now`, hands each to
the part it concerns (docs/ARCHITECTURE.md, "The peer core, by part"), and returns the
actions in order, or hands each to the adapter's `emit` the moment it is decided."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypedDict, Unpack

from peer.core import commands as cmd
from peer.core.actions import Action, Addr, Emit, ExitPeer, Held, KeysListed, Print, Prompt
from peer.core.direct import DirectChats
from peer.core.leaving import Leaving
from peer.core.lifecycle import LifePhase
from peer.core.received import Parts, Received
from peer.core.registration import Registering
from peer.core.registry_link import RegistryLink
from peer.core.request_ends import RequestEnds
from peer.core.request_kinds import ROOMS_DOWN as ROOMS_DOWN
from peer.core.request_kinds import TYPING_WAITS
from peer.core.requests import KEEPALIVE, Requests
from peer.core.room_membership import Membership
from peer.core.room_return import RoomReturn
from peer.core.sealed_mail import CARRIERS
from peer.core.settling import Settling
from peer.core.shared import QUITTING_LATER, Shared, Tickets, not_carried_out
from peer.core.shared import PeerState as PeerState
from peer.core.table import TableCopy
from peer.core.table_news import TableNews
from peer.core.typed_commands import Commands
from wire.base import IdMaker
from wire.messages import ChannelMessage, Message, TableRequest, TableSnapshot, TableUpdate, Welcome
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT, TIMEOUT, Alarm


class PeerOptions(TypedDict, total=False):
    """PeerCore's optional settings: see PeerCore.__init__."""

    token: str
    keepalive: float
    timeout: float
    attempts: int
    seen: Iterable[tuple[str, str] | Held]
    outbox: Iterable[Message]
    room: str
    registry_key: bytes
    fingerprint: str
    wall_offset: Callable[[], float]
    tickets: Mapping[str, str]


#: The phase after which no event does anything, read once: a member read from its Enum
#: goes through the metaclass (CPython 3.11), a cost on every message received.
_LEFT: Final = LifePhase.LEFT
#: What the registry sends that lists names with their keys (see KeysListed).
_LISTS_KEYS: Final = frozenset({Welcome, TableUpdate, TableSnapshot})
#: What the registry sends that changes nothing `_settle` looks at: a datagram of these
#: alone (its registry heard from as usual) is not followed by a settling.
_SETTLES_NOTHING: Final = frozenset({ChannelMessage})


class PeerCore:
    """One peer: its registration, its table, its direct chats and its outbox."""

    def __init__(
        self, *, name: str, port: int, server: Addr, session: str, **options: Unpack[PeerOptions]
    ) -> None:
        """`session` is the prefix of our message ids. Options: what an earlier run kept
        (`token`; `seen`, the (sender, id) pairs shown; `outbox`; `room`, joined again once
        registered; `registry_key`, pinned; `tickets`, handed us), `keepalive` seconds, the
        retry rule (`attempts`; `timeout`: wire.reliable), our key's `fingerprint`, and
        `wall_offset`, seconds from `now` to the time of day (for when a save was typed)."""
        timeout, attempts = options.get("timeout", TIMEOUT), options.get("attempts", ATTEMPTS)
        settling = Settling(options.get("outbox", ()))
        alarm = Alarm()
        self._shared = shared = Shared(
            state=PeerState(name, port, options.get("token", "")),
            new_id=IdMaker(session),
            table=TableCopy(),
            settling=settling,
            requests=Requests(server, settling, timeout, attempts, alarm=alarm),
            room_return=RoomReturn(settling, options.get("room", "")),
            alarm=alarm,
            shown=options.get("seen", ()),
            wall_offset=options.get("wall_offset"),
            tickets=Tickets(options.get("tickets")),
        )
        shared.requests.keepalive = options.get("keepalive", KEEPALIVE)
        self.state = shared.state
        #: Who may say what (peer.core.table); `registry`: the registry's key, once pinned.
        self.trust = shared.trust
        self.trust.registry = options.get("registry_key", b"")
        #: Opens direct messages the registry delivers sealed to us: the adapter's, with our key.
        self.open_mail: Callable[[Message], Message] = lambda message: message
        #: The registry's table, the mailbox tickets (read-only outside).
        self.table, self.tickets = shared.table, shared.tickets
        self._life = shared.life
        #: When to call `tick` at the latest (`alarm.at`; None: not until another event).
        self.alarm = alarm
        #: What to keep and what is settled (actions.Record): the adapter writes, clears them.
        self.records = shared.settling.records
        #: What is not settled, by id, in the order typed (Settling.unsettled), after them.
        self.unsettled = shared.settling.unsettled
        self._build_parts(attempts)
        #: Lines shown once, right after the next Welcome (the registry's key, first met:
        #: after it, so that the Welcome stays the first line a script reads).
        self.after_welcome = self.parts.registration.after_welcome
        self.parts.commands.fingerprint = options.get("fingerprint", "")
        self._prompt = ""
        # what the prompt was made of (see `_settle`)
        self._prompt_of: tuple[str | None, str, str, LifePhase] = (None, "", "", _LEFT)

    def _build_parts(self, attempts: int) -> None:
        """Each part, built after those it calls."""
        shared = self._shared
        link = RegistryLink(shared)
        direct = DirectChats(shared, link, DIRECT_TIMEOUT, attempts)
        membership = Membership(shared, link)
        table_news = TableNews(shared, link)
        registration = Registering(shared, link, table_news)
        leaving = Leaving(shared, link, direct)
        commands = Commands(shared, link, direct)
        # the parts that may take an answer, by name (request_kinds.KINDS)
        takers = dict(registration=registration, leaving=leaving, table_news=table_news)
        takers.update(membership=membership, commands=commands)
        ends = RequestEnds(shared, link, membership, leaving, takers)
        #: The parts: the tests' seams (events go through the entry points below).
        self.parts = parts = Parts(
            shared, link, direct, membership, table_news, registration, leaving, ends, commands
        )
        #: The dispatch tables of what is received and of what is typed.
        self.received = Received(parts)
        self.typed = TypedInput(parts)
        #: The rooms heard of, sorted, for completion.
        self.room_names = membership.room_names

    @property
    def server(self) -> Addr:
        """Where the registry the peer uses now is (it moves: Requests.move_to)."""
        return self._shared.requests.server

    def start(self, now: float) -> list[Action]:
        actions: list[Action] = []
        self._shared.inbox.start(now)
        self._shared.requests.began = now
        self.parts.link.request(self._shared.register_message(), now, actions.append)
        self._settle(now, actions.append)
        return actions

    def line(self, text: str, now: float, emit: Emit | None = None) -> list[Action]:
        """The user typed `text` (one line): the actions, or with `emit`, none (each is
        handed to it)."""
        actions: list[Action] = []
        emit = emit or actions.append
        if self._life.phase is not _LEFT:
            self.typed.line(text, now, emit)
            self._settle(now, emit)
        return actions

    def end_of_input(self, now: float) -> list[Action]:
        """Standard input ended (Ctrl-D, or the end of a script): quit, once the lines
        before it are carried out."""
        actions: list[Action] = []
        if self._life.phase is _LEFT:
            return actions
        started = self._life.started
        self.typed.end_of_input(now, actions.append)
        if started:
            self._settle(now, actions.append)
        return actions

    def leave_now(self) -> list[Action]:
        """The user leaves at once (a second Ctrl-C, or the terminal closed): what is not
        known delivered is kept in the outbox for the next start, and the registry is told
        once, unanswered. The caller exits; until then no event does anything (it could
        rewrite the outbox just kept)."""
        return self.parts.leaving.leave_now()

    def receive(
        self, message: Message, addr: Addr, key: bytes, now: float, emit: Emit | None = None
    ) -> list[Action]:
        """A datagram of one message: see `receive_all`."""
        return self.receive_all([message], addr, key, now, emit)

    def receive_all(
        self, messages: list[Message], at: Any, key: bytes, now: float, emit: Emit | None = None
    ) -> list[Action]:
        """The messages of one datagram from `at` (an Addr, handed on as it came), sealed by `key`:
        one event. Each is believed as far as `key` may say it (`trust`); what they decide is
        handed over once all are taken (Inbox.taken). The actions, or with `emit`, none."""
        addr: Addr = at
        actions: list[Action] = []
        emit = emit or actions.append
        trust, life, received, shared = self.trust, self._life, self.received, self._shared
        from_registry = key == trust.registry and bool(key)  # the service's, from anywhere
        handlers = received.from_registry if from_registry else received.from_peers
        later: list[Action] = []  # what the messages decide, carried out once all are taken
        hand = later.append
        taken = settles = False
        # another registry of the service's (or a move), and our registry's requests
        elsewhere, requests = addr != shared.requests.server, shared.requests
        for message in messages:
            if life.phase is _LEFT:
                break  # (what left a moment ago takes nothing more)
            handler = handlers.get(kind := type(message))
            if not from_registry or handler is None:
                # a peer's, to the handler of what it may say, if it may; or dropped
                # (peer.core.table), or a file datagram for the transfers
                one = trust.believed(message, key, addr, now, emit)
                if one is None or handler is None:
                    continue
                handler(one, at, now, hand)
                settles = True
            else:  # the registry may say all that has a handler (trust.rules)
                # the direct messages it delivers, sealed to us, opened
                opened = self.open_mail(message) if kind in CARRIERS else message
                if elsewhere or (not taken and (requests.down or shared.tried)):  # (back, or moved)
                    received.receive(opened, at, not taken, now, hand)
                    settles = True
                else:
                    requests.heard_at = now  # ours is heard from
                    handler(opened, at, now, hand)
                    settles = settles or kind not in _SETTLES_NOTHING
                if kind in _LISTS_KEYS:
                    hand(KeysListed(message))
            taken = True
        if taken:
            shared.inbox.taken(at, key, from_registry, later, emit)
            if settles:
                self._settle(now, emit)
        if from_registry and trust.held:  # the table may vouch now for what was held
            for message, at, sealed_by in trust.vouched():
                self.receive_all([message], at, sealed_by, now, emit)
        return actions

    def registry_answered(self, addr: Addr, key: bytes, now: float) -> None:
        """`key` at `addr` completed a handshake at `now`, below the protocol. If that is
        the registry, it runs (the handshake proves its key): a request unanswered meanwhile
        was lost, not ignored (more rounds: see Requests.due). Nothing is shown."""
        if addr == self.server and key == self.trust.registry:
            self._shared.requests.heard_at = now

    def stream_ended(self, msg_id: str, now: float) -> list[Action]:
        """The connection that sent `msg_id` ended at `now`: its round, if unanswered, is over."""
        self._shared.requests.ended(msg_id, now)
        return self.tick(now)

    def tick(self, now: float) -> list[Action]:
        """Time passed: retries, give-ups, keepalives and outbox retries."""
        if self._life.phase is _LEFT:
            self.alarm.at = None
            return []
        actions: list[Action] = []
        emit = actions.append
        wake = self.next_wake()
        if wake is not None and now >= wake:
            self._shared.change_lines.tick(now, emit)
            self._shared.inbox.tick(now, emit)
            self.trust.tick(now, emit)
            self.parts.direct.tick(now, emit)
            self.parts.ends.tick(now, emit)
            self._settle(now, emit)
            wake = self.next_wake()
        self.alarm.at = wake
        return actions

    def next_wake(self) -> float | None:
        if self._life.phase is _LEFT:
            return None
        # called after every event: no lists built when only the usual few are set
        shared = self._shared
        wake = shared.requests.next_keepalive
        for t in (
            self.parts.direct.next_wake(),
            shared.requests.next_wake(),
            shared.change_lines.next_wake(),
            self.trust.next_wake(),
            shared.inbox.next_wake(),
        ):
            if t is not None and (wake is None or t < wake):
                wake = t
        return wake

    @property
    def outbox(self) -> tuple[Message, ...]:
        return self._shared.settling.outbox

    def prompt(self) -> str:
        """The input prompt: the name, the room or "(offline)", or the question asked."""
        if (asked := self.parts.commands.question_prompt()) is not None:
            return asked
        state = self.state
        if state.room:
            return f"{state.name}@{state.room}> "
        if self._life.started and not self._life.registered:
            return f"{state.name} (offline)> "
        return f"{state.name}> "

    def unfinished(self) -> list[str]:
        """What a quit now would leave undone (Leaving.unfinished): asked about first."""
        return self.parts.leaving.unfinished()

    def question(self) -> str:
        """Which question of `message` the next line answers: "recipient", "text", or ""."""
        return self.parts.commands.question()

    def _settle(self, now: float, emit: Emit) -> None:
        """After every event: the lines and quit that waited, and what changed of the prompt,
        the outbox and the room kept; each step only when it has work."""
        shared, life = self._shared, self._life
        if shared.lines_after_change:
            self.typed.carry_out_waiting(now, emit)
        if life.farewell is not None:
            self.parts.leaving.settle(now, emit)
        room_return = shared.room_return
        if room_return.join_after_kept is not None:
            join = room_return.join_due()
            if join is not None:
                self.parts.link.request(join, now, emit)
        state, asking = self.state, self.parts.commands
        shown = (asking.asking, state.name, state.room, life.phase)
        if shown != self._prompt_of and (prompt := self.prompt()) != self._prompt:
            self._prompt = prompt
            emit(Prompt(prompt))
        self._prompt_of = shown
        if state.room != room_return.room_was:
            room_return.keep(state.room, life.for_good, emit)
        if (settling := shared.settling).maybe_settled:
            settling.settle(self.parts.leaving.on_its_way)


#: The handlers of what may be typed while offline.
WORKS_OFFLINE = frozenset(("commands.reg", "commands.dereg", "commands.help", "leaving.quit"))


class TypedInput:
    """The dispatch of typed lines (the lines held are Shared's)."""

    def __init__(self, parts: Parts) -> None:
        self._parts = parts
        self._shared = parts.shared
        self._life = parts.shared.life
        self._requests = parts.shared.requests
        self._requests_open = parts.shared.requests.records

    def line(self, text: str, now: float, emit: Emit, *, held: bool = False) -> None:
        """The user typed `text`: done now, or held until it can be (`held`: its turn came)."""
        life, asking = self._life, self._parts.commands
        if not held:
            if life.phase is LifePhase.START_FAILED:
                # read after the refusal (a script's line, read late): said as those before
                not_carried_out((text,), "you are not registered", emit)
                return
            if not life.started:
                self._shared.early_lines.append(text)
                return
            waiting = self._shared.lines_after_change
            if waiting or (self._requests_open and self._changing()):
                waiting.append(text)
                return
        if life.going and text.strip():
            # typed, or pasted, after /quit: the user is leaving, and said so first
            not_carried_out((text,), "you are quitting", emit)
            return
        if self._shared.line_watchers:  # parts waiting for the user to type again
            watchers, self._shared.line_watchers = self._shared.line_watchers, []
            for watcher in watchers:
                watcher(text, now, emit)
        if asking.asking is not None:  # (a question is asked: the line answers it)
            asking.answer_question(text, now, emit)
            return
        state = self._shared.state
        # after a /join that waits for kept lines, text is for the room it joins
        joining = self._shared.room_return.join_after_kept is not None
        command = cmd.parse(text, in_room=state.room != "" or joining)
        if command is None:
            return
        offline = not life.registered and life.started
        if offline and command.handler not in WORKS_OFFLINE:
            # a `reg` goes on: typed while the registry is away (Requests), or told to wait
            waits = self._shared.requests.register_again or bool(self._shared.requests.registers())
            verb, to = ("dereg", "stop the reg waiting") if waits else ("reg", "come back")
            typed = self._shared.typed(f"{verb} {state.name}")
            emit(Print(f"[You are offline. Type {typed} to {to}, or /quit.]", "error"))
            return
        part, method = command.handler.split(".")
        getattr(getattr(self._parts, part), method)(*command.args, now, emit)

    def end_of_input(self, now: float, emit: Emit) -> None:
        """The input ended: quit, once the lines before it are carried out. After a failed
        start, the exit (again): every line typed has been said not carried out."""
        if self._life.phase is LifePhase.START_FAILED:
            emit(ExitPeer(1))
        elif self._life.started and (self._shared.lines_after_change or self._changing()):
            # quit once the lines waiting are carried out
            self._shared.lines_after_change.append(None)
        elif self._life.started:
            self._parts.leaving.quit("", now, emit)
        elif None not in self._shared.early_lines:
            self._shared.early_lines.append(None)
            if self._life.phase is LifePhase.STARTING_LATE:
                emit(QUITTING_LATER)

    def carry_out_waiting(self, now: float, emit: Emit) -> None:
        """Carry out the lines that waited for a change, in order, until one of them
        starts another change (the rest wait for that one)."""
        lines = self._shared.lines_after_change
        while lines and not self._changing():
            text = lines.popleft()
            if text is None:
                self._parts.leaving.quit("", now, emit)
            else:
                self.line(text, now, emit, held=True)

    def _changing(self) -> bool:
        """Whether a change the next typed line depends on is on its way, whose answer it
        waits for: a join (is a line room text?), a rename (who sends?), a dereg or reg
        (may it be sent?), a leave (a /join must not overtake it), the whole table while
        ours is older than our Welcome (is a name typed in it?); not a `reg` going on."""
        requests = self._requests
        changes = TYPING_WAITS[:-1] if self._shared.requests.register_again else TYPING_WAITS
        if not requests.any_of((*changes, TableRequest), streamed=True):
            return False  # (one look, nearly always enough)
        whole = self._parts.table_news.before_welcome
        kinds = (*changes, TableRequest) if whole else changes
        return any(isinstance(m, kinds) for m in requests.messages(streamed=True, held=True))
