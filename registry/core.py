"""The registry's protocol logic, sans-IO.

`RegistryCore` takes events (a message arrived from an address, time passed) together with
`now` (seconds on a monotonic clock, supplied by the caller) and returns actions
(registry.actions) for its adapter to carry out in order. It never touches sockets, files
or the clock, so every rule of DESIGN.md sections 4 and 7 can be tested with a fake clock
and a simulated network.

What is one thing of its own lives in the objects it owns, and the core keeps the decisions:
the table's pending changes (registry/table_changes.py), the pushes awaiting acks
(registry/pushes.py), the mailboxes (registry/mailboxes.py), the rooms (registry/rooms.py),
the budgets (registry/flood.py); secrets are checked by registry/credentials.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import random
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

import msgspec

from registry import mailbox
from registry.actions import (
    Action,
    Addr,
    DropHistory,
    KeepHistory,
    KeepOwner,
    Log,
    SaveTable,
    Send,
    SendMany,
)
from registry.credentials import (
    TOKEN_HASH,
    check_password,
    hash_password,
    token_hash,
    token_matches,
)
from registry.flood import NEW_NAMES, FloodGate, NameBudget, PasswordBudget
from registry.mailboxes import Mailboxes, stamp
from registry.owners import Owner, rebuild
from registry.pushes import Flight, Push, Pushes
from registry.quotas import NO_ORIGIN, Origin, Quotas
from registry.rooms import MAX_ROOMS, Room, Rooms
from registry.table import Record, Table
from registry.table_changes import TableChanges
from wire.codec import record_size, travels_by_stream
from wire.keys import key_from_text, key_text
from wire.limits import MAX_DATAGRAM, MAX_FAREWELL, MAX_SEALED, MAX_TEXT
from wire.messages import (
    OFFLINE_REFUSAL,
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
    is_token,
    replaced_refusal,
    unknown_name,
)
from wire.names import name_key, name_problem
from wire.refusals import RefusalCode
from wire.reliable import ATTEMPTS, TIMEOUT, IdMaker, Retransmitter
from wire.version import WIRE_VERSION, wire_refusal
from wire.words import counted

#: How many finished save and channel ids are remembered, to answer late retransmissions
#: without storing or relaying the message a second time.
RECENT_IDS = 10_000

#: Seconds between the keepalives peers send (their --keepalive must match).
KEEPALIVE = 10.0
#: Keepalive periods of silence after which a peer counts as gone.
SILENT_PERIODS = 3
#: Keepalive periods nobody is judged silent after the registry was away (it started, or
#: its sweep came late: it was stopped or starved): peers that found it away probe it on a
#: backoff, up to one probe every 4 periods (peer.registry_watch.PROBE_BACKOFF), and their silence
#: meanwhile was the registry's, not theirs.
AWAY_GRACE_PERIODS = 5

#: The name no peer may take: `server:who` and `server:exit` are commands, and the lines
#: about the registry call it Server.
SERVER_NAME = "server"
SERVER_NAME_TAKEN = (
    "The name server is the registry's: server:who and server:exit are commands. "
    "Choose another name."
)

#: Seconds a renamed peer's old name still leads to it, so that what was on its way to the
#: old name (a direct message saved at the registry, the peer's own retransmissions) is not
#: lost. Covers every retry and outcome wait several times over.
RENAME_GRACE = 300.0

#: Rows past which a Welcome cannot fit a datagram: each row takes at least as many bytes
#: as the shortest one a table can hold (a one-letter name, no IP, a one-digit port).
#: Seconds the registry may be behind what arrives (net.endpoint.Endpoint.behind) before a
#: registration is answered Busy rather than carried out: a retry's worth, after which the
#: peer would be asking again already. What it asks to wait, and how often it says so.
BUSY_AFTER = 0.5
BUSY_WAIT_MIN = 1.0
BUSY_WAIT_MAX = 10.0
BUSY_LOG_EVERY = 5.0
_WELCOME_ROWS = MAX_DATAGRAM // (record_size(Entry("a", "", 1, True)) + 1)

#: Most names listed in the line a peer sees on joining a room.
JOIN_NAMES_SHOWN = 10
#: Copies of a liveness probe (see `RegistryCore._probe`) sent in all, TIMEOUT apart: the
#: holder of a name another start asks for is judged within 1.5 s, well inside the 2.5 s a
#: start waits for the answer to its registration.
PROBE_ATTEMPTS = 3
#: Registrations refused for too many password attempts are logged one in this many.
LOG_PASSWORDS_EVERY = 100

#: The purposes of pushes a peer is probed for when they go unacked (registry/pushes.py):
#: a channel message, a direct message the registry delivers itself, a room line or notice.
RELAYED = frozenset(("relay", "probe", "room"))

#: How far a restarted registry moves its table version ahead (see __init__).
RESTART_JUMP = 1000

V = TypeVar("V")


@dataclasses.dataclass(slots=True)
class Probe:
    """A liveness probe (`ping`, sent first at `since`) in flight to the peer holding the
    name keyed `owner` at `addr`, and the registrations of another start of that name
    waiting for its outcome, by id (each with the address its answer goes to)."""

    owner: str
    addr: Addr
    ping: TableUpdate
    since: float
    # registrations waiting for the probe: each with where it came from and its sender's key
    waiting: dict[str, tuple[Register, Addr, str]] = dataclasses.field(default_factory=dict)


class RegistryCore:
    """The table, the mailboxes and the relays of one registry."""

    def __init__(
        self,
        *,
        session: str,
        new_token: Callable[[], str],
        table: Table | None = None,
        mail: dict[str, list[StoredMessage]] | None = None,
        histories: Mapping[str, Sequence[RoomMessage]] | None = None,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        keepalive: float = KEEPALIVE,
        mailbox_limit: int = mailbox.MAILBOX_MESSAGES,
        new_names: int = NEW_NAMES,
        quotas: Quotas | None = None,
        owners: Mapping[str, Owner] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """`session` prefixes this registry's message ids; `new_token` makes secret tokens;
        `table`, `mail` and the rooms' `histories` (by room key) are what the adapter
        loaded from disk; a peer silent for SILENT_PERIODS x `keepalive` seconds is marked
        offline; a mailbox holds at most `mailbox_limit` messages (registry/mailbox.py);
        one IP address registers at most `new_names` new names an hour (registry/flood.py);
        one sender takes no more of the mailboxes than `quotas` allow (registry/quotas.py);
        `owners` are what each mailbox kept of its owner (registry/owners.py): a mailbox
        whose name the table lacks gets its row back from it; `jitter` gives a number in
        [0, 1) that spreads the waits asked of busy registrations (see BUSY_AFTER)."""
        self._jitter = jitter
        self._busy_said = float("-inf")  # when being busy was last logged
        #: Registrations answered Busy (see BUSY_AFTER), for the console's `stats`.
        self.busy_answers = 0
        self.table = table if table is not None else Table()
        mail = mail if mail is not None else {}
        # what each mailbox keeps of its owner, as last written
        self._owners: dict[str, Owner] = dict(owners or {})
        rebuilt, unclaimed = rebuild(self.table.records, set(mail), self._owners)
        # said on the console at `start`, and the table saved with the rows rebuilt
        self._rebuilt: list[Action] = []
        if rebuilt:
            line = (
                f"the table had no row for {counted(len(rebuilt), 'name')} with a mailbox "
                f"({', '.join(rebuilt[:10])}{', ...' if len(rebuilt) > 10 else ''}): rebuilt "
                "from their mailboxes, offline, each kept for its owner's key"
            )
            self._rebuilt.append(Log(line))
        if unclaimed:
            line = (
                f"the table had no row for {counted(len(unclaimed), 'name')} whose mailbox "
                f"records no owner ({', '.join(unclaimed[:10])}"
                f"{', ...' if len(unclaimed) > 10 else ''}): nobody can take them; the "
                "console's release gives one away, with its mail"
            )
            self._rebuilt.append(Log(line))
        if self._rebuilt:
            self._rebuilt.append(SaveTable())
        if table is not None and table.records:
            # Restarted: jump ahead, so that every peer sees a gap and fetches a snapshot,
            # whatever it was told before the stop that may not have reached the disk.
            self.table.version += RESTART_JUMP
        self._new_id = IdMaker(session)
        self._mailboxes = Mailboxes(mail, mailbox_limit, self._new_id, self._origin_of, quotas)
        self._new_token = new_token
        self._pushes = Pushes(timeout, attempts, streamed=travels_by_stream)
        self._retry_span = timeout * attempts  # from a push's first copy to its give-up
        # liveness probes in flight, by the probe's message id; and that id by owner key
        self._probes: Retransmitter[Probe] = Retransmitter(timeout, min(attempts, PROBE_ATTEMPTS))
        self._probing_owner: dict[str, str] = {}
        # names whose peer answered a probe after a silence (logged once each: see `_sweep`)
        self._slow_keepalive: set[str] = set()
        self._push_seq = itertools.count()
        # save id -> the push probing the recipient, while a save is in progress
        self._probing: dict[str, SaveMessage] = {}
        # ids of saves already handled -> outcome (for late copies)
        self._done_saves: OrderedDict[str, Saved] = OrderedDict()
        # ids of channel and room posts already handled -> whether their relay has ended
        self._done_posts: OrderedDict[str, bool] = OrderedDict()
        # channel or room post id -> its sender's name, while its relay goes on (see
        # _relays_over)
        self._relaying: dict[str, str] = {}
        # members whose room's history is being replayed to them (Record.replaying), by the
        # address it is pushed to: the member, and the ids of the lines not acked yet
        self._replays: dict[Addr, tuple[Record, set[str]]] = {}
        # ids of joins, leaves and renames done: a late copy is only acked
        self._done_room: OrderedDict[str, None] = OrderedDict()
        # who is in which room, as the table file kept it, and what was said there last
        self.rooms = Rooms.restore(self.table.records.values())
        # and the histories of rooms nobody is in, set aside for when they are made again,
        # the one said in longest ago first (first forgotten beyond KEPT_EMPTIED)
        emptied = []
        for key, history in (histories or {}).items():
            room = self.rooms.rooms.get(key)
            if room is not None:
                room.read_back(history)
            elif history:
                emptied.append((history[-1].stamp, key, history))
        for _, key, history in sorted(emptied):
            self.rooms.set_aside(key, history)
        # histories on disk no longer kept: forgotten at `start`
        self._gone_histories = self.rooms.forgotten()
        # old name key -> (new name key, until when): see RENAME_GRACE
        self._aliases: dict[str, tuple[str, float]] = {}
        self.keepalive = keepalive
        #: Seconds from `now` to the time of day, for the stamps of the messages kept (shown
        #: to people, and read back after a restart, when `now` starts again): the adapter,
        #: whose `now` is monotonic, sets it with every event, as the wall clock may be
        #: stepped meanwhile (NTP). 0 for a caller whose `now` is the time of day.
        self.wall_offset = 0.0
        self._next_sweep: float | None = None
        self._judge_from = float("-inf")  # no peer is marked silent before (AWAY_GRACE_PERIODS)
        self.flood = FloodGate()
        self.passwords = PasswordBudget()
        self.names = NameBudget(new_names)
        self._changes = TableChanges(self.table)
        # registration id -> the token its Welcome gave (the registry keeps only hashes)
        self._given_tokens: OrderedDict[str, str] = OrderedDict()
        # the public key (net.keys.key_text) the message being received came with: what
        # proves who sent it ("" outside `receive`, and from a test's keyless sender)
        self._key = ""

    # -- the two entry points -----------------------------------------------------------

    def admit(self, addr: Addr, now: float) -> tuple[bool, list[Action]]:
        """Flood control: whether to handle what just came from `addr`, asked before it is
        even decoded, so that a flood costs as little as possible; the actions tell a
        flooding sender (at most once every few seconds) that it is being slowed."""
        out: list[Action] = []
        admitted, warn = self.flood.admit(addr, now)
        if warn:
            out.append(Log(f"flood from {_fmt(addr)}: slowed ({self.flood.dropped} dropped)"))
            # nothing is lost: a peer sends again what is not answered (5 tries, then its
            # outbox); "dropping your messages" read as lost, after a script's 1000 saves
            text = (
                "You are sending too fast: the registry is slowing you down, and what it"
                " drops is sent again."
            )
            out.append(Send(addr, Notice(self._new_id(), text)))
        return admitted, out

    def receive(
        self,
        message: Message,
        addr: Addr,
        now: float,
        *,
        datagram: bool = False,
        key: bytes = b"",
        behind: float = 0.0,
    ) -> list[Action]:
        """A message arrived from `addr` (a datagram's source, or a TCP connection's peer),
        sent by the public `key` (the secure channel opened it with that key), and `admit`
        let it in. The key, not the address, says who sent it: it owns the names bound to
        it. `datagram`: it came in a datagram, so its answer is to fit one (a registration
        whose Welcome cannot fit is answered TooBig before anything is done). `behind`:
        how many seconds the registry has been behind what arrives (see BUSY_AFTER)."""
        self._key = key_text(key) if key else ""
        out: list[Action] = []
        match message:
            # acks first: a relay brings one back from every member
            case Acks():
                self._acked(message.replies, addr, now, out)
            case Ack():
                self._acked((message.reply_to,), addr, now, out)
            case Register() if behind >= BUSY_AFTER and not self._welcomed(message):
                self._busy(message, addr, behind, now, out)
            case Register() if datagram and self._welcome_by_stream():
                # Asked again over TCP, where it is carried out and answered: a Welcome too
                # big for a datagram. Registered now, the peer would be pushed every table
                # change before it has the table they change (in a join storm, most of what
                # the peers read). (A datagram's source address is no longer in doubt: the
                # secure channel's handshake answered it before any message came.)
                out.append(Send(addr, TooBig(self._new_id(), message.id)))
            case Register():
                self._register(message, addr, now, out)
            case Deregister():
                self._deregister(message, addr, now, out)
            case Keepalive():
                self._keepalive(message, addr, now, out)
            case SaveMessage():
                self._save(message, addr, now, out)
            case ChannelPost():
                self._channel(message, addr, now, out)
            case MailTaken():
                self._mail_taken(message, addr, out)
            case TableRequest():
                out.append(Send(addr, self._snapshot(message.id)))
            case Join():
                self._join(message, addr, now, out)
            case Leave():
                self._leave(message, addr, now, out)
            case RoomPost():
                self._room_post(message, addr, now, out)
            case RoomsRequest():
                rows = self.rooms.listing()
                names, counts = tuple(n for n, _ in rows), tuple(c for _, c in rows)
                out.append(Send(addr, RoomList(self._new_id(), message.id, names, counts)))
            case Rename():
                self._rename(message, addr, now, out)
            case Refused():
                self._push_refused(message, addr, now, out)
            case _:
                out.append(Log(f"ignored {type(message).__name__} from {_fmt(addr)}"))
        self._heard(addr, now)
        if self._relaying:
            self._relays_over(out)
        return out

    def start(self, now: float) -> list[Action]:
        """The registry starts: the peers of a table read from disk are swept for from
        now on (a registration starts the sweeps too), once they have had
        AWAY_GRACE_PERIODS to find that it is back. Each peer it counts online is told
        (Restarted), so that what it kept meanwhile comes at once; one it was replaying a
        room's history to when it stopped (Record.replaying) is replayed it again."""
        self._judge_from = now + AWAY_GRACE_PERIODS * self.keepalive
        out: list[Action] = [*self._rebuilt, *(DropHistory(key) for key in self._gone_histories)]
        self._rebuilt = []
        self._gone_histories = []
        # pushed, acked and sent again as a table change is: a peer that missed it would
        # find the registry back only at its next keepalive
        self._pushes_to(self.table.online(), Restarted(self._new_id()), "table", now, out)
        for record in self.table.online():
            room = self.rooms.of(record)
            if record.replaying and room is not None:
                # killed while replaying its room's history to it: a line lost on the way
                # then is sent again by nobody else. Up to the newest line replayed then:
                # the lines said since were relayed to it, each asked again by its sender.
                lines = room.upto(record.replaying)
                if lines:
                    line = f"replaying {room.name}'s history to {record.name} again (in case"
                    out.append(Log(f"{line} the stop cut its replay short)"))
                self._replay_history(record, room, now, out, lines)
        return out + self.tick(now)

    def tick(self, now: float) -> list[Action]:
        """Time passed: resend unacknowledged pushes, and act on those that gave up."""
        out: list[Action] = []
        if self._next_sweep is None or now >= self._next_sweep:
            self._sweep(now, out)
        flush_at = self._changes.flush_at
        if flush_at is not None and now >= flush_at:
            self._push_changes(now, out)
        # probes first: a peer found gone takes what is pushed to it along, not sent again
        probes_again, probes_failed = self._probes.due(now)
        for probe in probes_again:
            out.append(Send(probe.addr, probe.ping))
        for probe in probes_failed:
            self._probe_failed(probe, now, out)
        again, failed, released = self._pushes.due(now)
        for addrs, message in again:
            out.append(_send(addrs, message))
        for push in released:
            out.append(Send(push.addr, push.message))
        self._fail_in_order(failed, now, out)
        if self._replays and (failed or probes_failed):
            self._replays_over()
        if self._relaying:
            self._relays_over(out)
        return out

    @property
    def mail(self) -> dict[str, list[StoredMessage]]:
        """The stored messages by their owner's name key, oldest first: the mailboxes' own
        (registry/mailboxes.py), for the console and tests to read."""
        return self._mailboxes.boxes

    def key_at(self, addr: Addr) -> bytes | None:
        """The public key of the online peer at `addr`: whom what is sent there is for."""
        for record in self._changes.online_at(addr):
            if record.key:
                return key_from_text(record.key)
        return None

    def pending_pushes(self) -> int:
        """How many pushes (table changes, relays, notices, mail) wait for a peer's ack:
        sent and unanswered, or queued behind those to the same peer. Read-only; for the
        console, benchmarks and tests that wait for the registry to settle."""
        return self._pushes.in_flight() + self._pushes.queued()

    def changes_held(self) -> bool:
        """Whether table changes are being held back to go out together (COALESCE) and
        have not been pushed yet. Read-only, like `pending_pushes`."""
        return self._changes.flush_at is not None

    def next_wake(self) -> float | None:
        """When `tick` next has work, or None."""
        wake = self._pushes.next_wake()
        for at in (self._next_sweep, self._changes.flush_at, self._probes.next_wake()):
            if at is not None and (wake is None or at < wake):
                wake = at
        return wake

    def _sweep(self, now: float, out: list[Action]) -> None:
        """Mark offline every online peer silent for too long (it stopped without dereg)."""
        if self._next_sweep is not None and now - self._next_sweep > self.keepalive:
            # A period late: the registry was stopped or starved. Their keepalives may be
            # waiting to be read, and their probes backed off while it did not answer.
            self._judge_from = max(self._judge_from, now + AWAY_GRACE_PERIODS * self.keepalive)
        self._next_sweep = now + self.keepalive
        limit = now - SILENT_PERIODS * self.keepalive
        for record in self.table.online() if now >= self._judge_from else ():
            if record.last_seen < limit:
                # Asked before it is marked offline: a peer whose --keepalive is longer
                # than ours is silent that long between keepalives, yet running. Marked
                # offline at once, it came back at its next keepalive, and so on every
                # period, with nothing said to anyone.
                self._probe(record, now, out)
        for old, (_, until) in list(self._aliases.items()):
            if until <= now:
                del self._aliases[old]

    # -- liveness probes ----------------------------------------------------------------

    def _probe(
        self,
        record: Record,
        now: float,
        out: list[Action],
        register: tuple[Register, Addr, str] | None = None,
        since: float | None = None,
    ) -> None:
        """Ask the peer of `record` whether it still runs, before the registry acts as if
        it did not (marks it offline, or gives its name to another start): one ping,
        TIMEOUT apart and PROBE_ATTEMPTS times at most, which any peer acks and ignores
        (a TableUpdate of version 0 and no rows: every peer has a later version). Its
        outcome decides `register`, a registration waiting for it, if given. The peer
        counts as running if heard from after `since` (by default, now: the probe's
        start). One probe per name at a time: a second asker waits for the same one."""
        key = name_key(record.name)
        probe_id = self._probing_owner.get(key)
        probe = self._probes.get(probe_id) if probe_id is not None else None
        if probe is None or probe.addr != record.addr:
            ping = TableUpdate(self._new_id(), 0, ())
            probe = Probe(key, record.addr, ping, now if since is None else since)
            self._probes.start(ping.id, probe, now)
            self._probing_owner[key] = ping.id
            out.append(Send(record.addr, ping))
        if register is not None:
            probe.waiting[register[0].id] = register

    def _heard(self, addr: Addr, now: float) -> None:
        """Something came from `addr` with the key of the peer online there: it runs, which
        is all a probe asks (an ack, a keepalive, a line it said: anything counts)."""
        for record in self._changes.online_at(addr):
            if record.key == self._key:
                record.last_seen = now

    def _probe_over(self, probe: Probe) -> Record | None:
        """`probe` is answered or given up: forget it; the record it asked about, if that
        still listens where it was asked."""
        if self._probing_owner.get(probe.owner) == probe.ping.id:
            del self._probing_owner[probe.owner]
        record = self.table.records.get(probe.owner)
        return record if record is not None and record.addr == probe.addr else None

    def _probe_answered(self, probe: Probe, now: float, out: list[Action]) -> None:
        """The probed peer answered: it runs. Registrations of another start that waited
        are refused, saying so."""
        record = self._probe_over(probe)
        if record is None:
            return
        silent, record.last_seen = now - record.last_seen, now
        slow = silent >= SILENT_PERIODS * self.keepalive  # a sweep's probe, not a line's
        if slow and not probe.waiting and record.name not in self._slow_keepalive:
            self._slow_keepalive.add(record.name)  # said once: it would be every period
            out.append(
                Log(
                    f"{record.name} was silent for {silent:.0f} s but answered a probe; kept "
                    f"online (its --keepalive may be longer than this registry's "
                    f"{self.keepalive:g} s)"
                )
            )
        for msg, asker, key in probe.waiting.values():
            reason = (
                f"The name {record.name} is in use by a peer at {_fmt(record.addr)}, which "
                "answered just now. Stop it first, or choose another name."
            )
            what = f"registration of {record.name} from {_fmt(asker)}"
            with self._asked_by(key):
                self._refuse(msg.id, asker, reason, what, out)

    def _probe_failed(self, probe: Probe, now: float, out: list[Action]) -> None:
        """The probed peer did not answer: it is gone, unless it was heard from since the
        probe began (its acks lost, its keepalive not). Gone, it is marked offline (out of
        its room, what was pushed to it in its mailbox), and the registrations that waited
        are carried out: the name is theirs at once."""
        record = self._probe_over(probe)
        if record is not None and record.online and record.last_seen <= probe.since:
            record.online = False
            self._changed(record, now, out)
            silent = now - record.last_seen
            line = f"{record.name} silent for {silent:.0f} s; offline (it did not answer a probe)"
            out.append(Log(line))
            self._leave_room(record, now, out, "not answering")
            self._fail_in_order(list(self._pushes.drop_all(record.addr)), now, out)
        elif record is not None and record.online and probe.waiting:
            self._probe_answered(probe, now, out)
            return
        for msg, asker, key in probe.waiting.values():
            with self._asked_by(key):
                self._register(msg, asker, now, out)

    # -- registration -------------------------------------------------------------------

    def _welcomed(self, msg: Register) -> bool:
        """Whether `msg` is a copy of a registration carried out already (its Welcome was
        lost): answered as ever, busy or not, as it costs no more than its Welcome."""
        record = self.table.get(msg.name)
        return record is not None and record.online and record.last_register_id == msg.id

    def _busy(
        self, msg: Register, addr: Addr, behind: float, now: float, out: list[Action]
    ) -> None:
        """The registry is `behind` seconds behind its input: `msg` is asked to come again
        later (twice as long as the registry is behind, from BUSY_WAIT_MIN to
        BUSY_WAIT_MAX, spread by a quarter either way so that the peers told together do
        not come back together)."""
        self.busy_answers += 1
        wait = min(BUSY_WAIT_MAX, max(BUSY_WAIT_MIN, 2 * behind))
        wait *= 0.75 + 0.5 * self._jitter()
        out.append(Send(addr, Busy(self._new_id(), msg.id, round(wait * 1000)), self._asker()))
        if now - self._busy_said >= BUSY_LOG_EVERY:
            self._busy_said = now
            line = f"{behind:.1f} s behind what arrives: registrations are asked to wait"
            out.append(Log(f"{line} ({msg.name} for {wait:.1f} s)"))

    def _welcome_by_stream(self) -> bool:
        """Whether a Welcome, which holds the whole table, is sure not to fit a datagram.
        Counted, not encoded: a table of fewer rows may not fit either, and is answered
        TooBig by the endpoint once registered, as any answer too big for a datagram."""
        return len(self.table.records) > _WELCOME_ROWS

    def _register(self, msg: Register, addr: Addr, now: float, out: list[Action]) -> None:
        if self._next_sweep is None:  # the first peer to sweep for (see `start`)
            self._next_sweep = now + self.keepalive
        if msg.wire != WIRE_VERSION:
            # checked first: the rest of its messages could not be read here either
            reason = wire_refusal(msg.wire, "peer")
            what = f"registration from {_fmt(addr)}"
            self._refuse(msg.id, addr, reason, what, out, RefusalCode.VERSION)
            return
        problem = name_problem(msg.name)
        if problem is None and not 1 <= msg.port <= 65535:
            problem = f"port {msg.port} is not a valid port"
        if problem:
            self._refuse(msg.id, addr, f"{problem}.", f"registration of {msg.name!r}", out)
            return
        record = self.table.get(msg.name)
        where = (addr[0], msg.port)
        what = f"registration of {msg.name} from {_fmt(addr)}"
        # a name free in the table, but not to be taken: the registry's own, or one given up
        # by a rename a moment ago (a "server" registered before it was kept stays its owner's)
        if record is None and name_key(msg.name) == name_key(SERVER_NAME):
            self._refuse(msg.id, addr, SERVER_NAME_TAKEN, what, out)
            return
        holder = None
        if record is None and msg.token:
            holder = self._lookup(msg.name) or self.table.renamed_from(msg.name)
        if holder is not None and token_matches(msg.token, holder.token):
            # The peer that renamed, started under its old name: its rename was done as
            # it stopped (killed, its terminal closed), so its files still say the old
            # one. It is welcomed under the new name, which its Welcome tells it. Known
            # by the table's former names as long as nobody took the old one, after the
            # alias window and across restarts too: else it would make a second, empty
            # record with the same token, and the mail would stay with the new name.
            what = f"registration of {holder.name} (asked as {msg.name}) from {_fmt(addr)}"
            record = holder
            msg = msgspec.structs.replace(msg, name=holder.name)
        if record is None and (reserved := self._reserved(msg.name, None, now)):
            self._refuse(msg.id, addr, reserved, what, out)
            return
        owned = record is not None and self._owns_without_password(record, msg, where)
        if record is not None and not owned and msg.password and record.password:
            # checked last, as the one costly check, and only so often (see PasswordBudget);
            # never for the owner's key, which `_owns_without_password` let in already
            if self._too_many_passwords(msg, addr, what, now, out, record):
                return
            owned = check_password(msg.password, record.password)
            if not owned:
                self.passwords.wrong(name_key(record.name), now)
        if record is None:
            if self._too_many_names(msg, addr, what, now, out):
                return
            password = ""
            if msg.password:
                if self._too_many_passwords(msg, addr, what, now, out):
                    return
                password = hash_password(msg.password, bytes.fromhex(self._new_token()[:32]))
            # Created offline so that the shared path below announces it like any change.
            # the peer's own token when it proposes one (see Register): it has kept it already
            token = msg.token if is_token(msg.token) else self._new_token()
            kept = token_hash(token)
            record = Record(msg.name, where[0], where[1], False, kept, password, key=self._key)
            self.table.records[name_key(msg.name)] = record
            self._aliases.pop(name_key(msg.name), None)  # the name is someone else's now
            self.table.name_taken(name_key(msg.name))
            out.append(Log(f"registered {msg.name} at {_fmt(where)}"))
        elif not owned:
            # ownership first: what follows (where the holder runs, that waiting helps) is
            # for the owner only
            if record.online:
                reason = f"The name {record.name} is in use by a peer that is online."
            elif msg.password and record.password:
                reason = f"Wrong password for {record.name}."
            else:
                reason = (
                    f"The name {record.name} belongs to someone else; "
                    "only its owner can take it back."
                )
            self._refuse(msg.id, addr, reason, what, out)
            return
        elif record.online and record.addr != where and msg.id != record.last_register_id:
            # The owner's token, but the name is held online at another address: two
            # processes must not share one name, yet one killed a moment ago must not keep
            # it until its silence runs out. The holder is asked (DESIGN.md section 7);
            # the answer to this registration (and its copies) waits for the outcome.
            if name_key(record.name) not in self._probing_owner:
                out.append(Log(f"{what}: asking {record.name} at {_fmt(record.addr)} first"))
            self._probe(record, now, out, (msg, addr, self._key))
            return
        else:
            copy = msg.id == record.last_register_id and record.online and record.addr == where
            if not copy:  # a copy (its Welcome lost, or crossed) is answered, not logged again
                verb = "re-registered" if record.online else "registered again"
                out.append(Log(f"{verb} {record.name} at {_fmt(where)}"))
            if record.deregistered or _restart(msg.id, record.last_register_id):
                # a fresh start of the peer (`reg` after `dereg`, which answered nothing
                # meanwhile, or a new process), which knows of no room. A new process is
                # told by the session its ids carry: the same process registering again (its
                # answer lost five times, or back after the registry gave up on it) knows its
                # room, and acks what is still pushed to it.
                self._leave_room(record, now, out, "restarted")
                self._restarted(record, now, out)
        moved = bool(self._key) and record.key != self._key
        if moved:
            # the token or the password moves the name to a new key (a new machine)
            if record.key:
                out.append(Log(f"{record.name} now has a new key (shown its token or password)"))
            record.key = self._key
        # The token the Welcome gives back: the one the peer holds, when it showed it; else
        # (its key or password proved the name) a new one, which replaces the old. The
        # registry keeps only tokens' hashes, so it cannot give an old one back.
        # A copy of a registration (its Welcome lost) gets the token its first answer gave.
        given = self._given_tokens.get(msg.id, "")
        if token_matches(msg.token, record.token):
            token = msg.token
        elif token_matches(given, record.token):
            token = given
        else:
            token = self._new_token()
        if not record.token.startswith(TOKEN_HASH) or not token_matches(token, record.token):
            record.token = token_hash(token)  # (a token kept in clear by an older table too)
        _remember(self._given_tokens, msg.id, token)
        record.last_register_id = msg.id
        record.last_seen = now
        record.deregistered = False
        if not record.online or record.addr != where or moved:
            self._take_over(where, record, now, out)
            record.online, record.ip, record.port = True, where[0], where[1]
            self._changed(record, now, out)
        self._keep_owner(record, out)
        mail = self._mailboxes.part(record)
        out.append(
            Send(
                addr,
                Welcome(
                    self._new_id(),
                    msg.id,
                    record.name,
                    token,
                    self.table.version,
                    self.table.entries(),
                    mail,
                    self._alias_rows(),
                ),
                self._asker(),
            )
        )

    def _owns_without_password(self, record: Record, msg: Register, where: Addr) -> bool:
        """Whether the sender of `msg` may take `record`: by the key bound to it, by its
        token (moving the name to the sender's key), or as a retransmission from that key
        (the password, costly to check, is the caller's to check after these)."""
        if record.key and self._key == record.key:
            return True
        if token_matches(msg.token, record.token):
            return True
        # a copy of the registration that created the record, its Welcome having been lost:
        # from the same key (a copy's id alone, seen by anyone, proves nothing)
        return (
            msg.id == record.last_register_id and record.addr == where and self._key == record.key
        )

    def _too_many_names(
        self, msg: Register, addr: Addr, what: str, now: float, out: list[Action]
    ) -> bool:
        """Whether `msg` would be one new name too many from its IP address lately (see
        NameBudget); if so, it is refused saying when to try again and that a name one
        has is still taken back. Logged the first time, then once in LOG_PASSWORDS_EVERY:
        a flood of names would fill the log."""
        wait = self.names.take(addr[0], now)
        if not wait:
            return False
        minutes = math.ceil(wait / 60)
        reason = (
            f"Too many new names registered from {addr[0]} lately (at most "
            f"{self.names.per_window} an hour); try again in {minutes} min, or start with a "
            "name you registered before."
        )
        if self.names.refused % LOG_PASSWORDS_EVERY == 1:
            count = self.names.refused
            out.append(Log(f"refused {what}: too many new names ({count} refused so far)"))
        out.append(Send(addr, Refused(self._new_id(), msg.id, reason)))
        return True

    def _too_many_passwords(
        self,
        msg: Register,
        addr: Addr,
        what: str,
        now: float,
        out: list[Action],
        record: Record | None = None,
    ) -> bool:
        """Whether `msg`'s password may not be checked against `record`'s now (or, without
        one, hashed for a new name), as its address, the name, or everyone asked for too
        many lately (see PasswordBudget); if so, it is refused saying when to try again.
        Logged the first time, then once in LOG_PASSWORDS_EVERY: a guesser's flood would
        fill the log."""
        name = name_key(record.name) if record is not None else ""
        wait = self.passwords.take(addr[0], now, name)
        if not wait:
            return False
        reason = f"Too many password attempts; try again in {math.ceil(wait)} s."
        if self.passwords.refused % LOG_PASSWORDS_EVERY == 1:
            count = self.passwords.refused
            out.append(Log(f"refused {what}: {reason} ({count} refused so far)"))
        out.append(Send(addr, Refused(self._new_id(), msg.id, reason)))
        return True

    def _deregister(self, msg: Deregister, addr: Addr, now: float, out: list[Action]) -> None:
        record = self._authorised(msg.name, msg.token, addr, msg.id, "dereg", out, fresh=True)
        if record is None:
            return
        if record.online:
            record.online = False
            record.deregistered = True
            record.last_seen = now
            self._changed(record, now, out)
            out.append(Log(f"deregistered {record.name}"))
            # Room members of someone quitting hear it from the Notice below, once.
            self._leave_room(record, now, out, None if msg.quitting else "")
            if msg.quitting:
                line = f"{record.name} has quit"
                if msg.farewell:
                    # a peer of ours never sends a longer one; what another sends is cut
                    farewell = msg.farewell[:MAX_FAREWELL]
                    line += f" ({farewell}{'…' if farewell != msg.farewell else ''})"
                for other in self.table.online():
                    self._push(other, Notice(self._new_id(), line, record.name), "table", now, out)
        out.append(Send(addr, Ack(self._new_id(), msg.id)))

    def _keepalive(self, msg: Keepalive, addr: Addr, now: float, out: list[Action]) -> None:
        record = self._authorised(msg.name, msg.token, addr, msg.id, "keepalive", out, fresh=True)
        if record is None:
            return
        if not record.online:
            # the registry gave up on this peer; it re-registers with its token on this answer
            out.append(Send(addr, Refused(self._new_id(), msg.id, "You are not registered.")))
            return
        record.last_seen = now
        out.append(Send(addr, Alive(self._new_id(), msg.id, self.table.version)))

    def _mail_taken(self, msg: MailTaken, addr: Addr, out: list[Action]) -> None:
        record = self._authorised(
            msg.name, msg.token, addr, msg.id, "mail hand-over", out, fresh=True
        )
        if record is None:
            return
        self._mailboxes.taken(record, msg.ids, out)
        self._keep_owner(record, out)  # (forgotten with the box, once all is taken)
        rest = self._mailboxes.part(record)
        if rest:
            out.append(Send(addr, MoreMail(self._new_id(), msg.id, rest)))
        else:
            out.append(Send(addr, Ack(self._new_id(), msg.id)))

    def _authorised(
        self,
        name: str,
        token: str,
        addr: Addr,
        reply_to: str,
        what: str,
        out: list[Action],
        *,
        fresh: bool = False,
    ) -> Record | None:
        """The record for `name` if the request came with its owner's key and `token` is its
        token (a record of no key yet, from a table of before keys: from its owner's address).
        A name renamed within RENAME_GRACE still finds its record. A `fresh` request (one a
        peer makes anew in each process, never kept for a later start: a keepalive, dereg,
        join, rename, mail hand-over) must also come from the start that holds the name:
        one from another start is refused with REPLACED_REFUSAL."""
        record = self._lookup(name)
        if record is None and name_key(name) in self.table.former:
            # a name its owner gave up by a rename, asked under it after a restart of this
            # registry (which forgets RENAME_GRACE): the owner's record, if the token says so
            record = self.table.records.get(self.table.former[name_key(name)])
        if record is None:
            what = f"{what} of unknown {name}"
            self._refuse(reply_to, addr, unknown_name(name), what, out, RefusalCode.NAME_UNKNOWN)
            return None
        token_ok = token_matches(token, record.token)
        key_ok = not record.key or self._key == record.key
        if not key_ok and not token_ok:
            self._another_key(name, reply_to, addr, what, out)
            return None
        if not token_ok:
            self._refuse(
                reply_to, addr, "Wrong token for that name.", f"{what} of {name}: wrong token", out
            )
            return None
        if not record.key and addr[0] != record.ip:
            self._refuse(
                reply_to,
                addr,
                "That name is registered from another address.",
                f"{what} of {name} from {_fmt(addr)}: token from another address",
                out,
            )
            return None
        held_by = _session(record.last_register_id)
        if fresh and held_by and _session(reply_to) and _session(reply_to) != held_by:
            # The owner's token, from a start of the peer other than the one that last
            # registered the name (a message id's prefix is its process's session): a start
            # stopped (kill -STOP, a laptop asleep) while another took the name over (from
            # another machine, the name moved to its key). It is told, rather than answered
            # as if it held the name, which left it looking online to itself while
            # everything for the name went to the other. (A kept message, an outbox's,
            # keeps the id of the start that typed it: not checked.)
            code, reason = replaced_refusal(
                record.name,
                _fmt(record.addr),
                online=record.online,
                deregistered=record.deregistered,
            )
            what = f"{what} of {name} from an earlier start"
            self._refuse(reply_to, addr, reason, what, out, code)
            return None
        if not key_ok:  # the token of a start whose name moved to another key since
            self._another_key(name, reply_to, addr, what, out)
            return None
        return record

    def _another_key(
        self, name: str, reply_to: str, addr: Addr, what: str, out: list[Action]
    ) -> None:
        """Refuse a request for `name` that came with a key not the name's."""
        reason = "That name belongs to another key."
        self._refuse(
            reply_to, addr, reason, f"{what} of {name} from {_fmt(addr)}: another key", out
        )

    # -- direct messages the sender could not deliver -----------------------------------

    def _save(self, msg: SaveMessage, addr: Addr, now: float, out: list[Action]) -> None:
        sender = self._authorised(msg.sender, msg.token, addr, msg.id, "save", out)
        if sender is None:
            return
        done = self._done_saves.get(msg.id)
        if done is not None:  # a late copy: answer again, store nothing twice
            self._push(sender, done, "outcome", now, out)
            return
        if msg.id in self._probing:
            out.append(Send(addr, Ack(self._new_id(), msg.id)))
            return
        recipient = self._lookup(msg.to)
        if recipient is None:
            self._refuse(msg.id, addr, unknown_name(msg.to), f"save for unknown {msg.to}", out)
            return
        if len(msg.text.encode()) > MAX_SEALED:  # sealed: the registry cannot read it
            self._refuse(msg.id, addr, "Message too long.", f"save from {sender.name}", out)
            return
        if msg.key and recipient.key and msg.key != recipient.key:
            # Sealed to a key the recipient no longer has (its name moved to a new machine a
            # moment ago): it could not open it. Not taken: the sender is sent the table
            # now, and its next try, sealed anew, is.
            what = f"save from {sender.name} for {recipient.name}: sealed to its former key"
            out.append(Log(f"{what}; sent the table"))
            out.append(Send(addr, self._snapshot("")))
            return
        if recipient.online:
            # It may still be alive: deliver it ourselves; the probe's outcome decides.
            self._probing[msg.id] = msg
            # under the name it was sent as (see `_channel`): the recipient shows it once
            chat = Chat(msg.id, msg.sender, recipient.name, msg.text)
            self._push(recipient, chat, "probe", now, out)
            out.append(Send(addr, Ack(self._new_id(), msg.id)))
            out.append(Log(f"probing {recipient.name} for a message from {sender.name}"))
            return
        origin = (self._key, addr[0])
        reason = self._store(recipient, msg.id, msg.sender, msg.text, "direct", now, out, origin)
        if reason:
            self._refuse(msg.id, addr, reason, f"save from {sender.name} for {msg.to}", out)
            return
        out.append(Send(addr, Ack(self._new_id(), msg.id)))
        self._finish_save(msg, sender, delivered=False, now=now, out=out)

    def _finish_save(
        self,
        msg: SaveMessage,
        sender: Record,
        *,
        delivered: bool,
        now: float,
        out: list[Action],
        refused: str = "",
    ) -> None:
        """Tell the sender of `msg` what became of it (and remember that, for late copies)."""
        outcome = Saved(self._new_id(), msg.id, msg.to, delivered, refused)
        _remember(self._done_saves, msg.id, outcome)
        self._push(sender, outcome, "outcome", now, out)

    # -- the channel --------------------------------------------------------------------

    def _channel(self, msg: ChannelPost, addr: Addr, now: float, out: list[Action]) -> None:
        sender = self._authorised(msg.sender, msg.token, addr, msg.id, "send_all", out)
        if sender is None:
            return
        relayed = self._done_posts.get(msg.id)
        if relayed is None:
            if len(msg.text.encode()) > MAX_TEXT:
                self._refuse(msg.id, addr, "Message too long.", f"send_all from {sender.name}", out)
                return
            self._relay_started(msg.id, sender)
            # under the name it was sent as: every copy of it (relayed again by a registry
            # restarted after a rename, say) names the same sender, so members show it once
            relay = ChannelMessage(msg.id, msg.sender, msg.text)
            roster = self._changes.roster()
            keys, addrs = roster.online_but(name_key(sender.name))
            origin = (self._key, addr[0])
            for record in roster.offline:
                if record is not sender:
                    self._store(record, msg.id, msg.sender, msg.text, "channel", now, out, origin)
            seq = next(self._push_seq)
            if roster.distinct:
                sent = self._pushes.add_many(relay, "relay", keys, addrs, now, seq)
            else:
                sent = self._pushes.add(relay, "relay", zip(keys, addrs, strict=True), now, seq)
            if sent:
                out.append(_send(sent, relay))
            out.append(Log(f"channel message from {sender.name} relayed to {len(addrs)} online"))
        self._post_answered(msg.id, bool(relayed), addr, out)

    def _relay_started(self, post_id: str, sender: Record) -> None:
        """Channel or room post `post_id` is taken, and relayed from now: its copies are
        acked, and its sender told once the relay is over (`_relays_over`)."""
        _remember(self._done_posts, post_id, False)
        self._relaying[post_id] = sender.name
        self._pushes.watch(post_id)

    def _post_answered(self, post_id: str, relayed: bool, addr: Addr, out: list[Action]) -> None:
        """Ack post `post_id`; a copy of one whose relay is over (its sender asked again: the
        outcome was lost, or late) is told that again too."""
        out.append(Send(addr, Ack(self._new_id(), post_id)))
        if relayed:
            out.append(Send(addr, Relayed(self._new_id(), post_id)))

    def _relays_over(self, out: list[Action]) -> None:
        """Tell the sender of each channel or room post whose relay has ended (every member
        acked, or has it in its mailbox, or is gone) that it has: until then it keeps the
        post. After the mailbox writes in `out`, so that it leaves once they are on disk.
        Sent once, not pushed: a sender that misses it asks again (the post, deduped), and a
        sender's acks of thousands of outcomes would count against its flood gate. Sent to
        a sender gone offline too: one that deregistered still runs, and waits for it."""
        for post_id in self._pushes.ended():
            name = self._relaying.pop(post_id, None)
            if name is None:
                continue
            sender = self._lookup(name)
            if post_id in self._done_posts:
                self._done_posts[post_id] = True
            if sender is not None:
                out.append(Send(sender.addr, Relayed(self._new_id(), post_id)))

    # -- pushes and their acks ----------------------------------------------------------

    def _push(
        self, record: Record, message: Message, purpose: str, now: float, out: list[Action]
    ) -> None:
        self._pushes_to((record,), message, purpose, now, out)

    def _pushes_to(
        self,
        records: Iterable[Record],
        message: Message,
        purpose: str,
        now: float,
        out: list[Action],
    ) -> None:
        targets = [(name_key(r.name), r.addr) for r in records]
        self._push_to(targets, message, purpose, now, out)

    def _push_to(
        self,
        targets: list[tuple[str, Addr]],
        message: Message,
        purpose: str,
        now: float,
        out: list[Action],
    ) -> None:
        """Push `message` to each (owner's name key, address) and track the acks."""
        addrs = self._pushes.add(message, purpose, targets, now, next(self._push_seq))
        if addrs:
            out.append(_send(addrs, message))

    def _acked(self, replies: Sequence[str], addr: Addr, now: float, out: list[Action]) -> None:
        """`addr` acked each of `replies` (one Ack, or one Acks for a datagram of pushes)."""
        if self._probing_owner:
            for reply in replies:
                probe = self._probes.get(reply)
                if probe is not None and probe.addr[0] == addr[0]:
                    self._probes.answer(reply)
                    self._probe_answered(probe, now, out)
        answered, released = self._pushes.answer(replies, addr, now)
        for waiting in released:
            out.append(Send(waiting.addr, waiting.message))
        if self._replays and answered and addr in self._replays:
            self._replay_acked(addr, answered)
        heard = ""
        for flight, owner in answered:
            if owner != heard:  # a datagram's acks are all from one owner, but for a rename
                heard = owner
                record = self._owner(owner)
                if record is not None:
                    record.last_seen = now
            if flight.purpose == "probe":
                save = self._probing.pop(flight.message.id, None)
                sender = self.table.get(save.sender) if save else None
                if save and sender:
                    out.append(Log(f"delivered message from {save.sender} to {save.to} itself"))
                    self._finish_save(save, sender, delivered=True, now=now, out=out)

    def _push_refused(self, refusal: Refused, addr: Addr, now: float, out: list[Action]) -> None:
        """`addr` refused a push: it cannot read it (another version of ChatApp). The peer is
        alive, and retrying cannot help: the push is undelivered at once (a probed direct
        message or a channel message goes to its mailbox, whose records it may read), rather
        than retried until its peer is marked offline."""
        answered, released = self._pushes.answer((refusal.reply_to,), addr, now)
        for waiting in released:
            out.append(Send(waiting.addr, waiting.message))
        if not answered:
            out.append(Log(f"{_fmt(addr)} refused {refusal.reply_to}: {refusal.reason}"))
        for flight, owner in answered:
            record = self._owner(owner)
            if record is None:
                continue
            record.last_seen = now
            what = type(flight.message).__name__
            out.append(Log(f"{record.name} refused {what} {refusal.reply_to}: {refusal.reason}"))
            push = Push(owner, addr, flight.message, flight.purpose, flight.seq)
            self._undelivered(record, push, now, out)

    def _fail_in_order(self, failed: list[Push], now: float, out: list[Action]) -> None:
        """Act on pushes that used up their attempts, or were dropped with their peer,
        oldest push first: a channel message among them reaches a mailbox in the order it
        was sent."""
        for push in sorted(failed, key=lambda push: push.seq):
            self._push_failed(push, now, out)

    def _push_failed(self, push: Push, now: float, out: list[Action]) -> None:
        """Act on one push that got no ack: to a peer still online where it was pushed, a
        relay, a probed direct message or a room line starts over while the peer is probed
        (`_unanswered`); anything else is undelivered."""
        record = self._owner(push.owner)
        if record is None:
            return
        if push.purpose in RELAYED and record.online and record.addr == push.addr:
            self._unanswered(record, push, now, out)
            return
        self._undelivered(record, push, now, out)

    def _unanswered(self, record: Record, push: Push, now: float, out: list[Action]) -> None:
        """A push that `record`'s peer did not ack in all its tries: on a lossy network its
        copies or their acks were lost, which says nothing of whether the peer runs. It is
        sent again from the start, and the peer is probed: only a peer heard from in nothing
        since the push was first sent, the probe included, is gone (`_probe_failed` marks
        it offline, takes it out of its room and puts what was pushed to it in its
        mailbox). So a lossy network takes nobody offline."""
        first_sent = now - self._retry_span
        self._probe(record, now, out, since=first_sent)
        # in its place in the order: should the peer be gone, its mailbox gets it there
        target = [(name_key(record.name), record.addr)]
        addrs = self._pushes.add(push.message, push.purpose, target, now, push.seq)
        if addrs:
            out.append(_send(addrs, push.message))

    def _take_over(self, where: Addr, record: Record, now: float, out: list[Action]) -> None:
        """`record` comes online at `where`: another name online there goes offline. One
        address is one peer process, so that one is gone (a peer restarted on its port under
        another name, without dereg). Without this, one address registering name after
        name would keep them all online: every change pushed to each of them, unacked, in
        memory that grew with the square of their number."""
        for other in self._changes.online_at(where):
            if other is record:
                continue
            other.online = False
            other.last_seen = now
            self._changed(other, now, out)
            out.append(Log(f"{other.name} offline: {record.name} registered at its address"))
            self._leave_room(other, now, out, "not answering")
            self._restarted(other, now, out)  # what was pushed to it goes to its mailbox

    def _restarted(self, record: Record, now: float, out: list[Action]) -> None:
        """The peer of `record` registers afresh (a new process, or back after dereg): what
        is still pushed to its address will not be acked by this start, and the give-up
        of a probe would mark the new start offline. Those messages go to its mailbox now,
        so that its Welcome carries them; the rest is dropped (the Welcome has the table)."""
        for push in sorted(self._pushes.drop_all(record.addr), key=lambda p: p.seq):
            owner = self._owner(push.owner)
            if owner is not None:
                self._undelivered(owner, push, now, out)

    def _undelivered(self, record: Record, push: Push, now: float, out: list[Action]) -> None:
        """A push to `record` that will not be acked: a channel message or a probed direct
        message goes to its mailbox (the direct message's sender hears it was saved);
        anything else is dropped."""
        match push.message:
            case Chat() as chat if push.purpose == "probe":
                origin = self._origin(chat.sender)
                refused = self._store(
                    record, chat.id, chat.sender, chat.text, "direct", now, out, origin
                )
                save = self._probing.pop(chat.id, None)
                sender = self.table.get(save.sender) if save else None
                if save and sender:
                    self._finish_save(
                        save, sender, delivered=False, now=now, out=out, refused=refused
                    )
            case ChannelMessage() as relay:
                origin = self._origin(relay.sender)
                self._store(record, relay.id, relay.sender, relay.text, "channel", now, out, origin)
            case _:
                pass

    def _store(
        self,
        record: Record,
        msg_id: str,
        sender: str,
        text: str,
        kind: str,
        now: float,
        out: list[Action],
        origin: Origin,
    ) -> str:
        """Store a message for `record` in its mailbox (registry/mailboxes.py), and keep
        beside the box who owns it: "" when stored, else why not (one line for its sender)."""
        wall = now + self.wall_offset
        refused = self._mailboxes.store(record, msg_id, sender, text, kind, wall, out, origin)
        if not refused:
            self._keep_owner(record, out)
        return refused

    def _keep_owner(self, record: Record, out: list[Action]) -> None:
        """Keep beside `record`'s mailbox what proves the name is its owner's, if that has
        changed since it was last kept (registry/owners.py); forget it once the box is gone
        (the adapter deletes it with the box's last message)."""
        box = name_key(record.name)
        if box not in self._mailboxes.boxes:
            self._owners.pop(box, None)
            return
        owner = Owner.of(record)
        if self._owners.get(box) != owner:
            self._owners[box] = owner
            out.append(KeepOwner(box, owner))

    def _origin_of(self, message: StoredMessage) -> Origin:
        """Who sent `message`, kept before this registry started: the key and address its
        sender's name has in the table (no renames are followed yet)."""
        record = self.table.get(message.sender) if message.sender else None
        return NO_ORIGIN if record is None else (record.key, record.ip)

    def _origin(self, sender: str) -> Origin:
        """Who the name `sender` is (its key and address), for a message of its stored
        now that it did not send just now (a push that failed, a box read from disk): the
        message counts against them (registry/quotas.py). The registry's own: nobody."""
        record = self._lookup(sender) if sender else None
        return NO_ORIGIN if record is None else (record.key, record.ip)

    # -- rooms and renames --------------------------------------------------------------

    def _owner(self, key: str) -> Record | None:
        """The record a push was made to, by the name key it had then: followed to its new
        name if it renamed meanwhile (within RENAME_GRACE nobody else can take the old one),
        so that a channel message it never acked still reaches its mailbox."""
        return self.table.records.get(key) or self._lookup(key)

    def _lookup(self, name: str) -> Record | None:
        """The record for `name`, following a recent rename (RENAME_GRACE) to its new name."""
        record = self.table.get(name)
        key = name_key(name)
        for _ in range(8):  # renames in quick succession chain; a loop cannot, but be sure
            if record is not None or key not in self._aliases:
                break
            key = self._aliases[key][0]
            record = self.table.records.get(key)
        return record

    def _reserved(self, name: str, asker: Record | None, now: float) -> str:
        """Why `name`, free in the table, cannot be taken by `asker` (None for a newcomer):
        it was given up by a rename within RENAME_GRACE and still leads to the peer that
        renamed, so that what was on its way to it reaches that peer, never a newcomer who
        took the name. Empty when it can be taken (by that peer itself, say)."""
        holder = self._lookup(name)
        if holder is None or holder is asker:
            return ""
        _, until = self._aliases[name_key(name)]
        if until <= now:  # over, though the sweep has not yet dropped it
            return ""
        minutes = max(1, math.ceil((until - now) / 60))
        return (
            f"{name} was renamed {holder.name} just now; the name stays theirs for "
            f"{counted(minutes, 'more minute')}, so that messages on their "
            f"way to {name} still reach them. Choose another name, or try again then."
        )

    def _member(
        self,
        name: str,
        token: str,
        addr: Addr,
        reply_to: str,
        what: str,
        out: list[Action],
        *,
        fresh: bool = False,
    ) -> Record | None:
        """Like `_authorised`, for room requests, which need the peer to be online."""
        record = self._authorised(name, token, addr, reply_to, what, out, fresh=fresh)
        if record is not None and not record.online:
            what = f"{what} of offline {name}"
            self._refuse(reply_to, addr, OFFLINE_REFUSAL, what, out, RefusalCode.OFFLINE)
            return None
        return record

    def _join(self, msg: Join, addr: Addr, now: float, out: list[Action]) -> None:
        record = self._member(msg.name, msg.token, addr, msg.id, "join", out, fresh=True)
        if record is None or self._copy(msg.id, addr, out):
            return
        problem = name_problem(msg.room)
        if problem:
            reason = f"Cannot join {msg.room!r}: {problem} (room names follow the name rules)."
            self._refuse(msg.id, addr, reason, f"join by {record.name}", out)
            return
        current = self.rooms.of(record)
        if current is not None and name_key(current.name) == name_key(msg.room):
            out.append(Send(addr, Ack(self._new_id(), msg.id)))  # a copy, or already there
            return
        if self.rooms.get(msg.room) is None and self.rooms.full():
            reason = f"There are already {MAX_ROOMS} rooms, the most there can be; join one."
            self._refuse(msg.id, addr, reason, f"join by {record.name}", out)
            return
        left = self._leave_room(record, now, out, "")
        room = self.rooms.enter(record, msg.room)
        out.append(SaveTable())  # rooms survive a restart; the ack waits for the disk
        _remember(self._done_room, msg.id, None)
        others = [m.name for m in room.others(record)]
        shown = ", ".join(others[:JOIN_NAMES_SHOWN])
        if len(others) > JOIN_NAMES_SHOWN:
            shown += f" and {len(others) - JOIN_NAMES_SHOWN} more"
        alone = " (nobody else is in it)" if room.history else " (a new room)"
        text = f"You joined {room.name}" + (f" with {shown}" if others else alone)
        if left is not None:
            text = f"You left {left.name} and joined" + text.removeprefix("You joined")
        self._push(record, RoomNotice(self._new_id(), room.name, text), "room", now, out)
        if self.rooms.missed(record, room) > len(room.history):
            # what it missed is not all in the history: said, not left for it to assume
            more = (
                f"More was said in {room.name} while you were away than the "
                f"{len(room.history)} lines it keeps"
            )
            self._push(record, RoomNotice(self._new_id(), room.name, more), "room", now, out)
        self._replay_history(record, room, now, out)
        # The ack after "You joined" and the history: the peer carries out the lines typed
        # after the join on the ack (a script's `join lobby` then `/who`), and they must
        # be shown after the join they followed, not before it.
        out.append(Send(addr, Ack(self._new_id(), msg.id)))
        self._room_notice(room, record, f"{record.name} joined {room.name}", now, out)
        out.append(Log(f"{record.name} joined room {room.name} ({len(room.members)} in it)"))

    def _replay_history(
        self,
        record: Record,
        room: Room,
        now: float,
        out: list[Action],
        lines: list[RoomMessage] | None = None,
    ) -> None:
        """Push `room`'s history to `record`, a member that has just joined it (or, at a
        start, those of its `lines` it may not all have had: see `start`). Until every line
        is acked, the record is `replaying` them, which the table file keeps: nobody asks
        for a lost line again, so a registry killed before its retry must replay it after
        its restart."""
        lines = list(room.history) if lines is None else lines
        for old in lines:
            # under the line's own id: a member who saw it (back after a pause, or a
            # restart) is shown it once only, as for any message
            # in the room's spelling now: it may have been emptied and made again
            replay = RoomMessage(old.id, old.sender, room.name, old.text, old.stamp, True)
            self._push(record, replay, "room", now, out)
        for addr in [a for a, (r, _) in self._replays.items() if r is record]:
            del self._replays[addr]  # an earlier join's: this one's replay takes over
        record.replaying = lines[-1].id if lines else ""
        if lines:
            self._replays[record.addr] = (record, {m.id for m in lines})

    def _replay_acked(self, addr: Addr, answered: list[tuple[Flight, str]]) -> None:
        """`addr`, whose room's history is replayed to it, acked the pushes `answered`:
        once it has acked every line (the live copy of one counts), the replay is over.
        The table file learns it at its next save: until then a restart only replays lines
        the member shows once anyway."""
        record, owed = self._replays[addr]
        owed.difference_update([flight.message.id for flight, _ in answered])
        if not owed:
            del self._replays[addr]
            record.replaying = ""

    def _replays_over(self) -> None:
        """Forget the replays of history to members no longer there to have them: out of
        the room, gone offline (given up on), or moved to another address."""
        for addr, (record, _) in list(self._replays.items()):
            if not (record.online and record.room and record.addr == addr):
                del self._replays[addr]
                record.replaying = ""

    def _leave(self, msg: Leave, addr: Addr, now: float, out: list[Action]) -> None:
        record = self._authorised(msg.name, msg.token, addr, msg.id, "leave", out)
        if record is None or self._copy(msg.id, addr, out):
            return
        self._leave_room(record, now, out, "")  # in no room (the registry restarted): ack
        _remember(self._done_room, msg.id, None)
        out.append(Send(addr, Ack(self._new_id(), msg.id)))

    def _copy(self, msg_id: str, addr: Addr, out: list[Action]) -> bool:
        """Whether `msg_id` is a room request already done; if so, ack it again and no more
        (a late copy of a leave must not take the peer out of the room it joined since)."""
        if msg_id not in self._done_room:
            return False
        out.append(Send(addr, Ack(self._new_id(), msg_id)))
        return True

    def _leave_room(
        self, record: Record, now: float, out: list[Action], why: str | None
    ) -> Room | None:
        """Take `record` out of its room; tell the members who stay "<name> left <room>",
        followed by `why` in brackets if given, nothing when `why` is None."""
        room = self.rooms.leave(record)
        if room is None:
            return None
        out.append(SaveTable())
        # emptied, the room is gone, its history set aside (Rooms.leave), maybe another's
        # forgotten for it
        out += [DropHistory(key) for key in self.rooms.forgotten()]
        if why is not None:
            text = f"{record.name} left {room.name}" + (f" ({why})" if why else "")
            self._room_notice(room, record, text, now, out)
        out.append(Log(f"{record.name} left room {room.name} ({len(room.members)} in it)"))
        return room

    def _room_notice(
        self, room: Room, about: Record, text: str, now: float, out: list[Action]
    ) -> None:
        """Push `text` about `room` to every member but `about`."""
        for member in room.others(about):
            self._push(member, RoomNotice(self._new_id(), room.name, text), "room", now, out)

    def _room_post(self, msg: RoomPost, addr: Addr, now: float, out: list[Action]) -> None:
        sender = self._member(msg.sender, msg.token, addr, msg.id, "room message", out)
        if sender is None:
            return
        relayed = self._done_posts.get(msg.id)
        if relayed is None:
            room = self.rooms.of(sender)
            if room is None or name_key(room.name) != name_key(msg.room):
                room = self._said_before(msg)
            if room is None:
                # typed in a room the sender has left since (a restart, or a give-up, took
                # it out): refused rather than said in another room
                where = "that room" if name_problem(msg.room) else msg.room
                reason = f"You are not in {where}."
                self._refuse(msg.id, addr, reason, f"room message from {sender.name}", out)
                return
            if len(msg.text.encode()) > MAX_TEXT:
                what = f"room message from {sender.name}"
                self._refuse(msg.id, addr, "Message too long.", what, out)
                return
            self._relay_started(msg.id, sender)
            # under the name it was said as (see `_channel`): members show each copy once
            said = stamp(now + self.wall_offset)
            relay = RoomMessage(msg.id, msg.sender, room.name, msg.text, said, False)
            # (asked again of a registry restarted since, it may be in the history read back)
            if not room.holds(msg.id):
                room.keep(relay)
                out.append(KeepHistory(name_key(room.name), tuple(room.history)))
            self._pushes_to(room.others(sender), relay, "room", now, out)
        self._post_answered(msg.id, bool(relayed), addr, out)

    def _said_before(self, post: RoomPost) -> Room | None:
        """The room `post` names, if the line is in its history: said there while its
        sender was a member, before this registry restarted, and asked again for its
        outcome by a sender that has left the room since. It is relayed again to the room
        (each member shows it once), not refused as typed in a room the sender is not in:
        that would tell the sender it was not sent, and leave unsent the copies the old
        registry had not yet got through."""
        room = self.rooms.get(post.room)
        return room if room is not None and room.holds(post.id) else None

    def _rename(self, msg: Rename, addr: Addr, now: float, out: list[Action]) -> None:
        record = self._member(msg.name, msg.token, addr, msg.id, "rename", out, fresh=True)
        if record is None or self._copy(msg.id, addr, out):
            return
        if record.name == msg.new_name:  # no change
            out.append(Send(addr, Ack(self._new_id(), msg.id)))
            return
        problem = name_problem(msg.new_name)
        if problem:
            reason = f"Cannot rename to {msg.new_name!r}: {problem}."
            self._refuse(msg.id, addr, reason, f"rename of {record.name}", out)
            return
        taken = self.table.get(msg.new_name)
        if taken is not None and taken is not record:
            reason = f"The name {taken.name} is taken."
            self._refuse(msg.id, addr, reason, f"rename of {record.name}", out)
            return
        if name_key(msg.new_name) == name_key(SERVER_NAME):
            self._refuse(msg.id, addr, SERVER_NAME_TAKEN, f"rename of {record.name}", out)
            return
        if taken is None and (reserved := self._reserved(msg.new_name, record, now)):
            self._refuse(msg.id, addr, reserved, f"rename of {record.name}", out)
            return
        old, old_key, new_key = record.name, name_key(record.name), name_key(msg.new_name)
        del self.table.records[old_key]
        record.name = msg.new_name
        self.table.records[new_key] = record
        if old_key != new_key:
            self._aliases[old_key] = (new_key, now + RENAME_GRACE)
            self._aliases.pop(new_key, None)
            self.table.note_rename(old_key, new_key)
            self._mailboxes.move(old_key, new_key, out)
            self._owners.pop(old_key, None)
            self._keep_owner(record, out)
        gone = Entry(old, record.ip, 0, False)
        self._changed(record, now, out, rows=(gone, record.entry()))
        room = self.rooms.of(record)
        if room is not None:
            self._room_notice(room, record, f"{old} is now known as {record.name}", now, out)
        out.append(Log(f"renamed {old} to {record.name}"))
        _remember(self._done_room, msg.id, None)
        out.append(Send(addr, Ack(self._new_id(), msg.id)))

    # -- the table ----------------------------------------------------------------------

    def _changed(
        self,
        record: Record,
        now: float,
        out: list[Action],
        *,
        rows: tuple[Entry, ...] = (),
    ) -> None:
        """`record` changed: persist it, and push the changed rows (`rows`, else the
        record's own row) to the online peers, at once or together with the changes that
        follow (registry/table_changes.py)."""
        out.append(SaveTable())
        if self._changes.changed(rows or (record.entry(),), now):
            self._push_changes(now, out)

    def _push_changes(self, now: float, out: list[Action]) -> None:
        """Push the held rows to every online peer, as versioned updates that each fit a
        datagram; a peer that registered meanwhile gets them too (they repeat its Welcome)."""
        updates, online = self._changes.updates(now, self._new_id)
        # The versions are on disk before any peer hears of them: a registry killed between
        # the two must not hand out the same version again with other rows after a restart.
        out.append(SaveTable())
        for update in updates:
            self._pushes_to(online, update, "table", now, out)

    def release(self, name: str, now: float) -> list[Action]:
        """The console releases `name`: forget its owner and mailbox, so anyone may take it.
        Peers learn it as a row with port 0, which means "this name is gone"."""
        out: list[Action] = []
        record = self.table.get(name)
        if record is None:
            out.append(Log(f"no name {name} to release"))
            return out
        key = name_key(record.name)
        self._leave_room(record, now, out, "released")
        del self.table.records[key]
        self.table.forget_former(key)
        dropped = self._mailboxes.drop(key, out)
        self._owners.pop(key, None)
        if record.online:
            self._changes.released_online(record)
        self._changed(record, now, out, rows=(Entry(record.name, record.ip, 0, False),))
        out.append(Log(f"released {record.name} ({counted(dropped, 'stored message')} deleted)"))
        return out

    def _snapshot(self, reply_to: str) -> TableSnapshot:
        return TableSnapshot(
            self._new_id(), reply_to, self.table.version, self.table.entries(), self._alias_rows()
        )

    def _alias_rows(self) -> tuple[Alias, ...]:
        """The names given up by renames within RENAME_GRACE, each with the name it leads
        to (the end of a chain of renames), for peers that start with the whole table."""
        rows = []
        for old in self._aliases:
            record = self._lookup(old)
            if record is not None and name_key(record.name) != old:
                rows.append(Alias(old, record.name))
        return tuple(rows)

    def _refuse(
        self,
        reply_to: str,
        addr: Addr,
        reason: str,
        what: str,
        out: list[Action],
        code: RefusalCode = RefusalCode.OTHER,
    ) -> None:
        """Refuse the request `reply_to` from `addr`: `reason` for its user, `code` for its
        program (what the peer acts on); `what` names the request in the log."""
        out.append(Log(f"refused {what}: {reason}"))
        refusal = Refused(self._new_id(), reply_to, reason, code)
        out.append(Send(addr, refusal, self._asker()))

    @contextlib.contextmanager
    def _asked_by(self, key: str) -> Iterator[None]:
        """Within it, the message being answered is one that came with `key` (a registration
        that waited for a probe), and its answers are for that key."""
        was, self._key = self._key, key
        try:
            yield
        finally:
            self._key = was

    def _asker(self) -> bytes:
        """The key of whoever sent the message being received: what answers it is for."""
        return (key_from_text(self._key) or b"") if self._key else b""

    def entries(self) -> tuple[Entry, ...]:
        """The table as peers see it."""
        return self.table.entries()


def _send(addrs: Sequence[Addr], message: Message) -> Send | SendMany:
    return Send(addrs[0], message) if len(addrs) == 1 else SendMany(tuple(addrs), message)


def _remember(recent: OrderedDict[str, V], key: str, value: V) -> None:
    recent[key] = value
    while len(recent) > RECENT_IDS:
        recent.popitem(last=False)


def _restart(register_id: str, last_register_id: str) -> bool:
    """Whether the registration `register_id` comes from another start of the peer than
    `last_register_id` did: another session, or ids that name none and differ."""
    session = _session(register_id)
    if session and _session(last_register_id):
        return session != _session(last_register_id)
    return register_id != last_register_id


def _session(msg_id: str) -> str:
    """The session a message id was made in (`<session>-<counter>`: wire.reliable.IdMaker),
    which names the process that sent it; "" for an id of another shape."""
    return msg_id.rpartition("-")[0]


def _fmt(addr: Addr) -> str:
    return f"{addr[0]}:{addr[1]}"
