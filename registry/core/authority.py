"""Whether a request that names a name may act for it: its owner's key, its token, and
for a request made anew by each start of a peer, the start that holds the name.
"""

from __future__ import annotations

from msgspec import Struct

from registry.core.actions import Emit
from registry.core.aliases import Aliases
from registry.core.credentials import token_matches
from registry.core.requests import Answers, Reason, Request, fmt, session_of
from registry.core.table import Record
from wire.refusals import (
    OFFLINE_REFUSAL,
    RefusalCode,
    replaced_refusal,
    unknown_name,
)


class Claim(Struct, frozen=True):
    """A request's claim to act for `name` with `token`; `what` names the request in the
    log. A `fresh` request is one a peer makes anew in each process, never kept."""

    name: str
    token: str
    what: str
    fresh: bool = False


class Authority:
    """Checks claims against the records `aliases` find, refusing through `answers`."""

    def __init__(self, aliases: Aliases, answers: Answers) -> None:
        self._aliases = aliases
        self._answers = answers

    def authorised(self, req: Request, claim: Claim, emit: Emit) -> Record | None:
        """The record for the claimed name if `req` came with its owner's key and the
        claim's token is its token (a record of no key: from its owner's address); a
        fresh claim also from the start that holds the name."""
        record = self._aliases.holder(claim.name)
        if record is None:
            what = f"{claim.what} of unknown {claim.name}"
            reason = Reason(unknown_name(claim.name), "no such name")
            self._answers.refuse(req, reason, what, emit, RefusalCode.NAME_UNKNOWN)
            return None
        token_ok = token_matches(claim.token, record.token)
        key_ok = not record.key or req.key == record.key
        if not key_ok and not token_ok:
            self._another_key(req, claim, emit)
            return None
        if not token_ok:
            what = f"{claim.what} of {claim.name}: wrong token"
            self._answers.refuse(req, "Wrong token for that name.", what, emit)
            return None
        if not record.key and req.addr[0] != record.ip:
            what = f"{claim.what} of {claim.name} from {fmt(req.addr)}: token from another address"
            self._answers.refuse(req, "That name is registered from another address.", what, emit)
            return None
        if claim.fresh and self._replaced(req, claim, record, emit):
            return None
        if not key_ok:  # the token of a start whose name moved to another key since
            self._another_key(req, claim, emit)
            return None
        return record

    def member(self, req: Request, claim: Claim, emit: Emit) -> Record | None:
        """Like `authorised`, for room requests and renames, which need the peer online."""
        record = self.authorised(req, claim, emit)
        if record is not None and not record.online:
            what = f"{claim.what} of offline {claim.name}"
            self._answers.refuse(req, OFFLINE_REFUSAL, what, emit, RefusalCode.OFFLINE)
            return None
        return record

    def _replaced(self, req: Request, claim: Claim, record: Record, emit: Emit) -> bool:
        """Whether `req`, with the owner's token, comes from a start of the peer other
        than the one that last registered the name (a stopped start another took the name
        from): it is told so."""
        held_by = session_of(record.last_register_id)
        if not (held_by and session_of(req.id) and session_of(req.id) != held_by):
            return False
        code, reason = replaced_refusal(
            record.name,
            fmt(record.addr),
            online=record.online,
            deregistered=record.deregistered,
        )
        what = f"{claim.what} of {claim.name} from an earlier start"
        self._answers.refuse(req, Reason(reason, "from an earlier start"), what, emit, code)
        return True

    def _another_key(self, req: Request, claim: Claim, emit: Emit) -> None:
        """Refuse a request for the claimed name that came with a key not the name's."""
        what = f"{claim.what} of {claim.name} from {fmt(req.addr)}: another key"
        self._answers.refuse(req, "That name belongs to another key.", what, emit)
