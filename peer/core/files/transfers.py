"""The file transfers of one peer, both ways, sans-IO (docs/PROTOCOL.md, "Files"): an offer
retried until seen, answered within LAPSE; an accepted file pulled from its last verified
byte, again RETRY seconds after a drop; how it ended told in a FileNote."""

from __future__ import annotations

import itertools
import re
from collections import Counter, deque
from collections.abc import Callable

from msgspec.structs import replace

from peer.core.actions import Print
from peer.core.files.names import NAME_MAX, fitted_name, name_problem, partial_name, shown_name
from peer.core.files.transfer import (
    EmitFile,
    Ended,
    KeepTransfer,
    Outcome,
    Pull,
    Role,
    Tell,
    Transfer,
    TransferPhase,
    percent,
    size_text,
)
from peer.core.files.typed import typed_command
from wire.messages import Entry, FileNote, FileOffer, FileSeen, NoteState
from wire.reliable import Retransmitter
from wire.tally import Tally

#: Largest file offered or accepted, in bytes.
MAX_FILE_SIZE = 2 * 1024**3
#: Seconds an offer waits for its answer before it lapses, on both sides.
LAPSE = 300.0
#: Offers received and not yet answered, at most, from one key and from all: a new one
#: beyond either is refused.
OFFERS_FROM_ONE = 8
OFFERS_WAITING = 64
#: Seconds between a receiver's attempts to resume while its sender is online.
RETRY = 2.0
#: ... after a write failed (a full disk): room is made by a person, not in a moment.
DISK_RETRY = 30.0
#: Ended transfers /files still lists.
ENDED_KEPT = 20
#: A progress line is said at every this many percent.
PROGRESS_STEP = 10
#: Offers refused, offers lapsed (others can make them come by the thousand): the first is
#: said at once, in full; those in the next TALLY_EVERY seconds in one line then, naming
#: TALLY_NAMES of those they were from.
TALLY_EVERY = 10.0
TALLY_NAMES = 3


