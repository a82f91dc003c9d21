"""Register: who may take a name, by which proof; one that waited for a probe or a
password's check is carried out again; one read too late is asked to wait (Busy), as is
a password's ask beyond its budget. A password is proven by SRP-6a (secure/password.py):
PasswordAsk begins an exchange, a Register's `proof` ends it."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import msgspec
from msgspec import Struct

from registry.core.actions import Addr, CheckPassword, Emit, Log, SaveTable, Send
from registry.core.credentials import NO_PASSWORD, TOKEN_HASH, token_hash, token_matches
from registry.core.flood import FloodGate, PasswordBudget
from registry.core.requests import Recent, Request, another_start, fmt, remember
from registry.core.services import Arrivals, Mail, Probes, Services
from registry.core.table import Record
from secure.password import Challenge, Stored
from wire.keys import key_from_text
from wire.messages import Busy, PasswordAsk, PasswordChallenge, Refused, Register, Welcome, is_token
from wire.names import name_key, name_problem
from wire.refusals import RefusalCode
from wire.reliable import TIMEOUT
from wire.version import WIRE_VERSION, wire_refusal

#: Registrations refused for a budget are logged one in this many.
LOG_PASSWORDS_EVERY = 100
#: Password checks under way past which an address that sent a wrong password lately
#: gets none: a slow machine refuses guessers rather than queue their checks.
CHECKS_AT_ONCE = 4
#: Seconds a challenge waits for its proof, and how many wait at most (the oldest dropped).
CHALLENGE_LIFE = 60.0
CHALLENGES_KEPT = 1024
#: Seconds the registry may be behind before a registration is answered Busy (a retry's
#: worth); what it asks to wait, and how often it says so.
BUSY_AFTER = TIMEOUT
BUSY_WAIT_MIN = 1.0
BUSY_WAIT_MAX = 10.0
BUSY_LOG_EVERY = 5.0


#: A PasswordAsk, or a registration, waiting for its password's work on a thread.
_Check = tuple[Register | PasswordAsk, Request]
#: A challenge sent, awaiting its proof: the library's session (opaque), and until when.
_Pending = tuple[PasswordChallenge, object, float]


class _Attempt(Struct, frozen=True):
    """A registration being carried out; `record` None: a new name."""

    msg: Register
    req: Request
    what: str
    record: Record | None

    @property
    def where(self) -> Addr:
        return (self.req.addr[0], self.msg.port)


class Registration:
    def __init__(
        self, services: Services, liveness: Probes, presence: Arrivals, post: Mail, new_names: int
    ) -> None:
        self._s, self._liveness, self._presence, self._post = services, liveness, presence, post
        self.passwords = PasswordBudget()
        self._new_names = new_names
        self._names = FloodGate(rate=new_names / 3600.0, burst=float(new_names))  # an hour's
        self._names_refused = 0
        #: registration id -> when its Welcome was sent, and the token it gave (the registry
        #: keeps only hashes)
        self.welcomes = Recent[tuple[float, str]]()
        # the registrations being checked, by ticket; the one carried out again (its id,
        # key, and whether its proof held); challenges by (key, name key); verdicts on
        # proofs by (key, id), which their copies get again
        self._checking: dict[str, _Check] = {}
        self._proof: tuple[str, str, bool] | None = None
        self._challenges: dict[tuple[str, str], _Pending] = {}
        self._verdicts = Recent[bool]()
        #: in [0, 1): spreads the waits Busy asks
        self.jitter: Callable[[], float] = random.random
        self._busy_said = float("-inf")  # when being busy was last logged
        #: registrations answered Busy, for the console's `stats`
        self.busy_answers = 0

    def arrived(self, msg: Register, req: Request, now: float, emit: Emit) -> None:
        """`msg` as read: carried out, or answered Busy when read BUSY_AFTER late (never a
        copy of a registration carried out already)."""
        record = self._s.table.get(msg.name)
        if req.behind < BUSY_AFTER or (
            record is not None and record.online and record.last_register_id == msg.id
        ):
            self.register(msg, req, now, emit)
            return
        self.busy_answers += 1
        wait = min(BUSY_WAIT_MAX, max(BUSY_WAIT_MIN, 2 * req.behind))
        wait *= 0.75 + 0.5 * self.jitter()
        self._s.answers.reply(req, emit, Busy, round(wait * 1000))
        if now - self._busy_said >= BUSY_LOG_EVERY:
            self._busy_said = now
            line = f"{req.behind:.1f} s behind what arrives: registrations are asked to wait"
            emit(Log(f"{line} ({msg.name} for {wait:.1f} s)"))

    def register(self, msg: Register, req: Request, now: float, emit: Emit) -> None:
        """Carry out `msg`: welcomed, refused, or waiting for a probe of the holder."""
        self._liveness.registered(now)
        if self._malformed(msg, req, emit):
            return
        attempt = self._find(msg, req, now, emit)
        if attempt is None:
            return
        if attempt.record is None:
            record = self._new(attempt, now, emit)
        else:
            record = self._claimed(attempt, attempt.record, now, emit)
        if record is not None:
            self._welcome(attempt, record, now, emit)

    def ask(self, msg: PasswordAsk, req: Request, now: float, emit: Emit) -> None:
        """Begin proving a password for `msg.name`, in budget: answered with a challenge, or
        at once when the name is new or the asker's key owns it."""
        what = f"password of {msg.name!r} from {fmt(req.addr)}"
        if problem := name_problem(msg.name):
            self._s.answers.refuse(req, (f"{problem}.", "bad name or port"), what, emit)
            return
        record = self._s.table.get(msg.name)
        if record is None or (record.key and record.key == req.key):
            self._s.answers.reply(req, emit, PasswordChallenge, record is None)
            return
        pending = self._challenges.get((req.key, name_key(msg.name)))
        if pending is not None and pending[0].reply_to == msg.id:  # a copy: the same challenge
            emit(Send(req.addr, pending[0], req.asker))
            return
        if self._being_checked(msg, req) or self._too_many_passwords(req, what, now, emit):
            return
        ticket = self._s.answers.new_id()
        self._checking[ticket] = (msg, req)
        client = key_from_text(req.key) or b""
        emit(CheckPassword(ticket, record.name, record.password or NO_PASSWORD, client))

    def checked(
        self, ticket: str, outcome: Challenge | bool | None, now: float, emit: Emit
    ) -> None:
        check = self._checking.pop(ticket, None)
        if check is None:
            return
        msg, req = check
        if outcome is None:
            said = ("The registry could not check the password now; try again.", "check failed")
            self._s.answers.refuse(req, said, f"password of {msg.name}", emit)
            return
        if isinstance(msg, PasswordAsk):
            if isinstance(outcome, Challenge):
                self._challenged(msg, req, outcome, now, emit)
            return
        self._proof = (msg.id, req.key, outcome is True)
        try:
            self.register(msg, req, now, emit)
        finally:
            self._proof = None

    def _challenged(
        self, msg: PasswordAsk, req: Request, began: Challenge, now: float, emit: Emit
    ) -> None:
        record = self._s.table.get(msg.name)
        if record is None:
            return
        if began.stored:  # an older registry's scrypt hash, replaced by a verifier of it
            record.password = began.stored
            emit(SaveTable((name_key(record.name),)))
        answer = PasswordChallenge(
            self._s.answers.new_id(), msg.id, False, began.scrypt, began.salt, began.public
        )
        pendings = self._challenges
        pendings.pop((req.key, name_key(msg.name)), None)
        pendings[(req.key, name_key(msg.name))] = (answer, began.session, now + CHALLENGE_LIFE)
        while len(pendings) > CHALLENGES_KEPT:
            del pendings[next(iter(pendings))]
        emit(Send(req.addr, answer, req.asker))

    def _malformed(self, msg: Register, req: Request, emit: Emit) -> bool:
        """Whether `msg` is refused for its version, name or port."""
        if msg.wire != WIRE_VERSION:
            # checked first: the rest of its messages could not be read here either
            reason = wire_refusal(msg.wire, "peer")
            what = f"registration from {fmt(req.addr)}"
            said = (reason, "another version")
            self._s.answers.refuse(req, said, what, emit, RefusalCode.VERSION)
            return True
        problem = name_problem(msg.name)
        if problem is None and not 1 <= msg.port <= 65535:
            problem = f"port {msg.port} is not a valid port"
        if problem:
            said = (f"{problem}.", "bad name or port")
            self._s.answers.refuse(req, said, f"registration of {msg.name!r}", emit)
            return True
        return False

    def _find(self, msg: Register, req: Request, now: float, emit: Emit) -> _Attempt | None:
        record = self._s.table.get(msg.name)
        what = f"registration of {msg.name} from {fmt(req.addr)}"
        holder = self._s.names.holder(msg.name) if record is None and msg.token else None
        if holder is not None and token_matches(msg.token, holder.token):
            # renamed as it stopped, started under its old name: welcomed under the new
            what = f"registration of {holder.name} (asked as {msg.name}) from {fmt(req.addr)}"
            record = holder
            msg = msgspec.structs.replace(msg, name=holder.name)
        if record is None and (reserved := self._s.names.reserved(msg.name, None, now)):
            self._s.answers.refuse(req, reserved, what, emit)
            return None
        return _Attempt(msg, req, what, record)

    def _new(self, attempt: _Attempt, now: float, emit: Emit) -> Record | None:
        msg, where = attempt.msg, attempt.where
        if self._address_held(attempt, now, emit) or self._too_many_names(attempt, now, emit):
            return None
        if msg.verifier and Stored.parse(msg.verifier) is None:
            said = ("The password could not be read; nothing was set.", "bad verifier")
            self._s.answers.refuse(attempt.req, said, attempt.what, emit)
            return None
        # the peer's own token when it proposes one: it has kept it already
        kept = token_hash(msg.token if is_token(msg.token) else self._s.new_token())
        record = Record(msg.name, *where, False, kept, msg.verifier, key=attempt.req.key)
        record.made = self._s.wall(now)
        key = name_key(msg.name)
        self._s.table.records[key] = record
        self._s.names.taken(key)  # the name is someone else's now
        emit(Log(f"registered {msg.name} at {fmt(where)}"))
        return record

    def _claimed(self, attempt: _Attempt, record: Record, now: float, emit: Emit) -> Record | None:
        msg, same_key = attempt.msg, attempt.req.key == record.key
        copy = msg.id == record.last_register_id and record.addr == attempt.where
        # its key or its token (a copy's id alone, seen by anyone, proves nothing)
        owned = (same_key and (bool(record.key) or copy)) or token_matches(msg.token, record.token)
        if not owned and msg.proof:
            # checked last, the one costly check; a name without a password alike (its
            # challenge was made up), so that the answer does not tell whether it has one
            proven = self._proven(attempt, now, emit)
            if proven is None:
                return None
            owned = proven
        if not owned:
            self._not_owner(attempt, record, emit)
            return None
        if self._address_held(attempt, now, emit):
            return None
        if record.online and record.addr != attempt.where and msg.id != record.last_register_id:
            # held online at another address: the holder is asked first (docs/PROTOCOL.md)
            self._ask_first(attempt, record, f"at {fmt(record.addr)}", now, emit)
            return None
        if not (copy and record.online):  # (a copy is answered, not logged again)
            verb = "re-registered" if record.online else "registered again"
            emit(Log(f"{verb} {record.name} at {fmt(attempt.where)}"))
        if record.deregistered or another_start(msg.id, record.last_register_id):
            # a fresh start (after `dereg`, or a new session), which knows of no room
            self._presence.fresh_start(record, now, emit)
        return record

    def _welcome(self, attempt: _Attempt, record: Record, now: float, emit: Emit) -> None:
        msg, req, where = attempt.msg, attempt.req, attempt.where
        moved = bool(req.key) and record.key != req.key
        copy = not moved and msg.id == record.last_register_id and record.online
        copy = copy and record.addr == where
        welcomed_at, given = self.welcomes.get(msg.id, (-math.inf, ""))
        crossed = now - req.behind < welcomed_at + TIMEOUT
        if copy and crossed and req.datagram:
            # it crossed its Welcome; if that was lost, its next copy is answered (one over
            # TCP was sent after the TooBig its Welcome was replaced by)
            return
        self._bind(record, req.key if moved else record.key, emit)
        token = _token(msg, record, given, self._s.new_token)
        remember(self.welcomes, msg.id, (now, token))
        record.last_register_id, record.last_seen, record.deregistered = msg.id, now, False
        if not record.online or record.addr != where or moved:
            # (not for a copy: a row rewritten is a write to JetStream for nothing)
            record.used = self._s.wall(now)
            self._presence.take_over(where, record, now, emit)
            record.online, record.ip, record.port = True, where[0], where[1]
            self._s.feed.changed(record, now, emit)
        else:
            # its token may be new, and must be on disk before the Welcome says it
            emit(SaveTable((name_key(record.name),)))
        self._post.keep_owner(record, emit)
        mail = self._post.part(record)
        entries, aliases = self._s.feed.welcome_rows()
        if not copy:  # (its pushes go on from the table its peer took or is fetching)
            self._s.watch.welcomed(
                record.addr, record.key, self._s.table.version, fetching=not entries
            )
        welcome = Welcome(
            self._s.answers.new_id(),
            msg.id,
            record.name,
            token,
            self._s.table.version,
            entries,
            mail,
            aliases,
            self._s.registries,
            record.tickets,
        )
        emit(Send(req.addr, welcome, req.asker))

    def _bind(self, record: Record, key: str, emit: Emit) -> None:
        """`record` is `key`'s: moved to a new key, its tickets get a new secret."""
        if key != record.key:
            if record.key:
                emit(Log(f"{record.name} now has a new key (shown its token or password)"))
            record.key, record.tickets = key, ""
        if not record.tickets:
            record.tickets = self._s.new_token()

    def _address_held(self, attempt: _Attempt, now: float, emit: Emit) -> bool:
        for other in self._s.feed.online_at(attempt.where):
            if other is attempt.record or other.key == attempt.req.key:
                continue  # its own address, or the same key's (a restart under a new name)
            self._ask_first(attempt, other, "(online at that address)", now, emit)
            return True
        return False

    def _ask_first(
        self, attempt: _Attempt, holder: Record, where: str, now: float, emit: Emit
    ) -> None:
        if not self._liveness.probing(holder):
            emit(Log(f"{attempt.what}: asking {holder.name} {where} first"))
        self._liveness.probe(holder, now, emit, (attempt.msg, attempt.req))

    def _not_owner(self, attempt: _Attempt, record: Record, emit: Emit) -> None:
        if record.online:
            reason = f"The name {record.name} is in use by a peer that is online."
        elif attempt.msg.proof:  # said alike whether the name has a password or not
            reason = f"Wrong password for {record.name}."
        else:
            reason = (
                f"The name {record.name} belongs to someone else; only its owner can take it back."
            )
        code = RefusalCode.OTHER if record.online else RefusalCode.NOT_OWNER
        self._s.answers.refuse(attempt.req, (reason, "not the owner"), attempt.what, emit, code)

    def _too_many_names(self, attempt: _Attempt, now: float, emit: Emit) -> bool:
        ip = attempt.req.addr[0]
        wait = self._names.wait(ip, now)
        if wait <= 0:
            return False
        self._names_refused += 1
        minutes = math.ceil(max(1.0, wait) / 60)
        reason = (
            f"Too many new names registered from {ip} lately (at most "
            f"{self._new_names} an hour); try again in {minutes} min, or start with a "
            "name you registered before."
        )
        count = self._names_refused
        self._logged(
            f"refused {attempt.what}: too many new names ({count} refused so far)", count, emit
        )
        self._s.answers.reply(attempt.req, emit, Refused, reason)
        return True

    def _proven(self, attempt: _Attempt, now: float, emit: Emit) -> bool | None:
        """Whether the attempt's proof holds; None while it is checked (on a thread)."""
        msg, req = attempt.msg, attempt.req
        verdict_key = f"{req.key}|{msg.id}"
        verdict = self._verdicts.get(verdict_key)
        if verdict is not None:
            return verdict  # a copy: its verdict, counted once
        proof = self._proof
        if proof is not None and proof[:2] == (msg.id, req.key):
            verdict = proof[2]
        elif self._being_checked(msg, req):
            return None
        else:
            pending = self._challenges.pop((req.key, name_key(msg.name)), None)
            if pending is not None and now < pending[2]:
                ticket = self._s.answers.new_id()
                self._checking[ticket] = (msg, req)
                emit(CheckPassword(ticket, session=pending[1], proof=msg.proof))
                return None
            verdict = False
        remember(self._verdicts, verdict_key, verdict)
        if not verdict:
            self.passwords.wrong(req.addr[0], now)
        return verdict

    def _being_checked(self, msg: Register | PasswordAsk, req: Request) -> bool:
        return any(m.id == msg.id and r.key == req.key for m, r in self._checking.values())

    def _too_many_passwords(self, req: Request, what: str, now: float, emit: Emit) -> bool:
        ip = req.addr[0]
        # one check at a time per address
        mine = any(asker.addr[0] == ip for _, asker in self._checking.values())
        busy = len(self._checking) >= CHECKS_AT_ONCE and self.passwords.guessed(ip, now)
        if mine or busy:
            self.passwords.refused += 1
            wait = 1.0
        else:
            wait = self.passwords.charge(ip, now)
        if not wait:
            return False
        line = f"{what} waits {math.ceil(wait)} s: too many password tries"
        count = self.passwords.refused
        self._logged(f"{line} ({count} held back so far)", count, emit)
        self._s.answers.reply(req, emit, Busy, math.ceil(wait * 1000))
        return True

    def _logged(self, line: str, count: int, emit: Emit) -> None:
        """`line`, about the `count`th request over a budget, logged now and then."""
        if count % LOG_PASSWORDS_EVERY == 1:
            emit(Log(line))


def _token(msg: Register, record: Record, given: str, new_token: Callable[[], str]) -> str:
    """The token a Welcome gives for `msg`: the one it shows, else the one `given` to an
    earlier copy, if `record` still holds it; else a new one; `record` keeps its hash."""
    if token_matches(msg.token, record.token):
        token = msg.token
    elif token_matches(given, record.token):
        token = given
    else:
        token = new_token()
    if not record.token.startswith(TOKEN_HASH) or not token_matches(token, record.token):
        record.token = token_hash(token)  # (a token kept in clear by an older table too)
    return token
