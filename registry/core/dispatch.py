"""`RegistryCore`: each event to the part that owns it, and each part's outcome to the
part it concerns (docs/ARCHITECTURE.md); and the names it forgets (`sweep`): those unused
for long, and newcomers past the bound."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from typing import Any, Required, TypedDict, Unpack

from registry.core.actions import Action, Addr, Emit, Log, Owner, SaveTable, Send
from registry.core.authority import Act, Claim, Handler
from registry.core.flood import NEW_NAMES, SLOWED, FloodGate
from registry.core.liveness import Liveness
from registry.core.post_office import MAILBOX_MESSAGES, PostOffice
from registry.core.posts import Posts
from registry.core.presence import Presence
from registry.core.registration import Registration
from registry.core.requests import Request, fmt
from registry.core.restart_news import RestartNews
from registry.core.room_requests import RoomRequests
from registry.core.services import Services
from registry.core.table import Record, Table
from secure.password import Challenge
from wire.base import IdMaker
from wire.keys import key_text
from wire.messages import (
    Ack,
    Acks,
    ChannelPost,
    Deregister,
    Join,
    Keepalive,
    Leave,
    MailTaken,
    Message,
    Notice,
    PasswordAsk,
    Refused,
    Register,
    Rename,
    RoomMessage,
    RoomPost,
    RoomsRequest,
    SaveMessage,
    SetAway,
    SetTopic,
    StoredMessage,
    TableRequest,
)
from wire.names import name_key
from wire.reliable import ATTEMPTS, TIMEOUT
from wire.words import counted

#: Seconds between the keepalives peers send (their --keepalive must match).
KEEPALIVE = 10.0
#: How far a restarted registry moves its table version ahead, when it must.
RESTART_JUMP = 1000
#: What a peer's outbox sends again, in the order typed, once told of a restart. Messages
#: are matched by exact type: a message class's isinstance that fails calls its metaclass.
SENT_AGAIN = frozenset((SaveMessage, ChannelPost, RoomPost, Leave))

DAY = 24 * 3600.0
#: Seconds a name may go unused before it is forgotten (--forget-names-after).
FORGET_AFTER = 180 * DAY
#: Names kept offline whose owner never came back: past this many, some are released, from
#: the address that registered the most of them first (--newcomer-names).
NEWCOMER_NAMES = 1000
#: A name's owner came back when it was online this long after its name was made.
COME_BACK = DAY
#: How stale the stamp of an online name may grow before it is stamped again.
USED_EVERY = 3600.0


#: What each request that speaks for a name proves before the part it goes to acts on it.
CLAIMS: dict[type[Message], Claim] = {
    Keepalive: Claim("keepalive", fresh=True),
    Deregister: Claim("dereg", fresh=True),
    SetAway: Claim("away", online=True, once=True),
    Rename: Claim("rename", fresh=True, online=True, once=True),
    Join: Claim("join", fresh=True, online=True, once=True),
    Leave: Claim("leave", once=True),
    SetTopic: Claim("topic", online=True, once=True),
    SaveMessage: Claim("save", by="sender"),
    ChannelPost: Claim("send_all", by="sender"),
    RoomPost: Claim("room message", by="sender", online=True),
    MailTaken: Claim("mail hand-over", fresh=True),
}


#: What a RegistryCore is made with: `session` prefixes its message ids; `table`, `mail`,
#: `histories` and `owners` were loaded; the rest set the part they name.
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
        "owners": Mapping[str, Owner] | None,
        "jitter": Callable[[], float],
        "forget_after": float,
        "newcomer_names": int,
        "wall_offset": Callable[[], float],
    },
    total=False,
)


def check_options(owner: str, options: Mapping[str, object], spec: type) -> None:
    """Raise TypeError naming `owner`, as a misspelt keyword argument would, if `options`
    hold a key TypedDict `spec` lacks, or lack one of its required keys (nothing checks
    `**options: Unpack[...]` at run time)."""
    # (sets of its own: compiled, a frozenset less a dict's keys would be taken for a frozenset)
    required = set(getattr(spec, "__required_keys__", ()))
    optional = set(getattr(spec, "__optional_keys__", ()))
    unknown = sorted(set(options) - required - optional)
    missing = sorted(required - set(options))
    if unknown or missing:
        raise TypeError(f"{owner}: unknown options {unknown}, missing {missing}")


class Arrival(TypedDict, total=False):
    """How a message arrived: its sender's `key`, by `datagram`, and seconds `behind`."""

    datagram: bool
    key: bytes
    behind: float


