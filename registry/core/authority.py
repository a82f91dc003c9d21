"""Whom a name leads to, and whether a request that names it may act for it: its owner's
key, its token, and for a request made anew by each start of a peer, the start that holds
the name."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from msgspec import Struct

from registry.core.actions import Emit
from registry.core.credentials import same_secret, token_matches
from registry.core.requests import Answers, Recent, Request, fmt, remember, session_of
from registry.core.table import Record, Table
from wire.messages import Alias
from wire.names import SERVER_NAME, SERVER_NAME_TAKEN, name_key
from wire.refusals import OFFLINE_REFUSAL, RefusalCode, replaced_refusal, unknown_name
from wire.words import counted

#: Seconds a renamed peer's old name still leads to it, and nobody else may take it.
RENAME_GRACE = 300.0


class Claim(Struct, frozen=True):
    """What a kind of request proves to act for the name in its field `by` with its `token`:
    `what` names it in the log; a `fresh` one, made anew by each start of a peer, comes from
    the start that holds the name; an `online` one needs the name online; a late copy of one
    done `once` is only acked."""

    what: str
    by: str = "name"
    fresh: bool = False
    online: bool = False
    once: bool = False


#: What the registry does with a request: the message, the request, `now`, emit.
Handler = Callable[[Any, Request, float, Emit], None]
#: ...with one that proved its Claim, handed the record of the name it acts for.
Act = Callable[[Any, Request, Record, float, Emit], None]


class Names:
    """The names of `table`, and those given up by renames: each leads to its holder, for
    RENAME_GRACE (in memory only) theirs alone. Claims to act for a name are checked here."""

    def __init__(self, table: Table, answers: Answers) -> None:
        self._table, self._answers = table, answers
        # old name key -> until when it is reserved for its holder
        self._until: dict[str, float] = {}
        # kept token (a hash) -> the token proven against it, hashed once (in memory alone)
        self._proven = Recent[str]()

    def lookup(self, name: str) -> Record | None:
        """The record for `name`, following a rename within RENAME_GRACE."""
        record = self._table.get(name)
        if record is None and name_key(name) in self._until:
            return self._table.renamed_from(name)
        return record

    def holder(self, name: str) -> Record | None:
        """The record `name` leads to, following any rename."""
        return self._table.records.get(name_key(name)) or self._table.renamed_from(name)

    def reserved(self, name: str, asker: Record | None, now: float) -> str:
        """Why `name`, free in the table, cannot be taken by `asker` (None: a newcomer): the
        registry's own, or given up by a rename within RENAME_GRACE ("": it can)."""
        if name_key(name) == name_key(SERVER_NAME):
            return SERVER_NAME_TAKEN
        holder = self.lookup(name)
        if holder is None or holder is asker:
            return ""
        until = self._until[name_key(name)]
        if until <= now:  # over, though the sweep has not yet dropped it
            return ""
        minutes = max(1, math.ceil((until - now) / 60))
        return (
            f"{name} was renamed {holder.name} just now; the name stays theirs for "
            f"{counted(minutes, 'more minute')}, so that messages on their "
            f"way to {name} still reach them. Choose another name, or try again then."
        )

    def rows(self) -> tuple[Alias, ...]:
        holders = ((old, self._table.renamed_from(old)) for old in self._until)
        return tuple(Alias(old, record.name) for old, record in holders if record is not None)

    def renamed(self, old_key: str, new_key: str, now: float) -> None:
        if old_key == new_key:
            raise ValueError(f"a rename to the same name key {old_key!r} leaves no alias")
        self.taken(new_key)
        self._table.note_rename(old_key, new_key)
        self._until[old_key] = now + RENAME_GRACE

    def taken(self, key: str) -> None:
        self._until.pop(key, None)
        self._table.name_taken(key)

    def expire(self, now: float) -> None:
        self._until = {old: until for old, until in self._until.items() if until > now}

    def claimed(self, claim: Claim, act: Act) -> Handler:
        """`act` on each request that proves `claim`; the others are refused."""

        def proven(msg: Any, req: Request, now: float, emit: Emit) -> None:
            record = self.authorised(req, getattr(msg, claim.by), msg.token, claim, emit)
            if record is not None and not (claim.once and self._answers.done_before(req, emit)):
                act(msg, req, record, now, emit)

        return proven

    def authorised(
        self, req: Request, name: str, token: str, claim: Claim, emit: Emit
    ) -> Record | None:
        """The record for `name` if `req` came with its owner's key and `token` is its
        token (a record of no key: from its owner's address), as `claim` needs."""
        record, of = self.holder(name), f"{claim.what} of {name}"
        if record is None:
            reason = (unknown_name(name), "no such name")
            what = f"{claim.what} of unknown {name}"
            self._answers.refuse(req, reason, what, emit, RefusalCode.NAME_UNKNOWN)
            return None
        kept = record.token
        proven = self._proven.get(kept)
        token_ok = same_secret(token, proven) if proven else token_matches(token, kept)
        if token_ok and not proven:
            remember(self._proven, kept, token)
        key_ok = not record.key or req.key == record.key
        if not key_ok and not token_ok:
            self._another_key(req, of, emit)
            return None
        if not token_ok:
            self._answers.refuse(req, "Wrong token for that name.", f"{of}: wrong token", emit)
            return None
        if not record.key and req.addr[0] != record.ip:
            what = f"{of} from {fmt(req.addr)}: token from another address"
            self._answers.refuse(req, "That name is registered from another address.", what, emit)
            return None
        if claim.fresh and self._replaced(req, of, record, emit):
            return None
        if not key_ok:  # the token of a start whose name moved to another key since
            self._another_key(req, of, emit)
            return None
        if claim.online and not record.online:
            what = f"{claim.what} of offline {name}"
            self._answers.refuse(req, OFFLINE_REFUSAL, what, emit, RefusalCode.OFFLINE)
            return None
        return record

    def _replaced(self, req: Request, of: str, record: Record, emit: Emit) -> bool:
        held_by = session_of(record.last_register_id)
        if not (held_by and session_of(req.id) and session_of(req.id) != held_by):
            return False
        code, reason = replaced_refusal(
            record.name, fmt(record.addr), online=record.online, deregistered=record.deregistered
        )
        what = f"{of} from an earlier start"
        self._answers.refuse(req, (reason, "from an earlier start"), what, emit, code)
        return True

    def _another_key(self, req: Request, of: str, emit: Emit) -> None:
        what = f"{of} from {fmt(req.addr)}: another key"
        self._answers.refuse(req, "That name belongs to another key.", what, emit)
