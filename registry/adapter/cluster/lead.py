"""Which registry of a service decides, and which registries the service has.

The registry that decides holds the key `lead` of the bucket CHATAPP_LEAD, written with a
time to live of LEASE seconds and renewed every RENEW seconds, each time only over the
revision it wrote last (compare-and-set). When it stops renewing (killed, cut off), the key
expires, and the first other registry to write it decides from then on. A registry whose
renewal finds another's revision has lost the lead: it stops deciding at once.

Each registry that takes the lead also writes the key `term` (no time to live) with its id,
unless the revision there is still the one it wrote itself: then nobody else held the lead
since this registry did (its lease ran out while NATS was away), and it goes on.

Every registry also keeps its own key under `member.<id>` with the same time to live,
holding the address peers reach it at: the service's list of registries, which peers are
given so that they can move when theirs stops answering.

The service's own key (the registries answer peers with one key: a peer that moves is
shown no key change) is in the bucket CHATAPP_SERVICE, made by the first registry.
"""

from __future__ import annotations

import json

import nats.errors
import nats.js.errors
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from registry.adapter.cluster.connect import with_replicas
from registry.adapter.cluster.store import Superseded
from wire.keys import KEY_BYTES

#: Seconds the lead (and a registry's membership) lasts unless renewed: short, so that the
#: service finds a registry gone within it; a busy registry keeps it all the same, as a
#: thread of its own renews it (registry/adapter/cluster/keeper.py). NATS counts whole seconds.
LEASE = 2.0
#: Seconds between renewals, and between looks for a lead that is free.
RENEW = 0.5
LEAD_BUCKET, SERVICE_BUCKET = "CHATAPP_LEAD", "CHATAPP_SERVICE"
ERRORS = (nats.errors.Error, nats.js.errors.Error, TimeoutError, OSError)


async def bucket(js: JetStreamContext, name: str) -> KeyValue:
    """The bucket `name`, made if it is not there yet."""
    return await with_replicas(
        lambda n: js.create_key_value(
            KeyValueConfig(bucket=name, storage=StorageType.FILE, replicas=n, history=1)
        )
    )


async def service_key(js: JetStreamContext) -> tuple[X25519PrivateKey, bool]:
    """The service's key pair, made now by the first registry that asks (True then)."""
    kv = await bucket(js, SERVICE_BUCKET)
    made = X25519PrivateKey.generate()
    try:
        await kv.create("registry-key", made.private_bytes_raw().hex().encode())
        return made, True
    except nats.js.errors.KeyWrongLastSequenceError:
        entry = await kv.get("registry-key")
        raw = bytes.fromhex((entry.value or b"").decode())
        if len(raw) != KEY_BYTES:
            raise ValueError("the service's registry key in NATS is not a key") from None
        return X25519PrivateKey.from_private_bytes(raw), False


class Lead:
    """This registry's part in deciding for the service: it takes the lead when free,
    renews it while it holds it, and keeps its membership."""

    def __init__(self, kv: KeyValue, js: JetStreamContext, me: str, reach: str) -> None:
        self._kv = kv
        self._js = js
        self.me = me
        self.reach = reach  # "ip:port", where peers reach this registry
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
        value = json.dumps({"id": self.me, "reach": self.reach}).encode()
        try:
            self._revision = await self._kv.create("lead", value, msg_ttl=LEASE)
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
        value = json.dumps({"id": self.me, "reach": self.reach}).encode()
        try:
            ack = await self._js.publish(
                "$KV.CHATAPP_LEAD.lead",
                value,
                headers={"Nats-Expected-Last-Subject-Sequence": str(self._revision)},
                msg_ttl=LEASE,
            )
        except nats.js.errors.APIError as exc:
            if exc.err_code not in (10071, 10164):  # (another revision than this one's)
                raise
            return await self._still_mine()
        self._revision = ack.seq
        return True

    async def _still_mine(self) -> bool:
        """The lead has another revision than the last this registry wrote: it is still
        this registry's when the newest holds its id (a renewal that timed out while NATS
        was away went through after all), else lost."""
        try:
            entry = await self._kv.get("lead")
        except nats.js.errors.KeyNotFoundError:
            entry = None
        if entry is not None and json.loads(entry.value or b"{}").get("id") == self.me:
            self._revision = entry.revision or 0
            return True
        self._revision = 0
        return False

    async def check(self, *, afresh: bool = False) -> None:
        """Raise Superseded unless this registry still holds the lead (before a commit: what
        a registry that lost it writes must not count), or takes it again in its term (it
        ran out while NATS was away, and nobody else held it; `afresh` as for `take`)."""
        term = self.term
        if not await self.renew() and not (await self.take(afresh=afresh) and self.term == term):
            raise Superseded("another registry of the service decides for it now")

    async def leader(self) -> str | None:
        """Where peers reach the registry that decides ("ip:port"), or None."""
        try:
            entry = await self._kv.get("lead")
        except nats.js.errors.KeyNotFoundError:
            return None
        return str(json.loads(entry.value or b"{}").get("reach", "")) or None

    async def keep_membership(self) -> None:
        """Say that this registry is there for LEASE seconds more."""
        await self._js.publish(
            f"$KV.CHATAPP_LEAD.member.{self.me}", self.reach.encode(), msg_ttl=LEASE
        )

    async def members(self) -> dict[str, str]:
        """The registries of the service: where peers reach each, by id."""
        found: dict[str, str] = {}
        try:
            keys = await self._kv.keys()
        except nats.js.errors.NoKeysError:
            return found
        for key in keys:
            if not key.startswith("member."):
                continue
            try:
                entry = await self._kv.get(key)
            except nats.js.errors.KeyNotFoundError:
                continue
            found[key.removeprefix("member.")] = (entry.value or b"").decode()
        return found