class RegistryCore:
    """One registry. A table loaded with rows means a restart: its versions continue when
    it knows what it pushed, else they jump RESTART_JUMP ahead (every peer fetches a
    snapshot)."""

    def __init__(self, **options: Unpack[CoreOptions]) -> None:
        check_options("RegistryCore", options, CoreOptions)
        loaded = options.get("table")
        self.table = loaded if loaded is not None else Table()
        timing = (options.get("timeout", TIMEOUT), options.get("attempts", ATTEMPTS))
        s = Services.make(self.table, IdMaker(options["session"]), options["new_token"], timing)
        self._s, self._pushes = s, s.pushes  # (hot path: a Struct's field costs a lookup)
        s.wall_offset = options.get("wall_offset", s.wall_offset)
        mail, limit = options.get("mail"), options.get("mailbox_limit", MAILBOX_MESSAGES)
        post = PostOffice(s, mail, options.get("owners"), limit)
        if loaded and loaded.records and (not loaded.continues or any(post.rebuilt)):
            self.table.version += RESTART_JUMP
        self._post, self._news = post, RestartNews(s)
        self._liveness = Liveness(s, options.get("keepalive", KEEPALIVE), timing)
        self._rooms = RoomRequests(s, options.get("histories") or {})
        self._posts = Posts(s, post, self._liveness, self._news.unacked, self._rooms.rooms)
        #: the stored messages by owner's name key, oldest first; the rooms (read only)
        self.mail, self.rooms = post.boxes, self._rooms.rooms
        self._presence = Presence(s, self._rooms.leave_room, self._posts.restarted, post)
        forget_after = options.get("forget_after", FORGET_AFTER)
        newcomer_names = options.get("newcomer_names", NEWCOMER_NAMES)
        if forget_after <= 0 or newcomer_names < 1:
            raise ValueError("forget_after must be positive and newcomer_names at least 1")
        self._forget = forget_after, newcomer_names
        names = options.get("new_names", NEW_NAMES)
        self.registration = Registration(s, self._liveness, self._presence, post, names)
        self.registration.jitter = options.get("jitter", random.random)
        self.flood = FloodGate()
        acts: dict[type[Message], Act] = {
            Deregister: self._presence.deregister,
            Keepalive: self._presence.keepalive,
            SaveMessage: self._posts.save,
            ChannelPost: self._posts.channel,
            MailTaken: self._post.taken,
            Join: self._rooms.join,
            Leave: self._rooms.leave,
            RoomPost: self._posts.room,
            Rename: self._presence.rename,
            SetTopic: self._rooms.set_topic,
            SetAway: self._presence.set_away,
        }
        self._handlers: dict[type[Message], Handler] = {
            Register: self.registration.arrived,
            PasswordAsk: self.registration.ask,
            TableRequest: self._s.feed.request,
            RoomsRequest: self._rooms.listing,
            Refused: self._posts.refused,
        }
        for kind, act in acts.items():
            self._handlers[kind] = s.names.claimed(CLAIMS[kind], act)

    @property
    def handled(self) -> frozenset[type[Message]]:
        return frozenset(self._handlers) | {Ack, Acks}

    def admit(self, addr: Addr, now: float) -> tuple[bool, Sequence[Action]]:
        """Whether to decode what just came from `addr`; the actions tell a flooder it is slowed."""
        admitted, warn = self.flood.admit(addr, now)
        if not warn:
            return admitted, ()
        line = f"flood from {fmt(addr)}: slowed ({self.flood.dropped} dropped)"
        key = self._s.feed.key_at(addr)
        notice = Notice(self._s.answers.new_id(), SLOWED)
        return admitted, [Log(line, "flood"), Send(addr, notice, key)]

    def receive(
        self, message: Message, addr: Addr, now: float, **arrival: Unpack[Arrival]
    ) -> list[Action]:
        return self.receive_all((message,), addr, now, **arrival)

    def receive_all(
        self, messages: Sequence[Message], addr: Addr, now: float, **arrival: Unpack[Arrival]
    ) -> list[Action]:
        """The `messages` of one datagram from `addr`, in order; an ack needs no Request."""
        return self.receive_datagrams([(messages, addr, arrival.get("key", b""))], now, **arrival)

    def receive_datagrams(
        self,
        datagrams: Sequence[tuple[Sequence[Message], Any, bytes]],
        now: float,
        **arrival: Unpack[Arrival],
    ) -> list[Action]:
        """Datagrams read together, each (its messages, from: an Addr as given, sealed by key)
        as `receive_all` takes one; the relays they end are told once, at the end."""
        datagram, behind = arrival.get("datagram", False), arrival.get("behind", 0.0)
        actions: list[Action] = []
        emit = actions.append
        for messages, addr, key in datagrams:
            asker = key_text(key) if key else ""
            for message in messages:
                if type(message) is Acks:  # (exact types, as for SENT_AGAIN)
                    self._acked(message.replies, addr, now, emit)
                elif type(message) is Ack:
                    self._acked((message.reply_to,), addr, now, emit)
                elif type(message) in SENT_AGAIN and self._news.holds_back(addr, asker, now, emit):
                    pass  # sent again once told, after what the peer sent before it, in order
                elif (handler := self._handlers.get(type(message))) is not None:
                    handler(message, Request(message.id, addr, asker, datagram, behind), now, emit)
                else:
                    emit(Log(f"ignored {type(message).__name__} from {fmt(addr)}", "ignored"))
            self._liveness.heard(addr, asker, now)  # once a datagram: its messages share `now`
        self._posts.over(emit)
        return actions

    def start(self, now: float) -> list[Action]:
        """The registry starts: its peers are told (Restarted)."""
        self._liveness.start(now)
        actions: list[Action] = []
        emit = actions.append
        self._post.start(emit)
        self._news.tell(self.table.online(), now, emit)
        if self.table.unpushed:  # held back as it stopped
            self._s.feed.push_changes(now, emit)
        self._rooms.restart(now, emit)
        return actions + self.tick(now)

    def tick(self, now: float, behind: float = 0.0) -> list[Action]:
        """Time passed. `behind`: as in Arrival (no silence counts then)."""
        actions: list[Action] = []
        emit = actions.append
        if self._liveness.sweep_due(now):
            self._liveness.sweep(now, emit, behind)
            self._s.names.expire(now)
            for record, why in sweep(self.table.records, self._s.wall(now), self._forget, emit):
                actions += self.release_name(record.name, now, why)
        flush_at = self._s.feed.flush_at
        if flush_at is not None and now >= flush_at:
            self._s.feed.push_changes(now, emit)
        # probes first: a peer found gone takes what is pushed to it along, not sent again
        probes_failed = self._liveness.due(now, emit)
        for probe in probes_failed:  # offline; the registrations that waited go on
            gone, waiting = self._liveness.failed(probe, now, emit, behind)
            if gone is not None:
                self._presence.silent(gone, now, emit)
            for msg, req in waiting:
                self.registration.register(msg, req, now, emit)
        failed = self._pushes.retry(now, emit)
        self._posts.failed(failed, now, emit)
        self._s.watch.due(now, emit)
        if self._rooms.replaying and (failed or probes_failed):
            self._rooms.replays_over()
        self._posts.over(emit)
        return actions

    def password_checked(
        self, ticket: str, outcome: Challenge | bool | None, now: float
    ) -> list[Action]:
        """CheckPassword `ticket` gave `outcome` (None: it failed)."""
        actions: list[Action] = []
        emit = actions.append
        self.registration.checked(ticket, outcome, now, emit)
        self._posts.over(emit)
        return actions

    def release_name(self, name: str, now: float, why: str = "") -> list[Action]:
        """Take `name` out, with its mailbox, room and former names; `why` it is forgotten
        ("": the console released it)."""
        actions: list[Action] = []
        emit = actions.append
        record = self.table.get(name)
        if record is None:
            emit(Log(f"no name {name} to release"))
            return actions
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
        return actions

    @property
    def registries(self) -> tuple[str, ...]:
        """Where peers reach the registries of this one's service ("ip:port")."""
        return self._s.registries

    @registries.setter
    def registries(self, registries: tuple[str, ...]) -> None:
        self._s.registries = registries

    def new_registries(self, registries: tuple[str, ...], now: float) -> list[Action]:
        """The service's registries are now `registries`: each peer online is told."""
        self._s.registries = registries
        actions: list[Action] = []
        self._news.tell(self.table.online(), now, actions.append)
        return actions

    def heard_elsewhere(self, heard: Sequence[tuple[Addr, bytes]], now: float) -> list[Action]:
        """Another registry of the service heard each of `heard`: those peers run."""
        for addr, key in heard:
            if key:
                self._liveness.heard(addr, key_text(key), now)
        return []

    def hand_over(self, there: Container[Addr], sealed: Callable[[Addr], bool]) -> None:
        """Another registry of the service delivers the table updates to `there`;
        `sealed(addr)`: whether a session with the peer at `addr` is held."""
        self._s.watch.handed_over = there
        self._news.reached = lambda addr: addr in there or sealed(addr)

    def pending_pushes(self) -> int:
        return sum(self._pushes.counts()) + len(self._s.watch.in_flight)

    def next_wake(self) -> float | None:
        wakes = (
            self._pushes.next_wake(),
            self._s.watch.in_flight.next_wake(),
            self._liveness.next_wake(),
            self._s.feed.flush_at,
        )
        return min((at for at in wakes if at is not None), default=None)

    def _acked(self, replies: Sequence[str], addr: Any, now: float, emit: Emit) -> None:
        _, answered = self._pushes.clear_acked(replies, addr, now)
        if len(answered) < len(replies):
            self._liveness.acked(replies, addr, now, emit)
            self._s.feed.acked(replies, addr, now, emit)
        for flight in answered:  # a relay's acks concern its pushes alone
            if flight.purpose != "relay":
                self._rooms.acked(addr, answered)
                self._news.acked(addr, answered, now, emit)
                self._posts.delivered(answered, now, emit)
                return


