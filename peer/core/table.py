"""The peer's copy of the registry's table (`TableCopy`), and `Trust`: the one place a peer
decides which messages it believes, by the key that sealed them (docs/SECURITY.md, "Who may
say what"). Sans-IO."""

from __future__ import annotations

import collections
import enum
from collections.abc import Callable, ValuesView
from typing import Final

from msgspec import structs

from peer.core.actions import Addr, Emit, FileDatagram, PinKey, Rejected
from wire.keys import key_from_text
from wire.messages import (
    FILE_DATAGRAMS,
    Ack,
    Acks,
    Alias,
    Chat,
    Entry,
    FileNote,
    FileOffer,
    FileSeen,
    Message,
    Refused,
    TableUpdate,
)
from wire.names import name_key
from wire.reliable import DIRECT_TIMEOUT, TIMEOUT, Alarm, Pending

#: Table updates held while one before them is missing: our Welcome is on its way, or a
#: lost update is being sent again. Past this many the whole table is asked for.
HELD_UPDATES = 64
#: The most held: those that come while the whole table is on its way, which they follow
#: (a join storm pushes many meanwhile). Beyond this many the oldest give way.
HELD_MOST = 1024


#: A table's rows, by name key.
Rows = dict[str, Entry]


def renames_between(before: Rows, after: Rows) -> list[tuple[str, str]]:
    """(old name, new name) for each row gone from `before` whose owner (_same_owner) a row
    new in `after` has, or whose name `after` spells otherwise for the same owner."""
    if not before:
        return []  # (a first table: nothing was there to rename)
    new: dict[object, Entry] = {}  # the rows new in `after`, by address and by key
    for key, entry in after.items():
        if key not in before:
            new.setdefault((entry.ip, entry.port), entry)
            new.setdefault(entry.key or None, entry)
    found, taken = [], set()
    for key, old in before.items():
        # a name's row in another spelling is a rename too (`/nick BOB`), its owner's alone
        twin = after.get(key) or new.get(old.key or ()) or new.get((old.ip, old.port))
        if twin is None or twin.name == old.name or not _same_owner(old, twin):
            continue
        if twin.name not in taken:
            taken.add(twin.name)
            found.append((old.name, twin.name))
    return found


def _same_owner(old: Entry, new: Entry) -> bool:
    """Rows of one owner: of one key, or at one address where either has no key (another
    key at the same address is someone else, who took the port)."""
    if old.key and new.key:
        return old.key == new.key
    return (old.ip, old.port) == (new.ip, new.port)