class FileTransfers:
    """Every transfer of this peer. `own` gives its name, `entry` a name's table row,
    `new_id` message ids, and offer ids (a random session's: they outlive the process);
    `name_max`, the bytes a file name may take in `downloads`."""

    def __init__(
        self,
        *,
        own: Callable[[], str],
        entry: Callable[[str], Entry | None],
        new_id: Callable[[], str],
        downloads: str,
        name_max: int = NAME_MAX,
    ) -> None:
        self._own = own
        self._entry = entry
        self._new_id = new_id
        self.downloads = downloads
        self.limit = MAX_FILE_SIZE
        self.name_max = name_max
        self.transfers: dict[int, Transfer] = {}
        self.ended: deque[Ended] = deque(maxlen=ENDED_KEPT)
        self._sent: Retransmitter[tuple[str, FileOffer | FileNote]] = Retransmitter()
        self._lapse_at: dict[int, float] = {}
        self._retry_at: dict[int, float] = {}
        self._pulling: set[int] = set()
        self._said: dict[int, int] = {}  # the last progress step said, per transfer
        self._stopped_said: set[int] = set()  # transfers whose stop was said since they moved
        self._numbers = itertools.count(1)  # the next transfer's number
        self._waiting: Counter[str] = Counter()  # offers received, not answered, by key
        self._refusals = Tally(1, TALLY_EVERY, TALLY_NAMES)
        self._lapses = Tally(1, TALLY_EVERY, TALLY_NAMES)

    def typed(self, verb: str, args: str, now: float, emit: EmitFile) -> None:
        typed_command(self, verb, args, now, emit)

    def offer_to(self, to: str, emit: EmitFile) -> Entry | None:
        """The row of `to`, when a file may be offered to them now; else None, said."""
        entry = self._entry(to)
        if entry is None:
            emit(Print(f"[No one is called {to}. who lists every name.]", "error"))
        elif entry.name.lower() == self._own().lower():
            emit(Print("[A file goes to someone else; it is on your machine already.]", "error"))
        elif not entry.online:
            why = "a file goes only to someone online (the registry keeps no files)"
            emit(Print(f"[{entry.name} is offline: {why}.]", "error"))
        elif not entry.key:
            emit(Print(f"[{entry.name} has no key in the table: no file can go to them.]", "error"))
        else:
            return entry
        return None

    def file_read(self, to: str, facts: Transfer | str, now: float, emit: EmitFile) -> None:
        """The file typed for `to` was read: its facts, or why it cannot be sent (said)."""
        if isinstance(facts, str):
            emit(Print(f"[{facts}]", "error"))
            return
        if facts.size > self.limit:
            emit(Print(f"[{facts.name} is {self._too_big(facts.size)}.]", "error"))
            return
        if (entry := self.offer_to(to, emit)) is None:
            return
        named = self._new_id()
        transfer = self._held(replace(facts, offer=named, peer=entry.name, peer_key=entry.key), now)
        emit(KeepTransfer(transfer))
        offer = FileOffer(self._new_id(), self._own(), named, facts.name, facts.size, facts.sha256)
        self._tell(entry.name, offer, now, emit)
        line = (
            f"[Offered {transfer.about()} ({size_text(facts.size)}), number "
            f"{transfer.number}; waiting for {entry.name} to accept.]"
        )
        emit(Print(line, "system"))

    def accept(self, transfer: Transfer, now: float, emit: EmitFile) -> None:
        """/accept: take the file into the downloads folder, from its first byte."""
        self._answered(transfer)
        transfer.phase = TransferPhase.MOVING
        partial = partial_name(transfer.name, transfer.number, self.name_max)
        transfer.path = f"{self.downloads}/{partial}"
        self._lapse_at.pop(transfer.number, None)
        emit(KeepTransfer(transfer))
        saved = fitted_name(transfer.name, self.name_max)
        cut = f" as {saved} (its name is too long there)" if saved != transfer.name else ""
        emit(Print(f"[Receiving {transfer.about()} into {self.downloads}{cut}.]", "system"))
        self._pull(transfer, now, emit)

    def end(
        self, transfer: Transfer, state: NoteState, why: str, now: float, emit: EmitFile
    ) -> None:
        """End `transfer` on this side as `state` (rejected, cancelled, failed), said, and
        tell the other side; a partial file is deleted."""
        note = FileNote(self._new_id(), self._own(), transfer.offer, state, why)
        self._tell(transfer.peer, note, now, emit)
        self._forget(transfer, state + (f": {why}" if why else ""), emit)
        if state is NoteState.FAILED:
            lost = "" if transfer.sending else " Nothing of it was kept."
            emit(Print(f"[{transfer.about()} failed: {why}.{lost}]", "error"))
        else:
            emit(Print(f"[{state.capitalize()} {transfer.about()}.]", "system"))

    def follow_renames(self, emit: EmitFile) -> None:
        """Each transfer's peer under the name the table gives their key now (after a rename), in
        its lines and its record. (`received` follows the one its datagram is about.)"""
        for transfer in self.transfers.values():
            self._follow(transfer, emit)

    def _follow(self, transfer: Transfer, emit: EmitFile) -> None:
        entry = self._entry(transfer.peer)
        if entry and entry.key == transfer.peer_key and entry.name != transfer.peer:
            transfer.peer = entry.name
            if transfer.sending or transfer.phase is TransferPhase.MOVING:  # else none is kept
                emit(KeepTransfer(transfer))

    def received(
        self, message: FileOffer | FileNote | FileSeen, key: str, now: float, emit: EmitFile
    ) -> None:
        """A file datagram from the peer whose key is `key` (already checked against the
        table's row of `message.sender`): answered FileSeen, but a new offer refused, which
        its FileNote answers alone."""
        if isinstance(message, FileSeen):
            self._sent.answer(message.reply_to)
            return
        note = isinstance(message, FileNote)
        found = self._find(message.offer, key, None if note else Role.RECEIVE)
        if found is None and isinstance(message, FileOffer):
            self._offered(message, key, now, emit)
            return
        emit(Tell(message.sender, FileSeen(self._new_id(), self._own(), message.id)))
        if found is None:
            return  # a note of a transfer that ended here already
        self._follow(found, emit)
        if isinstance(message, FileNote):
            self._noted(found, message, emit)
        elif found.phase is TransferPhase.MOVING and found.number not in self._pulling:
            self._pull(found, now, emit)  # the sender is back: no need to wait for the retry

    def _noted(self, noted: Transfer, message: FileNote, emit: EmitFile) -> None:
        why = f": {message.reason}" if message.reason else ""
        if message.state is NoteState.DONE:
            size = size_text(noted.size)
            line = f"[{noted.peer} has {noted.name} ({size}, SHA-256 checked).]"
        else:
            line = f"[{noted.peer} {message.state} {noted.about()}{why}.]"
        quiet = message.state in (NoteState.DONE, NoteState.REJECTED)
        emit(Print(line, "system" if quiet else "error"))
        self._forget(noted, message.state + why, emit)

    def _offered(self, offer: FileOffer, key: str, now: float, emit: EmitFile) -> None:
        """A new offer: refused if bad or too many wait, else said and held (not on disk)."""
        problem = self._offer_problem(offer, key)
        if problem is not None:
            self._refuse(offer, problem, now, emit)
            return
        emit(Tell(offer.sender, FileSeen(self._new_id(), self._own(), offer.id)))
        facts = (offer.offer, offer.sender, key, offer.name, offer.size, offer.sha256)
        n = self._held(Transfer(0, Role.RECEIVE, *facts), now).number
        self._waiting[key] += 1
        line = (
            f"[{offer.sender} offers {offer.name} ({size_text(offer.size)}): "
            f"/accept {n} or /reject {n} (it lapses in {LAPSE / 60:g} min).]"
        )
        emit(Print(line, "system"))

    def _held(self, transfer: Transfer, now: float) -> Transfer:
        """`transfer` numbered, and held until answered (or it lapses)."""
        transfer = replace(transfer, number=next(self._numbers))
        self.transfers[transfer.number] = transfer
        self._lapse_at[transfer.number] = now + LAPSE
        return transfer

    def _refuse(self, offer: FileOffer, problem: str, now: float, emit: EmitFile) -> None:
        """Refuse `offer` for `problem`: its sender told (a copy anew), the line tallied."""
        why = f"refused: {problem}"
        note = FileNote(self._new_id(), self._own(), offer.offer, NoteState.FAILED, why)
        emit(Tell(offer.sender, note))
        self._say_counted(now, emit)
        if self._refusals.offer(now, offer.sender, problem):
            line = f"[{offer.sender} offered a file {shown_name(offer.name)}: refused, {problem}.]"
            emit(Print(line, "error"))

    def _say_counted(self, now: float, emit: EmitFile) -> None:
        """The lines for the offers refused and lapsed meanwhile, once due: said before any
        line of theirs that comes after."""
        if (refused := self._refusals.take(now)) is not None:
            names = refused.named(" and others")
            line = f"{refused.count:,} more file offers refused, from {names} (the last: "
            emit(Print(f"[{line}{refused.last}).]", "error"))
        if (lapsed := self._lapses.take(now)) is not None:
            names = lapsed.named(" and others")
            line = f"{lapsed.count:,} more file offers lapsed, with {names}: no answer within"
            emit(Print(f"[{line} {LAPSE / 60:g} min.]", "error"))

    def _offer_problem(self, offer: FileOffer, key: str) -> str | None:
        if self._waiting[key] >= OFFERS_FROM_ONE:
            return f"{OFFERS_FROM_ONE} offers from {offer.sender} wait for an answer already"
        if self._waiting.total() >= OFFERS_WAITING:
            return f"{OFFERS_WAITING} offers wait for an answer already"
        if (problem := name_problem(offer.name)) is not None:
            return problem
        if offer.size < 0:
            return f"a bad size ({offer.size})"
        if offer.size > self.limit:
            return self._too_big(offer.size)
        if not re.fullmatch("[0-9a-f]{64}", offer.sha256):
            return "no SHA-256 to check it by"
        return None

    def _too_big(self, size: int) -> str:
        return f"{size_text(size)}, over the limit of {size_text(self.limit)} a file"

    def want(self, offer: str, offset: int, key: str, now: float, emit: EmitFile) -> Transfer | str:
        """A receiver asks for the bytes of `offer` from `offset`: the transfer to serve,
        or why not (a sentence for the receiver's user)."""
        if (transfer := self._find(offer, key, Role.SEND)) is None:
            return "no such offer is open there (it was cancelled, or lapsed)"
        if not 0 <= offset <= transfer.size:
            return f"an offset outside the file ({offset})"
        transfer.verified = offset
        if transfer.phase is TransferPhase.OFFERED:
            transfer.phase = TransferPhase.MOVING
            self._lapse_at.pop(transfer.number, None)
            emit(Print(f"[{transfer.peer} accepted {transfer.name}; sending.]", "system"))
        elif offset > 0:
            emit(Print(resuming(transfer), "system"))
        self._said[transfer.number] = percent(offset, transfer.size) // PROGRESS_STEP
        emit(KeepTransfer(transfer))
        return transfer

    def progress(self, transfer: Transfer, at: int, emit: EmitFile, *, kept: bool = True) -> None:
        """`at` bytes are on their way (the sender), or taken (the receiver): verified and
        kept when `kept`, else only said. Said at every PROGRESS_STEP percent."""
        if kept:
            transfer.verified = at
        self._stopped_said.discard(transfer.number)
        step = percent(at, transfer.size) // PROGRESS_STEP
        if step > self._said.get(transfer.number, 0) and at < transfer.size:
            self._said[transfer.number] = step
            emit(Print(f"[{transfer.about()}: {transfer.done_part(at)}]", "info"))

    def served(self, transfer: Transfer, why: str, emit: EmitFile) -> None:
        """The connection serving `transfer` ended (`why`, "" when cleanly)."""
        if transfer.number not in self.transfers:
            return
        if transfer.verified >= transfer.size:
            line = f"[Sent all of {transfer.about()}; waiting for {transfer.peer} to check it.]"
            emit(Print(line, "system"))
        elif transfer.number not in self._stopped_said:
            self._stopped_said.add(transfer.number)
            line = (
                f"[{transfer.about()} stopped at {transfer.done_part()} ({why}); "
                f"it resumes when {transfer.peer} asks again.]"
            )
            emit(Print(line, "error"))
        emit(KeepTransfer(transfer))

    def pulled(
        self, transfer: Transfer, outcome: Outcome, why: str, now: float, emit: EmitFile
    ) -> None:
        """A pull of `transfer` ended as `outcome`; `why`: a sentence, or the saved path (DONE)."""
        self._pulling.discard(transfer.number)
        if transfer.number not in self.transfers:
            return  # cancelled, or ended by a note, meanwhile
        if outcome is Outcome.DONE:
            size = size_text(transfer.size)
            line = f"[Received {transfer.about()} ({size}, SHA-256 checked): saved as {why}]"
            emit(Print(line, "system"))
            note = FileNote(self._new_id(), self._own(), transfer.offer, NoteState.DONE, "")
            self._tell(transfer.peer, note, now, emit)
            self._forget(transfer, "done", emit)
        elif outcome is Outcome.BROKEN:
            self.end(transfer, NoteState.FAILED, why, now, emit)
        else:
            wait = DISK_RETRY if outcome is Outcome.DISK else RETRY
            self._retry_at[transfer.number] = now + wait
            if transfer.number not in self._stopped_said:
                self._stopped_said.add(transfer.number)
                then = (
                    "in a while; free some room or /cancel"
                    if outcome is Outcome.DISK
                    else f"by itself when {transfer.peer} is back; or /cancel"
                )
                line = (
                    f"[{transfer.about()} stopped at {transfer.done_part()}: {why}. "
                    f"It resumes {then} {transfer.number}.]"
                )
                emit(Print(line, "error"))

    def loaded(self, kept: list[Transfer], now: float, emit: EmitFile) -> None:
        """The records kept by an earlier run: taken up again, and said."""
        for transfer in sorted(kept, key=lambda t: t.number):
            self.transfers[transfer.number] = transfer
            if transfer.phase is TransferPhase.OFFERED:
                self._lapse_at[transfer.number] = now + LAPSE
                if not transfer.sending:
                    self._waiting[transfer.peer_key] += 1
            elif not transfer.sending:
                self._retry_at[transfer.number] = now
                self._stopped_said.add(transfer.number)
                line = (
                    f"[{transfer.about()}: {transfer.done_part()} kept; "
                    f"it resumes when {transfer.peer} is online.]"
                )
                emit(Print(line, "system"))
            self._said[transfer.number] = percent(transfer.verified, transfer.size) // PROGRESS_STEP
        first = max(next(self._numbers), max(self.transfers, default=0) + 1)
        self._numbers = itertools.count(first)

    def tick(self, now: float, emit: EmitFile) -> None:
        """Time passed: copies sent again or given up, offers lapsed, pulls tried again."""
        again, failed = self._sent.due(now)
        for to, message in again:
            if isinstance(message, FileOffer) and not self._find(message.offer, None, Role.SEND):
                continue  # refused (or ended) meanwhile: not offered again
            emit(Tell(to, message))
        for to, message in failed:
            # sent ATTEMPTS times unseen: an offer is withdrawn; a note is left (the other
            # side's offer lapses, or its pull is refused)
            found = self._find(message.offer, None, Role.SEND)
            if isinstance(message, FileOffer) and found and found.phase is TransferPhase.OFFERED:
                line = f"[No answer from {to}: the offer of {found.name} is withdrawn.]"
                emit(Print(line, "error"))
                self._forget(found, f"no answer from {to}", emit)
        self._say_counted(now, emit)
        for number, at in list(self._lapse_at.items()):
            if at <= now:  # (an ended transfer is no longer in `_lapse_at`)
                transfer = self.transfers[number]
                what = transfer.about()
                if self._lapses.offer(now, transfer.peer, what):
                    line = f"[The offer of {what} lapsed: no answer within {LAPSE / 60:g} min.]"
                    emit(Print(line, "error"))
                self._forget(transfer, "lapsed", emit)
        for number, at in list(self._retry_at.items()):
            if number in self._pulling:
                del self._retry_at[number]  # a pull under way took its place
            elif at <= now:
                self._pull(self.transfers[number], now, emit)

    def next_wake(self) -> float | None:
        times = [*self._lapse_at.values(), *self._retry_at.values()]
        for at in (self._sent.next_wake(), self._refusals.due, self._lapses.due):
            if at is not None:
                times.append(at)
        return min(times) if times else None

    def _pull(self, transfer: Transfer, now: float, emit: EmitFile) -> None:
        """Pull `transfer` if its sender is online, else look again after RETRY."""
        number = transfer.number
        entry = self._entry(transfer.peer)
        if entry is None or not entry.online:
            self._retry_at[number] = now + RETRY
            return
        if transfer.verified > 0 and number in self._stopped_said:
            emit(Print(resuming(transfer), "system"))
        self._retry_at.pop(number, None)
        self._pulling.add(number)
        emit(Pull(transfer))

    def _answered(self, transfer: Transfer) -> None:
        """`transfer` no longer waits for this side's answer, if it did."""
        held = self.transfers.get(transfer.number) is transfer
        if held and not transfer.sending and transfer.phase is TransferPhase.OFFERED:
            self._waiting[transfer.peer_key] -= 1
            if not self._waiting[transfer.peer_key]:
                del self._waiting[transfer.peer_key]

    def _forget(self, transfer: Transfer, how: str, emit: EmitFile) -> None:
        self._answered(transfer)
        number = transfer.number
        self.transfers.pop(number, None)
        for table in (self._lapse_at, self._retry_at, self._said):
            table.pop(number, None)
        self._pulling.discard(number)
        self._stopped_said.discard(number)
        self.ended.append(Ended(number, transfer.about(), how))
        emit(KeepTransfer(transfer, ended=True))

    def _tell(self, to: str, message: FileOffer | FileNote, now: float, emit: EmitFile) -> None:
        emit(Tell(to, message))
        self._sent.start(message.id, (to, message), now)

    def _find(self, offer: str, key: str | None, role: Role | None) -> Transfer | None:
        """The transfer named `offer` with the peer of `key`, of `role` (None: any)."""
        for transfer in self.transfers.values():
            if transfer.offer != offer or role not in (None, transfer.role):
                continue
            if key in (None, transfer.peer_key):
                return transfer
        return None


def resuming(transfer: Transfer) -> str:
    """What is said as `transfer` resumes: from the last bytes its receiver synced to disk
    (peer/adapter/files/pull.py's checkpoints), which may be fewer than the sender sent."""
    if transfer.sending:
        why = f"the last part {transfer.peer} had safely on disk; the rest is sent again"
    else:
        why = "the last part safely on disk here; the rest comes again"
    return f"[Resuming {transfer.about()} from {transfer.done_part()}, {why}.]"
