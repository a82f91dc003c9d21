"""A start with --password: the password proven by SRP-6a, or for a new name a verifier set
(only with a checked registry key, and a yes; docs/SECURITY.md). The password stays here."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from peer.adapter.key_contact import Confirm, Say
from peer.core.retry_wait import SilentRounds
from secure import password
from wire.messages import Message, PasswordAsk, PasswordChallenge, Refused
from wire.reliable import ATTEMPTS, TIMEOUT

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


class PasswordLogin:
    """One proof for `name` to the `registry` (where, and how its key was trusted: ""
    unchecked), bound to the channel's `keys` (ours, the registry's)."""

    def __init__(
        self,
        name: str,
        registry: tuple[str, str],
        keys: tuple[bytes, bytes],
        send: Callable[[Message], None],
        say: Say,
    ) -> None:
        self._name, (self._where, self._how), self._keys = name, registry, keys
        self._send, self._say = send, say
        #: Seconds a silent registry is asked after a first round (0: that round only).
        self.patience = 0.0
        #: Set when the proof ended as a new name's password was too short (`too_short`) or
        #: typed differently again: another may be typed.
        self.ask_anew = False
        self._ask: PasswordAsk | None = None
        self._answer: asyncio.Future[PasswordChallenge | Refused] | None = None

    def answered(self, message: Message) -> bool:
        """Whether `message` answers our PasswordAsk (then taken here)."""
        ask, answer = self._ask, self._answer
        if ask is None or answer is None or answer.done():
            return False
        if not isinstance(message, PasswordChallenge | Refused) or message.reply_to != ask.id:
            return False
        answer.set_result(message)
        return True

    async def prove(
        self, secret: str, new_id: str, asks: Asks | None, set_unasked: bool
    ) -> tuple[str, str] | None:
        """(proof, verifier) for the Register, one of them "" (both: no proof is needed);
        None when the start ends (said). `asks` asks the person (None: no terminal, where
        `set_unasked` decides a new name's password)."""
        reply = await self._exchange(PasswordAsk(new_id, self._name))
        if reply is None:
            self._say("[Could not register; is the registry running?]", True)
            return None
        if isinstance(reply, Refused):
            self._say(f"[{reply.reason.rstrip('.')}.]", True)
            return None
        if reply.new:
            return await self._set(secret, asks, set_unasked)
        if not reply.public:  # our key owns the name
            self._say(key_owns(self._name), False)
            return "", ""
        ident = password.identity(self._name, *self._keys)
        args = (secret, ident, reply.scrypt, reply.salt, reply.public)
        proof = await asyncio.to_thread(password.prove, *args)
        if not proof:
            self._say("[The registry's password challenge could not be answered.]", True)
            return None
        return proof, ""

    async def _set(
        self, secret: str, asks: Asks | None, set_unasked: bool
    ) -> tuple[str, str] | None:
        """A verifier for a new name, when the registry is trusted and the person agrees
        (and, at a terminal, types the password again)."""
        name = self._name
        if short := too_short(secret):
            self._say(short, True)
            self.ask_anew = True
            return None
        if not self._how:
            self._say(
                f"[The registry says {name} is a new name, but its key was not checked: a "
                "password is set only with a registry trusted by its join code, a pinned key "
                "or a fingerprint you confirmed. Nothing was sent.]",
                True,
            )
            return None
        self._say(f"[The registry at {self._where} is trusted by {self._how}.]", False)
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
        return "", await asyncio.to_thread(password.new_verifier, secret)

    async def _exchange(self, ask: PasswordAsk) -> PasswordChallenge | Refused | None:
        """Send `ask` in rounds of ATTEMPTS, until answered or the patience is over."""
        self._ask = ask
        self._answer = answer = asyncio.get_running_loop().create_future()
        rounds = SilentRounds(self._where, self.patience, time.monotonic())
        try:
            while True:
                for attempt in range(ATTEMPTS + 1):
                    if attempt < ATTEMPTS:
                        self._send(ask)
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
            self._ask = None
