"""The peer's trust of keys, the registry's and each peer's, pinned at first (as SSH pins);
and its password proven to the registry by SRP-6a, a new name's verifier set only with a
checked registry key, and a yes (docs/SECURITY.md). The password stays here."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from net.endpoint import Endpoint
from peer.adapter.key_contact import Confirm, ContactRule, KeyContact
from peer.adapter.start import PeerSettings
from peer.core.actions import Addr, Print
from peer.core.retry_wait import SilentRounds
from peer.core.table import Trust
from secure import password
from secure.keys import Pins
from secure.noise import CHANNEL_PROTOCOL
from wire.keys import fingerprint, key_from_text
from wire.messages import (
    Busy,
    Message,
    PasswordAsk,
    PasswordChallenge,
    Refused,
    TableSnapshot,
    TableUpdate,
    Welcome,
)
from wire.names import name_key
from wire.reliable import ATTEMPTS, TIMEOUT

OTHER_VERSION = (  # said of a registry whose key answer names another secure channel, or none
    "[ChatApp versions differ: the registry at {} speaks another secure channel. Use the "
    "same version of ChatApp on every machine.]"
)

#: How a person at a terminal is asked: a yes or no (terminal.prompt.ask_yes_no), and a
#: password again, not echoed (ask_secret).
Asks = tuple[Confirm, Callable[[str], Awaitable[str]]]
#: Asked once the person says yes to setting a new name's password, as passwd asks.
SAME_AGAIN = "The same password again, to be sure of it: "


def new_name_question(name: str) -> str:
    return f"The registry says {name} is a new name: set this password for it? [y/N] "


def key_owns(name: str) -> str:
    """Said when this machine's key owns `name`: a password there is neither checked nor
    changed (whether the name has one or not)."""
    return (
        f"[This machine's key owns {name}: the password was neither checked nor changed (a "
        "password is set with a new name only).]"
    )


def too_short(secret: str) -> str:
    """Why `secret` may not be set as a new name's password ("": it may)."""
    if len(secret) >= password.MIN_LENGTH:
        return ""
    return (
        f"[A new password needs at least {password.MIN_LENGTH} characters; this one has "
        f"{len(secret)}. No password was set.]"
    )


