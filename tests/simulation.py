"""A whole ChatApp on a simulated network and clock: one registry core, N peer cores.
Kept for what the real adapters' world (tests/sim/world.py) cannot run yet: a service of
registries, whose relay between registries is NATS, which the world does not simulate.

Everything is seeded: the network drops, duplicates, delays and reorders datagrams as told;
messages too big for a datagram travel as a reliable "stream". Every datagram goes through
the real wire codec. Processes can be killed and restarted: a peer keeps its token (its
state file), the registry keeps what it had stored (its data directory), nothing else.

With `registries=N` the world is a service of N registries (docs/SCALING.md): the one core
decides, reached through N addresses. Each registry but the lead's only relays, so killing it
loses only what passed through it; the lead's death takes its address and the core, and a
new lead takes over at another address from what was stored. Peers start spread over them.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec

from peer.core import actions as pa
from peer.core.dispatch import PeerCore
from peer.core.requests import KEEPALIVE
from registry.adapter.password_checks import carry_out
from registry.core import actions as ra
from registry.core.dispatch import RegistryCore
from registry.core.post_office import MAILBOX_MESSAGES
from registry.core.table import Table
from tests.peer.honest import FORGER_KEY, REGISTRY_KEY, peer_key
from wire.codec import decode, encode, fits_datagram
from wire.messages import Ack, Acks, Chat, Message, RoomMessage, Saved, SaveMessage, StoredMessage
from wire.reliable import ATTEMPTS, TIMEOUT

Addr = tuple[str, int]
REGISTRY: Addr = ("127.0.0.1", 5000)
#: Seconds an ack waits to leave with the others of its pass (the endpoint merges them).
ACK_PASS = 0.001


@dataclass
class Disk:
    """What the registry has made durable: survives a registry restart."""

    table: Table = field(default_factory=Table)
    mail: dict[str, list[StoredMessage]] = field(default_factory=dict)
    #: each room's last lines, by room key (registry/adapter/store.py)
    history: dict[str, tuple[RoomMessage, ...]] = field(default_factory=dict)

    def save_table(self, table: Table, rows: tuple[str, ...] | None) -> None:
        """Keep `table` as a service's store does (registry/adapter/cluster/store.py): the
        rows SaveTable named and those of renamed names, with the version and former names;
        every row for None. A change no SaveTable names is lost at a restart here."""
        if rows is None:
            self.table = copy.deepcopy(table)
            return
        kept = self.table
        for key in {*rows, *table.formers(), *kept.formers()}:
            if key in table.records:
                kept.records[key] = copy.deepcopy(table.records[key])
            else:
                kept.records.pop(key, None)
        kept.version, kept.former = table.version, dict(table.former)
        kept.unpushed = copy.deepcopy(table.unpushed)


@dataclass
class Host:
    """A peer process: its core while alive, and what survives it (the kept token)."""

    name: str
    port: int
    core: PeerCore | None
    token: str = ""
    screen: list[str] = field(default_factory=list)
    exit_code: int | None = None
    life: int = 0
    #: the shown-ids log: pairs shown and lines held, in order (survives a kill)
    seen: list[tuple[str, str] | pa.Held] = field(default_factory=list)
    #: the room kept on disk (Keep)
    room: str = ""
    #: every message the peer logged durably (held for the registry, or a save), in order
    durable: list[Message] = field(default_factory=list)
    #: the sending log: what was sent and not settled, by id (survives a kill)
    sending: dict[str, Message] = field(default_factory=dict)
    prompt: str = ""
    #: name -> token, as the peer's state files would hold them
    files: dict[str, str] = field(default_factory=dict)
    #: the machine's address
    ip: str = "127.0.0.1"

    @property
    def outbox(self) -> tuple[Message, ...]:
        """What the sending log holds: the next start sends it."""
        return tuple(self.sending.values())

    @property
    def addr(self) -> Addr:
        return (self.ip, self.port)


class SimNet:
    """The simulated world. Time only moves inside `run`."""

    def __init__(
        self,
        *,
        seed: int = 0,
        loss: float = 0.0,
        duplicate: float = 0.0,
        delay: tuple[float, float] = (0.0005, 0.002),
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        keepalive: float = KEEPALIVE,
        registries: int = 1,
        mailbox_limit: int = MAILBOX_MESSAGES,
    ) -> None:
        self.random = random.Random(seed)
        self.loss = loss
        self.duplicate = duplicate
        self.delay = delay
        self.timeout = timeout
        self.mailbox_limit = mailbox_limit
        self.attempts = attempts
        self.keepalive = keepalive
        self.now = 1_700_000_000.0
        self.disk = Disk()
        self.registry: RegistryCore | None = None
        self.registry_life = 0
        #: where the registries of the service are reached; the lead's; those not running
        self.fronts = [(REGISTRY[0], REGISTRY[1] + i) for i in range(registries)]
        self.lead = REGISTRY
        self.down: set[Addr] = set()
        #: the registry each peer's address last came through (where answers go out)
        self.routes: dict[Addr, Addr] = {}
        self.hosts: dict[str, Host] = {}
        self._queue: list[tuple[float, int, Addr, Addr, bytes]] = []
        self._seq = itertools.count()
        self._tokens = itertools.count(1)
        self.sent: list[tuple[float, Addr, Addr, Message]] = []
        self.confirmed: set[tuple[str, str]] = set()  # (sender, message id)
        #: every message a peer set out to send (its Sending action): id -> (who, message)
        self.typed: dict[str, tuple[str, Message]] = {}
        self.log: list[str] = []
        #: keys of the rooms whose history the registry forgot (KeepHistory, empty), in order
        self.histories_dropped: list[str] = []
        self._acks: dict[tuple[Addr, Addr], list[str]] = {}
        self._acks_due: float | None = None
        #: A cut in the network: a message for which `drop(src, dst, message)` holds is
        #: lost unsent (not in `sent`); None: none is.
        self.drop: Callable[[Addr, Addr, Message], bool] | None = None
        self.start_registry()

    # -- processes ----------------------------------------------------------------------

    def start_registry(self) -> None:
        """Start the registry; in a service, the lead at its address if it runs, else at
        the first that runs (or its own again), its peers reached from there."""
        if self.lead in self.down:
            self.lead = next((f for f in self.fronts if f not in self.down), self.lead)
            self.down.discard(self.lead)
            self._reach_from_lead()
        self.registry_life += 1
        self.registry = RegistryCore(
            session=f"r{self.registry_life}",
            new_token=lambda: f"{next(self._tokens):032x}",
            # through the table file's format, as a real restart reads it
            table=Table.from_json(json.loads(json.dumps(self.disk.table.to_json())), self.now),
            mail=copy.deepcopy(self.disk.mail),
            histories=dict(self.disk.history),
            timeout=self.timeout,
            attempts=self.attempts,
            keepalive=self.keepalive,
            mailbox_limit=self.mailbox_limit,
        )
        if len(self.fronts) > 1:  # told at start (registry/adapter/cluster/registry.py)
            self.registry.registries = self._listed()
        # as registry.adapter.server does once its sockets are open
        self._registry_actions(self.registry.start(self.now))

    def kill_registry(self) -> None:
        """The registry dies; in a service, the lead with its address."""
        self.registry = None
        self._drop_acks_of(self.lead)
        if len(self.fronts) > 1:
            self.down.add(self.lead)

    def kill_front(self, front: Addr) -> None:
        """A registry that relays dies: the lead reaches its peers itself, and tells everyone
        the registries left (cluster/registry.py, `ClusterRegistry._serve`)."""
        assert front != self.lead and front in self.fronts
        self.down.add(front)
        self._drop_acks_of(front)
        self._reach_from_lead()
        if self.registry is not None:
            self._registry_actions(self.registry.new_registries(self._listed(), self.now))

    def start_front(self, front: Addr) -> None:
        """A registry that relays starts again: everyone is told the registries."""
        self.down.discard(front)
        if self.registry is not None:
            self._registry_actions(self.registry.new_registries(self._listed(), self.now))

    def _listed(self) -> tuple[str, ...]:
        return tuple(f"{ip}:{port}" for ip, port in self.fronts if (ip, port) not in self.down)

    def _reach_from_lead(self) -> None:
        """The peers of registries not running are reached from the lead's."""
        for addr, front in self.routes.items():
            if front in self.down:
                self.routes[addr] = self.lead

    def add_peer(self, name: str, port: int, ip: str = "127.0.0.1") -> Host:
        host = Host(name, port, None, ip=ip)
        self.hosts[name] = host
        self.start_peer(name)
        return host

    def all_in_room_r(self, names: Sequence[str]) -> None:
        """Peers `names` (ports 6001, 6002, ...) register, then all join room r, 3 s each."""
        for i, name in enumerate(names):
            self.add_peer(name, 6001 + i)
        self.run(3)
        for name in names:
            self.type(name, "join r")
        self.run(3)

    def start_peer(self, name: str) -> None:
        host = self.hosts[name]
        host.life += 1
        host.exit_code = None
        host.sending = {  # as PeerStateFile.load_outbox does
            m.id: SaveMessage(m.id, m.sender, host.token, m.to, m.text, after=m.after)
            if isinstance(m, Chat)
            else m
            for m in host.sending.values()
        }
        host.core = PeerCore(
            name=name,
            port=host.port,
            server=self.fronts[(host.port - 1) % len(self.fronts)],
            registry_key=REGISTRY_KEY,
            session=f"{name}{host.life}",
            token=host.token,
            seen=list(host.seen),
            outbox=host.outbox,
            room=host.room,
            keepalive=self.keepalive,
            timeout=self.timeout,
            attempts=self.attempts,
        )
        self._peer_actions(host, host.core.start(self.now))

    def kill_peer(self, name: str) -> None:
        self.hosts[name].core = None
        self._drop_acks_of(self.hosts[name].addr)

    def type(self, name: str, line: str) -> None:
        host = self.hosts[name]
        assert host.core is not None, f"{name} is not running"
        self._peer_actions(host, host.core.line(line, self.now))

    # -- running ------------------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release: the cores alone hold no file or socket (as tests/sim/world.py's
        world does, which `close` ends)."""

    def run(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass, delivering datagrams and firing timers."""
        end = self.now + seconds
        while True:
            wake = self._next_wake()
            arrival = self._queue[0][0] if self._queue else None
            candidates = [t for t in (wake, arrival) if t is not None and t <= end]
            if not candidates:
                break
            t = min(candidates)
            self.now = max(self.now, t)
            if arrival is not None and arrival == t:
                _, _, src, dst, data = heapq.heappop(self._queue)
                self._deliver(src, dst, data)
            else:
                self._tick_all()
        self.now = end

    def _next_wake(self) -> float | None:
        wakes = [self._acks_due]
        if self.registry is not None:
            wakes.append(self.registry.next_wake())
        for host in self.hosts.values():
            if host.core is not None and host.exit_code is None:
                wakes.append(host.core.alarm.at)  # as the adapter wakes it (_peer_actions)
        return min((w for w in wakes if w is not None), default=None)

    def _tick_all(self) -> None:
        if self._acks_due is not None and self._acks_due <= self.now:
            self._flush_acks()
        if self.registry is not None:
            wake = self.registry.next_wake()
            if wake is not None and wake <= self.now:
                self._registry_actions(self.registry.tick(self.now))
        for host in list(self.hosts.values()):
            if host.core is not None and host.exit_code is None:
                wake = host.core.alarm.at
                if wake is not None and wake <= self.now:
                    self._peer_actions(host, host.core.tick(self.now))

    def _send(self, src: Addr, dst: Addr, message: Message, stream: bool = False) -> None:
        if stream:  # a peer's connection of its own: it ends just after its answer would come
            self._enqueue(2 * self.delay[1] + 0.001, dst, src, b"end " + message.id.encode())
        if src in self.down or (self.drop is not None and self.drop(src, dst, message)):
            return
        data = encode(message)
        self.sent.append((self.now, src, dst, message))
        if stream or not fits_datagram(data):
            # A TCP stream: reliable and in order (here: no loss, no duplicates).
            self._enqueue(self.delay[1], src, dst, data)
            return
        if self.random.random() < self.loss:
            return
        copies = 2 if self.random.random() < self.duplicate else 1
        for _ in range(copies):
            self._enqueue(self.random.uniform(*self.delay), src, dst, data)

    def _enqueue(self, delay: float, src: Addr, dst: Addr, data: bytes) -> None:
        heapq.heappush(self._queue, (self.now + delay, next(self._seq), src, dst, data))

    def _deliver(self, src: Addr, dst: Addr, data: bytes) -> None:
        if data.startswith(b"end "):
            for host in self.hosts.values():
                if host.addr == dst and host.core is not None and host.exit_code is None:
                    self._peer_actions(host, host.core.stream_ended(data[4:].decode(), self.now))
            return
        message = decode(data)
        if dst in self.fronts:
            if self.registry is not None and dst not in self.down:
                self.routes[src] = dst
                # its flood gate first, as the adapter asks it (per message)
                admitted, actions = self.registry.admit(src, self.now)
                self._registry_actions(actions)
                if admitted:
                    key = self._key_at(src)
                    self._registry_actions(self.registry.receive(message, src, self.now, key=key))
            return
        for host in self.hosts.values():
            if host.addr == dst and host.core is not None and host.exit_code is None:
                self._note_confirmation(host, message)
                key = self._key_at(src)
                self._peer_actions(host, host.core.receive(message, src, key, self.now))

    def _key_at(self, src: Addr) -> bytes:
        """The key of whoever sends from `src` (each host has one of its own, for life)."""
        if src in self.fronts:
            return REGISTRY_KEY
        for name, host in self.hosts.items():
            if host.addr == src:
                return peer_key(name)
        return FORGER_KEY

    def _note_confirmation(self, host: Host, message: Message) -> None:
        """Record the ids of direct messages whose sender is about to be told that they
        were received ([Message received by ...]) or saved or delivered by the registry."""
        assert host.core is not None
        parts = host.core.parts
        acked = message.replies if isinstance(message, Acks) else ()
        if isinstance(message, Ack):
            acked = (message.reply_to,)
        for reply_to in acked:
            if parts.direct.awaiting_ack(reply_to):
                self.confirmed.add((host.name, reply_to))
        if isinstance(message, Saved) and parts.shared.requests.holds(message.reply_to):
            self.confirmed.add((host.name, message.reply_to))

    def _hold_ack(self, src: Addr, dst: Addr, reply_to: str) -> None:
        """Acks wait up to ACK_PASS and leave merged, one Ack or one Acks per (sender,
        receiver), as the endpoint merges the acks of a busy pass of the event loop. A
        process killed before they leave takes them with it."""
        if not self._acks:
            self._acks_due = self.now + ACK_PASS
        self._acks.setdefault((src, dst), []).append(reply_to)

    def _flush_acks(self) -> None:
        acks, self._acks, self._acks_due = self._acks, {}, None
        for (src, dst), replies in acks.items():
            if len(replies) == 1:
                self._send(src, dst, Ack(f"sim-{next(self._seq)}", replies[0]))
            else:
                self._send(src, dst, Acks(f"sim-{next(self._seq)}", tuple(replies)))

    def _drop_acks_of(self, src: Addr) -> None:
        self._acks = {key: v for key, v in self._acks.items() if key[0] != src}

    def registry_console(self, actions: list[ra.Action]) -> None:
        """Carry out what the registry's console made it do (`RegistryCore.release`)."""
        self._registry_actions(actions)

    def _registry_actions(self, actions: list[ra.Action]) -> None:
        assert self.registry is not None
        for action in actions:
            match action:
                case ra.Send(addr, Ack(_, reply_to)):
                    self._hold_ack(self._front_of(addr), addr, reply_to)
                case ra.Send(addr, message):
                    self._send(self._front_of(addr), addr, message)
                case ra.SendMany(addrs, message):
                    for addr in addrs:
                        self._send(self._front_of(addr), addr, message)
                case ra.StoreMail(owner, message):
                    self.disk.mail.setdefault(owner, []).append(message)
                case ra.DropMail(owner, ids):
                    box = [m for m in self.disk.mail.get(owner, []) if m.id not in ids]
                    if box:
                        self.disk.mail[owner] = box
                    else:  # as the files do: an emptied mailbox is no more (FileStore.drop)
                        self.disk.mail.pop(owner, None)
                case ra.MoveMail(old, new):
                    moved = self.disk.mail.pop(old, [])
                    self.disk.mail[new] = self.disk.mail.get(new, []) + moved
                case ra.SaveTable(rows):
                    self.disk.save_table(self.registry.table, rows)
                case ra.KeepHistory(room, ()):
                    self.disk.history.pop(room, None)
                    self.histories_dropped.append(room)
                case ra.KeepHistory(room, history):
                    self.disk.history[room] = history
                case ra.CheckPassword(ticket):
                    # the adapter's thread pool, standing in at once
                    outcome = carry_out(action, b"simulated", bytes(32))
                    self._registry_actions(
                        self.registry.password_checked(ticket, outcome, self.now)
                    )
                case ra.Log(line):
                    self.log.append(line)

    def _front_of(self, addr: Addr) -> Addr:
        """Where the registry's datagrams to `addr` go out: the registry it came through."""
        return self.routes.get(addr, self.lead)

    def _peer_actions(self, host: Host, actions: list[pa.Action]) -> None:
        self._peer_action_list(host, actions)
        if host.core is not None:  # after the event, as the adapter writes them
            self._peer_records(host, host.core)
        if host.core is not None and host.exit_code is None:
            # the core woken by its `alarm`, as the adapter does, is never woken later than
            # the truth: both change only at an event, so each is checked after its event
            wake, by = host.core.next_wake(), host.core.alarm.at
            assert wake is None or (by is not None and by <= wake), (host.name, by, wake)

    def _peer_records(self, host: Host, core: PeerCore) -> None:
        """The core's records of what is on its way (actions.Record), taken."""
        for record in core.records:
            if not isinstance(record, str):
                message = record.message if isinstance(record, pa.Sending) else record
                host.sending[message.id] = message
                self.typed[message.id] = (host.name, message)
                if isinstance(record, pa.Sending):
                    host.durable.append(message)
            else:
                host.sending.pop(record, None)
                # settled means delivered: nothing holds it on its way any more
                on_its_way = core.parts.leaving.on_its_way(record)
                assert not on_its_way, f"{record} settled while on its way"
        core.records.clear()

    def _peer_action_list(self, host: Host, actions: list[pa.Action]) -> None:
        for action in actions:
            match action:
                case pa.SendSealed(addr, Ack(_, reply_to)):
                    self._hold_ack(host.addr, addr, reply_to)
                case pa.AcksLater(addr, _, replies):
                    for reply_to in replies:
                        self._hold_ack(host.addr, addr, reply_to)
                case pa.SendSealed(addr, SaveMessage() as save, _, False) if host.core is not None:
                    self._send(host.addr, addr, _ticketed(host.core, save))
                case pa.SendSealed(addr, message, _, stream):
                    self._send(host.addr, addr, message, stream=stream)
                case pa.Print(text):
                    host.screen.append(text)
                case pa.Remember(name, token):
                    host.token = token
                    host.files[name] = token
                case pa.Keep("room", room):
                    host.room = room
                case pa.Shown(shown):
                    host.seen.extend(shown)
                case pa.Held():
                    host.seen.append(action)
                case pa.Prompt(text):
                    host.prompt = text
                case pa.OnceShown(then):  # a simulated screen shows each line at once
                    self._peer_actions(host, list(then))
                case pa.ExitPeer(code):
                    host.exit_code = code

    # -- looking --------------------------------------------------------------------------

    def screen(self, name: str) -> list[str]:
        return self.hosts[name].screen

    def count(self, name: str, line: str) -> int:
        return self.hosts[name].screen.count(line)


def _ticketed(core: PeerCore, save: SaveMessage) -> SaveMessage:
    """`save` with the ticket its recipient handed us, as the adapter's seal adds it
    (peer/core/sealed_mail.py; saves are not sealed here)."""
    entry = core.table.entry(save.to)
    ticket = core.tickets.for_owner(entry.key) if entry is not None else ""
    return msgspec.structs.replace(save, ticket=ticket) if ticket else save
