"""The peer's checks of keys: the registry's and each peer's, pinned at first (as SSH pins)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from net.endpoint import Endpoint
from peer.adapter.key_contact import ContactRule, KeyContact
from peer.core.actions import Addr, Print
from peer.core.table import Trust
from secure.keys import Pins
from secure.noise import CHANNEL_PROTOCOL
from wire.keys import fingerprint, key_from_text
from wire.messages import Message, TableSnapshot, TableUpdate, Welcome
from wire.names import name_key

OTHER_VERSION = (  # said of a registry whose key answer names another secure channel, or none
    "[ChatApp versions differ: the registry at {} speaks another secure channel. Use the "
    "same version of ChatApp on every machine.]"
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
        self._pin_label = f"registry {server[0]}:{server[1]}"
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

    async def registry_key(self, endpoint: Endpoint, after_welcome: list[Print]) -> bool:
        """Make sure of the registry's key before anything is sent; False: the peer ends."""
        self._after_welcome = after_welcome
        if self._rule.keeps(self.trust.registry or None):
            # asked anyway, not waited for: a changed key is told from a registry down
            endpoint.ask_key(self._server)
        where = f"{self._server[0]}:{self._server[1]}"
        self._contact = KeyContact(
            where,
            self._rule,
            lambda: endpoint.ask_key(self._server),
            lambda line, error: self._show(Print(line, "error" if error else "system")),
        )
        try:
            no_answer = "[Could not register; is the registry running?]"
            key, unasked = await self._contact.trust(self._pins, self._pin_label, no_answer)
            taken_unasked = self._contact.unasked
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
        elif not taken_unasked:
            self.trusted_by = "its fingerprint, which you confirmed"
        self.trust.registry = key
        return True

    def key_answered(self, addr: Addr, answer: bytes) -> None:
        """The registry answered a KEY_REQUEST (key, protocol): weighed in first contact, else
        one not pinned is said once."""
        if addr != self._server:
            return
        key, where = answer[:32], f"{addr[0]}:{addr[1]}"
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
        talked, pins = self._talked, self._pins
        if not talked and not self._peers_pinned:
            return  # nobody talked with, in this run or before: a new peer's whole table
        for entry in message.entries:
            # only a row with a key pinned is decoded and checked
            pinned = talked.get(entry.name) or pins.get(self._peer_label(entry.name))
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
