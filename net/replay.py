"""WireGuard's anti-replay window (whitepaper section 5.4.6, RFC 6479), sans-IO: which
transport counters (Noise nonces, net.noise §11.4) to accept from one receiving key.

Same answers as WireGuard's: wireguard-go replay/replay.go (`ValidateCounter` with
device/constants.go's RejectAfterMessages) and the kernel's `counter_validate`. Their ring of
64-bit blocks is a Python int here, bit i standing for the counter i below the highest."""

from __future__ import annotations

#: How far below the highest counter accepted a counter may still be: wireguard-go's
#: windowSize, (128 - 1) * 64, the kernel's COUNTER_WINDOW_SIZE on 64-bit machines.
WINDOW = 8128

#: The first counter never accepted: 2**64 - 2**13 - 1, the whitepaper's Reject-After-Messages
#: (section 6.1) and wireguard-go's RejectAfterMessages.
REJECT_AFTER_MESSAGES = 2**64 - 2**13 - 1


class ReplayWindow:
    """The counters seen under one key. `accept(c)` is True once for each counter from 0 to
    REJECT_AFTER_MESSAGES - 1 that is no more than WINDOW below the highest accepted so far
    (at first 0), and False otherwise."""

    __slots__ = ("_highest", "_seen")

    WINDOW = WINDOW

    def __init__(self) -> None:
        self._highest = 0
        self._seen = 0  # bit i: counter _highest - i was accepted

    def accept(self, counter: int) -> bool:
        """Whether to accept a message bearing `counter` (it opened with that nonce), and
        remember it was. Check only a message that authenticated, as WireGuard does, or a
        forged counter would move the window."""
        if not 0 <= counter < REJECT_AFTER_MESSAGES:
            return False
        if counter > self._highest:
            # Slide forward; a jump past the window forgets everything before it
            shift = counter - self._highest
            self._seen = (self._seen << shift) & _MASK if shift <= WINDOW else 0
            self._highest = counter
        elif self._highest - counter > WINDOW:
            return False
        bit = 1 << (self._highest - counter)
        if self._seen & bit:
            return False
        self._seen |= bit
        return True


_MASK = (1 << (WINDOW + 1)) - 1  # counters _highest - WINDOW .. _highest
