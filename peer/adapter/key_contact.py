"""First contact with a registry carried out (decided by peer.core.first_contact), for the
peer and the help-desk clients."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from msgspec import Struct

from disk.files import os_reason
from peer.core.first_contact import FirstContact, KeyAlarm, KeyFound, needs_code, question
from peer.core.retry_wait import SilentRounds
from secure.keys import Pins
from wire.keys import fingerprint, has_code
from wire.reliable import ATTEMPTS, TIMEOUT

#: Said when no answer of the registry at {} had the join code's key.
GAVE_UP = (
    "[The registry at {} never answered with the join code's key; nothing was sent. Check the "
    "code, and that the registry runs.]"
)
#: Says a line to the user: the text, and whether it is an error.
Say = Callable[[str, bool], None]
#: Asks the person a yes-or-no question (terminal.prompt.ask_yes_no on a terminal).
Confirm = Callable[[str], Awaitable[bool]]


class ContactRule(Struct, frozen=True):
    """How first contact goes, from the command line; `secret`, what a start without a
    terminal would send; `advertised`, the code found with the registry; `patience`, the
    seconds it goes on asking after a round nothing answered."""

    code: str | None = None
    trust_first: bool = False
    accept_new: bool = False
    secret: str = ""
    advertised: str | None = None
    confirm: Confirm | None = None
    patience: float = 0.0

    def keeps(self, pinned: bytes | None) -> bool:
        if pinned is None or self.accept_new:
            return False
        return self.code is None or has_code(pinned, self.code)

    def refusal(self, where: str) -> str | None:
        """Why first contact may not begin (a secret, and nothing to check the key); or None."""
        unchecked = self.code is None and self.confirm is None and not self.trust_first
        return needs_code(where, self.secret) if unchecked and self.secret else None


class KeyContact:
    """One first contact with the registry at `where`: `ask` sends a key request; `unasked`,
    once settled: the key was taken without a code or a question."""

    def __init__(self, where: str, rule: ContactRule, ask: Callable[[], None], say: Say) -> None:
        self._where = where
        self._rule = rule
        self._ask = ask
        self._say = say
        self.answers = FirstContact(where, rule.code, rule.advertised)
        self._changed = asyncio.Event()
        self._refused = False
        self.unasked = False

    async def trust(self, pins: Pins, label: str, no_answer: str) -> tuple[bytes | None, str]:
        """The registry's key: pinned under `label`, or settled on and pinned; with what to say
        of a key taken unasked ("": nothing)."""
        if pins.problem:  # (what was pinned is lost: said before any key is asked about)
            self._say(f"[{pins.problem}]", True)
        pinned = pins.get(label)
        if self._rule.keeps(pinned):
            return pinned, ""
        refusal = self._rule.refusal(self._where)
        if refusal is not None:
            self._say(refusal, True)
            return None, ""
        if (key := await self.settle(no_answer)) is None:
            return None, ""
        try:
            pins.pin(label, key)
        except OSError as exc:
            self._say(f"[Cannot keep the registry's key in {pins.path}: {os_reason(exc)}.]", True)
        if not self.unasked or key == pinned:
            return key, ""
        # said as SSH says it
        said = "now accepted" if pinned is not None else "first met"
        return key, (
            f"[The registry at {self._where}, {said}, has the key fingerprint {fingerprint(key)}; "
            "it is pinned. Compare it with the one the registry printed at its start.]"
        )

    def answered(self, key: bytes) -> None:
        line = self.answers.key_answered(key, time.monotonic())
        if line is not None:
            self._say(line, True)
        self._changed.set()

    def refused(self) -> None:
        self._refused = True
        self._changed.set()

    async def settle(self, no_answer: str) -> bytes | None:
        """The registry's key to trust; None when nothing may be sent (said)."""
        asks, next_ask = 0, 0.0
        silent = SilentRounds(self._where, self._rule.patience, time.monotonic())
        while True:
            now = time.monotonic()
            if self._refused and not self.answers.heard:  # an answer: no key is coming
                if no_answer:
                    self._say(no_answer, True)
                return None
            verdict = self.answers.verdict(now)
            if isinstance(verdict, KeyAlarm):
                self._say(verdict.line, True)
                return None
            if isinstance(verdict, KeyFound):
                return verdict.key if verdict.trusted else await self._proposed(verdict.key)
            settling = self.answers.wake()  # after the last ask, still awaited
            if now >= next_ask and asks < ATTEMPTS:
                self._ask()
                asks, next_ask = asks + 1, now + TIMEOUT
            elif now >= next_ask and settling is None:
                later = None if self.answers.heard else silent.after_round(now)
                if later is not None:  # another round, said
                    self._say(later[1], False)
                    asks, next_ask = 0, later[0]
                    continue
                line = GAVE_UP.format(self._where) if self.answers.heard else no_answer
                if line:
                    self._say(line, True)
                return None
            wake = min((t for t in (next_ask, settling) if t is not None and t > now), default=now)
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(0.0, wake - now))

    async def _proposed(self, key: bytes) -> bytes | None:
        """The one key that answered, trusted by the person's yes (an alarm ends it)."""
        if self._rule.confirm is None:
            self.unasked = True
            return key
        found = self._rule.advertised is not None
        asked = asyncio.ensure_future(self._rule.confirm(question(self._where, key, found)))
        changed: asyncio.Task[bool] | None = None
        try:
            while not asked.done():
                self._changed.clear()
                changed = asyncio.create_task(self._changed.wait())
                await asyncio.wait((asked, changed), return_when=asyncio.FIRST_COMPLETED)
                verdict = self.answers.verdict(time.monotonic())
                if isinstance(verdict, KeyAlarm):
                    self._say(verdict.line, True)
                    return None
            if not asked.result():
                self._say("[Not trusted: nothing was sent.]", True)
                return None
            return key
        finally:
            for task in (asked, changed):
                if task is not None:
                    task.cancel()
