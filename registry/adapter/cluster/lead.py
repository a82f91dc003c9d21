"""Which registry of a service decides, and which registries the service has
(docs/PROTOCOL.md, "Several registries").

The one that decides holds `lead` in bucket CHATAPP_LEAD, with a time to live of LEASE seconds,
renewed every RENEW seconds over the revision it wrote last (compare-and-set); when it expires,
the first other registry to write it decides. Taking it, a registry writes its id to `term`,
unless `term` holds its own last write (nobody else led since). Each registry keeps
`member.<id>` alike, holding where peers reach it. The service's key is in CHATAPP_SERVICE.
"""

from __future__ import annotations

import json

import nats.js.errors
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from registry.adapter.cluster.store import (
    ERRORS,
    WRONG_LAST,
    Superseded,
    bucket,
    entries,
    made_once,
)
from wire.keys import KEY_BYTES

#: Seconds the lead (and a membership) lasts unless renewed: short, so that a registry gone is
#: found soon; a busy one keeps it, renewed from a thread (keeper.py). NATS counts whole seconds.
LEASE = 2.0
#: Seconds between renewals, and between looks for a lead that is free.
RENEW = 0.5
LEAD_BUCKET, SERVICE_BUCKET = "CHATAPP_LEAD", "CHATAPP_SERVICE"


async def service_key(js: JetStreamContext) -> tuple[X25519PrivateKey, bool]:
    """The service's key pair, made now by the first registry that asks (True then)."""
    made = X25519PrivateKey.generate().private_bytes_raw().hex().encode()
    kept, fresh = await made_once(await bucket(js, SERVICE_BUCKET), "registry-key", made)
    raw = bytes.fromhex(kept.decode())
    if len(raw) != KEY_BYTES:
        raise ValueError("the service's registry key in NATS is not a key")
    return X25519PrivateKey.from_private_bytes(raw), fresh


class Lead:
    """This registry's lead, taken when free and renewed while held, and its membership."""

    def __init__(self, kv: KeyValue, js: JetStreamContext, me: str, reach: str) -> None:
        self._kv = kv
        self._js = js
        self.me = me
        self.reach = reach  # "ip:port", where peers reach this registry
        self._value = json.dumps({"id": me, "reach": reach}).encode()
        self._revision = 0  # of the lead key as this registry wrote it (0: not held)
        #: the revision of the key `term` this registry wrote when it last took the lead
        #: afresh (0: never): a new one is a new term, whose state is loaded afresh
        self.term = 0

    @property
    def held(self) -> bool:
        return self._revision != 0

    async def take(self, *, afresh: bool = False) -> bool:
        """Take the lead if nobody holds it; whether this registry holds it now (`term`
        says whether another held it since this registry last did; `afresh`: a new term
        all the same)."""
        if afresh:
            self.term = 0
        try:
            self._revision = await self._kv.create("lead", self._value, msg_ttl=LEASE)
        except nats.js.errors.KeyWrongLastSequenceError:
            # held, unless by this registry: a lead it lost, written as it was losing it
            if not await self._still_mine():
                return False
        try:
            await self._claim()
        except ERRORS:
            self._revision = 0  # (taken again at the next look: the lead names this one)
            raise
        return True

    async def _claim(self) -> None:
        """Write `term` with this registry's id, unless it still holds the revision this
        registry wrote."""
        try:
            revision = (await self._kv.get("term")).revision
        except nats.js.errors.KeyNotFoundError:
            revision = None
        if revision != self.term:
            self.term = await self._kv.put("term", self.me.encode())

    async def renew(self) -> bool:
        """Renew the lead; False when another registry holds it now, or this one lost it
        (its lease ran out) and has not taken it again."""
        if not self._revision:
            return False  # (a write expecting no revision would take a lead that ran out)
        try:
            ack = await self._js.publish(
                "$KV.CHATAPP_LEAD.lead",
                self._value,
                headers={"Nats-Expected-Last-Subject-Sequence": str(self._revision)},
                msg_ttl=LEASE,
            )
        except nats.js.errors.APIError as exc:
            if exc.err_code not in WRONG_LAST:
                raise
            return await self._still_mine()
        self._revision = ack.seq
        return True

    async def _still_mine(self) -> bool:
        """The lead has another revision than the last this registry wrote: still this
        registry's when it holds its id (a renewal that timed out went through), else lost."""
        holder, revision = await self._holder()
        self._revision = revision if holder.get("id") == self.me else 0
        return self._revision != 0

    async def _holder(self) -> tuple[dict[str, str], int]:
        """What `lead` holds (id and reach), and its revision; ({}, 0) when none."""
        try:
            entry = await self._kv.get("lead")
        except nats.js.errors.KeyNotFoundError:
            return {}, 0
        return json.loads(entry.value or b"{}"), entry.revision or 0

    async def check(self, *, afresh: bool = False) -> None:
        """Raise Superseded unless this registry still holds the lead (before a commit: what
        a registry that lost it writes must not count), or takes it again in its term (it
        ran out while NATS was away, and nobody else held it; `afresh` as for `take`)."""
        term = self.term
        if not await self.renew() and not (await self.take(afresh=afresh) and self.term == term):
            raise Superseded("another registry of the service decides for it now")

    async def leader(self) -> str | None:
        """Where peers reach the registry that decides ("ip:port"), or None."""
        return str((await self._holder())[0].get("reach", "")) or None

    async def keep_membership(self) -> None:
        """Say that this registry is there for LEASE seconds more."""
        await self._js.publish(
            f"$KV.CHATAPP_LEAD.member.{self.me}", self.reach.encode(), msg_ttl=LEASE
        )

    async def members(self) -> dict[str, str]:
        """The registries of the service: where peers reach each, by id."""
        return {
            key.removeprefix("member."): value.decode()
            for key, (_, value) in (await entries(self._kv)).items()
            if key.startswith("member.")
        }