class KeyChecks:
    """The pins of one peer's data directory, for the registry at `server`."""

    def __init__(
        self,
        data_dir: Path,
        server: Addr,
        trust: Trust,
        show: Callable[[Print], None],
        *,
        rule: ContactRule,
    ) -> None:
        self._server = server
        self._show = show
        self._rule = rule
        self._pins = Pins(data_dir)
        self._where = f"{server[0]}:{server[1]}"
        self._pin_label = f"registry {self._where}"
        # whether a peer's key was pinned in an earlier run (for this registry's names)
        at = f" at {self._pin_label}"
        self._peers_pinned = any(
            label.startswith("peer ") and label.endswith(at) for label in self._pins.labels()
        )
        # the key each name was last seen talking with, this run (the core's record)
        self._talked = trust.talked
        self._contact: KeyContact | None = None  # the first contact under way, if any
        self._key_changed_said = False
        self._other_version_said = False
        self._after_welcome: list[Print] | None = None
        self.trust = trust
        trust.registry = self._pins.get(self._pin_label) or b""
        #: how the registry's key came to be trusted, as said to a person ("": unchecked)
        self.trusted_by = ""
        #: the PasswordAsk of a proof under way, answered through `password_answered`
        self.asked: PasswordAsk | None = None
        self._answer: asyncio.Future[PasswordChallenge | Refused | Busy] | None = None
        #: Set when a proof ended as a new name's password was too short (`too_short`) or
        #: typed differently again: another may be typed.
        self.ask_anew = False

    async def registry_key(self, endpoint: Endpoint, after_welcome: list[Print]) -> bool:
        """Make sure of the registry's key before anything is sent; False: the peer ends."""
        self._after_welcome = after_welcome
        if self._rule.keeps(self.trust.registry or None):
            # asked anyway, not waited for: a changed key is told from a registry down
            endpoint.ask_key(self._server)
        ask = lambda: endpoint.ask_key(self._server)  # noqa: E731
        self._contact = KeyContact(self._where, self._rule, ask, self._say)
        try:
            no_answer = "[Could not register; is the registry running?]"
            key, unasked = await self._contact.trust(self._pins, self._pin_label, no_answer)
        finally:
            self._contact = None
        if key is None:
            return False
        if unasked:
            after_welcome.append(Print(unasked, "system"))
        if self._rule.code is not None:
            self.trusted_by = "its join code"
        elif key == self.trust.registry:
            self.trusted_by = "the key pinned here"
        elif not unasked:  # (a key other than the pinned one: asked, or taken unasked)
            self.trusted_by = "its fingerprint, which you confirmed"
        self.trust.registry = key
        return True

    def key_answered(self, addr: Addr, answer: bytes) -> None:
        """The registry answered a KEY_REQUEST (key, protocol): weighed in first contact, else
        one not pinned is said once."""
        if addr != self._server:
            return
        key, where = answer[:32], self._where
        if answer[32:] != CHANNEL_PROTOCOL:
            if not self._other_version_said:
                self._other_version_said = True
                self._show(Print(OTHER_VERSION.format(where), "error"))
            return
        if self._contact is not None:
            self._contact.answered(key)
            return
        pinned = self.trust.registry
        if pinned and key != pinned and not self._key_changed_said:
            self._key_changed_said = True
            line = (
                f"[The registry at {where} answers with another key than the one pinned "
                f"(fingerprint {fingerprint(key)}, pinned {fingerprint(pinned)}): it is "
                "not trusted. If its owner made a new key, compare its fingerprint and "
                "start again with --registry-key CODE (its join code).]"
            )
            self._show(Print(line, "error"))

    def pinned_key(self, name: str) -> bytes | None:
        talked = self._talked.get(name)
        return talked if talked is not None else self._pins.get(self._peer_label(name))

    def _peer_label(self, name: str) -> str:
        return f"peer {name_key(name)} at {self._pin_label}"

    def listed_in(self, message: Message) -> None:
        """A name of `message`'s table we talked with under another key is said (and pinned)."""
        if not isinstance(message, (Welcome, TableUpdate, TableSnapshot)):
            return
        if not self._talked and not self._peers_pinned:
            return  # nobody talked with, in this run or before: a new peer's whole table
        for entry in message.entries:
            # only a row with a key pinned is decoded and checked
            pinned = self.pinned_key(entry.name)
            if pinned is not None and entry.key:
                key = key_from_text(entry.key)
                if key is not None and key != pinned:
                    self.pinned(entry.name, key)

    def pinned(self, name: str, key: bytes, welcome: bool = False) -> None:
        """Pin `name`'s `key`; one other than the pinned is said (with `welcome`, after the
        Welcome's line), and pinned."""
        if self._talked.get(name) == key:
            return  # pinned already, this run: every message checks, so this must be quick
        self._talked[name] = key
        label = self._peer_label(name)
        pinned = self._pins.get(label)
        if pinned == key:
            return
        if pinned is not None:
            line = (
                f"[{name}'s key has changed since you last talked; compare fingerprints "
                f"with /whois {name}.]"
            )
            later = self._after_welcome if welcome else None
            (self._show if later is None else later.append)(Print(line, "error"))
        with contextlib.suppress(OSError):  # not kept: said again next time, no harm
            self._pins.pin(label, key)

    def _say(self, line: str, error: bool) -> None:
        self._show(Print(line, "error" if error else "system"))

    def password_answered(self, message: Message) -> bool:
        """Whether `message` answers the PasswordAsk `asked` (then taken here)."""
        ask, answer = self.asked, self._answer
        if ask is None or answer is None or answer.done():
            return False
        if (
            not isinstance(message, PasswordChallenge | Refused | Busy)
            or message.reply_to != ask.id
        ):
            return False
        answer.set_result(message)
        return True

    async def prove(
        self,
        send: Callable[[Addr, Message, bytes], None],
        ask: PasswordAsk,
        ours: bytes,
        settings: PeerSettings,
        asks: Asks | None,
    ) -> tuple[str, str] | None:
        """(proof, verifier) of `settings.password` for the Register of `ask.name`, bound to the
        channel's keys (`ours`, the registry's), one of them "" (both: no proof is needed),
        asked by `send`; None when the start ends (said). `asks` asks the person (None: no
        terminal, where `settings.new_password` decides a new name's password)."""
        secret, registry = settings.password, self.trust.registry
        asking = lambda: send(self._server, ask, registry)  # noqa: E731
        reply = await self._exchange(ask, asking)
        while isinstance(reply, Busy):  # this address tried too often lately: asked to wait
            wait = math.ceil(reply.wait_ms / 1000)
            self._say(
                f"[Too many password tries from here lately; trying again in {wait} s.]", False
            )
            await asyncio.sleep(reply.wait_ms / 1000)
            reply = await self._exchange(ask, asking)
        if reply is None:
            self._say("[Could not register; is the registry running?]", True)
            return None
        if isinstance(reply, Refused):
            self._say(f"[{reply.reason.rstrip('.')}.]", True)
            return None
        if reply.new:
            return await self._set(ask.name, secret, asks, settings.new_password)
        if not reply.public:  # our key owns the name
            self._say(key_owns(ask.name), False)
            return "", ""
        ident = password.identity(ask.name, ours, registry)
        args = (secret, ident, reply.scrypt, reply.salt, reply.public)
        proof = await asyncio.to_thread(password.prove, *args)
        if not proof:
            self._say("[The registry's password challenge could not be answered.]", True)
            return None
        return proof, ""

    async def _set(
        self, name: str, secret: str, asks: Asks | None, set_unasked: bool
    ) -> tuple[str, str] | None:
        """A verifier for a new name, when the registry is trusted and the person agrees
        (and, at a terminal, types the password again)."""
        if short := too_short(secret):
            self._say(short, True)
            self.ask_anew = True
            return None
        if not self.trusted_by:
            self._say(
                f"[The registry says {name} is a new name, but its key was not checked: a "
                "password is set only with a registry trusted by its join code, a pinned key "
                "or a fingerprint you confirmed. Nothing was sent.]",
                True,
            )
            return None
        self._say(f"[The registry at {self._where} is trusted by {self.trusted_by}.]", False)
        agreed = set_unasked if asks is None else await asks[0](new_name_question(name))
        if not agreed:
            why = "" if asks is not None else " (without a terminal: --new-password)"
            self._say(f"[No password set{why}; nothing was sent.]", True)
            return None
        if asks is not None and await asks[1](SAME_AGAIN) != secret:
            self._say("[The two passwords differ. No password was set.]", True)
            self.ask_anew = True
            return None
        self._say(
            f"[Setting the password of {name}: the registry keeps a verifier, never the password.]",
            False,
        )
        # (awaited on a line of its own: mypyc fails on an await inside a tuple)
        verifier = await asyncio.to_thread(password.new_verifier, secret)
        return "", verifier

    async def _exchange(
        self, ask: PasswordAsk, send: Callable[[], None]
    ) -> PasswordChallenge | Refused | Busy | None:
        """`send` `ask` in rounds of ATTEMPTS, until answered or the patience is over."""
        self.asked = ask
        self._answer = answer = asyncio.get_running_loop().create_future()
        rounds = SilentRounds(self._where, self._rule.patience, time.monotonic())
        try:
            while True:
                for attempt in range(ATTEMPTS + 1):
                    if attempt < ATTEMPTS:
                        send()
                    with contextlib.suppress(TimeoutError):
                        return await asyncio.wait_for(
                            asyncio.shield(answer), TIMEOUT * 2 ** min(attempt, 2)
                        )
                if (later := rounds.after_round(now := time.monotonic())) is None:
                    return None
                self._say(later[1], False)
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(answer), later[0] - now)
        finally:
            answer.cancel()
            self.asked = None