class TableCopy:
    """The rows by name (any spelling: names are unique ignoring case), the version they
    are at, the old names of renamed rows, and the updates that came before the first
    table. Read-only from outside: `apply` and `replace` change it, as the registry says.
    `name in table`: whether `name` itself has a row (`entry` also follows renames)."""

    def __init__(self) -> None:
        #: The registry's version of the table this copy is at; -1 before the first.
        self.version = -1
        self._rows: dict[str, Entry] = {}
        self._renamed: dict[str, str] = {}  # others' old name keys -> their new names
        self._held: dict[int, TableUpdate] = {}  # by version: see `hold`
        # the rows changed since `take_changed`, each as it was then (None: no row)
        self._before: dict[str, Entry | None] = {}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name_key(name) in self._rows

    def rows(self) -> ValuesView[Entry]:
        return self._rows.values()

    def entry(self, name: str) -> Entry | None:
        """The row for `name`, or for the name it was recently renamed to (a few renames on)."""
        key = name_key(name)
        entry, hops = self._rows.get(key), 8
        while entry is None and key in self._renamed and hops:  # (no range: every message)
            key, hops = name_key(self._renamed[key]), hops - 1
            entry = self._rows.get(key)
        return entry

    def online_names(self) -> list[str]:
        return sorted((e.name for e in self._rows.values() if e.online), key=name_key)

    def row_of_key(self, key: str) -> Entry | None:
        return self._rows.get(key)

    def take_changed(self) -> dict[str, Entry | None]:
        """The rows changed since the last call, by name key, each as it was then (None:
        no row)."""
        before, self._before = self._before, {}
        return before

    def _note(self, key: str) -> None:
        if key not in self._before:
            self._before[key] = self._rows.get(key)

    def hold(self, update: TableUpdate) -> int:
        """Keep `update`, which comes after one not here yet (see HELD_UPDATES), until
        `take_held` finds it next; the last HELD_MOST of them. Returns how many are held."""
        held = self._held
        held[update.version] = update
        if len(held) > HELD_MOST:
            del held[min(held)]
        return len(held)

    def take_held(self) -> list[TableUpdate]:
        """The held updates that now follow this version, in order, each the furthest that
        applies after the one before (one from an older version brings every row changed
        since: TableUpdate.since); forgotten here, with those they pass. One sort."""
        version, furthest = self.version, None
        taken: list[TableUpdate] = []
        for update in sorted(self._held.values(), key=TableUpdate.start):
            if update.start() > version and furthest is not None:
                taken.append(furthest)
                version, furthest = furthest.version, None
            if update.start() > version:
                break
            if update.version > (version if furthest is None else furthest.version):
                furthest = update
        if furthest is not None:
            taken.append(furthest)
            version = furthest.version
        self._held = {v: update for v, update in self._held.items() if v > version}
        return taken

    def holds(self, update: TableUpdate) -> bool:
        """Whether every row of `update` is already as it says (a registry that took over
        for the service registers a peer that moved to it again, row for row)."""
        rows = self._rows
        for entry in update.entries:
            row = rows.get(name_key(entry.name))
            if row != entry if entry.port else row is not None:
                return False
        return True

    def apply(self, update: TableUpdate, own_name: str) -> str:
        """Apply `update`, which starts at this version or before (TableUpdate.start: the
        caller checks). A row removed and one added at the same address in it, of the same
        owner (_same_owner), is a rename, followed by `entry`. Returns the new name of
        `own_name` when it renames it, else ""."""
        gone: dict[Addr, Entry] = {}
        renamed_to = ""
        for entry in update.entries:
            key = name_key(entry.name)
            self._note(key)
            if entry.port == 0:  # released (or renamed)
                old = self._rows.pop(key, None)
                if old is not None:
                    gone[(old.ip, old.port)] = old
            else:
                self._rows[key] = entry
                old = gone.get((entry.ip, entry.port))
                if old is not None and name_key(old.name) != key and _same_owner(old, entry):
                    self._renamed[name_key(old.name)] = entry.name
                    if name_key(old.name) == name_key(own_name):
                        renamed_to = entry.name
                self._renamed.pop(key, None)
        self.version = update.version
        return renamed_to

    def renamed(self, old: str, new: str) -> None:
        """Our own rename from `old` to `new`, done by the registry (its answer): the row is
        `new`'s before the update that says so comes (a `who` typed right after `/nick`
        listed the old name, not as ours), which then changes nothing; nor does the version."""
        entry = self._rows.get(name_key(old))
        if entry is not None:
            self._note(name_key(old))
            self._note(name_key(new))
            del self._rows[name_key(old)]
            self._rows[name_key(new)] = structs.replace(entry, name=new)
            self._renamed[name_key(old)] = new

    def replace(self, version: int, entries: tuple[Entry, ...], aliases: tuple[Alias, ...]) -> bool:
        """The whole table at `version` (a Welcome's or a snapshot's), with `aliases`: renames
        made before we started or while we were away. Returns whether a row changed."""
        rows = self._rows
        changed = len(entries) != len(rows) or any(rows.get(name_key(e.name)) != e for e in entries)
        self.version = version
        for key in rows:
            self._note(key)
        self._rows = {name_key(e.name): e for e in entries}
        for key in self._rows:
            self._before.setdefault(key, None)  # new here, unless noted above
        # a rename the table shows is followed as one the registry names: a registry
        # restarted just after it no longer names it
        renamed = [*renames_between(rows, self._rows), *((a.old, a.new) for a in aliases)]
        for old, new in renamed:
            if name_key(old) not in self._rows:
                self._renamed[name_key(old)] = new
        return changed


#: A chat of ours awaiting its answer, with the key that alone (or the registry's) may answer it.
Owed = tuple[Chat, bytes]


#: What a peer sends under its name held while no row vouches for its key: at most this
#: many, the oldest refused beyond...
HELD: Final = 64
#: ...each for this many seconds from its last copy: its row may follow it (a sender's first
#: chat can overtake the table update that tells of it). Each copy holds it anew, so twice
#: the wait between two copies (a chat's, or a file datagram's) keeps it through its
#: sender's whole round of tries, however many tries either side makes; after the round,
#: the registry brings a chat, under its own key.
HOLD: Final = 2 * max(DIRECT_TIMEOUT, TIMEOUT)

#: A chat or a file datagram: what a peer says under its name.
Signed = Chat | FileOffer | FileNote | FileSeen


class Rule(enum.Enum):
    """Which key may send a peer a type of message."""

    #: only the registry's (a forgery could point a name at another port, or speak for it)
    REGISTRY = "a message only the registry sends, from another key"
    #: the registry's (it delivers and relays), or the key the table binds to the sender
    SENDER = "a chat from a key not its sender's"
    #: the registry's, or the key the chat it answers was sent to
    OWED = "an answer from a key it was not owed by"


#: Read once: an Enum member read from its class goes through the metaclass (CPython 3.11),
#: a cost on every message believed.
_SENDER: Final = Rule.SENDER
#: Why a message of a type no rule names is dropped: the requests only the registry
#: handles, the help desk's messages (a desk client's own connection), a file request.
NEVER_SENT: Final = "a message a peer is never sent"