def came_back(record: Record) -> bool:
    """Whether `record`'s owner came back a day after making it (not stamped: yes)."""
    return not record.made or record.used - record.made >= COME_BACK


def sweep(
    records: dict[str, Record], wall: float, bounds: tuple[float, int], emit: Emit
) -> list[tuple[Record, str]]:
    """Stamp the online names of `records` as used at time of day `wall`; the names to
    release, each with why, by `bounds` (`RegistryCore._forget`)."""
    stamped = []
    for key, record in records.items():
        if (record.online and wall - record.used >= USED_EVERY) or not record.used:
            record.used = wall
            stamped.append(key)
    if stamped:
        emit(SaveTable(tuple(stamped)))
    after, newcomer_names = bounds
    why = f"unused for {counted(int(after // DAY), 'day') if after >= DAY else f'{after:g} s'}"
    offline = [record for record in records.values() if not record.online]
    unused = [record for record in offline if wall - record.used >= after]
    newcomers = [one for one in offline if wall - one.used < after and not came_back(one)]
    return [(record, why) for record in unused] + list(_newcomers_over(newcomers, newcomer_names))


def _newcomers_over(newcomers: list[Record], bound: int) -> Iterator[tuple[Record, str]]:
    """Those of `newcomers` over `bound`: of the address holding the most, oldest first."""
    over = len(newcomers) - bound
    if over <= 0:
        return
    by_ip: dict[str, list[Record]] = {}
    for record in newcomers:
        by_ip.setdefault(record.ip, []).append(record)
    for records in by_ip.values():
        records.sort(key=lambda r: r.made)  # (of one second, the table's order)
        records.reverse()  # the oldest last, to pop
    # the address holding the most left first (of those tied, the least in order)
    heap = [(-len(records), ip) for ip, records in by_ip.items()]
    heapq.heapify(heap)
    why = (
        f"one of more than {counted(bound, 'name')} whose owner never "
        "came back, from the address that registered the most"
    )
    for _ in range(over):
        _, ip = heapq.heappop(heap)
        records = by_ip[ip]
        yield records.pop(), why
        if records:
            heapq.heappush(heap, (-len(records), ip))
