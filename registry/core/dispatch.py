"""The registry's protocol logic, sans-IO.

`RegistryCore` takes events (a message arrived from an address, time passed) together with
`now` (seconds on a monotonic clock, supplied by the caller) and returns actions
(registry.core.actions) for its adapter to carry out in order. It never touches sockets, files or
the clock, so every rule of docs/PROTOCOL.md can be tested with a fake clock and a simulated
network.

The core dispatches each event to the part that owns it (docs/ARCHITECTURE.md lists
them), and routes what one part's outcome asks of another: a probe given up takes its peer
offline (registry/core/presence.py) and carries out the registrations that waited for it
(registry/core/registration.py). What the parts share (the table, ids, aliases, pushes, the
table's changes) is registry/core/services.py.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any, Required, TypedDict, Unpack, get_args

from registry.core.actions import Action, Addr, DropHistory, Emit, Log, Send
from registry.core.flood import NEW_NAMES, SLOWED, FloodGate, NameBudget
from registry.core.forgetting import FORGET_AFTER, NEWCOMER_NAMES, Forgetting
from registry.core.liveness import Liveness, Probe
from registry.core.owners import Owner
from registry.core.pacing import Pacing
from registry.core.post_office import PostOffice
from registry.core.presence import Presence
from registry.core.quotas import MAILBOX_MESSAGES, Quotas
from registry.core.registration import Registration
from registry.core.relay import Relay
from registry.core.renames import Renames
from registry.core.requests import Request, fmt
from registry.core.restart_news import RestartNews
from registry.core.room_requests import RoomRequests
from registry.core.rooms import Rooms
from registry.core.saving import Saving
from registry.core.services import Services
from registry.core.table import Record, Table
from wire.desk.messages import DeskMessage
from wire.file_messages import FileMessage
from wire.ids import IdMaker
from wire.keys import key_text
from wire.messages import (
    Ack,
    Acks,
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
from wire.names import name_key
from wire.options import check_options
from wire.reliable import ATTEMPTS, TIMEOUT
from wire.words import counted

#: Seconds between the keepalives peers send (their --keepalive must match).
KEEPALIVE = 10.0
#: How far a restarted registry moves its table version ahead (see RegistryCore).
RESTART_JUMP = 1000

#: What no peer sends the registry, logged as ignored if it comes (see `receive`): what the
#: registry sends peers, what peers send each other (a Chat), and the messages of the help
#: desk (registry/adapter/desk/ takes them on connections of their own) and of files.
NOT_FROM_PEERS = frozenset(
    {Welcome, Alive, TooBig, Busy, MoreMail, TableUpdate, TableSnapshot, Saved, Relayed}
    | {Restarted, ChannelMessage, RoomMessage, RoomNotice, RoomList, Notice, Chat}
    | set(get_args(DeskMessage))
    | set(get_args(FileMessage))
)

#: What handles one kind of message: the message, the request it came in, now, the actions.
Handler = Callable[[Any, Request, float, Emit], None]


#: What a RegistryCore is made with: keywords, as the adapter and the tests name them.
#:
#: `session` prefixes this registry's message ids; `new_token` makes secret tokens;
#: `table`, `mail` and the rooms' `histories` (by room key) are what the adapter loaded
#: from disk; pushes are retried every `timeout` seconds, `attempts` times; a peer silent
#: for SILENT_PERIODS x `keepalive` seconds is marked offline; a mailbox holds at most
#: `mailbox_limit` messages (registry/core/quotas.py); one IP address registers at most
#: `new_names` new names an hour (registry/core/flood.py); one sender takes no more of the
#: mailboxes than `quotas` allow (registry/core/quotas.py); `owners` are what each mailbox
#: kept of its owner (registry/core/owners.py): a mailbox whose name the table lacks gets its
#: row back from it; `jitter` gives a number in [0, 1) that spreads the waits asked of
#: busy registrations (registry/core/pacing.py); a name unused for `forget_after` seconds is
#: forgotten, and at most `newcomer_names` names of owners that never came back are kept
#: offline (registry/core/forgetting.py). Written as a call, not a class: `check_options`
#: reads which keys are required at run time, and a class's `total=False` is lost when the
#: module is compiled (docs/ARCHITECTURE.md, "The compiled build").
CoreOptions = TypedDict(  # noqa: UP013  (a call, as said above)
    "CoreOptions",
    {
        "session": Required[str],
        "new_token": Required[Callable[[], str]],
        "table": Table | None,
        "mail": dict[str, list[StoredMessage]] | None,
        "histories": Mapping[str, Sequence[RoomMessage]] | None,
        "timeout": float,
        "attempts": int,
        "keepalive": float,
        "mailbox_limit": int,
        "new_names": int,
        "quotas": Quotas | None,
        "owners": Mapping[str, Owner] | None,
        "jitter": Callable[[], float],
        "forget_after": float,
        "newcomer_names": int,
    },
    total=False,
)


class Arrival(TypedDict, total=False):
    """How a message arrived (see `RegistryCore.receive`)."""

    datagram: bool
    key: bytes
    behind: float


class RegistryCore:
    """The table, the mailboxes and the relays of one registry.

    Made with keywords only (CoreOptions): thirteen settings, most with a default, read as
    `**options` so that the adapter and the tests name just those they set, and mypy checks
    each against CoreOptions. A table read from disk with rows in it means a restart. Its
    versions continue when the table knows what it pushed (Table.continues: every version
    told a peer was saved first, and the rows held back are saved as unpushed, pushed at
    `start`): the peers keep their tables. Else (an older file, a service's table, rows
    rebuilt from mailboxes) its version jumps RESTART_JUMP ahead, so that every peer sees
    a gap and fetches a snapshot."""

    def __init__(self, **options: Unpack[CoreOptions]) -> None:
        check_options("RegistryCore", options, CoreOptions)
        loaded = options.get("table")
        self.table = loaded if loaded is not None else Table()
        timing = (options.get("timeout", TIMEOUT), options.get("attempts", ATTEMPTS))
        new_id = IdMaker(options["session"])
        self._s = s = Services.make(self.table, new_id, options["new_token"], timing)
        mail = options.get("mail")
        limit = options.get("mailbox_limit", MAILBOX_MESSAGES)
        owners = options.get("owners") or {}
        self._post = PostOffice(
            s, mail if mail is not None else {}, owners, limit, options.get("quotas")
        )
        if loaded is not None and loaded.records and (not loaded.continues or self._post.rebuilt):
            self.table.version += RESTART_JUMP
        self._liveness = Liveness(s, options.get("keepalive", KEEPALIVE), timing)
        self._saving = Saving(s, self._post, self._liveness)
        self._relay = Relay(s, self._post)
        self._rooms = RoomRequests(s, self._relay, options.get("histories") or {})
        self._renames = Renames(s, self._rooms, self._post)
        self._presence = Presence(s, self._rooms, self._saving)
        self._forgetting = Forgetting(
            self.table,
            s.clock,
            options.get("forget_after", FORGET_AFTER),
            options.get("newcomer_names", NEWCOMER_NAMES),
        )
        names = NameBudget(options.get("new_names", NEW_NAMES))
        self._registration = Registration(s, self._liveness, self._presence, self._post, names)
        self._pacing = Pacing(self.table, s.answers, options.get("jitter", random.random))
        self._news = RestartNews(s)
        self.flood = FloodGate()
        self._handlers = self._dispatch()

    @property
    def handled(self) -> frozenset[type[Message]]:
        """The message types a part handles (the dispatch table's, and the acks)."""
        return frozenset(self._handlers) | {Ack, Acks}

    def _dispatch(self) -> dict[type[Message], Handler]:
        """Which part handles each kind of message a peer sends the registry."""
        return {
            Register: self._register,
            Deregister: self._presence.deregister,
            Keepalive: self._presence.keepalive,
            SaveMessage: self._saving.save,
            ChannelPost: self._relay.channel,
            MailTaken: self._post.taken,
            TableRequest: self._table_request,
            Join: self._rooms.join,
            Leave: self._rooms.leave,
            RoomPost: self._rooms.post,
            RoomsRequest: self._rooms.listing,
            Rename: self._renames.rename,
            Refused: self._saving.refused,
        }

    # -- the entry points ---------------------------------------------------------------

    @property
    def wall_offset(self) -> float:
        """Seconds from `now` to the time of day (registry/core/services.py, WallClock): the
        adapter, whose `now` is monotonic, sets it with every event."""
        return self._s.clock.offset

    @wall_offset.setter
    def wall_offset(self, offset: float) -> None:
        self._s.clock.offset = offset

    def admit(self, addr: Addr, now: float) -> tuple[bool, Sequence[Action]]:
        """Flood control: whether to handle what just came from `addr`, asked before it is
        even decoded, so that a flood costs as little as possible; the actions tell a
        flooding sender (at most once every few seconds) that it is being slowed."""
        admitted, warn = self.flood.admit(addr, now)
        if not warn:
            return admitted, ()
        line = f"flood from {fmt(addr)}: slowed ({self.flood.dropped} dropped)"
        # (to whoever is online there: its key is not known before the datagram is opened)
        key = self._s.feed.changes.key_at(addr)
        notice = Notice(self._s.answers.new_id(), SLOWED)
        return admitted, [Log(line, "flood"), Send(addr, notice, key)]

    def receive(
        self, message: Message, addr: Addr, now: float, **arrival: Unpack[Arrival]
    ) -> list[Action]:
        """A message arrived from `addr` (a datagram's source, or a TCP connection's peer),
        sent by the public `key` (the secure channel opened it with that key), and `admit`
        let it in. The key, not the address, says who sent it: it owns the names bound to
        it. `datagram`: it came in a datagram, so its answer is to fit one (a whole table
        asked for that cannot fit is answered TooBig before anything is done). `behind`:
        how many seconds the registry has been behind what arrives (registry/core/pacing.py)."""
        return self.receive_all((message,), addr, now, **arrival)

    def receive_all(
        self, messages: Sequence[Message], addr: Addr, now: float, **arrival: Unpack[Arrival]
    ) -> list[Action]:
        """The `messages` of one datagram from `addr`, in order, each as `receive` says, at
        one `now`: what is the same for all of them is worked out once, and an ack (a
        relay's members send little else) is answered by its address, without a Request."""
        key = arrival.get("key", b"")
        asker = key_text(key) if key else ""
        datagram, behind = arrival.get("datagram", False), arrival.get("behind", 0.0)
        actions: list[Action] = []
        emit = actions.append
        for message in messages:
            if isinstance(message, (Acks, Ack)):
                replies = message.replies if isinstance(message, Acks) else (message.reply_to,)
                self._acked(replies, addr, now, emit)
            elif (handler := self._handlers.get(type(message))) is not None:
                handler(message, Request(message.id, addr, asker, datagram, behind), now, emit)
            else:
                emit(Log(f"ignored {type(message).__name__} from {fmt(addr)}", "ignored"))
            self._liveness.heard(addr, asker, now)
        self._relay.over(emit)
        return actions

    def start(self, now: float) -> list[Action]:
        """The registry starts: the peers of a table read from disk are swept for from
        now on (a registration starts the sweeps too), once they have had
        AWAY_GRACE_PERIODS to find that it is back. Each peer it counts online is told
        (Restarted), so that what it kept meanwhile comes at once; one it was replaying a
        room's history to when it stopped (Record.replaying) is replayed it again."""
        self._liveness.start(now)
        actions: list[Action] = [
            *self._post.rebuilt,
            *(DropHistory(key) for key in self._rooms.gone),
        ]
        emit = actions.append
        self._post.rebuilt = []
        self._rooms.gone = []
        # pushed, acked and sent again as a table change is, a window of peers at a time: a
        # peer that missed it would find the registry back only at its next keepalive; the
        # rows held back when it stopped reach each as it is told
        self._news.tell(self.table.online(), now, emit)
        self._s.feed.push_unpushed(now, emit)
        self._rooms.restart(now, emit)
        return actions + self.tick(now)

    def tick(self, now: float, behind: float = 0.0) -> list[Action]:
        """Time passed: sweep for silent peers, push the table's held changes, resend
        unacknowledged pushes and probes, and act on those that gave up. `behind`: how many
        seconds the registry has been behind what arrives (no silence counts then:
        registry/core/liveness.py)."""
        actions: list[Action] = []
        emit = actions.append
        if self._liveness.sweep_due(now):
            self._liveness.sweep(now, emit, behind)
            self._s.aliases.expire(now)
            for record, why in self._forgetting.sweep(now, emit):
                self._release(record, now, emit, why)
        if self._s.feed.due(now):
            self._s.feed.push_changes(now, emit)
        # probes first: a peer found gone takes what is pushed to it along, not sent again
        probes_failed = self._liveness.due(now, emit)
        for probe in probes_failed:
            self._probe_failed(probe, now, emit, behind)
        failed = self._s.pusher.due(now, emit)
        self._saving.failed(failed, now, emit)
        self._s.feed.retry(now, emit)
        self._news.due(now, emit)
        if self._rooms.replaying and (failed or probes_failed):
            self._rooms.replays_over()
        self._relay.over(emit)
        return actions

    def password_checked(self, ticket: str, kept: str | None, now: float) -> list[Action]:
        """The password check `ticket` asked for (CheckPassword) is done, and
        `credentials.proven` gave `kept` (None: the check failed): its registration goes
        on."""
        actions: list[Action] = []
        emit = actions.append
        self._registration.checked(ticket, kept, now, emit)
        self._relay.over(emit)
        return actions

    def release(self, name: str, now: float) -> list[Action]:
        """The console releases `name`: forget its owner and mailbox, so anyone may take it.
        Peers learn it as a row with port 0, which means "this name is gone"."""
        actions: list[Action] = []
        emit = actions.append
        record = self.table.get(name)
        if record is None:
            emit(Log(f"no name {name} to release"))
        else:
            self._release(record, now, emit, "")
        return actions

    # -- what the adapter, the console and the tests read ------------------------------

    @property
    def registries(self) -> tuple[str, ...]:
        """Where peers reach the registries of this one's service ("ip:port" each), told
        them in Welcome, Alive and Restarted (see `new_registries`)."""
        return self._s.membership.registries

    @registries.setter
    def registries(self, registries: tuple[str, ...]) -> None:
        self._s.membership.registries = registries

    def new_registries(self, registries: tuple[str, ...], now: float) -> list[Action]:
        """The service's registries are now `registries`: each peer online is told (Restarted,
        registry/core/restart_news.py), so that it knows where it may move before it must."""
        self._s.membership.registries = registries
        actions: list[Action] = []
        self._news.tell(self.table.online(), now, actions.append)
        return actions

    def restarted_for(self, addrs: list[Addr], now: float) -> list[Action]:
        """The registry `addrs` reached the service through is gone: each peer online there is
        told the service is back (Restarted) here, so that it moves and sends what it kept."""
        actions: list[Action] = []
        there = set(addrs)
        records = [r for r in self.table.online() if r.addr in there]
        if records:  # (a window at a time: each is a handshake from here)
            self._news.tell(records, now, actions.append)
        return actions

    def heard_elsewhere(self, heard: Sequence[tuple[Addr, bytes]], now: float) -> list[Action]:
        """Another registry of the service heard each of `heard` (an address, the key that
        spoke there): those peers run (registry/core/liveness.py)."""
        self._liveness.reported(((addr, key_text(key)) for addr, key in heard if key), now)
        return []

    def hand_over(self, there: Container[Addr]) -> None:
        """Another registry of the service delivers the table updates to `there`
        (registry/core/table_watch.py)."""
        self._s.feed.watch.handed_over = there

    @property
    def mail(self) -> dict[str, list[StoredMessage]]:
        """The stored messages by their owner's name key, oldest first: the mailboxes' own
        (registry/core/mailboxes.py), for the console and tests to read."""
        return self._post.boxes

    @property
    def rooms(self) -> Rooms:
        """Who is in which room, and what was said there (registry/core/rooms.py)."""
        return self._rooms.rooms

    @property
    def busy_answers(self) -> int:
        """Registrations answered Busy (registry/core/pacing.py), for the console's `stats`."""
        return self._pacing.busy_answers

    def pending_pushes(self) -> int:
        """How many pushes (table changes, relays, notices, mail) wait for a peer's ack, sent
        or queued: for the console, benchmarks and tests that wait for the registry to settle."""
        return self._s.pusher.pending() + self._s.feed.watch.in_flight()

    def changes_held(self) -> bool:
        """Whether table changes are being held back to go out together (COALESCE) and
        have not been pushed yet. Read-only, like `pending_pushes`."""
        return self._s.feed.changes.flush_at is not None

    def next_wake(self) -> float | None:
        """When `tick` next has work, or None."""
        wakes = (
            self._s.pusher.pushes.next_wake(),
            self._s.feed.watch.next_wake(),
            self._liveness.next_wake(),
            self._s.feed.changes.flush_at,
            self._news.next_wake(),
        )
        return min((at for at in wakes if at is not None), default=None)

    def entries(self) -> tuple[Entry, ...]:
        """The table as peers see it."""
        return self._s.feed.entries()

    # -- routing between the parts ------------------------------------------------------

    def _register(self, msg: Register, req: Request, now: float, emit: Emit) -> None:
        """A registration, unless the registry is too busy for it (registry/core/pacing.py)."""
        if not self._pacing.paced(msg, req, now, emit):
            self._registration.register(msg, req, now, emit)

    def _table_request(self, msg: TableRequest, req: Request, now: float, emit: Emit) -> None:
        """A peer asks for what changed since its version, or for the whole table (over
        TCP when it is big: registry/core/pacing.py)."""
        # (only to be sent is the whole table built: a big one is counted, not encoded)
        feed = self._s.feed
        answer = feed.changes_since(req.id, msg.since)
        if answer is None and not self._pacing.whole_table_too_big(req, emit):
            answer = feed.snapshot(req.id)
        if answer is not None:
            emit(Send(req.addr, answer, req.asker))
            feed.watch.answered(req.addr, req.key, answer.version)

    def _acked(self, replies: Sequence[str], addr: Addr, now: float, emit: Emit) -> None:
        """`addr` acked each of `replies` (one Ack, or one Acks for a datagram of
        pushes): probes answered, pushes done (a history replayed, a save delivered), and
        their owners heard from."""
        self._liveness.acked(replies, addr, now, emit)
        self._s.feed.acked(replies, addr, now, emit)
        owner, answered = self._s.pusher.answer(replies, addr, now)
        if not answered:
            return
        self._rooms.acked(addr, answered)
        self._news.acked(owner, answered, now, emit)
        record = self._s.aliases.owner(owner)
        if record is not None:
            record.last_seen = now
        for flight in answered:
            if flight.purpose == "probe":
                self._saving.delivered(flight, now, emit)

    def _release(self, record: Record, now: float, emit: Emit, why: str) -> None:
        """Take `record` out of the table, with its mailbox (DropMail), its room and its
        former names: released by the console (`why` ""), or forgotten for `why`."""
        key = name_key(record.name)
        self._rooms.leave_room(record, now, emit, "released")
        del self.table.records[key]
        self.table.forget_former(key)
        dropped = self._post.dropped(key, emit)
        self._s.feed.released(record, now, emit)
        deleted = f"{counted(dropped, 'stored message')} deleted"
        if why:
            emit(Log(f"forgot {record.name}: {why}; {deleted}"))
        else:
            emit(Log(f"released {record.name} ({deleted})"))

    def _probe_failed(self, probe: Probe, now: float, emit: Emit, behind: float) -> None:
        """The probed peer did not answer: gone, it is marked offline (out of its room,
        what was pushed to it in its mailbox), and the registrations that waited are
        carried out: the name is theirs at once (registry/core/liveness.py)."""
        gone, waiting = self._liveness.failed(probe, now, emit, behind)
        if gone is not None:
            self._presence.silent(gone, now, emit)
        for msg, req in waiting:
            self._registration.register(msg, req, now, emit)
