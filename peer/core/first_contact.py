"""First contact with a registry: which answer to a key request, if any, is its key
(docs/SECURITY.md, "First contact"; found on the network, another key than the one
advertised is an alarm too). Sans-IO."""

from __future__ import annotations

from msgspec import Struct

from wire.keys import fingerprint, has_code

#: What an alarm says next.
_POSING = (
    "Someone on the network is posing as the registry, so nothing was sent. Ask the registry's "
    "owner for its join code and start again with --registry-key CODE.]"
)
#: Seconds after the first answer during which another key answering is an alarm (a
#: registry on the LAN answers within milliseconds of anyone posing as it).
SETTLE = 0.2


class KeyFound(Struct, frozen=True):
    """`key` is the registry's, `trusted` (the join code's); or, not yet, it alone answered:
    trusted once the person (or a script's option) accepts it."""

    key: bytes
    trusted: bool


class KeyAlarm(Struct, frozen=True):
    """Two different keys answered without a join code: nothing may be sent."""

    line: str


Verdict = KeyFound | KeyAlarm | None


class FirstContact:
    """The answers to the key requests sent to the registry at `where`, and what they amount
    to. `code`: the join code's digits, or None; `advertised`: the code the registry
    advertised where it was found, or None."""

    def __init__(self, where: str, code: str | None, advertised: str | None = None) -> None:
        self._where = where
        self._code = code
        self._advertised = advertised
        self._first: bytes | None = None  # without a code: the first key that answered
        self._first_at = 0.0
        self._other: bytes | None = None  # without a code: a different one (the alarm)
        self._trusted: bytes | None = None  # with a code: the code's key, once it answered
        #: With a code: answers with other keys, refused.
        self.refused = 0

    @property
    def heard(self) -> bool:
        """Whether any key answered (else the registry may simply be down)."""
        return self._first is not None or self._trusted is not None or self.refused > 0

    def key_answered(self, key: bytes, now: float) -> str | None:
        """A key answered at `now`; the line to say at once, if any. Keeps two keys at most."""
        if self._code is not None:
            if self._trusted is not None or has_code(key, self._code):
                self._trusted = self._trusted or key
                return None
            self.refused += 1
            if self.refused > 1:
                return None
            return (
                f"[The registry at {self._where} answered with the key fingerprint "
                f"{fingerprint(key)}, which is not the join code's: refused (someone on the "
                "network may be posing as the registry). Still waiting for its own key.]"
            )
        if self._first is None:
            self._first, self._first_at = key, now
        elif key != self._first and self._other is None:
            self._other = key
        return None

    def verdict(self, now: float) -> Verdict:
        """What the answers so far amount to at `now`; None: wait (see `wake`)."""
        if self._trusted is not None:
            return KeyFound(self._trusted, trusted=True)
        if self._first is None:
            return None
        if self._other is not None:
            first, other = fingerprint(self._first), fingerprint(self._other)
            return KeyAlarm(
                f"[Two different keys answered for the registry at {self._where}: fingerprints "
                f"{first} and {other}. {_POSING}"
            )
        if self._advertised is not None and not has_code(self._first, self._advertised):
            said = " ".join(self._advertised[i : i + 5] for i in range(0, len(self._advertised), 5))
            return KeyAlarm(
                f"[The registry at {self._where} answered with the key fingerprint "
                f"{fingerprint(self._first)}, but it was found on the network advertising "
                f"{said}. {_POSING}"
            )
        return KeyFound(self._first, trusted=False) if now >= self._first_at + SETTLE else None

    def wake(self) -> float | None:
        """When the verdict may change with no new answer (the end of the settling)."""
        if self._code is None and self._first is not None and self._other is None:
            return self._first_at + SETTLE
        return None


def question(where: str, key: bytes, found: bool = False) -> str:
    """What a person on a terminal is asked before the first key is trusted (as SSH asks);
    `found`: the registry was found on the network."""
    at = f"{where}, found on the network," if found else where
    return (
        f"The registry at {at} has the key fingerprint {fingerprint(key)}; "
        "compare it with the one the registry printed at its start. Trust it? [y/N] "
    )


def needs_code(where: str, secret: str) -> str:
    """The line of a start without a terminal that would send `secret` to a key unchecked."""
    return (
        f"[The registry at {where} has no pinned key yet, and without a terminal nobody can "
        f"check the one it answers with before {secret} is sent to it: give its join code "
        "with --registry-key CODE, or --trust-first-key to trust the first key that answers.]"
    )