class Trust:
    """Believes or drops what arrives. `registry` is the registry's pinned key (b"": none
    yet, and nothing is the registry's); `entry` finds a name's row in the table
    (following renames)."""

    def __init__(
        self, registry: bytes, entry: Callable[[str], Entry | None], alarm: Alarm | None = None
    ) -> None:
        self.registry = registry
        self._entry = entry
        self._alarm = Alarm() if alarm is None else alarm
        #: What no row vouched for, by (key, id), oldest first, with where it came from and
        #: when: taken once a row does (`vouched`), else refused after HOLD (`tick`).
        self.held: dict[tuple[bytes, str], tuple[Signed, Addr, float]] = {}
        #: The key each name was last seen talking with, this run, its pin checked then (by
        #: the adapter, which keeps the pins: peer/adapter/key_checks.py); the core asks for
        #: a pin (PinKey) only for a name and key not in it.
        self.talked: dict[str, bytes] = {}
        #: The chats of ours awaiting an answer, by id (DirectChats' retries, read-only
        #: here): an answer to one is believed only from its key. An answer to none (a
        #: late copy: the chat was acked or given up) is let through, and changes nothing.
        self.owed: dict[str, Pending[Owed]] = {}
        #: Which key may send each type of message: the one table of trust, set by Received
        #: from its handlers (peer/core/received.py); a type it does not name is never sent.
        self.rules: dict[type, Rule] = {}
        self.dropped: collections.Counter[str] = collections.Counter()
        self.why = ""  # the last drop's, for the log of rejections

    def believed(
        self, message: Message, key: bytes, addr: Addr, now: float, emit: Emit
    ) -> Message | None:
        """`message`, from `addr` at `now`, as far as `key` may say it, for the core to take
        (an Acks keeps only what `key` may ack); None when it may say none of it (a Rejected
        says why, as `why` does), when it is held (`held`: no row vouches for its sender's
        key yet), or when it is a file datagram (handed to the file transfers as a
        FileDatagram). A peer's chat asks for its sender's key to be pinned, the first time
        this run (PinKey)."""
        rule = self.rules.get(type(message))
        one: Message | None = None
        if rule is None:
            pass
        elif key and key == self.registry:  # the service's, from anywhere
            one = message
        elif type(message) is Chat or (rule is _SENDER and isinstance(message, FILE_DATAGRAMS)):
            entry = self._entry(message.sender)
            if entry is None or key_from_text(entry.key) != key:
                self._hold(message, key, addr, now, emit)  # its row may be on its way
                return None
            one = message
            if type(message) is Chat and self.talked.get(message.sender) != key:
                emit(PinKey(message.sender, key))
        elif type(message) is Ack or type(message) is Refused:
            # an answer to a chat of ours (after chats, the many: acks come merged): its ack,
            # or another version's refusal (an ack fits a datagram: no peer answers TooBig)
            owed = self.owed.get(message.reply_to)
            if owed is None or owed.item[1] == key:  # (none: a late copy, it does nothing)
                one = message
        elif type(message) is Acks:
            one = self._owed_acks(message, key)
        if one is None:
            self._drop(rule.value if rule is not None else NEVER_SENT, message, addr, emit)
        elif rule is _SENDER and type(one) is not Chat:  # (a file datagram)
            emit(FileDatagram(one, key))
            return None
        return one

    def _hold(self, message: Signed, key: bytes, addr: Addr, now: float, emit: Emit) -> None:
        """Hold `message` until a row vouches for `key`, or HOLD passes; beyond HELD, refuse."""
        held = self.held
        held.pop((key, message.id), None)
        held[key, message.id] = (message, addr, now)
        if len(held) > HELD:
            self._refuse_oldest(emit)
        self._alarm.lower(now + HOLD)

    def vouched(self) -> list[tuple[Signed, Addr, bytes]]:
        """What was held and a row now vouches for (the table changed), oldest first, each
        with where it came from and the key that sealed it: no longer held."""
        taken = []
        for (key, msg_id), (message, addr, _) in list(self.held.items()):
            entry = self._entry(message.sender)
            if entry is not None and key_from_text(entry.key) == key:
                del self.held[key, msg_id]
                taken.append((message, addr, key))
        return taken

    def tick(self, now: float, emit: Emit) -> None:
        while self.held and next(iter(self.held.values()))[2] + HOLD <= now:
            self._refuse_oldest(emit)

    def _refuse_oldest(self, emit: Emit) -> None:
        message, addr, _ = self.held.pop(next(iter(self.held)))
        self._drop(Rule.SENDER.value, message, addr, emit)

    def next_wake(self) -> float | None:
        return next((since + HOLD for _, _, since in self.held.values()), None)

    def _owed_acks(self, acks: Acks, key: bytes) -> Acks | None:
        """What of `acks` answers no chat owed by another key than `key` (None: nothing)."""
        owed = self.owed
        replies = tuple(r for r in acks.replies if r not in owed or owed[r].item[1] == key)
        if len(replies) == len(acks.replies):
            return acks
        return Acks(acks.id, replies) if replies else None

    def _drop(self, why: str, message: Message, addr: Addr, emit: Emit) -> None:
        self.dropped[why] += 1
        self.why = why
        emit(Rejected(why, f"dropped {type(message).__name__} from {addr[0]}:{addr[1]}: {why}"))
